// PySocks (python3-socks) as a real client of socks5::server: UDP ASSOCIATE and CONNECT.
#include <doctest/doctest.h>

#include "process.hpp"
#include "socks5/auth/user_pass.hpp"
#include "threaded.hpp"
#include "udp_echo.hpp"

using namespace socks5;
using namespace std::chrono_literals;

namespace {

// Sends three datagrams to the echo target through the proxy, prints what came back and from
// where, one line each.
constexpr const char* udp_script = R"(
import socket, socks, sys
proxy_port, target_port = int(sys.argv[1]), int(sys.argv[2])
s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
s.set_proxy(socks.SOCKS5, "127.0.0.1", proxy_port, rdns=True)
s.settimeout(10)
for i in range(3):
    s.sendto(("datagram %d" % i).encode(), ("127.0.0.1", target_port))
    data, source = s.recvfrom(2048)
    print(data.decode(), source[0], source[1])
s.sendto(b"by name", ("localhost", target_port))
data, source = s.recvfrom(2048)
print(data.decode(), source[0], source[1])
)";

constexpr const char* tcp_script = R"(
import socks, sys
s = socks.socksocket()
s.set_proxy(socks.SOCKS5, "127.0.0.1", int(sys.argv[1]), rdns=True, username="py", password="socks")
s.settimeout(10)
s.connect(("localhost", int(sys.argv[2])))
s.sendall(b"over tcp")
print(s.recv(100).decode())
)";

struct udp_target {
  udp_target() : echo(ctx), thread([this] { ctx.run_for(60s); }) {}
  ~udp_target() {
    ctx.stop();
    thread.join();
  }
  asio::io_context ctx;
  test::udp_echo echo;
  std::thread thread;
};

}  // namespace

TEST_CASE(
    "PySocks UDP ASSOCIATE through our server: addresses and names, replies with their source") {
  test::temp_dir dir;
  test::threaded_proxy proxy;
  udp_target target;
  const auto port = std::to_string(target.echo.endpoint().port());
  auto [status, out] = test::run_command(
      {"/usr/bin/python3", "-c", udp_script, std::to_string(proxy.port()), port}, dir);
  const std::string output = out;
  INFO(output);
  CHECK(status == 0);
  CHECK(output == "datagram 0 127.0.0.1 " + port + "\ndatagram 1 127.0.0.1 " + port +
                      "\ndatagram 2 127.0.0.1 " + port + "\nby name 127.0.0.1 " + port + "\n");
}

TEST_CASE("PySocks CONNECT with username/password and a name resolved by the proxy") {
  test::temp_dir dir;
  server_options options;
  options.methods = {UserPassAuth::server{
      [](std::string_view u, std::string_view p) { return u == "py" && p == "socks"; }}};
  test::threaded_proxy proxy(options);
  auto [status, out] =
      test::run_command({"/usr/bin/python3", "-c", tcp_script, std::to_string(proxy.port()),
                         std::to_string(proxy.echo_endpoint().port())},
                        dir);
  const std::string output = out;
  INFO(output);
  CHECK(status == 0);
  CHECK(output == "over tcp\n");
}
