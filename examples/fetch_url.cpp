// fetch-url: a short coroutine example. GET an http:// URL through a SOCKS5 proxy and print the
// response.
//   fetch-url [--proxy HOST:PORT] http://example.com/
#include <iostream>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "cli.hpp"
#include "socks5/client.hpp"

asio::awaitable<void> fetch(socks5::address proxy, std::string host, std::uint16_t port,
                            std::string path) {
  const auto ex = co_await asio::this_coro::executor;
  socks5::client client(ex, proxy.host(), proxy.port());
  // The proxy resolves the host name; the returned stream is connected to host:port.
  const socks5::address target(host, port);
  auto stream = co_await client.async_connect(target, asio::use_awaitable);

  const std::string request =
      "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  co_await asio::async_write(stream, asio::buffer(request), asio::use_awaitable);

  std::string response;
  auto [ec, n] =
      co_await asio::async_read(stream, asio::dynamic_buffer(response), socks5::detail::use_tuple);
  if (ec && ec != asio::error::eof) throw std::system_error(ec);
  std::cout << response;
}

int main(int argc, char** argv) {
  socks5::address proxy(asio::ip::address_v4::loopback(), 1080);
  cli::arguments args(argc, argv);
  while (auto opt = args.next()) {
    if (*opt == "--proxy")
      proxy = cli::host_port(args.value());
    else
      cli::fail("usage: fetch-url [--proxy HOST:PORT] http://HOST[:PORT]/PATH");
  }
  const auto url = args.positional();
  if (!url || url->rfind("http://", 0) != 0)
    cli::fail("usage: fetch-url [--proxy HOST:PORT] http://HOST[:PORT]/PATH");

  const std::string rest = url->substr(7);
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  const std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string host = authority;
  std::uint16_t port = 80;
  if (const auto colon = authority.rfind(':');
      colon != std::string::npos && authority.back() != ']') {
    host = authority.substr(0, colon);
    port = static_cast<std::uint16_t>(cli::number(authority.substr(colon + 1), 1, 65535));
  }

  asio::io_context ctx;
  int status = 0;
  asio::co_spawn(ctx, fetch(proxy, host, port, path), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "fetch-url: " << ex.what() << "\n";
      status = 1;
    }
  });
  ctx.run();
  return status;
}
