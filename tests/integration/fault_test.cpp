// Faults between the proxy and the target: routes that fail, a target that never answers, a
// name server that never answers, a target that resets mid-transfer. Each ends with its reply
// code or error within its timeout, the server serves the next client as before, and no
// descriptor is left open.
#include <doctest/doctest.h>

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "echo_server.hpp"
#include "faults.hpp"
#include "proxy.hpp"
#include "records.hpp"
#include "threaded.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct connect_outcome {
  std::error_code error;
  clock_type::duration took{};
};

connect_outcome timed_connect(asio::io_context& ctx, const socks5::client& c, address target) {
  const auto start = clock_type::now();
  auto ec = test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
    auto [e, s] = co_await c.async_connect(target, detail::use_tuple);
    co_return e;
  }());
  return {ec, clock_type::now() - start};
}

// The addresses /etc/resolv.conf names (glibc asks 127.0.0.1 when it names none).
std::vector<std::string> name_servers() {
  std::vector<std::string> out;
  std::ifstream conf("/etc/resolv.conf");
  std::string line;
  while (std::getline(conf, line)) {
    std::istringstream words(line);
    std::string key, value;
    if (words >> key >> value && key == "nameserver") out.push_back(value);
  }
  if (out.empty()) out.push_back("127.0.0.1");
  return out;
}

// The n-th record (from 0), running `ctx` until it comes.
session_record nth_record(asio::io_context& ctx, test::record_log& log, std::size_t n) {
  const bool came = test::run_until(ctx, [&] { return log.wait_for(n + 1, 0ms).size() > n; });
  REQUIRE(came);
  return log.wait_for(n + 1, 0ms).at(n);
}

bool is_root() {
  return ::geteuid() == 0;
}

}  // namespace

TEST_CASE("03, 04, 02 and 06 from real routes in a private network namespace" *
          doctest::skip(!is_root())) {
  test::in_private_network(
      {
          {"ip", "link", "set", "lo", "up"},
          // 198.51.100.0/24 has no route at all: ENETUNREACH.
          {"ip", "route", "add", "unreachable", "203.0.113.0/24"},  // EHOSTUNREACH
          {"ip", "route", "add", "prohibit", "192.0.2.0/24"},       // EACCES
          // Out through the loopback device to an address that is not local and is not
          // forwarded: dropped without an answer, so connecting hangs.
          {"ip", "route", "add", "198.18.0.0/24", "dev", "lo"},
      },
      [] {
        const auto fds_before = test::open_fds();
        {
          asio::io_context ctx;
          test::echo_server target(ctx);
          test::record_log log;
          server_options options;
          options.connect_timeout = 1s;
          options.on_session_end = log.hook();
          test::proxy proxy(ctx, options);
          const auto c = proxy.client(ctx);

          struct expectation {
            const char* why;
            const char* host;
            errc code;              // the reply, as the client reports it
            std::error_code cause;  // the server's record
          };
          const expectation cases[] = {
              {"no route", "198.51.100.7", errc::network_unreachable,
               asio::error::network_unreachable},
              {"unreachable route", "203.0.113.7", errc::host_unreachable,
               asio::error::host_unreachable},
              {"prohibited route", "192.0.2.7", errc::not_allowed, asio::error::access_denied},
              {"black hole: the connect timeout", "198.18.0.7", errc::ttl_expired,
               errc::ttl_expired},
          };
          std::size_t sessions = 0;
          for (const auto& e : cases) {
            INFO(e.why);
            const auto r = timed_connect(ctx, c, address(e.host, 80));
            CHECK(r.error == e.code);
            CHECK(r.error == condition::rejected_by_proxy);
            CHECK(r.took < options.connect_timeout + 5s);
            const auto record = nth_record(ctx, log, sessions++);
            CHECK(record.reply == static_cast<reply_code>(e.code));
            CHECK(record.error == e.cause);
            // The same server serves the next client as before.
            test::check_serves_echo(ctx, c, target.endpoint());
            CHECK(nth_record(ctx, log, sessions++).outcome() == "ok");
          }
          CHECK(test::run_until(ctx, [&] { return proxy.server.active_sessions() == 0; }));
        }
        CHECK(test::open_fds() == fds_before);
      });
}

