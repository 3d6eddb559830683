#include "listener_set.hpp"

#include <mutex>

#include <asio/post.hpp>

#include "listener.hpp"

namespace socks5::detail {

using asio::ip::tcp;

struct listener_set::shared {
  shared(asio::strand<asio::any_io_executor> s, accept_starter a, std::error_code c)
      : strand(std::move(s)), start(std::move(a)), when_closed(c) {}

  asio::strand<asio::any_io_executor> strand;
  accept_starter start;
  std::error_code when_closed;

  mutable std::mutex mutex;  // guards what follows
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  bool started = false;
  bool closed = false;
};

listener_set::listener_set(asio::strand<asio::any_io_executor> strand, accept_starter start,
                           std::error_code when_closed)
    : shared_(std::make_shared<shared>(std::move(strand), std::move(start), when_closed)) {}

std::error_code listener_set::listen(const tcp::endpoint& endpoint, bool reuse_port) {
  std::error_code ec;
  auto acceptor = open_listener(shared_->strand, endpoint, reuse_port, ec);
  if (ec) return ec;
  std::lock_guard lock(shared_->mutex);
  if (shared_->closed) return shared_->when_closed;
  auto& a = *shared_->acceptors.emplace_back(std::move(acceptor));
  if (shared_->started) shared_->start(a);
  return {};
}

std::vector<tcp::endpoint> listener_set::local_endpoints() const {
  std::lock_guard lock(shared_->mutex);
  return bound_endpoints(shared_->acceptors);
}

void listener_set::start() {
  std::lock_guard lock(shared_->mutex);
  if (shared_->started || shared_->closed) return;
  shared_->started = true;
  for (auto& a : shared_->acceptors)
    shared_->start(*a);
}

bool listener_set::close() {
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->closed) return false;
    shared_->closed = true;
  }
  // On the strand: an accept loop may be touching its acceptor right now.
  asio::post(shared_->strand, [s = shared_] {
    std::lock_guard lock(s->mutex);
    for (auto& a : s->acceptors) {
      std::error_code ignored;
      a->close(ignored);
    }
  });
  return true;
}

bool listener_set::closed() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->closed;
}

}  // namespace socks5::detail
