// Length fields at their largest, lengths that promise more than is sent, and credentials longer
// than a length octet can say: exact answers, no hang, nothing kept.
#include <doctest/doctest.h>

#include "proxy_under_test.hpp"

using namespace hostile;
using test::b;
using test::text;

namespace {

constexpr auto eof_close_limit = 10s;  // far below the 30 s handshake timeout

const proxy_setup with_users{{}, true};

const bytes offer_none = b({0x05, 0x01, 0x00});
const bytes offer_userpass = b({0x05, 0x01, 0x02});

bytes user_pass(const std::string& name, const std::string& secret) {
  return b({0x01, static_cast<int>(name.size())}) + text(name) +
         b({static_cast<int>(secret.size())}) + text(secret);
}

// The client's octets are all sent, the answer is `answer` and then the server closes.
void expect_answer_then_close(raw_client& c, const bytes& answer) {
  const auto r = c.read_to_end(eof_close_limit);
  CHECK(test::hex(r.data) == test::hex(answer));
  CHECK(r.how != ending::still_open);
}

// After the server's answer, the session carries data: a CONNECT to the echo target.
void expect_connect_works(proxy_under_test& proxy, raw_client& c) {
  REQUIRE(c.send(connect_request_v4(proxy.targets().echo_port())));
  const auto reply = c.receive(10);
  REQUIRE(reply.size() == 10);
  CHECK(reply[1] == 0x00);
  CHECK(proxy_under_test::echo(c, 4096, 77));
}

}  // namespace

TEST_CASE("oversized and overpromised length fields") {
  proxy_under_test proxy(with_users);

  SUBCASE("NMETHODS 255 with three methods sent, then the end of stream or a close") {
    for (const bool half_close : {true, false}) {
      raw_client c(proxy.port());
      REQUIRE(c.send(b({0x05, 0xff, 0x00, 0x01, 0x02})));
      if (half_close) {
        c.shutdown_write();
        expect_answer_then_close(c, {});  // no greeting, no selection
      }
    }
  }

  SUBCASE("NMETHODS 255 with all 255 methods: a valid greeting") {
    bytes greeting = b({0x05, 0xff});
    for (int m = 0; m < 255; ++m)
      greeting.push_back(static_cast<std::uint8_t>(m));
    raw_client c(proxy.port());
    REQUIRE(c.send(greeting));
    REQUIRE(c.receive(2) == b({0x05, 0x00}));  // the server's first preference
    expect_connect_works(proxy, c);
  }

  SUBCASE("ULEN and PLEN 255, right credentials: accepted") {
    raw_client c(proxy.port());
    REQUIRE(c.send(offer_userpass));
    REQUIRE(c.receive(2) == b({0x05, 0x02}));
    REQUIRE(c.send(user_pass(long_user, long_password)));
    REQUIRE(c.receive(2) == b({0x01, 0x00}));
    expect_connect_works(proxy, c);
  }

  SUBCASE("ULEN and PLEN 255, wrong password: X'01' and closed") {
    raw_client c(proxy.port());
    REQUIRE(c.send(offer_userpass));
    REQUIRE(c.receive(2) == b({0x05, 0x02}));
    REQUIRE(c.send(user_pass(long_user, std::string(255, 'x'))));
    expect_answer_then_close(c, b({0x01, 0x01}));
  }

  SUBCASE("a username longer than ULEN can say: its tail is read as PLEN and PASSWD, refused") {
    // 300 octets of name under ULEN 255: the 256th ('u', 117) becomes PLEN, so the password is
    // the last 44 'u' and 73 more octets. The server reads exactly that and refuses.
    raw_client c(proxy.port());
    REQUIRE(c.send(offer_userpass));
    REQUIRE(c.receive(2) == b({0x05, 0x02}));
    REQUIRE(c.send(b({0x01, 0xff}) + text(std::string(300, 'u')) + text(std::string(73, 'p'))));
    expect_answer_then_close(c, b({0x01, 0x01}));
  }

  SUBCASE("ULEN 255 with ten octets of name, then the end of stream or a close") {
    for (const bool half_close : {true, false}) {
      raw_client c(proxy.port());
      REQUIRE(c.send(offer_userpass));
      REQUIRE(c.receive(2) == b({0x05, 0x02}));
      REQUIRE(c.send(b({0x01, 0xff}) + text("0123456789")));
      if (half_close) {
        c.shutdown_write();
        expect_answer_then_close(c, {});
      }
    }
  }

  SUBCASE("PLEN 255 with ten octets of password, then the end of stream") {
    raw_client c(proxy.port());
    REQUIRE(c.send(offer_userpass));
    REQUIRE(c.receive(2) == b({0x05, 0x02}));
    REQUIRE(c.send(b({0x01, 0x05}) + text(user) + b({0xff}) + text("0123456789")));
    c.shutdown_write();
    expect_answer_then_close(c, {});
  }

  SUBCASE("a 255-octet domain name: parsed whole, unresolvable, X'04' and closed") {
    // Labels of 63 octets: a well-formed name that fails to resolve without any query (its
    // wire form exceeds DNS's 255 octets), so no network is needed for the answer.
    std::string name;
    while (name.size() < 255)
      name += (name.empty() ? "" : ".") + std::string(63, 'a');
    name.resize(255);
    raw_client c(proxy.port());
    REQUIRE(c.send(offer_none));
    REQUIRE(c.receive(2) == b({0x05, 0x00}));
    REQUIRE(c.send(b({0x05, 0x01, 0x00, 0x03, 0xff}) + text(name) + b({0x00, 0x50})));
    expect_answer_then_close(c, failure_reply(0x04));
  }

  SUBCASE("domain length 255 with ten octets of name, then the end of stream or a close") {
    for (const bool half_close : {true, false}) {
      raw_client c(proxy.port());
      REQUIRE(c.send(offer_none));
      REQUIRE(c.receive(2) == b({0x05, 0x00}));
      REQUIRE(c.send(b({0x05, 0x01, 0x00, 0x03, 0xff}) + text("0123456789")));
      if (half_close) {
        c.shutdown_write();
        expect_answer_then_close(c, {});
      }
    }
  }

  proxy.check_recovered();
}
