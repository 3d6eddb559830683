// socks5-proxy: the socks5::server as a program.
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/chrono.h>
#include <fmt/core.h>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include "cli.hpp"
#include "socks5/access_rules.hpp"
#include "socks5/auth/gssapi.hpp"
#include "socks5/auth/password_file.hpp"
#include "socks5/auth/ssl.hpp"
#include "socks5/auth/user_pass.hpp"
#include "socks5/metrics.hpp"
#include "socks5/metrics_server.hpp"
#include "socks5/network.hpp"
#include "socks5/server.hpp"

namespace {

constexpr const char* usage = R"(Usage: socks5-proxy [options]

A SOCKS Version 5 proxy server (RFC 1928). Without options it listens on
127.0.0.1:1080 and requires no authentication. It refuses to start as an open
proxy: listening beyond loopback with a method that lets anyone in ("none", or
"ssl" without --client-ca or --ssl-subauth) and nothing restricting clients
(--allow-from, or --rule/--rules whose every allow names from= or user=) needs
--allow-open-proxy.

Options:
  --listen ADDR:PORT       listen here; repeatable (default 127.0.0.1:1080)
  --users FILE             enable username/password (RFC 1929) with "user:password"
                           lines from FILE; it is then required unless --method says
                           otherwise
  --method NAME            offer this method: none, userpass, gssapi, ssl; repeatable, in
                           order of preference; once given, only the listed methods are
                           offered
  --keytab FILE            GSS-API: the keytab with the service's key (default: the
                           system's default keytab)
  --service NAME           GSS-API: accept only this service ("rcmd", "rcmd@host" or a
                           principal); default: any principal in the keytab
  --gss-levels LIST        GSS-API: protection levels accepted, e.g. 1,2 (default 1,2;
                           1 integrity, 2 confidentiality)
  --gss-allow-clear        GSS-API: also accept level 0, no protection after authentication
  --gss-nec                GSS-API: also accept NEC clients (curl --socks5-gssapi-nec),
                           whose level octet goes raw; detected per client, standard
                           clients keep working
  --cert FILE              SSL: the server's certificate chain (PEM)
  --key FILE               SSL: its private key (PEM)
  --client-ca FILE         SSL: require client certificates signed by these CAs (PEM); the
                           certificate's subject becomes the session's identity
  --ssl-subauth userpass   SSL: require username/password inside TLS (with --users FILE)
  --ssl-method-code CODE   SSL: accept only 0x86 (the draft's) or 0x06 (IANA's); by default
                           both are accepted
  --no-bind                refuse BIND (X'07')
  --bind-address ADDR      BIND listens on this address (default: the one the client used)
  --no-udp                 refuse UDP ASSOCIATE (X'07')
  --udp-advertise ADDR     UDP ASSOCIATE: the relay address told to clients, e.g. behind NAT
                           (default: the address the client connected to)
  --allow-from CIDR        serve only clients in this network, e.g. 192.0.2.0/24 or ::1/128
                           (a bare address is one host); repeatable; other clients' requests
                           are refused with X'02' (IPv4-mapped IPv6 clients match IPv4
                           networks)
  --rule RULE              an access rule, repeatable, first match wins; once any is given,
                           requests no rule allows are refused with X'02'. RULE is
                           "allow|deny [from=CIDR] [to=CIDR|NAME|.SUFFIX] [port=N|N-M]
                           [user=NAME] [cmd=connect|bind|udp]", e.g. "allow
                           from=10.0.0.0/8 to=.example.com port=443 user=alice"
  --rules FILE             access rules from FILE, one per line ('#' comments); after
                           --allow-from, which is checked first
  --allow-open-proxy       start even when anyone who can reach a non-loopback listener
                           could use the proxy without authentication or restriction
  --proxy-protocol         behind a load balancer: every connection starts with a PROXY
                           protocol header (v2, or v1 text) naming the real client, who is
                           then the client for --allow-from, authentication and the log;
                           connections without one are closed. Only where nothing but the
                           balancer can reach the listener
  --reuse-port             SO_REUSEPORT on the listeners: several processes share a port
  --threads N              run N threads (default 1)
  --handshake-timeout SEC  limit for greeting, authentication and request (default 30)
  --connect-timeout SEC    limit for connecting to the target (default 10)
  --idle-timeout SEC       close relays idle this long; 0 never (default 3600)
  --max-connections N      refuse clients beyond N at once; 0 no limit (default 16384)
  --grace SEC              on SIGINT/SIGTERM, let sessions finish this long (default 5)
  --metrics ADDR:PORT      serve Prometheus metrics at http://ADDR:PORT/metrics, e.g.
                           127.0.0.1:9180 ([::1]:9180 for IPv6)
  --no-splice              relay through a user-space buffer instead of splice(2)
  --quiet                  do not log sessions
  --help                   show this text
)";

