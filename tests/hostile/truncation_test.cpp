// Every handshake message cut short at every offset, then the connection closed or only its
// sending half shut down: the server ends the session at the end of stream (long before its
// 30 s handshake timeout), answers nothing it has not got whole, and keeps nothing.
#include <doctest/doctest.h>

#include "proxy_under_test.hpp"

using namespace hostile;
using test::b;
using test::text;

namespace {

// Well under the default handshake timeout (30 s): a close seen by then came from the end of
// stream, not from the timer.
constexpr auto eof_close_limit = 10s;

const proxy_setup with_users{{}, true};

struct truncated_message {
  bytes before;         // sent whole first
  bytes before_answer;  // the server's answer to it
  bytes message;        // then sent cut short
};

// Sends `before`, checks its answer, then the first k octets of `message`; then closes
// (half_close false) or shuts down writing and checks that the server ends at once, silent.
void attack(proxy_under_test& proxy, const truncated_message& m, std::size_t k, bool half_close) {
  raw_client c(proxy.port());
  if (!m.before.empty()) {
    REQUIRE(c.send(m.before));
    REQUIRE(c.receive(m.before_answer.size()) == m.before_answer);
  }
  if (k > 0) REQUIRE(c.send(bytes(m.message.begin(), m.message.begin() + k)));
  if (!half_close) return;  // closed by the destructor
  c.shutdown_write();
  const auto r = c.read_to_end(eof_close_limit);
  CHECK(r.how != ending::still_open);
  CHECK(r.data.empty());
}

void attack_every_offset(const truncated_message& m) {
  proxy_under_test proxy(with_users);
  for (const bool half_close : {false, true}) {
    CAPTURE(half_close);
    for (std::size_t k = 0; k < m.message.size(); ++k) {
      CAPTURE(k);
      attack(proxy, m, k, half_close);
      REQUIRE(proxy.alive());
    }
    proxy.check_recovered();
  }
  CHECK(eventually(
      [&] {
        // Every attacking connection ended as a session and was logged, besides the warm-up
        // session and the two normal ones of the checks.
        return proxy.logged_sessions() == static_cast<int>(2 * m.message.size()) + 3;
      },
      10s));
}

bytes v4_request(std::uint16_t port) {
  return connect_request_v4(port);
}

bytes v6_request(std::uint16_t port) {
  return b({0x05, 0x01, 0x00, 0x04, 0, 0, 0, 0, 0, 0,         0,
            0,    0,    0,    0,    0, 0, 0, 0, 1, port >> 8, port & 0xff});
}

bytes domain_request(std::uint16_t port) {
  return b({0x05, 0x01, 0x00, 0x03, 9}) + text("localhost") + b({port >> 8, port & 0xff});
}

const bytes offer_none = b({0x05, 0x01, 0x00});
const bytes none_selected = b({0x05, 0x00});

}  // namespace

TEST_CASE("truncated greeting at every offset") {
  attack_every_offset({{}, {}, b({0x05, 0x02, 0x00, 0x02})});
}

TEST_CASE("truncated username/password subnegotiation at every offset") {
  const auto request = b({0x01, static_cast<int>(user.size())}) + text(user) +
                       b({static_cast<int>(password.size())}) + text(password);
  attack_every_offset({b({0x05, 0x01, 0x02}), b({0x05, 0x02}), request});
}

TEST_CASE("truncated IPv4 request at every offset") {
  // Any port will do: the request never completes, so nothing is ever connected.
  attack_every_offset({offer_none, none_selected, v4_request(7)});
}

TEST_CASE("truncated IPv6 request at every offset") {
  attack_every_offset({offer_none, none_selected, v6_request(7)});
}

TEST_CASE("truncated domain-name request at every offset") {
  attack_every_offset({offer_none, none_selected, domain_request(7)});
}
