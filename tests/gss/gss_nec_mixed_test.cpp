// NEC compatibility on one listener: NEC-form clients (raw level octet) and standard ones (wrapped
// level token) served side by side, each answered in its own form, at every level the options
// allow; and with NEC off a raw level octet is still refused.
#include <doctest/doctest.h>

#include <algorithm>
#include <mutex>

#include <asio/experimental/awaitable_operators.hpp>

#include "bytes.hpp"
#include "gss_sides.hpp"
#include "kdc.hpp"
#include "machines.hpp"
#include "run.hpp"
#include "socks5/auth/gss_protection.hpp"
#include "socks5/auth/gssapi.hpp"
#include "tap.hpp"
#include "threaded.hpp"
#include "transfer.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using test::alice;
using test::b;
using test::bytes;
using test::gss_server;

namespace {

// The levels the server agreed to, one per finished negotiation, from the proxy's threads.
class level_log {
 public:
  void add(gss_level level) {
    std::lock_guard lock(mutex_);
    levels_.push_back(level);
  }
  std::vector<gss_level> wait_for(std::size_t n) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (levels_.size() >= n) return levels_;
      }
      std::this_thread::sleep_for(10ms);
    }
    std::lock_guard lock(mutex_);
    return levels_;
  }

 private:
  std::mutex mutex_;
  std::vector<gss_level> levels_;
};

// The GSS-API server side, telling `log` the level of every negotiation it completes.
struct recording_gss_server {
  GssapiAuth::server inner;
  std::shared_ptr<level_log> log;

  struct machine {
    GssapiAuth::server_machine inner;
    std::shared_ptr<level_log> log;
    auth_step next() {
      auto step = inner.next();
      if (step.what == auth_step::action::done) log->add(inner.level());
      return step;
    }
    std::string identity() const { return inner.identity(); }
    std::unique_ptr<protection> take_protection() { return inner.take_protection(); }
  };

  method_code code() const { return inner.code(); }
  machine start(const server_auth_context& c) const { return machine{inner.start(c), log}; }
};

// One listener, NEC compatibility on, level 0 allowed besides the default levels 1 and 2.
struct mixed_listener {
  std::shared_ptr<level_log> log = std::make_shared<level_log>();
  test::threaded_proxy proxy{options(log)};

  static server_options options(std::shared_ptr<level_log> log) {
    GssapiAuth::server_options o;
    o.nec = true;
    o.allow_clear = true;
    server_options s;
    s.methods = {recording_gss_server{gss_server(o), std::move(log)}};
    return s;
  }
};

// The body of the first protection-level message (MTYP 02) in one direction of a capture; `skip`
// passes over the SOCKS greeting (client, 3 octets) or method selection (server, 2 octets).
bytes level_body(const std::vector<std::uint8_t>& wire, std::size_t skip) {
  std::size_t at = skip;
  while (at + 4 <= wire.size() && wire[at] == 0x01 && wire[at + 1] != 0xff) {
    const std::size_t len = (std::size_t{wire[at + 2]} << 8) | wire[at + 3];
    if (at + 4 + len > wire.size()) break;
    if (wire[at + 1] == 0x02)
      return bytes(wire.begin() + static_cast<std::ptrdiff_t>(at + 4),
                   wire.begin() + static_cast<std::ptrdiff_t>(at + 4 + len));
    at += 4 + len;
  }
  return {};
}

struct our_outcome {
  std::error_code error;
  std::optional<gss_level> client_level;  // as the client's stream says: clear when unprotected
  test::received echoed;
  bytes sent_level, answered_level;  // the level message bodies, each way
};

// What to check of one client: its form and level, and the payload it echoes.
struct client_case {
  bool nec;
  gss_level level;
};