struct config {
  std::vector<asio::ip::tcp::endpoint> listen;
  std::optional<std::string> users_file;
  std::vector<std::string> methods;
  socks5::GssapiAuth::server_options gss;
  socks5::SslAuth::server_options ssl;
  std::vector<socks5::method_code> ssl_codes;
  bool ssl_subauth = false;
  std::size_t threads = 1;
  socks5::server_options server;
  std::vector<socks5::network> allow_from;
  socks5::access_rules rules;
  bool allow_open_proxy = false;
  std::chrono::milliseconds grace = std::chrono::seconds(5);
  bool quiet = false;
  std::optional<asio::ip::tcp::endpoint> metrics;
};

const char* method_name(std::optional<socks5::method_code> m) {
  if (!m) return "-";
  switch (*m) {
    case socks5::method::no_auth: return "none";
    case socks5::method::username_password: return "userpass";
    case socks5::method::gssapi: return "gssapi";
    case socks5::method::ssl:
    case socks5::method::ssl_iana: return "ssl";
    default: return "other";
  }
}

const char* command_name(std::optional<socks5::command> c) {
  if (!c) return "-";
  switch (*c) {
    case socks5::command::connect: return "connect";
    case socks5::command::bind: return "bind";
    case socks5::command::udp_associate: return "udp";
  }
  return "-";
}

