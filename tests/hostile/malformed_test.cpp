// Wrong protocol versions, unknown commands and address types, and data pipelined after the
// request: each answered exactly as the protocol says (or closed where it has no answer).
#include <doctest/doctest.h>

#include "proxy_under_test.hpp"

using namespace hostile;
using test::b;
using test::text;

namespace {

constexpr auto close_limit = 10s;  // far below the 30 s handshake timeout

const proxy_setup with_users{{}, true};

const bytes offer_none = b({0x05, 0x01, 0x00});
const bytes offer_userpass = b({0x05, 0x01, 0x02});

void expect_answer_then_close(raw_client& c, const bytes& answer) {
  const auto r = c.read_to_end(close_limit);
  CHECK(test::hex(r.data) == test::hex(answer));
  CHECK(r.how != ending::still_open);
}

}  // namespace

TEST_CASE("wrong versions") {
  proxy_under_test proxy(with_users);

  // A greeting that is not SOCKS 5 gets no method selection: X'05 FF' would be meaningless to
  // a SOCKS 4 client or a web browser. The server closes without a word.
  SUBCASE("greeting VER 4: a SOCKS 4 CONNECT") {
    raw_client c(proxy.port());
    REQUIRE(c.send(b({0x04, 0x01, 0x00, 0x50, 127, 0, 0, 1}) + text("user") + b({0x00})));
    expect_answer_then_close(c, {});
  }

  SUBCASE("greeting VER 0x47: an HTTP request") {
    raw_client c(proxy.port());
    REQUIRE(c.send(text("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")));
    expect_answer_then_close(c, {});
  }

  // RFC 1929 has a status for every failure: X'01', then the close.
  SUBCASE("username/password VER 5 instead of 1") {
    raw_client c(proxy.port());
    REQUIRE(c.send(offer_userpass));
    REQUIRE(c.receive(2) == b({0x05, 0x02}));
    REQUIRE(c.send(b({0x05, 0x05}) + text(user) + b({0x06}) + text(password)));
    expect_answer_then_close(c, b({0x01, 0x01}));
  }

  // A request the server cannot read as SOCKS 5 is a general failure, X'01'.
  SUBCASE("request VER 4") {
    raw_client c(proxy.port());
    REQUIRE(c.send(offer_none));
    REQUIRE(c.receive(2) == b({0x05, 0x00}));
    auto request = connect_request_v4(proxy.targets().echo_port());
    request[0] = 0x04;
    REQUIRE(c.send(request));
    expect_answer_then_close(c, failure_reply(0x01));
  }

  proxy.check_recovered();
}

TEST_CASE("unknown command and address type get X'07' and X'08'") {
  proxy_under_test proxy(with_users);
  const auto port = proxy.targets().echo_port();

  SUBCASE("CMD 0x09") {
    raw_client c(proxy.port());
    REQUIRE(c.send(offer_none));
    REQUIRE(c.receive(2) == b({0x05, 0x00}));
    REQUIRE(c.send(connect_request_v4(port, 0x09)));
    expect_answer_then_close(c, failure_reply(0x07));
  }

  SUBCASE("ATYP 0x02") {
    raw_client c(proxy.port());
    REQUIRE(c.send(offer_none));
    REQUIRE(c.receive(2) == b({0x05, 0x00}));
    REQUIRE(c.send(b({0x05, 0x01, 0x00, 0x02, 127, 0, 0, 1, port >> 8, port & 0xff})));
    expect_answer_then_close(c, failure_reply(0x08));
  }

  SUBCASE("both after username/password") {
    for (const int cmd : {0x09, 0x00, 0x04, 0xff}) {
      raw_client c(proxy.port());
      REQUIRE(c.send(offer_userpass));
      REQUIRE(c.receive(2) == b({0x05, 0x02}));
      REQUIRE(c.send(b({0x01, static_cast<int>(user.size())}) + text(user) +
                     b({static_cast<int>(password.size())}) + text(password)));
      REQUIRE(c.receive(2) == b({0x01, 0x00}));
      REQUIRE(c.send(connect_request_v4(port, static_cast<std::uint8_t>(cmd))));
      expect_answer_then_close(c, failure_reply(0x07));
    }
  }

  proxy.check_recovered();
}

// A client may send its first data with the request, before the reply (optimistic data, as
// some clients do to save a round trip). The server reads exactly the request, so whatever
// follows is the first data for the target, and passes through unchanged after the reply.
TEST_CASE("octets after a valid request are data for the target") {
  proxy_under_test proxy(with_users);
  const auto junk = payload(100, 4242);

  auto expect_reply_then_echo = [&](raw_client& c) {
    const auto reply = c.receive(10);
    REQUIRE(reply.size() == 10);
    CHECK(test::hex(bytes(reply.begin(), reply.begin() + 8)) ==
          test::hex(b({0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1})));
    // The echo target sent back exactly the 100 octets it got.
    CHECK(test::hex(c.receive(junk.size())) == test::hex(junk));
    // And the session goes on as any other.
    CHECK(proxy_under_test::echo(c, 8192, 99));
  };

  SUBCASE("request and junk in one write, after the greeting") {
    raw_client c(proxy.port());
    REQUIRE(c.send(offer_none));
    REQUIRE(c.receive(2) == b({0x05, 0x00}));
    REQUIRE(c.send(connect_request_v4(proxy.targets().echo_port()) + junk));
    expect_reply_then_echo(c);
  }

  SUBCASE("greeting, request and junk in one write") {
    raw_client c(proxy.port());
    REQUIRE(c.send(offer_none + connect_request_v4(proxy.targets().echo_port()) + junk));
    REQUIRE(c.receive(2) == b({0x05, 0x00}));
    expect_reply_then_echo(c);
  }

  SUBCASE("greeting, username/password, request and junk in one write") {
    raw_client c(proxy.port());
    REQUIRE(c.send(offer_userpass + b({0x01, static_cast<int>(user.size())}) + text(user) +
                   b({static_cast<int>(password.size())}) + text(password) +
                   connect_request_v4(proxy.targets().echo_port()) + junk));
    REQUIRE(c.receive(4) == b({0x05, 0x02, 0x01, 0x00}));
    expect_reply_then_echo(c);
  }

  proxy.check_recovered();
}