asio::awaitable<our_outcome> connect_and_echo(socks5::client& c, address target,
                                              const std::vector<char>& data) {
  our_outcome out;
  auto [ec, s] = co_await c.async_connect(target, detail::use_tuple);
  out.error = ec;
  if (ec) co_return out;
  if (!s.is_protected())
    out.client_level = gss_level::clear;
  else if (auto* p = dynamic_cast<GssProtection*>(s.protection()))
    out.client_level = p->level();
  out.echoed = co_await test::echo_round_trip(s, data);
  co_return out;
}

socks5::client make_client(asio::io_context& ctx, const test::tap& wire, client_case k) {
  auto o = alice();
  o.nec = k.nec;
  o.levels = {k.level};
  return socks5::client(ctx.get_executor(), "localhost", wire.port(), test::gss_client(o));
}

void fill_levels(our_outcome& r, const test::tap& wire) {
  r.sent_level = level_body(wire.to_server, 3);
  r.answered_level = level_body(wire.to_client, 2);
}

// socks5::client in form `k` through a capture to `where`, 256 KiB echoed.
our_outcome our_client(mixed_listener& where, client_case k) {
  asio::io_context ctx;
  test::tap wire(ctx, where.proxy.endpoint());
  auto c = make_client(ctx, wire, k);
  const auto data = test::random_payload(256 * 1024, 41);
  auto r = test::run(ctx, connect_and_echo(c, address(where.proxy.echo_endpoint()), data), 60s);
  if (!r.error) CHECK(r.echoed.hash == test::sha256(data));
  fill_levels(r, wire);
  return r;
}

// Each side's level message in the client's own form: the raw octet, or a wrapped token.
void check_form(const our_outcome& r, client_case k) {
  const auto octet = static_cast<std::uint8_t>(k.level);
  if (k.nec) {
    CHECK(r.sent_level == b({octet}));
    CHECK(r.answered_level == b({octet}));
  } else {
    // At least a Kerberos wrap token's 16-octet header.
    CHECK(r.sent_level.size() >= 16);
    CHECK(r.answered_level.size() >= 16);
  }
}

std::string peer_script() {
  const auto p = test::program("RFC1961_PEER");
  REQUIRE_MESSAGE(p, "RFC1961_PEER must name tests/peers/rfc1961_peer.py");
  return *p;
}

// The Python (MIT) client through `proxy` to its echo target; exit status and output.
std::pair<int, std::string> python_client(test::threaded_proxy& proxy, bool nec, int level) {
  std::vector<std::string> argv{"/usr/bin/python3",
                                peer_script(),
                                "client",
                                "--proxy",
                                "localhost:" + std::to_string(proxy.port()),
                                "--target",
                                "127.0.0.1:" + std::to_string(proxy.echo_endpoint().port()),
                                "--level",
                                std::to_string(level),
                                "--bytes",
                                "262144",
                                "--timeout",
                                "20"};
  if (nec) argv.push_back("--nec");
  return test::run_command(argv, test::realm().dir(), 60s,
                           {{"KRB5CCNAME", test::realm().alice_ccache()}});
}

const char* form(bool nec) {
  return nec ? "NEC" : "standard";
}

}  // namespace

TEST_CASE("nec mixed: standard levels 0, 1, 2 and NEC levels 1, 2 on one listener") {
  mixed_listener listener;
  // Interleaved, so that a client's form cannot carry over to the next one.
  const std::vector<client_case> cases = {{false, gss_level::clear},
                                          {true, gss_level::integrity},
                                          {false, gss_level::integrity},
                                          {true, gss_level::confidentiality},
                                          {false, gss_level::confidentiality}};
  std::size_t done = 0;
  for (const auto k : cases) {
    INFO(form(k.nec) << " client, level " << static_cast<int>(k.level));
    auto r = our_client(listener, k);
    REQUIRE_MESSAGE(!r.error, r.error.message());
    CHECK(r.client_level == k.level);
    CHECK(r.echoed.size == 256 * 1024);
    const auto agreed = listener.log->wait_for(++done);
    REQUIRE(agreed.size() == done);
    CHECK(agreed.back() == k.level);
    check_form(r, k);
  }
}

