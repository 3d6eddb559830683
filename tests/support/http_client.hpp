// A blocking HTTP exchange for tests: send raw request octets, read until the server closes.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <string>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

namespace test {

// Everything the server sent before closing (or before `limit`, when it does not close).
inline std::string http_exchange(const asio::ip::tcp::endpoint& server, const std::string& request,
                                 std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  asio::io_context ctx;
  asio::ip::tcp::socket s(ctx);
  s.connect(server);
  timeval tv{static_cast<time_t>(limit.count() / 1000),
             static_cast<suseconds_t>((limit.count() % 1000) * 1000)};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::error_code ec;
  asio::write(s, asio::buffer(request), ec);
  std::string out;
  char buf[4096];
  while (!ec) {
    const auto n = s.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
  }
  return out;
}

inline std::string http_get(const asio::ip::tcp::endpoint& server, const std::string& path) {
  return http_exchange(server, "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n");
}

// The body of a response: what follows the blank line.
inline std::string http_body(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

// True when `text` has this whole line.
inline bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace test
