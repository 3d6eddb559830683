// GSS-API (RFC 1961) in one run against a Heimdal KDC of its own:
//  - the raw cost of the protection: gss_wrap + gss_unwrap of a context at levels 1 and 2;
//  - relay throughput through socks5::server at those levels, and its ratio to the raw rate;
//  - handshakes per second: the negotiation alone, and a whole connect (TCP, GSS-API, CONNECT).
//   gss-throughput [--mib N] [--seconds S] [--json]
// With --json the figures are also printed as one JSON line on stdout, and the table goes to
// stderr.
#include <cstdio>
#include <exception>
#include <string>

#include "bench.hpp"
#include "kdc.hpp"
#include "machines.hpp"
#include "protected_bench_options.hpp"
#include "relay_rate.hpp"
#include "socks5/auth/gss_protection.hpp"
#include "socks5/auth/gssapi.hpp"
#include "socks5/client.hpp"
#include "socks5/server.hpp"
#include "socks5/wire/frame.hpp"

using namespace socks5;
using bench::clock_type;

namespace {

GssapiAuth::server make_server(gss_level level) {
  GssapiAuth::server_options o;
  o.keytab = test::realm().server_keytab();
  o.levels = {level};
  std::error_code ec;
  auto s = GssapiAuth::server::create(o, ec);
  if (ec) throw std::system_error(ec);
  return s;
}

GssapiAuth::client_options client_side(gss_level level) {
  GssapiAuth::client_options o;
  o.ccache = test::realm().alice_ccache();
  o.levels = {level};
  return o;
}

// Wrap on one end and unwrap on the other, as a relayed byte is: MiB/s over `total` octets.
double raw_rate(gss_level level, std::size_t total) {
  auto server = make_server(level).start({});
  auto client = GssapiAuth::client(client_side(level)).start({"localhost"});
  auto t = test::converse(client, server);
  if (!t.client_done || !t.server_done) throw std::runtime_error("negotiation failed");
  auto cp = client.take_protection();
  auto sp = server.take_protection();
  const std::size_t chunk = cp->max_plaintext_size();
  std::vector<wire::byte> data(chunk, 'x'), token, plain;
  token.reserve(wire::max_frame_body);
  plain.reserve(chunk);
  const auto start = clock_type::now();
  for (std::size_t done = 0; done < total; done += chunk) {
    token.clear();
    plain.clear();
    if (cp->wrap(data, token) || sp->unwrap(wire::frame_type::data, token, plain))
      throw std::runtime_error("wrap/unwrap failed");
  }
  return bench::mib_per_second(total, clock_type::now() - start);
}

// Negotiations in memory, one after another, for `seconds`.
double machine_handshakes(double seconds) {
  auto server_side = make_server(gss_level::confidentiality);
  GssapiAuth::client client_side_(client_side(gss_level::confidentiality));
  std::size_t n = 0;
  const auto start = clock_type::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (clock_type::now() < end) {
    auto server = server_side.start({});
    auto client = client_side_.start({"localhost"});
    auto t = test::converse(client, server);
    if (!t.client_done || !t.server_done) throw std::runtime_error("negotiation failed");
    ++n;
  }
  return static_cast<double>(n) / std::chrono::duration<double>(clock_type::now() - start).count();
}

// Whole connects through the proxy, one after another, for `seconds`.
double connect_handshakes(double seconds, const asio::ip::tcp::endpoint& target) {
  bench::background proxy_thread;
  server_options options;
  options.methods = {make_server(gss_level::confidentiality)};
  socks5::server server(proxy_thread.context().get_executor(), options);
  server.listen({asio::ip::address_v4::loopback(), 0});
  server.start();
  asio::io_context ctx;
  client_options copts;
  copts.methods = {GssapiAuth::client(client_side(gss_level::confidentiality))};
  socks5::client c(ctx.get_executor(), "localhost", server.local_endpoints().at(0).port(), copts);
  const address where(target);
  const auto n = bench::run(ctx, [&]() -> asio::awaitable<std::size_t> {
    std::size_t count = 0;
    const auto end = clock_type::now() + std::chrono::duration<double>(seconds);
    while (clock_type::now() < end) {
      auto s = co_await c.async_connect(where, asio::use_awaitable);
      ++count;
    }
    co_return count;
  }());
  server.stop();
  return static_cast<double>(n) / seconds;
}

}  // namespace

int run_benchmark(int argc, char** argv) {
  const auto o = bench::parse_protected_bench_options(argc, argv, "gss-throughput", false);
  FILE* const out = o.table();
  const std::size_t total = o.total_octets();
  test::realm();  // a KDC of our own for the whole run
  bench::background sink_thread;
  bench::sink target(sink_thread.context());

  std::fprintf(out, "GSS-API (Heimdal, Kerberos 5), %zu MiB per figure\n", o.mib);
  std::fprintf(out, "  %-26s %14s %14s %8s\n", "", "wrap+unwrap", "relay", "ratio");
  std::string levels_json;
  for (auto level : {gss_level::integrity, gss_level::confidentiality}) {
    const double raw = raw_rate(level, total);
    const double relay = bench::relay_rate(
        {make_server(level)}, {GssapiAuth::client(client_side(level))}, total, target.endpoint());
    const bool integrity = level == gss_level::integrity;
    std::fprintf(out, "  %-26s %8.0f MiB/s %8.0f MiB/s %8.2f\n",
                 integrity ? "level 1 (integrity)" : "level 2 (confidentiality)", raw, relay,
                 relay / raw);
    if (!levels_json.empty()) levels_json += ",";
    levels_json += std::string("\"level") + (integrity ? "1" : "2") +
                   "\":{\"wrap_unwrap_mib_per_s\":" + std::to_string(raw) +
                   ",\"relay_mib_per_s\":" + std::to_string(relay) + "}";
  }
  const double negotiations = machine_handshakes(o.seconds);
  const double connects = connect_handshakes(o.seconds, target.endpoint());
  std::fprintf(out, "  handshakes per second: negotiation in memory %.0f, whole connect %.0f\n",
               negotiations, connects);
  if (o.json)
    std::printf(
        "{\"benchmark\":\"gss-throughput\",\"mib\":%zu,%s,\"negotiations_per_s\":%.1f,"
        "\"connects_per_s\":%.1f}\n",
        o.mib, levels_json.c_str(), negotiations, connects);
  return 0;
}

// An error ends the run through main's return, so that the KDC started for it is stopped with
// the static objects, not left running as an uncaught exception's abort would leave it.
int main(int argc, char** argv) {
  try {
    return run_benchmark(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gss-throughput: %s\n", e.what());
    return 1;
  }
}
