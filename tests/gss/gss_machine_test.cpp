// The GSS-API state machines driven against each other in memory, without sockets: what each
// asks for and what goes on the wire, message by message.
#include <doctest/doctest.h>

#include <deque>

#include <gssapi/gssapi.h>
#include <krb5.h>

#include "bytes.hpp"
#include "gss_sides.hpp"
#include "kdc.hpp"
#include "machines.hpp"
#include "socks5/auth/gss_protection.hpp"
#include "socks5/auth/gssapi.hpp"
#include "socks5/wire/frame.hpp"

using namespace socks5;
using test::alice;
using test::b;
using test::bytes;
using test::gss_server;

namespace {

bytes head(const bytes& m, std::size_t n = 2) {
  return bytes(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(std::min(n, m.size())));
}

std::size_t frame_length(const bytes& m) {
  return m.size() >= 4 ? static_cast<std::size_t>((m[2] << 8) | m[3]) : 0;
}

}  // namespace

TEST_CASE("machines: token exchange, then the level, each message 01 MTYP LEN TOKEN") {
  auto server = gss_server().start({});
  auto client = GssapiAuth::client(alice()).start({"localhost"});
  auto t = test::converse(client, server);
  REQUIRE(t.client_done);
  REQUIRE(t.server_done);
  // Kerberos with mutual authentication: AP-REQ, AP-REP, then one level message each way.
  REQUIRE(t.client_sent.size() == 2);
  REQUIRE(t.server_sent.size() == 2);
  CHECK(head(t.client_sent[0]) == b({0x01, 0x01}));
  CHECK(frame_length(t.client_sent[0]) == t.client_sent[0].size() - 4);
  CHECK(head(t.server_sent[0]) == b({0x01, 0x01}));
  CHECK(frame_length(t.server_sent[0]) > 0);  // AP-REP
  CHECK(head(t.client_sent[1]) == b({0x01, 0x02}));
  CHECK(head(t.server_sent[1]) == b({0x01, 0x02}));
  CHECK(frame_length(t.client_sent[1]) > 1);  // a wrapped octet, not a raw one
  CHECK(client.level() == gss_level::confidentiality);
  CHECK(server.level() == gss_level::confidentiality);
  CHECK(server.identity() == "alice@TEST.SOCKS");

  // Both protections work with each other, in both directions.
  auto cp = client.take_protection();
  auto sp = server.take_protection();
  REQUIRE(cp);
  REQUIRE(sp);
  std::vector<wire::byte> token, plain;
  const bytes message = test::text("the request");
  REQUIRE_FALSE(cp->wrap(message, token));
  REQUIRE_FALSE(sp->unwrap(wire::frame_type::data, token, plain));
  CHECK(plain == message);
  token.clear();
  plain.clear();
  REQUIRE_FALSE(sp->wrap(message, token));
  REQUIRE_FALSE(cp->unwrap(wire::frame_type::data, token, plain));
  CHECK(plain == message);
  // A replayed token is caught by sequence detection.
  plain.clear();
  CHECK(cp->unwrap(wire::frame_type::data, token, plain) == errc::replayed_message);
  // Any frame type but 03 is refused.
  CHECK(cp->unwrap(wire::frame_type::gss_protection, token, plain) == errc::bad_frame_type);
}

TEST_CASE("machines: NEC mode sends the level octet raw: 01 02 00 01 LEVEL") {
  GssapiAuth::server_options nec;
  nec.nec = true;
  auto server = gss_server(nec).start({});
  auto o = alice();
  o.nec = true;
  o.levels = {gss_level::integrity};
  auto client = GssapiAuth::client(o).start({"localhost"});
  auto t = test::converse(client, server);
  REQUIRE(t.client_done);
  REQUIRE(t.server_done);
  CHECK(t.client_sent.back() == b({0x01, 0x02, 0x00, 0x01, 0x01}));
  CHECK(t.server_sent.back() == b({0x01, 0x02, 0x00, 0x01, 0x01}));
}

TEST_CASE("machines: level 0 gives no protection; a conf-TRUE level token is accepted") {
  GssapiAuth::server_options clear;
  clear.allow_clear = true;
  auto server = gss_server(clear).start({});
  auto o = alice();
  o.levels = {gss_level::clear};
  auto client = GssapiAuth::client(o).start({"localhost"});
  auto t = test::converse(client, server);
  REQUIRE(t.client_done);
  REQUIRE(t.server_done);
  CHECK(client.take_protection() == nullptr);
  CHECK(server.take_protection() == nullptr);
}

TEST_CASE("machines: the server answers the strongest level it accepts; the client may refuse") {
  GssapiAuth::server_options only_conf;
  only_conf.levels = {gss_level::confidentiality};
  auto server = gss_server(only_conf).start({});
  auto o = alice();
  o.levels = {gss_level::integrity};
  auto client = GssapiAuth::client(o).start({"localhost"});
  auto t = test::converse(client, server);
  CHECK(t.server_done);  // it answered 2
  CHECK(server.level() == gss_level::confidentiality);
  CHECK(t.client_error == errc::protection_level_rejected);
}