TEST_CASE("nec mixed: a NEC and a standard client at the same time on one listener") {
  using namespace asio::experimental::awaitable_operators;
  mixed_listener listener;
  asio::io_context ctx;
  test::tap nec_wire(ctx, listener.proxy.endpoint()), std_wire(ctx, listener.proxy.endpoint());
  const client_case nec{true, gss_level::integrity}, standard{false, gss_level::confidentiality};
  auto nec_client = make_client(ctx, nec_wire, nec);
  auto std_client = make_client(ctx, std_wire, standard);
  const address target(listener.proxy.echo_endpoint());
  const auto data = test::random_payload(512 * 1024, 43);
  auto [a, s] = test::run(
      ctx,
      [&]() -> asio::awaitable<std::tuple<our_outcome, our_outcome>> {
        co_return co_await (connect_and_echo(nec_client, target, data) &&
                            connect_and_echo(std_client, target, data));
      }(),
      60s);
  fill_levels(a, nec_wire);
  fill_levels(s, std_wire);
  for (const auto* r : {&a, &s}) {
    REQUIRE_MESSAGE(!r->error, r->error.message());
    CHECK(r->echoed.hash == test::sha256(data));
  }
  CHECK(a.client_level == gss_level::integrity);
  CHECK(s.client_level == gss_level::confidentiality);
  check_form(a, nec);
  check_form(s, standard);
  auto agreed = listener.log->wait_for(2);
  std::sort(agreed.begin(), agreed.end());
  CHECK(agreed == std::vector<gss_level>{gss_level::integrity, gss_level::confidentiality});
}

TEST_CASE("nec mixed: the MIT peer in standard and NEC form against one listener") {
  mixed_listener listener;
  const std::vector<std::pair<bool, int>> runs = {
      {false, 0}, {true, 1}, {false, 1}, {true, 2}, {false, 2}};
  std::size_t done = 0;
  for (const auto& run : runs) {
    // Plain locals: clang 14 cannot capture structured bindings in INFO's lambda.
    const bool nec = run.first;
    const int level = run.second;
    INFO(form(nec) << " MIT client, level " << level);
    auto [status, out] = python_client(listener.proxy, nec, level);
    const std::string output = out;
    INFO(output);
    CHECK(status == 0);
    CHECK(output.find("result: ok level=" + std::to_string(level) + " bytes=262144") !=
          std::string::npos);
    const auto agreed = listener.log->wait_for(++done);
    REQUIRE(agreed.size() == done);
    CHECK(static_cast<int>(agreed.back()) == level);
  }
}

TEST_CASE("nec off: a raw one-octet level message is refused with 01 FF") {
  // In memory: the context is real, only the level message is in NEC form.
  GssapiAuth::server_options clear;
  clear.allow_clear = true;  // level 0 too: refused for the form, not for the level
  for (auto level : {gss_level::clear, gss_level::integrity, gss_level::confidentiality}) {
    INFO("level " << static_cast<int>(level));
    auto server = gss_server(clear).start({});
    auto o = alice();
    o.nec = true;
    o.levels = {level};
    auto client = GssapiAuth::client(o).start({"localhost"});
    auto t = test::converse(client, server);
    REQUIRE_FALSE(t.client_sent.empty());
    CHECK(t.client_sent.back() == b({0x01, 0x02, 0x00, 0x01, static_cast<std::uint8_t>(level)}));
    REQUIRE_FALSE(t.server_sent.empty());
    CHECK(t.server_sent.back() == b({0x01, 0xff}));
    CHECK_FALSE(t.server_done);
    CHECK(t.server_error);
    CHECK(t.client_error == errc::peer_aborted);
    CHECK(server.take_protection() == nullptr);
  }
  // Over TCP, from the MIT peer: the server aborts (exit status 3).
  server_options options;
  options.methods = {gss_server(clear)};
  test::threaded_proxy proxy(options);
  auto [status, out] = python_client(proxy, true, 2);
  const std::string output = out;
  INFO(output);
  CHECK(status == 3);
}
