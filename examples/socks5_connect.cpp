// socks5-connect: relay standard input and output to HOST PORT through a SOCKS5 proxy, e.g.
//   ssh -o ProxyCommand='socks5-connect --proxy 127.0.0.1:1080 %h %p' user@host
#include <cstdlib>
#include <utility>

#include <fmt/core.h>
#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include "cli.hpp"
#include "socks5/auth/gssapi.hpp"
#include "socks5/auth/ssl.hpp"
#include "socks5/auth/user_pass.hpp"
#include "socks5/client.hpp"
#include "socks5/relay.hpp"
#include "socks5/udp.hpp"
#include "stdio_stream.hpp"

namespace {

constexpr const char* usage = R"(Usage: socks5-connect [options] HOST PORT

Connects to HOST PORT through a SOCKS Version 5 proxy and relays standard
input and output over the connection (usable as an ssh ProxyCommand).
With --udp, relays datagrams instead: those arriving on a local UDP port go to
HOST PORT through the proxy (UDP ASSOCIATE), the replies back to their sender.

Options:
  --proxy HOST:PORT   the proxy (default 127.0.0.1:1080)
  --user NAME         authenticate with username/password (RFC 1929); the
                      password comes from --password or $SOCKS5_PASSWORD
  --password PASS     the password (visible to other local users: prefer the
                      environment variable)
  --gssapi            authenticate with GSS-API (RFC 1961, Kerberos): the ticket
                      comes from $KRB5CCNAME or --ccache
  --service NAME      GSS-API target (default rcmd@<proxy host>)
  --ccache NAME       GSS-API credentials cache, e.g. FILE:/tmp/krb5cc_1000
  --gss-levels LIST   GSS-API levels accepted, first preferred (default 2,1; 0 means
                      no protection and is only used when listed)
  --gss-nec           GSS-API level octet sent raw (NEC compatibility mode)
  --ssl               use the SSL method: TLS to the proxy, the certificate checked
                      against --ca or the system's CAs and the proxy's name
  --ca FILE           SSL: trusted CAs (PEM)
  --pin SHA256        SSL: accept exactly the certificate with this SHA-256 (hex)
  --insecure          SSL: do not check the proxy's certificate at all
  --cert FILE         SSL: client certificate (PEM), with --key FILE
  --key FILE          SSL: its private key
  --ssl-user NAME     SSL: username/password inside TLS; the password comes from
                      --ssl-pass or $SOCKS5_PASSWORD
  --ssl-pass PASS     SSL: that password
  --ssl-method-code CODE  SSL: offer only 0x86 or only 0x06 (default: both)
  --udp               relay UDP datagrams instead of a stream
  --udp-listen ADDR:PORT  with --udp: the local port (default 127.0.0.1:0, printed)
  --local-dns         resolve HOST here instead of at the proxy
  --timeout SEC       give up if the connection is not set up in time (default 30)
  -N, --half-close    on end of standard input, half-close the connection (send
                      FIN) so the target sees its end; by default it stays open
                      and the output keeps flowing until the remote side closes
  --help              show this text
)";

struct config {
  socks5::address proxy{asio::ip::address_v4::loopback(), 1080};
  socks5::address target;
  socks5::client_options options;
  std::chrono::milliseconds timeout = std::chrono::seconds(30);
  bool udp = false;
  // On end of standard input: shut down the sending side (-N), or leave the connection be.
  bool half_close = false;
  asio::ip::udp::endpoint udp_listen{asio::ip::address_v4::loopback(), 0};
};