TEST_CASE("machines: a custom answer policy, and level 3 only with a per-message policy") {
  GssapiAuth::server_options o;
  o.levels = {gss_level::integrity, gss_level::selective};
  std::error_code ec;
  o.keytab = test::realm().server_keytab();
  GssapiAuth::server::create(o, ec);
  CHECK(ec == std::errc::invalid_argument);  // selective without a policy

  o.selective = [](wire::bytes_view plain) { return plain.size() > 3; };
  o.answer = [](gss_level) { return gss_level::selective; };
  auto server = gss_server(o).start({});
  auto c = alice();
  c.levels = {gss_level::selective};
  c.selective = [](wire::bytes_view plain) { return plain.size() > 3; };
  auto client = GssapiAuth::client(c).start({"localhost"});
  auto t = test::converse(client, server);
  REQUIRE(t.client_done);
  REQUIRE(t.server_done);
  CHECK(client.level() == gss_level::selective);
  auto cp = client.take_protection();
  auto sp = server.take_protection();
  // Per message: short ones integrity only, long ones confidential; both accepted.
  for (const bytes& message : {test::text("abc"), test::text("a longer one")}) {
    std::vector<wire::byte> token, plain;
    REQUIRE_FALSE(cp->wrap(message, token));
    const bool visible =
        std::search(token.begin(), token.end(), message.begin(), message.end()) != token.end();
    CHECK(visible == (message.size() <= 3));
    REQUIRE_FALSE(sp->unwrap(wire::frame_type::data, token, plain));
    CHECK(plain == message);
  }
}

TEST_CASE("machines: the server aborts with exactly 01 FF on a bad token") {
  auto server = gss_server().start({});
  auth_step step = server.next();
  REQUIRE(step.what == auth_step::action::read);
  REQUIRE(step.input.size() == 2);
  step.input[0] = 0x01;
  step.input[1] = 0x01;
  step = server.next();
  REQUIRE(step.input.size() == 2);
  step.input[0] = 0x00;
  step.input[1] = 0x03;
  step = server.next();
  REQUIRE(step.input.size() == 3);
  step.input[0] = 1;
  step.input[1] = 2;
  step.input[2] = 3;
  step = server.next();
  REQUIRE(step.what == auth_step::action::write);
  CHECK(test::to_bytes(step.output) == b({0x01, 0xff}));
  step = server.next();
  CHECK(step.what == auth_step::action::fail);
  CHECK(step.error == condition::auth_failure);
}

TEST_CASE("machines: option errors are reported, not acted on") {
  auto o = alice();
  o.levels = {};
  auto client = GssapiAuth::client(o).start({"localhost"});
  CHECK(client.next().error == std::errc::invalid_argument);
  o.levels = {gss_level::selective};
  auto selective = GssapiAuth::client(o).start({"localhost"});
  CHECK(selective.next().error == std::errc::invalid_argument);
}

TEST_CASE("machines: a server token that is no Kerberos reply is refused with an error") {
  // Heimdal 7.8 reads an uninitialized buffer for such a token; the client must not pass it on.
  for (int variant = 0; variant < 4; ++variant) {
    CAPTURE(variant);
    auto client = GssapiAuth::client(alice()).start({"localhost"});
    auth_step step = client.next();
    REQUIRE(step.what == auth_step::action::offload);
    step.work();
    step = client.next();
    REQUIRE(step.what == auth_step::action::write);
    bytes token(step.output.begin() + wire::frame_header_size, step.output.end());
    REQUIRE(token.size() > 17);
    // The TOK_ID follows the tag, the DER length and the mechanism's OID (11 octets).
    const std::size_t tok_id = 1 + (token[1] < 0x80 ? 1 : 1 + (token[1] & 0x7f)) + 11;
    REQUIRE(token[tok_id] == 0x01);
    if (variant == 0) token = b({1, 2, 3, 4, 5});  // not a GSS-API token at all
    if (variant == 2) token[tok_id] = 0x02;        // framed as an AP-REP, but the AP-REQ inside
    if (variant == 3) token.push_back(0);          // a length that does not cover the token
    // variant 1: the client's own AP-REQ reflected (TOK_ID 01 00)
    REQUIRE(token.size() <= 0xffff);
    bytes reply = {0x01, 0x01, static_cast<wire::byte>(token.size() >> 8),
                   static_cast<wire::byte>(token.size() & 0xff)};
    reply.insert(reply.end(), token.begin(), token.end());
    std::size_t at = 0;
    for (step = client.next(); step.what == auth_step::action::read; step = client.next()) {
      REQUIRE(reply.size() - at >= step.input.size());
      std::copy_n(reply.begin() + static_cast<std::ptrdiff_t>(at), step.input.size(),
                  step.input.begin());
      at += step.input.size();
    }
    CHECK(at == reply.size());
    REQUIRE(step.what == auth_step::action::fail);
    CHECK(step.error == condition::auth_failure);
    CHECK(client.take_protection() == nullptr);
  }
}

TEST_CASE("error categories: GSS-API major status and Kerberos codes, named by the library") {
  const std::error_code no_cred(static_cast<int>(GSS_S_NO_CRED), gss_category());
  CHECK(std::string(no_cred.category().name()) == "gssapi");
  MESSAGE("GSS_S_NO_CRED: " << no_cred.message());
  CHECK(no_cred.message().rfind("No credentials", 0) == 0);
  CHECK(no_cred == condition::auth_failure);

  const std::error_code unknown(static_cast<int>(KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN),
                                gss_mechanism_category());
  CHECK(std::string(unknown.category().name()) == "gssapi.mech");
  MESSAGE("KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN: " << unknown.message());
  CHECK(unknown.message().find("not found") != std::string::npos);
  CHECK(unknown == condition::auth_failure);
}
