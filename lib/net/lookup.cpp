#include "lookup.hpp"

#include <asio/execution/context.hpp>
#include <asio/execution_context.hpp>
#include <asio/post.hpp>
#include <asio/query.hpp>
#include <asio/thread_pool.hpp>

namespace socks5::detail {

namespace {

// The lookup threads of one execution context, as an Asio service: it lives and dies with the
// context, like Asio's own resolver service.
class lookup_service : public asio::execution_context::service {
 public:
  static asio::execution_context::id id;

  explicit lookup_service(asio::execution_context& context)
      : asio::execution_context::service(context), threads_(lookup_threads) {}

  template <class Protocol>
  void lookup(
      const asio::any_io_executor& ex, std::string host, std::string service,
      std::function<void(std::error_code, typename Protocol::resolver::results_type)> done) {
    asio::post(threads_, [this, ex, host = std::move(host), service = std::move(service),
                          done = std::move(done)]() mutable {
      // A synchronous resolve calls getaddrinfo on this thread; no background thread of Asio's.
      typename Protocol::resolver resolver(threads_);
      std::error_code ec;
      auto results = resolver.resolve(host, service, ec);
      asio::post(ex, [done = std::move(done), ec, results = std::move(results)]() mutable {
        done(ec, std::move(results));
      });
    });
  }

 private:
  void shutdown() override {
    threads_.stop();
    threads_.join();
  }

  asio::thread_pool threads_;
};

asio::execution_context::id lookup_service::id;

lookup_service& service_of(const asio::any_io_executor& ex) {
  return asio::use_service<lookup_service>(asio::query(ex, asio::execution::context));
}

}  // namespace

void async_lookup(
    const asio::any_io_executor& ex, std::string host, std::string service,
    std::function<void(std::error_code, asio::ip::tcp::resolver::results_type)> done) {
  service_of(ex).lookup<asio::ip::tcp>(ex, std::move(host), std::move(service), std::move(done));
}

void async_lookup(
    const asio::any_io_executor& ex, std::string host, std::string service,
    std::function<void(std::error_code, asio::ip::udp::resolver::results_type)> done) {
  service_of(ex).lookup<asio::ip::udp>(ex, std::move(host), std::move(service), std::move(done));
}

}  // namespace socks5::detail
