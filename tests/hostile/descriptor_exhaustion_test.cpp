// Out of descriptors: the server neither crashes nor spins on a listener it cannot accept from.
// The clients it cannot take wait in the backlog and are served once descriptors are free again;
// the sessions already running go on.
#include <sys/resource.h>

#include <filesystem>
#include <set>
#include <thread>

#include <doctest/doctest.h>

#include "proxy_under_test.hpp"

using namespace hostile;
using namespace std::chrono_literals;
using test::b;

namespace {

// The proxy's descriptor limit, set from outside as a shell's `prlimit --nofile` would.
struct descriptor_limit {
  pid_t pid;
  rlimit original{};

  explicit descriptor_limit(pid_t p) : pid(p) {
    REQUIRE(::prlimit(pid, RLIMIT_NOFILE, nullptr, &original) == 0);
  }
  ~descriptor_limit() { ::prlimit(pid, RLIMIT_NOFILE, &original, nullptr); }

  void lower_to(rlim_t n) {
    rlimit tight{n, original.rlim_max};
    REQUIRE(::prlimit(pid, RLIMIT_NOFILE, &tight, nullptr) == 0);
  }
  void restore() { REQUIRE(::prlimit(pid, RLIMIT_NOFILE, &original, nullptr) == 0); }
};

// Greeting and CONNECT to the echo target sent at once; the answers are read later.
raw_client send_connect(proxy_under_test& proxy) {
  raw_client c(proxy.port());
  REQUIRE(c.send(b({0x05, 0x01, 0x00}) + connect_request_v4(proxy.targets().echo_port())));
  return c;
}

// Method selection and the reply, once they come: 12 octets, or fewer when nothing came in time.
test::bytes answers(raw_client& c, std::chrono::milliseconds limit) {
  return c.receive(2 + 10, limit);
}

// The lowest descriptor number `pid` has free: the one its next socket or pipe would get.
int lowest_free_fd(pid_t pid) {
  std::set<int> used;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    used.insert(std::stoi(e.path().filename().string()));
  int n = 0;
  while (used.count(n))
    ++n;
  return n;
}

// What each client got, once the server answered or `wait` passed: a success reply (then checked
// with an echo), a refusal, or nothing yet because it is still in the listener's backlog.
struct sorted_clients {
  std::vector<raw_client> served, waiting;
  int refused = 0;
};

sorted_clients sort_out(const char* phase, std::vector<raw_client> all,
                        std::chrono::milliseconds wait, std::uint32_t seed) {
  sorted_clients out;
  for (std::size_t i = 0; i < all.size(); ++i) {
    auto& c = all[i];
    const auto got = answers(c, wait);
    INFO(std::string(phase) << ", client " << i << ": answer of " << got.size() << " octets");
    if (got.empty()) {
      out.waiting.push_back(std::move(c));
      continue;
    }
    REQUIRE(got.size() == 12);
    CHECK(got[0] == 0x05);
    CHECK(got[1] == 0x00);
    CHECK(got[2] == 0x05);
    if (got[3] == 0x00) {
      CHECK(proxy_under_test::echo(c, 4096, seed++));
      out.served.push_back(std::move(c));
    } else {
      CHECK(got[3] == 0x01);  // general failure: no descriptor for the connection to the target
      ++out.refused;
    }
  }
  return out;
}

std::vector<raw_client> connect_many(proxy_under_test& proxy, int n) {
  std::vector<raw_client> out;
  for (int i = 0; i < n; ++i)
    out.push_back(send_connect(proxy));
  return out;
}

}  // namespace

// Not under the sanitizers: their runtimes need descriptors of their own inside the proxy.
// UndefinedBehaviorSanitizer's vptr check opens a pipe to probe memory and, failing, reports a
// valid object as invalid; a report needs its log file and the symbolizer a socket pair.
TEST_CASE("out of descriptors: no crash, no busy loop; the waiting clients served afterwards" *
          doctest::skip(sanitized)) {
  proxy_under_test proxy({});
  INFO(proxy.output());
  descriptor_limit limit(proxy.pid());
  constexpr int n = 5;
  // Sessions established before the descriptors run out.
  auto before = sort_out("before", connect_many(proxy, n), 10s, 500);
  REQUIRE(before.served.size() == n);

  // Room for one descriptor: each client is accepted, but the socket to its target cannot be
  // opened, and it is told so.
  limit.lower_to(static_cast<rlim_t>(lowest_free_fd(proxy.pid()) + 1));
  auto one = sort_out("room for one", connect_many(proxy, n), 10s, 600);
  CHECK(one.refused == n);

  // No room at all: clients cannot even be accepted and wait in the backlog. The refused
  // clients' sockets closed first, so that none of theirs is taken for room.
  REQUIRE(eventually(
      [&] { return count_fds(proxy.pid()).sockets == proxy.baseline_sockets() + 2 * n; }, 10s));
  limit.lower_to(static_cast<rlim_t>(lowest_free_fd(proxy.pid())));
  auto none = sort_out("no room", connect_many(proxy, n), 1s, 700);
  CHECK(none.waiting.size() == n);
  REQUIRE(proxy.alive());

  // While they wait, the server waits too instead of retrying the accept at once.
  const double cpu_before = cpu_seconds(proxy.pid());
  std::this_thread::sleep_for(1s);
  const double cpu_used = cpu_seconds(proxy.pid()) - cpu_before;
  MESSAGE("processor time over one second without descriptors: " << cpu_used << " s");
  CHECK(cpu_used < 0.3);

  // The sessions established before still relay.
  for (std::size_t i = 0; i < before.served.size(); ++i)
    CHECK(proxy_under_test::echo(before.served[i], 4096, 800 + static_cast<std::uint32_t>(i)));

  // Descriptors free again: every waiting client is accepted and served.
  limit.restore();
  auto after = sort_out("after", std::move(none.waiting), 10s, 900);
  CHECK(after.served.size() == n);
  before.served.clear();
  after.served.clear();
  CHECK(eventually([&] { return proxy.logged_sessions() == 1 + 3 * n; }, 15s));
  proxy.check_recovered();
}