config parse(int argc, char** argv) {
  config cfg;
  std::optional<std::string> user, password;
  bool gssapi = false;
  socks5::GssapiAuth::client_options gss;
  bool ssl = false;
  socks5::SslAuth::client_options tls;
  std::optional<std::string> ssl_user, ssl_pass;
  if (const char* env = std::getenv("SOCKS5_PASSWORD")) password = env;
  cli::arguments args(argc, argv);
  std::vector<std::string> positional;
  for (;;) {
    if (auto opt = args.next()) {
      if (*opt == "--help") {
        fmt::print("{}", usage);
        std::exit(0);
      } else if (*opt == "--proxy") {
        cfg.proxy = cli::host_port(args.value());
      } else if (*opt == "--user") {
        user = args.value();
      } else if (*opt == "--password") {
        password = args.value();
      } else if (*opt == "--ssl") {
        ssl = true;
      } else if (*opt == "--ca") {
        tls.ca_file = args.value();
      } else if (*opt == "--pin") {
        tls.pin_sha256 = args.value();
      } else if (*opt == "--insecure") {
        tls.verify = false;
      } else if (*opt == "--cert") {
        tls.cert_file = args.value();
      } else if (*opt == "--key") {
        tls.key_file = args.value();
      } else if (*opt == "--ssl-user") {
        ssl_user = args.value();
      } else if (*opt == "--ssl-pass") {
        ssl_pass = args.value();
      } else if (*opt == "--ssl-method-code") {
        const auto code = args.value();
        if (code != "0x86" && code != "0x06")
          cli::fail("--ssl-method-code is 0x86 or 0x06, not '{}'", code);
        tls.code = code == "0x86" ? socks5::method::ssl : socks5::method::ssl_iana;
      } else if (*opt == "--gssapi") {
        gssapi = true;
      } else if (*opt == "--service") {
        gss.service = args.value();
      } else if (*opt == "--ccache") {
        gss.ccache = args.value();
      } else if (*opt == "--gss-levels") {
        gss.levels = cli::gss_levels(args.value(), true);
      } else if (*opt == "--gss-nec") {
        gss.nec = true;
      } else if (*opt == "--udp") {
        cfg.udp = true;
      } else if (*opt == "--udp-listen") {
        const auto ep = cli::endpoint(args.value());
        cfg.udp_listen = asio::ip::udp::endpoint(ep.address(), ep.port());
      } else if (*opt == "--local-dns") {
        cfg.options.resolution = socks5::resolve_mode::local;
      } else if (*opt == "--timeout") {
        cfg.timeout = cli::seconds(args.value());
      } else if (*opt == "--half-close") {
        cfg.half_close = true;
      } else {
        cli::fail("unknown option '{}' (see --help)", *opt);
      }
    } else if (auto p = args.positional()) {
      if (*p == "-N")  // the one short option, as in nc
        cfg.half_close = true;
      else
        positional.push_back(*p);
    } else {
      break;
    }
  }
  if (positional.size() != 2) cli::fail("expected HOST PORT (see --help)");
  cfg.target = socks5::address(positional[0],
                               static_cast<std::uint16_t>(cli::number(positional[1], 1, 65535)));
  if ((user ? 1 : 0) + (gssapi ? 1 : 0) + (ssl ? 1 : 0) > 1)
    cli::fail("choose one of --user, --gssapi and --ssl");
  if (user) {
    if (!password) cli::fail("--user needs --password or $SOCKS5_PASSWORD");
    cfg.options.methods = {socks5::UserPassAuth::client{*user, *password}};
  }
  if (gssapi) cfg.options.methods = {socks5::GssapiAuth::client(gss)};
  if (ssl) {
    if (ssl_user) {
      if (!ssl_pass) ssl_pass = password;
      if (!ssl_pass) cli::fail("--ssl-user needs --ssl-pass or $SOCKS5_PASSWORD");
      tls.subauth = {socks5::UserPassAuth::client{*ssl_user, *ssl_pass}};
    }
    std::error_code ec;
    auto side = socks5::SslAuth::client::create(tls, ec);
    if (ec) cli::fail("cannot use the SSL method: {}", ec.message());
    cfg.options.methods = {side};
  }
  return cfg;
}

// The tunnel as the relay sees it without -N: the end of standard input is not passed on, so
// the connection stays open both ways (like nc without -N: some servers, microsocks among them,
// drop both directions on a half-close) and the relay ends when the remote side closes.
template <class Stream>
class without_half_close {
 public:
  using executor_type = typename Stream::executor_type;

  explicit without_half_close(Stream& s) : s_(s) {}

  executor_type get_executor() { return s_.get_executor(); }
  Stream& next_layer() { return s_; }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return s_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return s_.async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  Stream& s_;
};

// The relay's half-close and close for it (found by argument-dependent lookup).
template <class Stream>
asio::awaitable<void> async_shutdown_send(without_half_close<Stream>&) {
  co_return;
}

template <class Stream>
void close_stream(without_half_close<Stream>& s) {
  socks5::close_stream(s.next_layer());
}

