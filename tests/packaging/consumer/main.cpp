// Starts a socks5::server, connects through it to its own listening port, prints "ok".
#include <cstdio>

#include <socks5/client.hpp>
#include <socks5/server.hpp>

int main() {
  asio::io_context ctx;
  socks5::server server(ctx.get_executor(), {});
  if (server.listen({asio::ip::address_v4::loopback(), 0})) return 1;
  server.start();
  const auto ep = server.local_endpoints().at(0);
  socks5::client client(ctx.get_executor(), "127.0.0.1", ep.port());
  int status = 1;
  client.async_connect(socks5::address(ep), [&](std::error_code ec, auto) {
    status = ec ? 1 : 0;
    server.stop();
  });
  ctx.run();
  std::puts(status == 0 ? "ok" : "failed");
  return status;
}
