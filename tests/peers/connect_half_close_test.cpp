// socks5-connect at the end of its standard input, through microsocks, danted and
// socks5::server: by default the connection stays open (microsocks drops both directions on a
// half-close), with -N / --half-close the target sees the end of stream.
#include <sys/socket.h>
#include <sys/time.h>

#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "process.hpp"
#include "threaded.hpp"

using namespace std::chrono_literals;

namespace {

// A target on its own thread serving the first connection with blocking calls.
class blocking_target {
 public:
  explicit blocking_target(std::function<void(asio::ip::tcp::socket&)> serve)
      : acceptor_(ctx_, {asio::ip::address_v4::loopback(), 0}),
        port_(acceptor_.local_endpoint().port()),
        thread_([this, serve = std::move(serve)] {
          asio::ip::tcp::socket s(ctx_);
          std::error_code ec;
          acceptor_.accept(s, ec);
          if (!ec) serve(s);
        }) {}
  ~blocking_target() {
    // Wakes the accept if nobody came.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  asio::io_context ctx_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_;
  std::thread thread_;
};

void receive_timeout(asio::ip::tcp::socket& s, std::chrono::milliseconds limit) {
  timeval tv{static_cast<time_t>(limit.count() / 1000),
             static_cast<suseconds_t>((limit.count() % 1000) * 1000)};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

// Reads the request head, then waits a while for an end of stream, and answers with what it saw:
// "still open" or "half-closed". The wait also lets a half-close reach the proxy first.
void answer_after_a_while(asio::ip::tcp::socket& s) {
  receive_timeout(s, 10s);
  std::string head;
  std::array<char, 1024> buf;
  std::error_code ec;
  while (head.find("\r\n\r\n") == std::string::npos && !ec) {
    const auto n = s.read_some(asio::buffer(buf), ec);
    head.append(buf.data(), n);
  }
  if (ec) return;
  // recv(2) itself: asio's blocking read waits again when the receive timeout expires.
  receive_timeout(s, 700ms);
  const auto got = ::recv(s.native_handle(), buf.data(), buf.size(), 0);
  const std::string seen = got == 0 ? "half-closed" : "still open";
  const std::string response = "HTTP/1.0 200 OK\r\n\r\n" + seen + "\n";
  asio::write(s, asio::buffer(response), ec);
  s.close(ec);
}

// Reads to the end of stream, then answers with the count.
void answer_at_end(asio::ip::tcp::socket& s) {
  receive_timeout(s, 10s);
  std::size_t total = 0;
  std::array<char, 65536> buf;
  std::error_code ec;
  while (!ec)
    total += s.read_some(asio::buffer(buf), ec);
  if (ec != asio::error::eof) return;
  const std::string response = "received " + std::to_string(total) + " octets\n";
  asio::write(s, asio::buffer(response), ec);
  s.close(ec);
}

struct microsocks {
  explicit microsocks(const test::temp_dir& dir)
      : port(test::free_port()),
        proc({"microsocks", "-i", "127.0.0.1", "-p", std::to_string(port)},
             dir / "microsocks.log") {
    REQUIRE(test::wait_for_port(port));
  }
  std::uint16_t port;
  test::process proc;
};

struct danted {
  explicit danted(const test::temp_dir& dir)
      : port(test::free_port()),
        proc({"danted", "-f", write_config(dir, port), "-N", "1"}, dir / "danted.out") {
    REQUIRE_MESSAGE(test::wait_for_port(port), test::read_file(dir / "danted.log")
                                                   << proc.output());
  }
  static std::string write_config(const test::temp_dir& dir, std::uint16_t port) {
    return dir.write("danted.conf",
                     "logoutput: " + (dir / "danted.log") +
                         "\ninternal: 127.0.0.1 port = " + std::to_string(port) +
                         "\n"
                         "external: 127.0.0.1\n"
                         "socksmethod: none\n"
                         "clientmethod: none\n"
                         "user.privileged: root\n"
                         "user.unprivileged: nobody\n"
                         "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n"
                         "socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 command: connect }\n");
  }
  std::uint16_t port;
  test::process proc;
};

// `printf 'GET / HTTP/1.0\r\n\r\n' | socks5-connect [extra] --proxy 127.0.0.1:PROXY 127.0.0.1
// PORT`: exit status and output.
std::pair<int, std::string> get_through(const std::string& bin, const test::temp_dir& dir,
                                        std::uint16_t proxy, std::uint16_t port,
                                        const std::string& extra = "") {
  const auto command = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | '" + bin + "' " + extra +
                       " --proxy 127.0.0.1:" + std::to_string(proxy) + " 127.0.0.1 " +
                       std::to_string(port);
  return test::run_command({"sh", "-c", command}, dir, 30s);
}

}  // namespace

TEST_CASE("socks5-connect through microsocks: the answer comes back after the end of stdin") {
  const auto bin = test::program("SOCKS5_CONNECT_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  microsocks peer(dir);
  blocking_target target(answer_after_a_while);
  auto [status, out] = get_through(*bin, dir, peer.port, target.port());
  const std::string output = out;  // clang 14 cannot capture bindings
  INFO(output);
  CHECK(status == 0);
  CHECK(output == "HTTP/1.0 200 OK\r\n\r\nstill open\n");
}

TEST_CASE("socks5-connect through danted: no half-close by default, one with -N") {
  const auto bin = test::program("SOCKS5_CONNECT_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  danted peer(dir);
  {
    blocking_target target(answer_after_a_while);
    auto [status, out] = get_through(*bin, dir, peer.port, target.port());
    const std::string output = out;
    INFO(output);
    CHECK(status == 0);
    CHECK(output == "HTTP/1.0 200 OK\r\n\r\nstill open\n");
  }
  {
    blocking_target target(answer_after_a_while);
    auto [status, out] = get_through(*bin, dir, peer.port, target.port(), "-N");
    const std::string output = out;
    INFO(output);
    CHECK(status == 0);
    CHECK(output == "HTTP/1.0 200 OK\r\n\r\nhalf-closed\n");
  }
  {
    // A target that answers only once the input has ended.
    blocking_target target(answer_at_end);
    const auto data = test::random_payload(200000, 13);
    const auto input = dir.write("input", std::string(data.begin(), data.end()));
    test::process p({*bin, "--half-close", "--proxy", "127.0.0.1:" + std::to_string(peer.port),
                     "127.0.0.1", std::to_string(target.port())},
                    dir / "output", {}, input);
    CHECK(p.wait(30s) == 0);
    CHECK(test::read_file(dir / "output") == "received 200000 octets\n");
  }
}

TEST_CASE("socks5-connect -N through socks5::server: the target sees the end of stdin") {
  const auto bin = test::program("SOCKS5_CONNECT_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  test::threaded_proxy proxy;
  blocking_target target(answer_at_end);
  const auto input = dir.write("input", "four\n");
  test::process p({*bin, "-N", "--proxy", "127.0.0.1:" + std::to_string(proxy.port()), "127.0.0.1",
                   std::to_string(target.port())},
                  dir / "output", {}, input);
  CHECK(p.wait(30s) == 0);
  CHECK(test::read_file(dir / "output") == "received 5 octets\n");
}
