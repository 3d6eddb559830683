// The auth state machines driven by hand (exact bytes), then by the generic driver over a real
// socket pair.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <asio/steady_timer.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>

#include "bytes.hpp"
#include "run.hpp"
#include "socks5/auth/any_auth.hpp"
#include "socks5/auth/driver.hpp"
#include "socks5/auth/no_auth.hpp"
#include "socks5/auth/password_file.hpp"
#include "socks5/auth/user_pass.hpp"

using namespace socks5;
using test::b;
using test::bytes;

namespace {

void fill(std::span<wire::byte> dst, const bytes& src) {
  REQUIRE(dst.size() == src.size());
  std::copy(src.begin(), src.end(), dst.begin());
}

credential_verifier only(std::string user, std::string pass) {
  return [user, pass](std::string_view u, std::string_view p) { return u == user && p == pass; };
}

}  // namespace

TEST_CASE("NoAuth is done at once on both sides and protects nothing") {
  auto c = NoAuth::client{}.start({});
  auto s = NoAuth::server{}.start({});
  CHECK(c.next().what == auth_step::action::done);
  CHECK(s.next().what == auth_step::action::done);
  CHECK(s.identity().empty());
  CHECK(c.take_protection() == nullptr);
  CHECK(NoAuth::client{}.code() == 0x00);
}

TEST_CASE("UserPassAuth client: sends the RFC 1929 request, then reads the status") {
  auto m = UserPassAuth::client{"alice", "pw"}.start({});
  auto step = m.next();
  REQUIRE(step.what == auth_step::action::write);
  CHECK(test::to_bytes(step.output) == b({0x01, 0x05, 'a', 'l', 'i', 'c', 'e', 0x02, 'p', 'w'}));
  step = m.next();
  REQUIRE(step.what == auth_step::action::read);
  fill(step.input, b({0x01, 0x00}));
  CHECK(m.next().what == auth_step::action::done);
}

TEST_CASE("UserPassAuth client: a failure status, a wrong VER, an unencodable name") {
  auto m = UserPassAuth::client{"alice", "pw"}.start({});
  m.next();
  fill(m.next().input, b({0x01, 0x01}));
  auto step = m.next();
  CHECK(step.what == auth_step::action::fail);
  CHECK(step.error == errc::auth_failed);
  CHECK(step.error == condition::auth_failure);

  auto v = UserPassAuth::client{"alice", "pw"}.start({});
  v.next();
  fill(v.next().input, b({0x05, 0x00}));
  CHECK(v.next().error == errc::bad_version);

  auto too_long = UserPassAuth::client{std::string(256, 'x'), "pw"}.start({});
  CHECK(too_long.next().error == errc::credential_too_long);
}

TEST_CASE("UserPassAuth server: reads exactly the request, verifies, answers 01 00") {
  auto m = UserPassAuth::server{only("alice", "pw")}.start({});
  const bytes request = b({0x01, 0x05, 'a', 'l', 'i', 'c', 'e', 0x02, 'p', 'w'});
  std::size_t at = 0;
  auth_step step = m.next();
  while (step.what == auth_step::action::read) {
    // Never asks past the end of the message.
    REQUIRE(at + step.input.size() <= request.size());
    fill(step.input, bytes(request.begin() + at, request.begin() + at + step.input.size()));
    at += step.input.size();
    step = m.next();
  }
  CHECK(at == request.size());
  REQUIRE(step.what == auth_step::action::write);
  CHECK(test::to_bytes(step.output) == b({0x01, 0x00}));
  CHECK(m.next().what == auth_step::action::done);
  CHECK(m.identity() == "alice");
}

TEST_CASE("UserPassAuth server: wrong password and malformed request answer a failure status") {
  auto run_server = [](credential_verifier v, const bytes& request) {
    auto m = UserPassAuth::server{std::move(v)}.start({});
    std::size_t at = 0;
    auth_step step = m.next();
    while (step.what == auth_step::action::read) {
      fill(step.input, bytes(request.begin() + at, request.begin() + at + step.input.size()));
      at += step.input.size();
      step = m.next();
    }
    REQUIRE(step.what == auth_step::action::write);
    const bytes reply = test::to_bytes(step.output);
    auto last = m.next();
    CHECK(m.identity().empty());
    return std::make_pair(reply, last);
  };
  auto [reply, last] = run_server(only("alice", "pw"), b({0x01, 0x01, 'a', 0x02, 'p', 'w'}));
  CHECK(reply == b({0x01, 0x01}));
  CHECK(last.error == errc::auth_failed);

  auto [reply2, last2] = run_server(only("alice", "pw"), b({0x02, 0x00}));
  CHECK(reply2 == b({0x01, 0x01}));
  CHECK(last2.error == errc::bad_version);

  // No verifier configured: nobody gets in.
  auto [reply3, last3] = run_server(nullptr, b({0x01, 0x01, 'a', 0x01, 'p'}));
  CHECK(reply3 == b({0x01, 0x01}));
  CHECK(last3.error == errc::auth_failed);
}