void log_session(const socks5::session_record& r) {
  const auto seconds = std::chrono::duration<double>(r.duration).count();
  std::string extra;
  if (r.peer) extra += " peer=" + r.peer->to_string();
  if (r.cmd == socks5::command::udp_associate)
    extra += fmt::format(" datagrams={}/{} dropped={}", r.datagrams_up, r.datagrams_down,
                         r.datagrams_dropped);
  if (r.error) extra += " error=" + cli::quote(r.error.message());
  if (!r.failure.empty()) extra += " exception=" + cli::quote(r.failure);
  // Written with fwrite, not fmt::print, which throws when stdout has gone (a closed pipe,
  // with SIGPIPE ignored): a lost log line must not disturb the sessions.
  const auto line = fmt::format(
      "{:%Y-%m-%dT%H:%M:%S}Z client={} identity={} method={} cmd={} target={} reply={} "
      "up={} down={} duration={:.3f}s outcome={}{}\n",
      fmt::gmtime(std::time(nullptr)), socks5::address(r.client).to_string(),
      r.identity.empty() ? "-" : r.identity, method_name(r.method), command_name(r.cmd),
      r.cmd ? r.target.to_string() : "-",
      r.reply ? fmt::format("{:02x}", static_cast<int>(*r.reply)) : "-", r.bytes_up, r.bytes_down,
      seconds, r.outcome(), extra);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

// --allow-from: the client (as the PROXY protocol header names it, when there is one) must be
// in one of the networks; then the access rules, if any, decide.
asio::awaitable<socks5::decision> check_policy(
    std::shared_ptr<const std::vector<socks5::network>> allowed, socks5::request_handler rules,
    socks5::request_context request) {
  const auto client = request.client.address();
  const bool in_allowed =
      allowed->empty() || std::any_of(allowed->begin(), allowed->end(),
                                      [&](const socks5::network& n) { return n.contains(client); });
  if (!in_allowed) co_return socks5::decision::deny(socks5::reply_code::not_allowed);
  if (!rules) co_return socks5::decision::allow();
  auto by_rules = rules(request);
  socks5::decision d = co_await std::move(by_rules);
  co_return d;
}

bool is_loopback(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();  // 127.0.0.0/8, ::1; never 0.0.0.0 or ::
}

// Refuses to serve as an open proxy: a listener beyond loopback, a method that lets anyone in,
// and nothing that restricts who may use it. Only --allow-open-proxy overrides this.
void refuse_open_proxy(const config& cfg) {
  const auto exposed = std::find_if(cfg.listen.begin(), cfg.listen.end(),
                                    [](const auto& ep) { return !is_loopback(ep.address()); });
  if (exposed == cfg.listen.end()) return;
  const bool ssl_authenticates = !cfg.ssl.client_ca_file.empty() || cfg.ssl_subauth;
  const auto open_method = std::find_if(cfg.methods.begin(), cfg.methods.end(), [&](const auto& m) {
    return m == "none" || (m == "ssl" && !ssl_authenticates);
  });
  if (open_method == cfg.methods.end()) return;
  const bool restricted_by_network =
      std::any_of(cfg.allow_from.begin(), cfg.allow_from.end(),
                  [](const socks5::network& n) { return n.prefix_length() > 0; });
  if (restricted_by_network || cfg.rules.restricts_clients()) return;
  if (cfg.allow_open_proxy) {
    fmt::print(stderr,
               "socks5-proxy: warning: anyone who can reach {} may use this proxy "
               "(--allow-open-proxy)\n",
               socks5::address(*exposed).to_string());
    return;
  }
  cli::fail(
      "refusing to start an open proxy: {} is not a loopback address, method '{}' lets any "
      "client in, and neither --allow-from nor --rule restricts clients. Require "
      "authentication (--users), restrict clients (--allow-from, --rule 'allow from=CIDR'), "
      "or pass --allow-open-proxy to run it anyway",
      socks5::address(*exposed).to_string(), *open_method);
}

config parse(int argc, char** argv) {
  config cfg;
  cli::arguments args(argc, argv);
  while (auto opt = args.next()) {
    if (*opt == "--help") {
      fmt::print("{}", usage);
      std::exit(0);
    } else if (*opt == "--listen") {
      cfg.listen.push_back(cli::endpoint(args.value()));
    } else if (*opt == "--users") {
      cfg.users_file = args.value();
    } else if (*opt == "--method") {
      const auto m = args.value();
      if (m != "none" && m != "userpass" && m != "gssapi" && m != "ssl")
        cli::fail("unknown method '{}' (none, userpass, gssapi, ssl)", m);
      cfg.methods.push_back(m);
    } else if (*opt == "--keytab") {
      cfg.gss.keytab = args.value();
    } else if (*opt == "--service") {
      cfg.gss.service = args.value();
    } else if (*opt == "--gss-levels") {
      cfg.gss.levels = cli::gss_levels(args.value(), false);
    } else if (*opt == "--gss-allow-clear") {
      cfg.gss.allow_clear = true;
    } else if (*opt == "--gss-nec") {
      cfg.gss.nec = true;
    } else if (*opt == "--cert") {
      cfg.ssl.cert_file = args.value();
    } else if (*opt == "--key") {
      cfg.ssl.key_file = args.value();
    } else if (*opt == "--client-ca") {
      cfg.ssl.client_ca_file = args.value();
    } else if (*opt == "--ssl-subauth") {
      const auto m = args.value();
      if (m != "userpass") cli::fail("unknown subauthentication '{}' (userpass)", m);
      cfg.ssl_subauth = true;
    } else if (*opt == "--ssl-method-code") {
      const auto code = args.value();
      if (code != "0x86" && code != "0x06")
        cli::fail("--ssl-method-code is 0x86 or 0x06, not '{}'", code);
      cfg.ssl_codes.push_back(code == "0x86" ? socks5::method::ssl : socks5::method::ssl_iana);
    } else if (*opt == "--no-bind") {
      cfg.server.allow_bind = false;
    } else if (*opt == "--bind-address") {
      cfg.server.bind_address = cli::ip(args.value());
    } else if (*opt == "--no-udp") {
      cfg.server.allow_udp = false;
    } else if (*opt == "--udp-advertise") {
      cfg.server.udp_advertise = cli::ip(args.value());
    } else if (*opt == "--allow-from") {
      const auto text = args.value();
      std::error_code ec;
      cfg.allow_from.push_back(socks5::network::parse(text, ec));
      if (ec) cli::fail("'{}' is not a network (ADDR/LEN, e.g. 192.0.2.0/24 or ::1/128)", text);
    } else if (*opt == "--rule") {
      const auto text = args.value();
      std::string error;
      auto rule = socks5::access_rule::parse(text, error);
      if (!rule) cli::fail("--rule '{}': {}", text, error);
      cfg.rules.add(std::move(*rule));
    } else if (*opt == "--rules") {
      const auto path = args.value();
      std::string error;
      auto loaded = socks5::access_rules::load(path, error);
      if (!loaded) cli::fail("--rules '{}': {}", path, error);
      for (const auto& rule : loaded->rules())
        cfg.rules.add(rule);
    } else if (*opt == "--allow-open-proxy") {
      cfg.allow_open_proxy = true;
    } else if (*opt == "--proxy-protocol") {
      cfg.server.proxy_protocol = true;
    } else if (*opt == "--reuse-port") {
      cfg.server.reuse_port = true;
    } else if (*opt == "--threads") {
      cfg.threads = cli::number(args.value(), 1, 1024);
    } else if (*opt == "--handshake-timeout") {
      cfg.server.handshake_timeout = cli::seconds(args.value());
    } else if (*opt == "--connect-timeout") {
      cfg.server.connect_timeout = cli::seconds(args.value());
    } else if (*opt == "--idle-timeout") {
      cfg.server.idle_timeout = cli::seconds(args.value());
    } else if (*opt == "--max-connections") {
      cfg.server.max_connections = cli::number(args.value(), 0, 100000000);
    } else if (*opt == "--grace") {
      cfg.grace = cli::seconds(args.value());
    } else if (*opt == "--metrics") {
      cfg.metrics = cli::endpoint(args.value());
    } else if (*opt == "--no-splice") {
      cfg.server.relay_splice = false;
    } else if (*opt == "--quiet") {
      cfg.quiet = true;
    } else {
      cli::fail("unknown option '{}' (see --help)", *opt);
    }
  }
  if (args.positional()) cli::fail("unexpected argument '{}' (see --help)", *args.positional());
  if (cfg.listen.empty()) cfg.listen.push_back({asio::ip::address_v4::loopback(), 1080});

  // With a users file, username/password is required unless no-auth is asked for by name.
  if (cfg.methods.empty()) cfg.methods.push_back(cfg.users_file ? "userpass" : "none");
  refuse_open_proxy(cfg);
  socks5::password_file users;
  auto load_users = [&] {
    if (!cfg.users_file) cli::fail("username/password needs --users FILE");
    if (users.size() > 0) return;
    std::error_code ec;
    users = socks5::password_file::load(*cfg.users_file, ec);
    if (ec) cli::fail("cannot use users file '{}': {}", *cfg.users_file, ec.message());
  };
  cfg.server.methods.clear();  // only what was asked for, in that order
  for (const auto& m : cfg.methods) {
    if (m == "none") {
      cfg.server.methods.push_back(socks5::NoAuth::server{});
    } else if (m == "userpass") {
      load_users();
      cfg.server.methods.push_back(socks5::UserPassAuth::server{users});
    } else if (m == "gssapi") {
      std::error_code ec;
      auto gss = socks5::GssapiAuth::server::create(cfg.gss, ec);
      if (ec) cli::fail("cannot use GSS-API with keytab '{}': {}", cfg.gss.keytab, ec.message());
      cfg.server.methods.push_back(std::move(gss));
    } else if (m == "ssl") {
      if (cfg.ssl_subauth) {
        load_users();
        cfg.ssl.subauth = {socks5::UserPassAuth::server{users}};
      }
      // No --ssl-method-code: one side that answers to both X'86' and X'06'.
      std::vector<std::optional<socks5::method_code>> codes(cfg.ssl_codes.begin(),
                                                            cfg.ssl_codes.end());
      if (codes.empty()) codes.emplace_back();
      for (auto code : codes) {
        cfg.ssl.code = code;
        std::error_code ec;
        auto ssl = socks5::SslAuth::server::create(cfg.ssl, ec);
        if (ec)
          cli::fail("cannot use the SSL method with --cert '{}' --key '{}': {}", cfg.ssl.cert_file,
                    cfg.ssl.key_file, ec.message());
        cfg.server.methods.push_back(std::move(ssl));
      }
    }
  }
  if (!cfg.allow_from.empty() || !cfg.rules.empty()) {
    auto allowed = std::make_shared<const std::vector<socks5::network>>(cfg.allow_from);
    socks5::request_handler rules;
    if (!cfg.rules.empty()) rules = cfg.rules.handler();
    cfg.server.handler = [allowed, rules](const socks5::request_context& c) {
      return check_policy(allowed, rules, c);
    };
  }
  if (!cfg.quiet) cfg.server.on_session_end = log_session;
  if (cfg.metrics) cfg.server.metrics = std::make_shared<socks5::metrics>();
  return cfg;
}

}  // namespace

