// The listening sockets of one server and their lifecycle: listen before or after start(),
// start once, close once. The SOCKS server and the metrics server share it.
#pragma once

#include <functional>
#include <memory>
#include <system_error>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/strand.hpp>

namespace socks5::detail {

class listener_set {
 public:
  // Starts the accept loop of one listener; called on start(), or on listen() once started.
  using accept_starter = std::function<void(asio::ip::tcp::acceptor&)>;

  // The listeners live on `strand`. `when_closed` is the error listen() returns after close().
  listener_set(asio::strand<asio::any_io_executor> strand, accept_starter start,
               std::error_code when_closed);

  // Binds and listens; port 0 picks a free port.
  std::error_code listen(const asio::ip::tcp::endpoint& endpoint, bool reuse_port);
  std::vector<asio::ip::tcp::endpoint> local_endpoints() const;

  void start();
  // Stops accepting: the listeners are closed on their strand, ending their accept loops. True
  // the first time only.
  bool close();
  bool closed() const;

 private:
  struct shared;  // outlives the set while a close is pending on the strand
  std::shared_ptr<shared> shared_;
};

}  // namespace socks5::detail