// Datagrams from the local port go to the target through the association; what comes back goes
// to whoever sent last. Ends with the association.
asio::awaitable<int> relay_udp(const config& cfg, socks5::client& client) {
  auto ex = co_await asio::this_coro::executor;
  // Not a structured binding: the lambdas below capture it, which clang 14 refuses.
  auto associated = co_await client.async_udp_associate(socks5::detail::use_tuple);
  const std::error_code ec = std::get<0>(associated);
  auto& association = std::get<1>(associated);
  if (ec) {
    fmt::print(stderr, "socks5-connect: UDP through {}: {}\n", cfg.proxy.to_string(), ec.message());
    co_return 1;
  }
  asio::ip::udp::socket local(ex);
  std::error_code bind_ec;
  local.open(cfg.udp_listen.protocol(), bind_ec);
  if (!bind_ec) local.bind(cfg.udp_listen, bind_ec);
  if (bind_ec) {
    fmt::print(stderr, "socks5-connect: cannot listen on {}: {}\n",
               socks5::address(cfg.udp_listen).to_string(), bind_ec.message());
    co_return 1;
  }
  fmt::print(stderr, "socks5-connect: relaying UDP on {} to {}\n",
             socks5::address(local.local_endpoint()).to_string(), cfg.target.to_string());
  std::optional<asio::ip::udp::endpoint> sender;
  using namespace asio::experimental::awaitable_operators;
  auto outward = [&]() -> asio::awaitable<void> {
    std::vector<char> buf(65536);
    for (;;) {
      asio::ip::udp::endpoint from;
      auto [rec, n] =
          co_await local.async_receive_from(asio::buffer(buf), from, socks5::detail::use_tuple);
      if (rec) co_return;
      sender = from;
      auto [sec, sent] = co_await association.async_send_to(asio::buffer(buf.data(), n), cfg.target,
                                                            socks5::detail::use_tuple);
      if (sec) co_return;
    }
  };
  auto inward = [&]() -> asio::awaitable<void> {
    std::vector<char> buf(65536);
    for (;;) {
      socks5::address from;
      auto [rec, n] = co_await association.async_receive_from(asio::buffer(buf), from,
                                                              socks5::detail::use_tuple);
      if (rec) co_return;
      if (!sender) continue;
      auto [sec, sent] = co_await local.async_send_to(asio::buffer(buf.data(), n), *sender,
                                                      socks5::detail::use_tuple);
      (void)sec;
    }
  };
  co_await (outward() || inward());
  fmt::print(stderr, "socks5-connect: the association ended\n");
  co_return 0;
}

asio::awaitable<int> run(const config& cfg) {
  auto ex = co_await asio::this_coro::executor;
  socks5::client client(ex, cfg.proxy.host(), cfg.proxy.port(), cfg.options);
  if (cfg.udp) {
    const int status = co_await relay_udp(cfg, client);
    co_return status;
  }

  asio::steady_timer deadline(ex, cfg.timeout);
  deadline.async_wait([&](std::error_code ec) {
    if (!ec) fmt::print(stderr, "socks5-connect: timed out\n"), std::exit(1);
  });
  auto [ec, tunnel] = co_await client.async_connect(cfg.target, socks5::detail::use_tuple);
  deadline.cancel();
  if (ec) {
    fmt::print(stderr, "socks5-connect: {} through {}: {}\n", cfg.target.to_string(),
               cfg.proxy.to_string(), ec.message());
    co_return 1;
  }
  cli::stdio_stream stdio(ex);
  socks5::relay_counters counters;
  std::error_code relay_ec;
  if (cfg.half_close) {
    relay_ec = co_await socks5::relay(stdio, tunnel, counters);
  } else {
    without_half_close<decltype(tunnel)> open_tunnel(tunnel);
    relay_ec = co_await socks5::relay(stdio, open_tunnel, counters);
  }
  if (relay_ec && relay_ec != asio::error::operation_aborted) {
    fmt::print(stderr, "socks5-connect: {}\n", relay_ec.message());
    co_return 1;
  }
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const config cfg = parse(argc, argv);
  asio::io_context ctx;
  int status = 1;
  asio::co_spawn(ctx, run(cfg), [&](std::exception_ptr e, int s) {
    if (e) std::rethrow_exception(e);
    status = s;
  });
  ctx.run();
  return status;
}
