// The socks5-proxy program's --metrics endpoint, scraped by curl after curl went through it.
#include <doctest/doctest.h>

#include "http_client.hpp"
#include "http_server.hpp"
#include "process.hpp"
#include "prometheus.hpp"

using namespace std::chrono_literals;
using test::metric_value;

namespace {

std::vector<std::string> curl(std::vector<std::string> args) {
  std::vector<std::string> argv = {"curl", "--silent", "--show-error", "--max-time", "30"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// A command's exit status and output, as named fields: doctest assertions take these, where
// clang 14 cannot take structured bindings.
struct ran {
  int status;
  std::string output;
};

ran run(std::vector<std::string> argv, const test::temp_dir& dir) {
  auto result = test::run_command(std::move(argv), dir);
  return {result.first, std::move(result.second)};
}

}  // namespace

TEST_CASE("socks5-proxy --metrics: curl through the proxy, then curl /metrics counts it") {
  const auto bin = test::program("SOCKS5_PROXY_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  asio::io_context target_ctx;
  test::http_server http(target_ctx);
  std::thread target([&] { target_ctx.run_for(30s); });

  const auto port = std::to_string(test::free_port());
  const auto metrics_port = test::free_port();
  const auto metrics_url = "http://127.0.0.1:" + std::to_string(metrics_port);
  test::process proxy({*bin, "--listen", "127.0.0.1:" + port, "--metrics",
                       "127.0.0.1:" + std::to_string(metrics_port)},
                      dir / "proxy.log");
  REQUIRE(test::wait_for_port(metrics_port));

  const auto url = "http://localhost:" + std::to_string(http.port()) + "/";
  const auto first = run(curl({"--socks5-hostname", "127.0.0.1:" + port, url}), dir);
  CHECK(first.status == 0);
  CHECK(first.output == test::http_greeting);

  // The session's end may be counted a moment after curl has exited.
  const std::string ok_series = "socks5_sessions_total{method=\"none\",outcome=\"ok\"}";
  std::string text;
  for (int i = 0; i < 100; ++i) {
    const auto scrape = run(curl({"--noproxy", "*", metrics_url + "/metrics"}), dir);
    text = scrape.output;
    if (scrape.status == 0 && metric_value(text, ok_series) >= 0) break;
    std::this_thread::sleep_for(50ms);
  }
  INFO(text);
  CHECK(test::has_line(text, ok_series + " 1"));
  CHECK(test::has_line(text, "socks5_sessions_active{method=\"none\"} 0"));
  CHECK(test::has_line(text, "socks5_requests_total{command=\"connect\",reply=\"succeeded\"} 1"));
  CHECK(test::has_line(text, "socks5_handshake_seconds_count 1"));
  const auto up = metric_value(text, "socks5_bytes_total{direction=\"up\"}");
  const auto down = metric_value(text, "socks5_bytes_total{direction=\"down\"}");
  REQUIRE(up >= 0);
  REQUIRE(down >= 0);
  CHECK(up > 0);
  CHECK(down > static_cast<std::int64_t>(std::string(test::http_greeting).size()));

  const auto type = run(curl({"--noproxy", "*", "-o", "/dev/null", "-w",
                              "%{http_code} %{content_type}", metrics_url + "/metrics"}),
                        dir);
  CHECK(type.status == 0);
  CHECK(type.output == "200 text/plain; version=0.0.4; charset=utf-8");
  const auto missing =
      run(curl({"--noproxy", "*", "-o", "/dev/null", "-w", "%{http_code}", metrics_url + "/nope"}),
          dir);
  CHECK(missing.status == 0);
  CHECK(missing.output == "404");
  const auto post = run(curl({"--noproxy", "*", "-o", "/dev/null", "-w", "%{http_code}", "-d",
                              "x=1", metrics_url + "/metrics"}),
                        dir);
  CHECK(post.status == 0);
  CHECK(post.output == "405");
  const asio::ip::tcp::endpoint where(asio::ip::address_v4::loopback(), metrics_port);
  CHECK(test::http_exchange(where, "NOT HTTP\r\n\r\n").rfind("HTTP/1.1 400 Bad Request\r\n", 0) ==
        0);

  // The proxy serves on as before, and the second session is counted too.
  const auto again = run(curl({"--socks5-hostname", "127.0.0.1:" + port, url}), dir);
  CHECK(again.status == 0);
  CHECK(again.output == test::http_greeting);

  proxy.signal(SIGTERM);
  CHECK(proxy.wait(10s) == 0);  // the metrics endpoint does not keep the program alive
  target_ctx.stop();
  target.join();
  const auto log = proxy.output();
  INFO(log);
  CHECK(log.find("metrics on " + metrics_url + "/metrics") != std::string::npos);
}

TEST_CASE("socks5-proxy --metrics: IPv6, --help, and bad or busy addresses") {
  const auto bin = test::program("SOCKS5_PROXY_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  const auto help = run({*bin, "--help"}, dir);
  CHECK(help.status == 0);
  CHECK(help.output.find("--metrics ADDR:PORT") != std::string::npos);

  const auto bad = run({*bin, "--listen", "127.0.0.1:0", "--metrics", "localhost:9180"}, dir);
  CHECK(bad.status == 2);
  CHECK(bad.output.find("listen on an IP address") != std::string::npos);

  asio::io_context ctx;
  asio::ip::tcp::acceptor taken(ctx, {asio::ip::address_v4::loopback(), 0});
  const auto busy_port = std::to_string(taken.local_endpoint().port());
  const auto busy =
      run({*bin, "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:" + busy_port}, dir);
  CHECK(busy.status == 2);
  CHECK(busy.output.find("cannot serve metrics on 127.0.0.1:" + busy_port) != std::string::npos);

  const auto port = test::free_port();
  test::process proxy(
      {*bin, "--listen", "127.0.0.1:0", "--metrics", "[::1]:" + std::to_string(port)},
      dir / "proxy.log");
  const asio::ip::tcp::endpoint where(asio::ip::address_v6::loopback(), port);
  std::string text;
  for (int i = 0; i < 200 && text.empty(); ++i) {
    const auto scrape = run(
        curl({"--noproxy", "*", "--globoff", "http://[::1]:" + std::to_string(port) + "/metrics"}),
        dir);
    if (scrape.status == 0)
      text = scrape.output;
    else
      std::this_thread::sleep_for(50ms);
  }
  INFO(proxy.output());
  CHECK(test::has_line(text, "socks5_sessions_active{method=\"negotiating\"} 0"));
  proxy.signal(SIGTERM);
  CHECK(proxy.wait(10s) == 0);
}