TEST_CASE(
    "a name server that never answers: 06 within the connect timeout, other names unaffected" *
    doctest::skip(!is_root())) {
  std::vector<std::vector<std::string>> setup{{"ip", "link", "set", "lo", "up"}};
  const auto servers = name_servers();
  for (const auto& s : servers) {
    const bool v6 = s.find(':') != std::string::npos;
    setup.push_back({"ip", "addr", "add", s + (v6 ? "/128" : "/32"), "dev", "lo"});
  }
  test::in_private_network(setup, [&] {
    // Bound and never read: every query is taken in and none is answered.
    asio::io_context silent_ctx;
    std::vector<asio::ip::udp::socket> silent;
    for (const auto& s : servers)
      silent.emplace_back(silent_ctx, asio::ip::udp::endpoint(asio::ip::make_address(s), 53));

    test::record_log log;
    server_options options;
    options.connect_timeout = 1s;
    options.on_session_end = log.hook();
    test::threaded_proxy proxy(options);
    // The client has an io_context of its own: the proxy's lookups do not queue its own.
    asio::io_context ctx;
    socks5::client c(ctx.get_executor(), "127.0.0.1", proxy.port());
    const auto r = timed_connect(ctx, c, address("silent-dns.example", 80));
    CHECK(r.error == errc::ttl_expired);
    CHECK(r.took < options.connect_timeout + 5s);
    const auto record = log.last(5s);
    REQUIRE(record);
    CHECK(record->reply == reply_code::ttl_expired);
    CHECK(record->error == errc::ttl_expired);
    // That lookup is still waiting on its name server; other names are not held up behind it.
    const auto named = timed_connect(ctx, c, address("localhost", proxy.echo_endpoint().port()));
    CHECK(!named.error);
    CHECK(named.took < options.connect_timeout);
    test::check_serves_echo(ctx, c, proxy.echo_endpoint());
  });
}

TEST_CASE("the target resets mid-transfer: the client gets the data, then the end of stream") {
  // Both ways the relay moves data: splice(2) through a pipe, and a buffer.
  for (const bool splice : {true, false}) {
    INFO("splice " << splice);
    const auto fds_before = test::open_fds();
    {
      asio::io_context ctx;
      test::echo_server echo(ctx);
      test::record_log log;
      server_options options;
      options.relay_splice = splice;
      options.on_session_end = log.hook();
      test::proxy proxy(ctx, options);
      const auto c = proxy.client(ctx);

      // The target sends a payload, waits until the client has all of it, then aborts the
      // connection with a reset (SO_LINGER 0).
      tcp::acceptor acceptor(ctx, {asio::ip::address_v4::loopback(), 0});
      asio::steady_timer go(ctx, clock_type::time_point::max());
      const auto payload = test::random_payload(200000, 3);
      asio::co_spawn(
          ctx,
          [&]() -> asio::awaitable<void> {
            auto [accept_ec, sock] = co_await acceptor.async_accept(detail::use_tuple);
            if (accept_ec) co_return;
            auto [write_ec, n] =
                co_await asio::async_write(sock, asio::buffer(payload), detail::use_tuple);
            if (write_ec) co_return;
            // Cancelled once the client has everything.
            auto [wait_ec] = co_await go.async_wait(detail::use_tuple);
            CHECK(wait_ec == asio::error::operation_aborted);
            std::error_code ignored;
            sock.set_option(asio::socket_base::linger(true, 0), ignored);
            sock.close(ignored);
          },
          asio::detached);

      const address where(acceptor.local_endpoint());
      auto got =
          test::run(ctx, [&]() -> asio::awaitable<std::pair<test::received, std::error_code>> {
            auto [ec, s] = co_await c.async_connect(where, detail::use_tuple);
            REQUIRE_FALSE(ec);
            auto data = co_await test::receive_exactly(s, payload.size());
            go.cancel();
            std::array<char, 16> more;
            auto [end_ec, n] = co_await s.async_read_some(asio::buffer(more), detail::use_tuple);
            co_return std::make_pair(data, end_ec);
          }());
      CHECK_FALSE(got.first.error);
      CHECK(got.first.size == payload.size());
      CHECK(got.first.hash == test::sha256(payload));
      // The reset reaches the client as the end of its connection.
      CHECK(got.second == asio::error::eof);

      const auto record = nth_record(ctx, log, 0);
      CHECK(record.reply == reply_code::succeeded);
      CHECK(record.error == asio::error::connection_reset);
      CHECK(record.bytes_down == payload.size());
      CHECK(record.outcome() == "error");

      test::check_serves_echo(ctx, c, echo.endpoint());
      CHECK(test::run_until(ctx, [&] { return proxy.server.active_sessions() == 0; }));
    }
    CHECK(test::open_fds() == fds_before);
  }
}
