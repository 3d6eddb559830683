// One UDP ASSOCIATE relay: a socket facing the client (its address is the reply's BND) and one
// per address family facing the targets. Datagrams from anyone but the client are dropped;
// names are resolved once per association; replies go back with their source in the header.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <vector>

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

#include "socks5/protection.hpp"
#include "socks5/relay.hpp"
#include "socks5/server.hpp"

namespace socks5 {

class udp_association : public std::enable_shared_from_this<udp_association> {
 public:
  struct counts {
    std::uint64_t up = 0, down = 0, dropped = 0, bytes_up = 0, bytes_down = 0;
  };

  // `protection` is the session's (null when datagrams are plain); `activity` is stamped on
  // every datagram, for the idle timeout.
  udp_association(asio::any_io_executor ex, const server_options& options, protection* protection,
                  relay_counters& activity, asio::ip::tcp::endpoint control_peer,
                  asio::ip::tcp::endpoint control_local, const address& client_hint);

  // Opens the sockets; `bound` is what the reply tells the client.
  std::error_code open(address& bound);

  // Relays until close() or a socket error.
  asio::awaitable<void> run();

  // Ends the relay; safe to call more than once. After it, nothing of the session is touched.
  void close();

  const counts& totals() const noexcept { return counts_; }

 private:
  asio::awaitable<void> from_client();
  asio::awaitable<void> from_targets(asio::ip::udp::socket& socket);
  bool accept_source(const asio::ip::udp::endpoint& source);
  void forward(const address& target, wire::bytes_view payload);
  void resolved(const std::string& host, std::error_code ec,
                const asio::ip::udp::resolver::results_type& results);

  asio::any_io_executor ex_;
  const server_options& options_;
  protection* protection_;
  relay_counters& activity_;
  asio::ip::tcp::endpoint control_peer_;
  asio::ip::tcp::endpoint control_local_;
  address client_hint_;
  std::optional<asio::ip::udp::endpoint> client_;  // learnt from the request or the first datagram

  asio::ip::udp::socket client_socket_;
  asio::ip::udp::socket v4_;
  asio::ip::udp::socket v6_;
  bool closed_ = false;

  // Names resolved once per association, and the datagrams waiting for a name in progress.
  std::map<std::string, asio::ip::udp::endpoint> names_;
  std::map<std::string, std::deque<std::pair<std::uint16_t, std::vector<wire::byte>>>> waiting_;
  std::size_t waiting_count_ = 0;

  counts counts_;
};

}  // namespace socks5
