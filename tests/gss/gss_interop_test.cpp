// Cross-implementation: an RFC 1961 client and server written in Python on MIT's GSS-API
// (tests/peers/rfc1961_peer.py), against socks5::server and socks5::client on Heimdal.
#include <doctest/doctest.h>

#include <atomic>

#include "echo_server.hpp"
#include "gss_sides.hpp"
#include "kdc.hpp"
#include "run.hpp"
#include "socks5/auth/gssapi.hpp"
#include "threaded.hpp"
#include "transfer.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using test::gss_server;

namespace {

std::string peer_script() {
  const auto p = test::program("RFC1961_PEER");
  REQUIRE_MESSAGE(p, "RFC1961_PEER must name tests/peers/rfc1961_peer.py");
  return *p;
}

// The Python client through our proxy to its echo target; exit status and last output line.
std::pair<int, std::string> python_client(test::threaded_proxy& proxy,
                                          std::vector<std::string> extra) {
  std::vector<std::string> argv{"/usr/bin/python3",
                                peer_script(),
                                "client",
                                "--proxy",
                                "localhost:" + std::to_string(proxy.port()),
                                "--target",
                                "127.0.0.1:" + std::to_string(proxy.echo_endpoint().port()),
                                "--bytes",
                                "1048576",
                                "--timeout",
                                "20"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto [status, out] = test::run_command(argv, test::realm().dir(), 60s,
                                         {{"KRB5CCNAME", test::realm().alice_ccache()}});
  return {status, out};
}

// The Python server on a free port, with the service keytab.
struct python_server {
  explicit python_server(std::vector<std::string> extra)
      : port(test::free_port()),
        proc(args(port, std::move(extra)),
             test::realm().dir() / ("pyserver-" + std::to_string(port) + ".log"),
             {{"KRB5_KTNAME", "FILE:" + test::realm().server_keytab()}}) {
    REQUIRE_MESSAGE(test::wait_for_port(port), proc.output());
  }
  static std::vector<std::string> args(std::uint16_t port, std::vector<std::string> extra) {
    std::vector<std::string> a{"/usr/bin/python3", peer_script(), "server", "--listen",
                               "127.0.0.1:" + std::to_string(port)};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::uint16_t port;
  test::process proc;
};

struct our_result {
  std::error_code error;
  test::received echoed;
};

// socks5::client with GSS-API through the Python server to an echo target.
our_result our_client(const python_server& server, GssapiAuth::client_options o) {
  asio::io_context ctx;
  test::echo_server target(ctx);
  o.ccache = test::realm().alice_ccache();
  socks5::client c(ctx.get_executor(), "localhost", server.port, test::gss_client(o));
  const address where(target.endpoint());
  const auto data = test::random_payload(1024 * 1024, 31);
  auto r = test::run(
      ctx,
      [&]() -> asio::awaitable<our_result> {
        auto [ec, s] = co_await c.async_connect(where, detail::use_tuple);
        our_result out;
        out.error = ec;
        if (!ec) out.echoed = co_await test::echo_round_trip(s, data);
        co_return out;
      }(),
      60s);
  if (!r.error) CHECK(r.echoed.hash == test::sha256(data));
  return r;
}

}  // namespace

TEST_CASE("MIT client -> our server: levels 1 and 2, 1 MiB echoed") {
  server_options options;
  options.methods = {gss_server()};
  test::threaded_proxy proxy(options);
  for (const char* level : {"1", "2"}) {
    INFO("level " << level);
    auto [status, out] = python_client(proxy, {"--level", level});
    const std::string output = out;
    INFO(output);
    CHECK(status == 0);
    CHECK(output.find(std::string("result: ok level=") + level) != std::string::npos);
  }
}

TEST_CASE("MIT client -> our server: NEC mode, level 0 when allowed, refused when not") {
  GssapiAuth::server_options nec;
  nec.nec = true;
  GssapiAuth::server_options clear;
  clear.allow_clear = true;
  {
    server_options options;
    options.methods = {gss_server(nec)};
    test::threaded_proxy proxy(options);
    auto [status, out] = python_client(proxy, {"--nec", "--level", "2"});
    const std::string output = out;
    INFO(output);
    CHECK(status == 0);
  }
  {
    server_options options;
    options.methods = {gss_server(clear)};
    test::threaded_proxy proxy(options);
    auto [status, out] = python_client(proxy, {"--level", "0"});
    const std::string output = out;
    INFO(output);
    CHECK(status == 0);
    CHECK(output.find("result: ok level=0") != std::string::npos);
  }
  {
    server_options options;
    options.methods = {gss_server()};
    test::threaded_proxy proxy(options);
    auto [status, out] = python_client(proxy, {"--level", "0"});
    const std::string output = out;
    INFO(output);
    CHECK(status == 4);  // the answer (level 2) is not what it asked for
  }
}

TEST_CASE("MIT client wrapping its level octet with conf_req TRUE is accepted") {
  server_options options;
  options.methods = {gss_server()};
  test::threaded_proxy proxy(options);
  auto [status, out] = python_client(proxy, {"--level-conf", "--level", "2"});
  const std::string output = out;
  INFO(output);
  CHECK(status == 0);
}

TEST_CASE("MIT client without mutual authentication is refused with 01 FF") {
  server_options options;
  options.methods = {gss_server()};
  test::threaded_proxy proxy(options);
  auto [status, out] = python_client(proxy, {"--no-mutual"});
  const std::string output = out;
  INFO(output);
  CHECK(status == 3);  // the server aborted
}

TEST_CASE("MIT client without replay and sequence detection is refused with 01 FF") {
  server_options options;
  options.methods = {gss_server()};
  std::atomic<int> why{0};
  // 1: ended for want of replay detection; -1: for another reason.
  options.on_session_end = [&](const session_record& r) {
    why = r.error == errc::replay_detection_required ? 1 : -1;
  };
  test::threaded_proxy proxy(options);
  auto [status, out] = python_client(proxy, {"--no-replay-detection"});
  const std::string output = out;
  INFO(output);
  CHECK(status == 3);  // the server aborted
  for (int i = 0; i < 500 && why == 0; ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(why == 1);
}

TEST_CASE("our client -> MIT server: levels 1 and 2, NEC, level 0 when allowed, refused when not") {
  python_server plain({"--levels", "1,2"});
  for (auto level : {gss_level::integrity, gss_level::confidentiality}) {
    INFO("level " << static_cast<int>(level));
    GssapiAuth::client_options o;
    o.levels = {level};
    auto r = our_client(plain, o);
    CHECK_FALSE(r.error);
    CHECK(r.echoed.size == 1024 * 1024);
  }
  {
    python_server nec({"--nec"});
    GssapiAuth::client_options o;
    o.nec = true;
    CHECK_FALSE(our_client(nec, o).error);
  }
  {
    python_server clear({"--allow-clear"});
    GssapiAuth::client_options o;
    o.levels = {gss_level::clear};
    auto r = our_client(clear, o);
    CHECK_FALSE(r.error);
    CHECK(r.echoed.size == 1024 * 1024);
  }
  {
    GssapiAuth::client_options o;
    o.levels = {gss_level::clear};
    CHECK(our_client(plain, o).error == errc::protection_level_rejected);
  }
  {
    python_server only_integrity({"--levels", "1"});
    GssapiAuth::client_options o;
    o.levels = {gss_level::confidentiality};
    CHECK(our_client(only_integrity, o).error == errc::protection_level_rejected);
  }
}
