// --max-connections: clients beyond the limit are closed as soon as they are accepted, without a
// reply; the sessions within it go on, and once they end the places are free again.
#include <doctest/doctest.h>

#include "proxy_under_test.hpp"

using namespace hostile;
using test::b;

namespace {

constexpr int limit = 50;

// A client over the limit: accepted by the kernel, then closed by the server before any answer
// (a greeting sent meanwhile is never read; the close may then come as a reset).
void expect_refused(proxy_under_test& proxy) {
  raw_client c(proxy.port());
  c.send(b({0x05, 0x01, 0x00}));  // may fail if the close already came
  const auto r = c.read_to_end(10s);
  CHECK(r.data.empty());
  CHECK(r.how != ending::still_open);
}

// Fills the server up to the limit (the long-lived session holds one place), every session
// checked with an echo.
std::vector<raw_client> fill(proxy_under_test& proxy, std::uint32_t seed) {
  std::vector<raw_client> sessions;
  for (int i = 1; i < limit; ++i) {
    sessions.push_back(proxy.open_session());
    CHECK(proxy_under_test::echo(sessions.back(), 1024, seed + i));
  }
  return sessions;
}

}  // namespace

TEST_CASE("connection limit: the 51st client is refused at once, the 50 go on") {
  proxy_under_test proxy({{"--max-connections", std::to_string(limit)}});
  auto sessions = fill(proxy, 100);

  for (int i = 0; i < 5; ++i)
    expect_refused(proxy);
  REQUIRE(proxy.alive());
  // The sessions within the limit are unharmed.
  for (std::size_t i = 0; i < sessions.size(); ++i)
    CHECK(proxy_under_test::echo(sessions[i], 1024, 200 + static_cast<std::uint32_t>(i)));

  // They end; the refused ones were never sessions and are not logged.
  sessions.clear();
  CHECK(eventually([&] { return proxy.logged_sessions() == 1 + (limit - 1); }, 15s));
  proxy.check_recovered();

  // All the places are free again: the server fills up and refuses once more.
  sessions = fill(proxy, 300);
  expect_refused(proxy);
  sessions.clear();
  CHECK(eventually([&] { return proxy.logged_sessions() == 1 + (limit - 1) + 1 + (limit - 1); },
                   15s));
  proxy.check_recovered();
}