TEST_CASE("the generic driver runs both sides of a method over a socket pair") {
  asio::io_context ctx;
  asio::local::stream_protocol::socket a(ctx), c(ctx);
  asio::local::connect_pair(a, c);

  std::error_code password_error;
  auto users = password_file::parse("alice:pw\n", password_error);
  REQUIRE_FALSE(password_error);

  const any_client_auth client_side = UserPassAuth::client{"alice", "pw"};
  const any_server_auth server_side = UserPassAuth::server{users};
  CHECK(client_side.code() == method::username_password);

  auto client_machine = client_side.start({});
  auto server_machine = server_side.start({});
  std::error_code client_ec = errc::general_failure, server_ec = errc::general_failure;
  asio::co_spawn(
      ctx, [&]() -> asio::awaitable<void> { client_ec = co_await run_auth(a, *client_machine); },
      asio::detached);
  asio::co_spawn(
      ctx, [&]() -> asio::awaitable<void> { server_ec = co_await run_auth(c, *server_machine); },
      asio::detached);
  ctx.run();
  CHECK_FALSE(client_ec);
  CHECK_FALSE(server_ec);
  CHECK(server_machine->identity() == "alice");

  // Nothing beyond the negotiation was consumed: the next octets are still there.
  const bytes after = b({0x05, 0x01, 0x00});
  asio::write(a, asio::buffer(after));
  bytes got(3);
  asio::read(c, asio::buffer(got));
  CHECK(got == after);
}

TEST_CASE("the driver reports a peer that hangs up mid-negotiation") {
  asio::io_context ctx;
  asio::local::stream_protocol::socket a(ctx), c(ctx);
  asio::local::connect_pair(a, c);
  const bytes partial = b({0x01, 0x05, 'a', 'l'});
  asio::write(a, asio::buffer(partial));
  a.close();
  auto m = UserPassAuth::server{only("alice", "pw")}.start({});
  auto ec = test::run(ctx, run_auth(c, m));
  CHECK(ec == asio::error::eof);
}

TEST_CASE("offload: blocking work runs off the event loop, which keeps serving meanwhile") {
  // A machine whose only step may block (as a first GSS-API call may, on a KDC).
  struct blocking_machine {
    std::thread::id worker;
    int calls = 0;
    auth_step next() {
      if (calls++ == 0)
        return auth_step::offload([this] {
          worker = std::this_thread::get_id();
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
        });
      return auth_step::finished();
    }
    std::string identity() const { return {}; }
    std::unique_ptr<protection> take_protection() { return nullptr; }
  };
  static_assert(AuthMachine<blocking_machine>);

  asio::io_context ctx;
  asio::local::stream_protocol::socket a(ctx), c(ctx);
  asio::local::connect_pair(a, c);
  blocking_machine m;
  int ticks = 0;
  asio::steady_timer timer(ctx);
  std::function<void(std::error_code)> tick = [&](std::error_code ec) {
    if (ec || ++ticks >= 5) return;
    timer.expires_after(std::chrono::milliseconds(20));
    timer.async_wait(tick);
  };
  tick({});
  const auto ec = test::run(ctx, run_auth(a, m));
  CHECK_FALSE(ec);
  CHECK(m.calls == 2);
  CHECK(m.worker != std::this_thread::get_id());
  // The timer ticked while the work was blocked for 300 ms.
  CHECK(ticks >= 5);
}

TEST_CASE("offload: an io_context destroyed mid-work waits for it, then frees the negotiation") {
  // What happened, in order, across the worker thread and this one.
  struct journal {
    std::mutex mutex;
    std::vector<std::string> events;
    void add(std::string e) {
      std::lock_guard lock(mutex);
      events.push_back(std::move(e));
    }
  };
  // Owned by the coroutine below, so freed with its frame; its work writes into it.
  struct machine_in_frame {
    journal* log;
    std::atomic<bool>* started;
    int state = 0;
    int calls = 0;
    ~machine_in_frame() { log->add("machine freed"); }
    auth_step next() {
      if (calls++ == 0)
        return auth_step::offload([this] {
          started->store(true);
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          state = 1;  // the machine must still exist
          log->add("work ended");
        });
      return auth_step::finished();
    }
    std::string identity() const { return {}; }
    std::unique_ptr<protection> take_protection() { return nullptr; }
  };

  journal log;
  std::atomic<bool> started{false};
  {
    asio::io_context ctx;
    asio::local::stream_protocol::socket a(ctx), c(ctx);
    asio::local::connect_pair(a, c);
    asio::co_spawn(
        ctx,
        [&a, &log, &started]() -> asio::awaitable<void> {
          machine_in_frame m{&log, &started};
          co_await run_auth(a, m);
        },
        asio::detached);
    while (!started.load())
      ctx.poll_one();
    // ctx is destroyed here with the coroutine suspended on the work.
  }
  std::lock_guard lock(log.mutex);
  CHECK(log.events == std::vector<std::string>{"work ended", "machine freed"});
}
