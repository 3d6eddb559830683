// UDP ASSOCIATE (RFC 1928 section 7): a relay for datagrams that lives as long as the control
// connection.
#include <asio/experimental/awaitable_operators.hpp>

#include "session.hpp"

namespace socks5 {

asio::awaitable<std::error_code> session::serve_udp(const address& client_hint) {
  // SSL without UDP-Naked protects only this connection: it cannot carry datagrams.
  const udp_mode mode = client_.udp();
  if (mode == udp_mode::unavailable) {
    co_await send_failure(reply_code::command_not_supported);
    co_return errc::udp_unavailable;
  }
  // The client, as the PROXY protocol header may have named it: its datagrams come from there.
  const auto peer = context_.client;
  std::error_code ec;
  const auto local = client_.next_layer().local_endpoint(ec);
  association_ =
      std::make_shared<udp_association>(client_.get_executor(), server_->options,
                                        mode == udp_mode::wrapped ? client_.protection() : nullptr,
                                        counters_, peer, local, client_hint);
  address bound;
  if (auto open_ec = association_->open(bound)) {
    co_await send_failure(reply_for(open_ec));
    co_return open_ec;
  }
  if (auto write_ec = co_await send_reply(reply_code::succeeded, bound)) co_return write_ec;

  enter_relay_stage();  // idle timeout on datagrams, as on a relay
  using namespace asio::experimental::awaitable_operators;
  // The association ends with its control connection (or the idle timer, or stop()).
  auto ended = co_await (watch_client() || association_->run());
  association_->close();
  if (forced_end_) co_return forced_end_;
  if (ended.index() == 0) {
    const auto why = std::get<0>(ended);
    co_return why == asio::error::eof ? std::error_code{} : why;
  }
  co_return std::error_code{};
}

}  // namespace socks5
