// Clients that misbehave once the relay runs: one that resets while the target is sending, one
// that stops reading while the target sends as fast as it can. Both with splice(2) relaying and
// with the user-space buffer (--no-splice).
#include <doctest/doctest.h>

#include "proxy_under_test.hpp"

using namespace hostile;
using test::b;

namespace {

const proxy_setup splice_relay{{}};
const proxy_setup buffer_relay{{"--no-splice"}};

// A CONNECT to the flood target, answered with success.
raw_client connect_to_flood(proxy_under_test& proxy) {
  raw_client c(proxy.port());
  REQUIRE(c.send(b({0x05, 0x01, 0x00})));
  REQUIRE(c.receive(2) == b({0x05, 0x00}));
  REQUIRE(c.send(connect_request_v4(proxy.targets().flood().port())));
  const auto reply = c.receive(10);
  REQUIRE(reply.size() == 10);
  REQUIRE(reply[1] == 0x00);
  return c;
}

void resets_mid_relay(const proxy_setup& setup) {
  proxy_under_test proxy(setup);
  auto& flood = proxy.targets().flood();
  constexpr int rounds = 40;
  for (int i = 0; i < rounds; ++i) {
    auto c = connect_to_flood(proxy);
    // Data is flowing when the reset comes.
    REQUIRE(c.drain(256 * 1024) == 256 * 1024);
    c.reset();
  }
  // The server closed its side towards the target: every flood ended with a write error.
  CHECK(eventually([&] { return flood.active() == 0; }, 15s));
  CHECK(flood.cut() == rounds);
  // Every session ended (and was logged), besides the warm-up one.
  CHECK(eventually([&] { return proxy.logged_sessions() == rounds + 1; }, 15s));
  proxy.check_recovered();
}

// The client reads `read_first` octets (possibly none), then never reads again.
void stops_reading(const proxy_setup& setup, std::size_t read_first) {
  proxy_under_test proxy(setup);
  auto& flood = proxy.targets().flood();
  long peak_rss = proxy.baseline_rss();
  auto sample = [&] { peak_rss = std::max(peak_rss, rss_kib(proxy.pid())); };

  auto c = connect_to_flood(proxy);
  constexpr std::size_t step = 8 << 20;
  for (std::size_t got = 0; got < read_first; got += step) {
    REQUIRE(c.drain(step) == step);
    sample();
  }

  // The target writes until the path is full, then waits: wait for its count to stand still.
  std::uint64_t last = flood.written();
  auto last_change = clock_type::now();
  const bool stalled = eventually(
      [&] {
        sample();
        const auto now_written = flood.written();
        if (now_written != last) {
          last = now_written;
          last_change = clock_type::now();
          return false;
        }
        return clock_type::now() - last_change >= 500ms;
      },
      30s);
  REQUIRE(stalled);
  const auto held = flood.written() - read_first;
  // Octets the target got rid of but the client never read: only the kernel's socket buffers
  // on the way (target send, proxy receive, proxy send, client receive), the relay's buffer and
  // the target's chunk in flight. What the proxy takes in beyond that, it would have to keep.
  const auto kernel_bound = 2 * tcp_buffer_max("tcp_rmem") + 2 * tcp_buffer_max("tcp_wmem");
  const auto bound = kernel_bound + (2 << 20);
  INFO("read " << read_first << ", written by the target " << flood.written() << ", held " << held
               << ", bound " << bound);
  INFO("VmRSS baseline " << proxy.baseline_rss() << " KiB, peak " << peak_rss << " KiB");
  MESSAGE("read " << (read_first >> 20) << " MiB, target stalled after " << (flood.written() >> 20)
                  << " MiB, held on the way " << (held >> 20) << " MiB (bound " << (bound >> 20)
                  << " MiB); VmRSS peak " << peak_rss - proxy.baseline_rss()
                  << " KiB above the baseline");
  CHECK(held <= bound);
  CHECK(flood.active() == 1);  // the target is still trying to write its 1 GiB
  // The proxy's memory stays flat: it holds at most a relay buffer per direction.
  CHECK(peak_rss - proxy.baseline_rss() < 4 * 1024);

  // The client goes away without reading the rest: everything is released.
  c.close();
  CHECK(eventually([&] { return flood.active() == 0; }, 15s));
  CHECK(flood.cut() == 1);
  proxy.check_recovered();
}

}  // namespace

TEST_CASE("a client that resets mid-relay while the target sends: both sides cleaned up") {
  SUBCASE("splice") {
    resets_mid_relay(splice_relay);
  }
  SUBCASE("user-space buffer") {
    resets_mid_relay(buffer_relay);
  }
}

TEST_CASE("a client that never reads while the target floods: memory stays flat") {
  SUBCASE("splice, never reads") {
    stops_reading(splice_relay, 0);
  }
  SUBCASE("user-space buffer, never reads") {
    stops_reading(buffer_relay, 0);
  }
  // 128 MiB pass first, with the memory watched, then the reader stops.
  SUBCASE("splice, reads 128 MiB then stops") {
    stops_reading(splice_relay, 128u << 20);
  }
  SUBCASE("user-space buffer, reads 128 MiB then stops") {
    stops_reading(buffer_relay, 128u << 20);
  }
}
