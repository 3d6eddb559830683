// Two auth machines talking to each other in memory, without sockets: for tests of what goes
// on the wire and for benchmarks of the negotiation alone.
#pragma once

#include <deque>
#include <functional>
#include <system_error>
#include <vector>

#include "socks5/auth/method.hpp"

namespace test {

struct transcript {
  std::vector<std::vector<std::uint8_t>> client_sent;  // each write of the client
  std::vector<std::vector<std::uint8_t>> server_sent;
  std::error_code client_error, server_error;
  bool client_done = false, server_done = false;
};

// Runs one machine until it needs input that is not there; true when it finished or failed.
template <class Machine>
bool pump(Machine& m, std::deque<std::uint8_t>& inbox, std::deque<std::uint8_t>& outbox,
          std::vector<std::vector<std::uint8_t>>& sent, std::error_code& error, bool& done,
          socks5::auth_step& pending) {
  for (;;) {
    if (pending.what == socks5::auth_step::action::read) {
      if (inbox.size() < pending.input.size()) return false;
      for (auto& o : pending.input) {
        o = inbox.front();
        inbox.pop_front();
      }
    }
    pending = m.next();
    switch (pending.what) {
      case socks5::auth_step::action::write:
        sent.emplace_back(pending.output.begin(), pending.output.end());
        outbox.insert(outbox.end(), pending.output.begin(), pending.output.end());
        break;  // written at once: ask for the next step
      case socks5::auth_step::action::offload: pending.work(); break;
      case socks5::auth_step::action::read: break;
      case socks5::auth_step::action::done: done = true; return true;
      case socks5::auth_step::action::fail: error = pending.error; return true;
    }
  }
}

// `rewrite` may change what the client has sent before the server sees it (a tampering peer).
template <class C, class S>
transcript converse(C& client, S& server,
                    std::function<void(std::deque<std::uint8_t>&)> rewrite = nullptr) {
  transcript t;
  std::deque<std::uint8_t> to_server, to_client;
  socks5::auth_step client_pending = socks5::auth_step::write({}),
                    server_pending = socks5::auth_step::write({});
  bool client_over = false, server_over = false;
  for (int round = 0; round < 20 && !(client_over && server_over); ++round) {
    if (!client_over)
      client_over = pump(client, to_client, to_server, t.client_sent, t.client_error, t.client_done,
                         client_pending);
    if (rewrite) rewrite(to_server);
    if (!server_over)
      server_over = pump(server, to_server, to_client, t.server_sent, t.server_error, t.server_done,
                         server_pending);
    // A side that is over leaves the other waiting: like a closed connection.
    if (client_over && !server_over && to_server.empty()) break;
    if (server_over && !client_over && to_client.empty()) break;
  }
  return t;
}

}  // namespace test