int main(int argc, char** argv) {
  config cfg = parse(argc, argv);
  // A peer that has gone is an error on its session (EPIPE), never the end of the server.
  std::signal(SIGPIPE, SIG_IGN);
  // One io_context per thread, each run by that thread alone: the listeners live on the first,
  // sessions are spread over all of them and need no locking among themselves.
  asio::io_context ctx(1);
  std::vector<std::unique_ptr<asio::io_context>> workers;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
  cfg.server.session_executors = {ctx.get_executor()};
  for (std::size_t i = 1; i < cfg.threads; ++i) {
    auto& w = *workers.emplace_back(std::make_unique<asio::io_context>(1));
    keep_running.push_back(asio::make_work_guard(w));
    cfg.server.session_executors.push_back(w.get_executor());
  }
  socks5::server server(ctx.get_executor(), cfg.server);
  for (const auto& ep : cfg.listen) {
    if (auto ec = server.listen(ep))
      cli::fail("cannot listen on {}: {}", socks5::address(ep).to_string(), ec.message());
  }
  server.start();
  for (const auto& ep : server.local_endpoints())
    fmt::print(stderr, "socks5-proxy: listening on {}\n", socks5::address(ep).to_string());

  std::optional<socks5::metrics_server> metrics;
  if (cfg.metrics) {
    metrics.emplace(ctx.get_executor(), cfg.server.metrics);
    if (auto ec = metrics->listen(*cfg.metrics))
      cli::fail("cannot serve metrics on {}: {}", socks5::address(*cfg.metrics).to_string(),
                ec.message());
    metrics->start();
    for (const auto& ep : metrics->local_endpoints())
      fmt::print(stderr, "socks5-proxy: metrics on http://{}/metrics\n",
                 socks5::address(ep).to_string());
  }

  asio::signal_set signals(ctx, SIGINT, SIGTERM);
  int received = 0;
  std::function<void(std::error_code, int)> on_signal = [&](std::error_code ec, int) {
    if (ec) return;
    // The first signal stops gracefully; a second one closes everything at once.
    if (++received == 1) {
      fmt::print(stderr, "socks5-proxy: stopping, sessions have {}s to finish\n",
                 std::chrono::duration<double>(cfg.grace).count());
      // When the last session has ended, nothing else needs the loop.
      server.async_stop(cfg.grace, [&] {
        signals.cancel();
        if (metrics) metrics->stop();
        keep_running.clear();
      });
      signals.async_wait(on_signal);
    } else {
      ctx.stop();
      for (auto& w : workers)
        w->stop();
    }
  };
  signals.async_wait(on_signal);

  std::vector<std::thread> pool;
  for (auto& w : workers)
    pool.emplace_back([&w = *w] { w.run(); });
  ctx.run();
  for (auto& t : pool)
    t.join();
  return 0;
}
