// What every fault test checks after its fault: the same server still serves a CONNECT with
// data echoed intact, and no file descriptor is left behind.
#pragma once

#include <doctest/doctest.h>

#include <sched.h>

#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "process.hpp"
#include "run.hpp"
#include "transfer.hpp"

namespace test {

// Descriptors open in this process right now.
inline std::size_t open_fds() {
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++n;
  }
  return n - 1;  // the directory iterator's own
}

// Runs `ctx` until `done()` holds or `limit` passes; whether it holds.
template <class Predicate>
bool run_until(asio::io_context& ctx, Predicate done,
               std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  ctx.restart();
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    if (ctx.run_one_for(std::chrono::milliseconds(50)) == 0 && ctx.stopped()) ctx.restart();
  }
  return done();
}

// Runs `body` on a thread of its own moved into a new network namespace (only that thread, and
// what it starts, sees it), once the `setup` commands have configured it. Routes there can fail
// in ways loopback cannot, without touching the machine's own network. Needs root.
inline void in_private_network(const std::vector<std::vector<std::string>>& setup,
                               const std::function<void()>& body) {
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      if (::unshare(CLONE_NEWNET) != 0)
        throw std::system_error(errno, std::generic_category(), "unshare(CLONE_NEWNET)");
      const temp_dir dir;
      for (const auto& command : setup) {
        auto [status, out] = run_command(command, dir);
        if (status != 0) throw std::runtime_error(command.at(0) + " failed: " + out);
      }
      body();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) std::rethrow_exception(failure);
}

// A CONNECT through `c` to the echo server at `target`, 64 KiB round trip, checked by SHA-256.
inline void check_serves_echo(asio::io_context& ctx, const socks5::client& c,
                              const asio::ip::tcp::endpoint& target) {
  constexpr std::size_t size = 64 * 1024;
  auto result =
      run(ctx, connect_and_echo(c, socks5::address(target), size, 7, echo_mode::half_close));
  const std::error_code connect_ec = std::get<0>(result);
  const received& got = std::get<1>(result);
  CHECK_MESSAGE(!connect_ec, "connect after the fault: " << connect_ec.message());
  CHECK_FALSE(got.error);
  CHECK(got.size == size);
  CHECK(got.hash == sha256(random_payload(size, 7)));
}

}  // namespace test
