// A minimal HTTP/1.1 endpoint for Prometheus: GET /metrics answers the registry's text; other
// paths 404, other methods 405, malformed or oversized requests 400 or 431. One request per
// connection, closed after the response.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <system_error>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/ip/tcp.hpp>

#include "socks5/metrics.hpp"

namespace socks5 {

struct metrics_server_options {
  // The request line and headers together; a longer request is answered 431.
  std::size_t max_request_size = 8 * 1024;
  // From accept to the response being written; a slower client is cut off without an answer.
  std::chrono::milliseconds timeout = std::chrono::seconds(5);
  // Connections served at once; more are closed as soon as they are accepted. Zero: no limit.
  std::size_t max_connections = 32;
};

class metrics_server {
 public:
  // Connections run on strands of `ex`, which may be the SOCKS server's own executor. Throws
  // std::invalid_argument when there is no registry.
  metrics_server(asio::any_io_executor ex, std::shared_ptr<const metrics> registry,
                 metrics_server_options options = {});
  ~metrics_server();
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  // Binds and listens (before or after start()); port 0 picks a free port.
  std::error_code listen(const asio::ip::tcp::endpoint& endpoint);
  std::vector<asio::ip::tcp::endpoint> local_endpoints() const;

  void start();
  // Closes the listeners and every open connection; the executor then has nothing left of it.
  void stop();

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace socks5
