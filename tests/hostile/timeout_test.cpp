// Clients that hold a connection without finishing the handshake: the handshake timeout cuts
// them, however they trickle, and however many there are.
#include <poll.h>

#include <doctest/doctest.h>

#include "proxy_under_test.hpp"

using namespace hostile;
using test::b;

namespace {

constexpr auto handshake_timeout = 2s;
// Generous upper bound for the close to reach us after the timer fires, on a shared machine.
constexpr auto close_margin = 6s;

const proxy_setup short_timeout{{"--handshake-timeout", "2"}};

// `count` connections that say nothing; a normal client is served while they wait, and every
// one of them is closed by the server, silent, no earlier than the handshake timeout.
void close_silent_wave(proxy_under_test& proxy, int count) {
  std::vector<raw_client> silent;
  silent.reserve(count);
  for (int i = 0; i < count; ++i)
    silent.emplace_back(proxy.port());

  CHECK(proxy.normal_session());
  CHECK(proxy.alive());

  std::vector<bool> ended(count, false);
  int remaining = count;
  int too_early = 0;
  const auto deadline = silent.back().connected_at() + handshake_timeout + close_margin + 10s;
  while (remaining > 0 && clock_type::now() < deadline) {
    std::vector<pollfd> fds;
    std::vector<int> index;
    for (int i = 0; i < count; ++i) {
      if (ended[i]) continue;
      fds.push_back({silent[i].fd(), POLLIN, 0});
      index.push_back(i);
    }
    if (::poll(fds.data(), fds.size(), 200) <= 0) continue;
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (!fds[k].revents) continue;
      auto& c = silent[index[k]];
      const auto r = c.read_to_end(1s);
      if (r.how == ending::still_open) continue;
      CHECK(r.data.empty());  // nothing was asked, nothing is answered
      // The server's timer starts at accept, after our connect.
      if (r.at - c.connected_at() < handshake_timeout - 50ms) ++too_early;
      ended[index[k]] = true;
      --remaining;
      c.close();
    }
  }
  CHECK(remaining == 0);
  CHECK(too_early == 0);
}

}  // namespace

TEST_CASE("slow drip: one octet a second does not keep a handshake alive past its timeout") {
  proxy_under_test proxy(short_timeout);
  // Greeting and request: 13 octets, 13 seconds at this pace, far beyond the timeout.
  const auto message = b({0x05, 0x01, 0x00}) + connect_request_v4(proxy.targets().echo_port());
  raw_client c(proxy.port());
  std::size_t sent = 0;
  read_result seen;
  while (sent < message.size()) {
    if (!c.send({message[sent]})) break;
    ++sent;
    // A second until the next octet, listening for the server's end meanwhile.
    auto r = c.read_to_end(1s);
    seen.data.insert(seen.data.end(), r.data.begin(), r.data.end());
    if (r.how != ending::still_open) {
      seen.how = r.how;
      seen.at = r.at;
      break;
    }
  }
  if (seen.how == ending::still_open) {
    auto r = c.read_to_end(close_margin);
    seen.data.insert(seen.data.end(), r.data.begin(), r.data.end());
    seen.how = r.how;
    seen.at = r.at;
  }
  INFO("octets sent " << sent);
  REQUIRE(seen.how != ending::still_open);
  CHECK(sent < message.size());
  // At most the greeting was answered (if its third octet came before the cut); the request
  // never was.
  CHECK((seen.data.empty() || seen.data == b({0x05, 0x00})));
  const auto lived = seen.at - c.connected_at();
  // The timer starts at accept, after our connect: never earlier than the timeout.
  CHECK(lived >= handshake_timeout - 50ms);
  CHECK(lived <= handshake_timeout + close_margin);
  CHECK(
      eventually([&] { return proxy.output().find("outcome=timeout") != std::string::npos; }, 10s));
  proxy.check_recovered();
}

// The memory of a thousand concurrent sessions is not all given back when they end: glibc keeps
// what it cannot trim (the sessions' chunks lie below later allocations, the live-session set
// keeps its grown bucket array) for reuse. So the first wave's level is bounded per connection,
// and a second, identical wave must reuse that memory: a leak would raise the level again.
TEST_CASE("1,000 silent connections are all closed at the handshake timeout") {
  proxy_under_test proxy(short_timeout);
  constexpr int count = 1000;
  close_silent_wave(proxy, count);
  REQUIRE(
      eventually([&] { return count_fds(proxy.pid()).sockets == proxy.baseline_sockets(); }, 15s));
  const long first_level = rss_kib(proxy.pid());
  INFO("VmRSS baseline " << proxy.baseline_rss() << " KiB, after the first wave " << first_level
                         << " KiB");
  CHECK(first_level - proxy.baseline_rss() < count * 16);  // under 16 KiB a connection
  proxy.check_recovered(first_level);

  close_silent_wave(proxy, count);
  proxy.check_recovered(first_level);
}
