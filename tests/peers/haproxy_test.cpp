// HAProxy in front of the socks5-proxy program, sending PROXY protocol v2 headers: the proxy
// sees, logs and judges the real client, not the balancer.
#include <doctest/doctest.h>

#include "process.hpp"
#include "threaded.hpp"

using namespace std::chrono_literals;
using test::b;

namespace {

std::vector<std::string> curl(std::vector<std::string> args) {
  std::vector<std::string> argv = {"curl", "--silent", "--show-error", "--max-time", "30"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// Waits until the program's output holds `text` (log lines land when sessions end).
bool wait_for_output(const test::process& p, const std::string& text,
                     std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (p.output().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// The log lines about one client address.
std::vector<std::string> lines_for(const std::string& log, const std::string& client) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < log.size()) {
    const auto end = log.find('\n', at);
    const auto line = log.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (line.find("client=" + client + ":") != std::string::npos) out.push_back(line);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("HAProxy with send-proxy-v2 in front of socks5-proxy --proxy-protocol --allow-from") {
  const auto bin = test::program("SOCKS5_PROXY_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  asio::io_context target_ctx;
  test::http_server http(target_ctx);
  std::thread target([&] { target_ctx.run_for(60s); });

  const auto proxy_port = std::to_string(test::free_port());
  test::process proxy({*bin, "--listen", "127.0.0.1:" + proxy_port, "--proxy-protocol",
                       "--allow-from", "127.0.0.2/32"},
                      dir / "proxy.log");
  REQUIRE(test::wait_for_port(static_cast<std::uint16_t>(std::stoi(proxy_port))));

  const auto balancer_port = test::free_port();
  const auto config = dir.write("haproxy.cfg",
                                "global\n"
                                "    maxconn 64\n"
                                "defaults\n"
                                "    mode tcp\n"
                                "    timeout connect 5s\n"
                                "    timeout client 30s\n"
                                "    timeout server 30s\n"
                                "frontend socks\n"
                                "    bind 127.0.0.1:" +
                                    std::to_string(balancer_port) +
                                    "\n"
                                    "    default_backend proxies\n"
                                    "backend proxies\n"
                                    "    server s1 127.0.0.1:" +
                                    proxy_port + " send-proxy-v2 source 127.0.0.3\n");
  test::process haproxy({"haproxy", "-f", config, "-db"}, dir / "haproxy.log");
  REQUIRE(test::wait_for_port(balancer_port));

  const auto url = "http://localhost:" + std::to_string(http.port()) + "/";
  const auto via = "127.0.0.1:" + std::to_string(balancer_port);

  // An allowed client: served, and logged as itself.
  const auto ok =
      test::run_command(curl({"--interface", "127.0.0.2", "--socks5-hostname", via, url}), dir);
  INFO(ok.second);
  CHECK(ok.first == 0);
  CHECK(ok.second == test::http_greeting);

  // Another client of the same balancer: refused with X'02', which curl reports.
  const auto refused_run =
      test::run_command(curl({"--interface", "127.0.0.4", "--socks5-hostname", via, url}), dir);
  INFO(refused_run.second);
  CHECK(refused_run.first != 0);
  CHECK(refused_run.second.find(test::http_greeting) == std::string::npos);
  CHECK(refused_run.second.find("SOCKS5") != std::string::npos);

  // Straight to the proxy, without a header: closed before any answer.
  {
    asio::io_context ctx;
    asio::ip::tcp::socket s(ctx);
    s.connect(
        {asio::ip::address_v4::loopback(), static_cast<std::uint16_t>(std::stoi(proxy_port))});
    test::send(s, b({0x05, 0x01, 0x00}));
    CHECK(test::receive(s, 2, 5s).empty());
  }

  CHECK(wait_for_output(proxy, "client=127.0.0.2:"));
  CHECK(wait_for_output(proxy, "client=127.0.0.4:"));
  CHECK(wait_for_output(proxy, "error=\"no PROXY protocol header\""));
  const auto log = proxy.output();
  INFO(log);
  INFO(haproxy.output());
  const auto allowed = lines_for(log, "127.0.0.2");
  REQUIRE(allowed.size() == 1);
  CHECK(allowed[0].find("cmd=connect target=localhost:" + std::to_string(http.port()) +
                        " reply=00") != std::string::npos);
  CHECK(allowed[0].find("outcome=ok") != std::string::npos);
  const auto refused = lines_for(log, "127.0.0.4");
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].find("reply=02") != std::string::npos);
  CHECK(refused[0].find("outcome=refused") != std::string::npos);
  CHECK(refused[0].find("not allowed") != std::string::npos);
  // HAProxy's own address never stands for a client.
  CHECK(lines_for(log, "127.0.0.3").empty());

  haproxy.kill();
  proxy.signal(SIGTERM);
  CHECK(proxy.wait(10s) == 0);
  target_ctx.stop();
  target.join();
}

TEST_CASE("socks5-proxy --reuse-port: two processes serve one port; without it the second fails") {
  const auto bin = test::program("SOCKS5_PROXY_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  asio::io_context target_ctx;
  test::http_server http(target_ctx);
  std::thread target([&] { target_ctx.run_for(60s); });

  const auto port = test::free_port();
  const auto listen = "127.0.0.1:" + std::to_string(port);
  test::process first({*bin, "--listen", listen, "--reuse-port"}, dir / "first.log");
  REQUIRE(test::wait_for_port(port));
  test::process second({*bin, "--listen", listen, "--reuse-port"}, dir / "second.log");
  REQUIRE(wait_for_output(second, "listening on " + listen));
  CHECK(second.running());

  // Without the option the port is taken.
  const auto plain = test::run_command({*bin, "--listen", listen}, dir, 10s);
  CHECK(plain.first == 2);
  CHECK(plain.second.find("cannot listen on " + listen) != std::string::npos);

  // The kernel spreads connections over both: 30 clients reach each of them.
  const auto url = "http://localhost:" + std::to_string(http.port()) + "/";
  for (int i = 0; i < 30; ++i) {
    const auto run = test::run_command(curl({"--socks5-hostname", listen, url}), dir);
    CHECK(run.first == 0);
  }
  CHECK(wait_for_output(first, "outcome=ok"));
  CHECK(wait_for_output(second, "outcome=ok"));

  first.kill();
  second.kill();
  target_ctx.stop();
  target.join();
}

TEST_CASE("socks5-proxy: --help documents the options; a bad --allow-from is refused") {
  const auto bin = test::program("SOCKS5_PROXY_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  const auto help = test::run_command({*bin, "--help"}, dir);
  CHECK(help.first == 0);
  for (const char* option : {"--proxy-protocol", "--reuse-port", "--allow-from CIDR"})
    CHECK(help.second.find(option) != std::string::npos);
  for (const char* bad : {"10.0.0.1/8", "127.0.0.2/33", "localhost"}) {
    INFO(bad);
    const auto run = test::run_command({*bin, "--allow-from", bad}, dir);
    CHECK(run.first == 2);
    CHECK(run.second.find("is not a network") != std::string::npos);
  }
}
