// Access rules: the text form (every key, every error), matching, first-match order, default
// deny, and the handler's judgement of names by what they resolve to.
#include <doctest/doctest.h>

#include "run.hpp"
#include "socks5/access_rules.hpp"

using namespace socks5;

namespace {

access_rule rule(std::string_view text) {
  std::string error;
  auto r = access_rule::parse(text, error);
  REQUIRE_MESSAGE(r, error);
  return *r;
}

std::string parse_error(std::string_view text) {
  std::string error;
  auto r = access_rule::parse(text, error);
  CHECK_FALSE(r);
  return error;
}

request_context request(const char* client, address target, command cmd = command::connect,
                        std::string identity = {}) {
  request_context c;
  c.client = {asio::ip::make_address(client), 40000};
  c.target = std::move(target);
  c.cmd = cmd;
  c.identity = std::move(identity);
  return c;
}

bool allowed(const access_rules& rules, const request_context& c) {
  return rules.check(c).what() == decision::kind::allow;
}

access_rules rules(std::string_view text) {
  std::string error;
  auto r = access_rules::parse(text, error);
  REQUIRE_MESSAGE(r, error);
  return *r;
}

}  // namespace

TEST_CASE("rule text: every key, and printed back to the same rule") {
  const auto r = rule("allow from=10.0.0.0/8 to=192.0.2.0/24 port=80-443 user=alice cmd=connect");
  CHECK(r.allow);
  REQUIRE(r.client);
  CHECK(r.client->to_string() == "10.0.0.0/8");
  REQUIRE(r.target_network);
  CHECK(r.target_network->to_string() == "192.0.2.0/24");
  CHECK(r.target_name.empty());
  REQUIRE(r.ports);
  CHECK(r.ports->first == 80);
  CHECK(r.ports->last == 443);
  CHECK(r.identity == std::optional<std::string>("alice"));
  CHECK(r.cmd == std::optional<command>(command::connect));
  CHECK(r.to_string() ==
        "allow from=10.0.0.0/8 to=192.0.2.0/24 port=80-443 user=alice cmd=connect");

  const auto d = rule("  deny\tto=.Example.COM.  port=25 cmd=udp ");
  CHECK_FALSE(d.allow);
  CHECK(d.target_name == ".example.com");
  CHECK(d.ports == std::optional<port_range>(port_range{25, 25}));
  CHECK(d.cmd == std::optional<command>(command::udp_associate));
  CHECK(d.to_string() == "deny to=.example.com port=25 cmd=udp");
  CHECK(rule(d.to_string()) == d);

  const auto bare = rule("allow");
  CHECK(bare.to_string() == "allow");
  CHECK_FALSE(bare.client);
  CHECK(rule("deny from=::1 cmd=bind").client->to_string() == "::1/128");
  CHECK(rule("allow to=host.example").target_name == "host.example");
  CHECK(rule("allow port=0-65535").ports == std::optional<port_range>(port_range{0, 65535}));
}

TEST_CASE("rule text: errors name the word and say what is wrong") {
  CHECK(parse_error("") == "empty rule: a rule begins with allow or deny");
  CHECK(parse_error("permit from=10.0.0.0/8") == "'permit': a rule begins with allow or deny");
  CHECK(parse_error("allow 10.0.0.0/8").find("'10.0.0.0/8': expected KEY=VALUE") == 0);
  CHECK(parse_error("allow src=10.0.0.0/8").find("'src=10.0.0.0/8': unknown key") == 0);
  CHECK(parse_error("allow from=10.0.0.1/8").find("'from=10.0.0.1/8': not a network") == 0);
  CHECK(parse_error("allow from=example.com").find("not a network") != std::string::npos);
  CHECK(parse_error("allow to=exa mple.com").find("'mple.com': expected KEY=VALUE") == 0);
  for (const char* bad_to : {"to=", "to=.", "to=a..b", "to=-/x", "to=10.0.0.0/33", "to=a b",
                             // Addresses with a stray dot, or cut short: no name ends in digits.
                             "to=10.0.10.0.", "to=10.0.10", "to=.10", "to=host.example.80"}) {
    INFO(bad_to);
    std::string error;
    CHECK_FALSE(access_rule::parse(std::string("allow ") + bad_to, error));
    CHECK_FALSE(error.empty());
  }
  CHECK(parse_error("allow to=10.0.10.0.") ==
        "'to=10.0.10.0.': not a network, a domain name or a .suffix (e.g. 192.0.2.0/24, "
        "host.example, .example.com)");
  {
    std::string error;  // a name after all: its last label is not a number
    const auto rule = access_rule::parse("allow to=10.0.10.0.x", error);
    REQUIRE(rule);
    CHECK(rule->target_name == "10.0.10.0.x");
    CHECK_FALSE(rule->target_network);
  }
  CHECK(parse_error("allow to=host_.example/1").find("not a network, a domain name or a .suffix") !=
        std::string::npos);
  CHECK(parse_error("allow to=" + std::string(256, 'a')).find("not a network") !=
        std::string::npos);
  CHECK(parse_error("allow port=443-80").find("'port=443-80': not a port or a range") == 0);
  CHECK(parse_error("allow port=65536").find("not a port") != std::string::npos);
  CHECK(parse_error("allow port=-1").find("not a port") != std::string::npos);
  CHECK(parse_error("allow port=+80").find("not a port") != std::string::npos);
  CHECK(parse_error("allow port=80-").find("not a port") != std::string::npos);
  CHECK(parse_error("allow port=").find("not a port") != std::string::npos);
  CHECK(parse_error("allow user=").find("'user=': a user name is 1-255 octets") == 0);
  CHECK(parse_error("allow cmd=associate") ==
        "'cmd=associate': the command is connect, bind or udp");
  CHECK(parse_error("allow port=80 port=81") == "'port=81': port given twice");
  CHECK(parse_error("allow to=a.example to=10.0.0.0/8") == "'to=10.0.0.0/8': to given twice");
  CHECK(parse_error("allow from=::1 from=::1") == "'from=::1': from given twice");
  CHECK(parse_error("allow allow").find("expected KEY=VALUE") != std::string::npos);
}

TEST_CASE("rule files: comments and blank lines; errors carry the line number") {
  const auto r = rules("# office\n\nallow from=10.0.0.0/8\r\n   # indented comment\ndeny\n");
  REQUIRE(r.rules().size() == 2);
  CHECK(r.rules()[0].to_string() == "allow from=10.0.0.0/8");
  CHECK(r.rules()[1].to_string() == "deny");
  std::string error;
  CHECK_FALSE(access_rules::parse("allow\n\nallow port=x\n", error));
  CHECK(error == "line 3: 'port=x': not a port or a range N-M within 0-65535");
  CHECK_FALSE(access_rules::load("/nonexistent/rules", error));
  CHECK(error == "cannot read /nonexistent/rules");
  CHECK(rules("").empty());
}

TEST_CASE("matching: client network, target network, name, suffix, port, user, command") {
  const address web("192.0.2.10", 443);
  CHECK(rule("allow from=10.0.0.0/8").matches(request("10.1.2.3", web)));
  CHECK_FALSE(rule("allow from=10.0.0.0/8").matches(request("11.1.2.3", web)));
  // IPv4-mapped IPv6 clients match IPv4 networks.
  CHECK(rule("allow from=10.0.0.0/8").matches(request("::ffff:10.1.2.3", web)));

  CHECK(rule("allow to=192.0.2.0/24").matches(request("10.0.0.1", web)));
  CHECK_FALSE(rule("allow to=198.51.100.0/24").matches(request("10.0.0.1", web)));
  // A name is not judged by a network unless its resolved address is given.
  const address named("www.Example.com.", 443);
  CHECK_FALSE(rule("allow to=192.0.2.0/24").matches(request("10.0.0.1", named)));
  const auto resolved = asio::ip::make_address("192.0.2.10");
  CHECK(rule("allow to=192.0.2.0/24").matches(request("10.0.0.1", named), &resolved));

  CHECK(rule("allow to=www.example.com").matches(request("10.0.0.1", named)));
  CHECK_FALSE(rule("allow to=example.com").matches(request("10.0.0.1", named)));
  CHECK(rule("allow to=.example.com").matches(request("10.0.0.1", named)));
  CHECK(rule("allow to=.example.com").matches(request("10.0.0.1", address("example.com", 80))));
  CHECK_FALSE(
      rule("allow to=.example.com").matches(request("10.0.0.1", address("badexample.com", 80))));
  CHECK_FALSE(
      rule("allow to=.example.com").matches(request("10.0.0.1", address("example.com.evil", 80))));
  // A name rule never matches an IP literal.
  CHECK_FALSE(rule("allow to=.example.com").matches(request("10.0.0.1", web)));

  CHECK(rule("allow port=443").matches(request("10.0.0.1", web)));
  CHECK(rule("allow port=400-500").matches(request("10.0.0.1", web)));
  CHECK_FALSE(rule("allow port=444-500").matches(request("10.0.0.1", web)));

  CHECK(rule("allow user=alice").matches(request("10.0.0.1", web, command::connect, "alice")));
  CHECK_FALSE(
      rule("allow user=alice").matches(request("10.0.0.1", web, command::connect, "Alice")));
  CHECK_FALSE(rule("allow user=alice").matches(request("10.0.0.1", web)));

  CHECK(rule("allow cmd=bind").matches(request("10.0.0.1", web, command::bind)));
  CHECK_FALSE(rule("allow cmd=bind").matches(request("10.0.0.1", web, command::udp_associate)));

  // Every condition must hold.
  const auto all = rule("allow from=10.0.0.0/8 to=192.0.2.0/24 port=443 user=alice cmd=connect");
  CHECK(all.matches(request("10.0.0.1", web, command::connect, "alice")));
  CHECK_FALSE(all.matches(request("10.0.0.1", web, command::connect, "bob")));
  CHECK_FALSE(
      all.matches(request("10.0.0.1", address("192.0.2.10", 80), command::connect, "alice")));
}

TEST_CASE("rule lists: the first match decides; no match is a denial with X'02'") {
  const auto r = rules(
      "deny to=192.0.2.66\n"
      "allow from=10.0.0.0/8 to=192.0.2.0/24\n"
      "allow user=alice\n");
  CHECK(allowed(r, request("10.0.0.1", address("192.0.2.10", 80))));
  CHECK_FALSE(allowed(r, request("10.0.0.1", address("192.0.2.66", 80))));
  // alice too is bound by the deny before her rule.
  CHECK_FALSE(
      allowed(r, request("11.0.0.1", address("192.0.2.66", 80), command::connect, "alice")));
  CHECK(allowed(r, request("11.0.0.1", address("198.51.100.1", 80), command::connect, "alice")));
  const auto refused = r.check(request("11.0.0.1", address("198.51.100.1", 80)));
  CHECK(refused.what() == decision::kind::deny);
  CHECK(refused.code() == reply_code::not_allowed);
  // No rules at all: everything is allowed, as without a rule set.
  CHECK(allowed(access_rules{}, request("11.0.0.1", address("198.51.100.1", 80))));
}

TEST_CASE("rule lists: whether they restrict clients, and whether names must be resolved") {
  CHECK_FALSE(access_rules{}.restricts_clients());
  CHECK(rules("allow from=10.0.0.0/8\n").restricts_clients());
  CHECK(rules("allow user=alice\ndeny\n").restricts_clients());
  CHECK(rules("deny from=10.0.0.0/8\n").restricts_clients());  // nobody is allowed at all
  CHECK_FALSE(rules("allow from=10.0.0.0/8\nallow port=443\n").restricts_clients());
  CHECK_FALSE(rules("allow\n").restricts_clients());
  CHECK(rules("allow to=10.0.0.0/8\n").needs_resolution());
  CHECK_FALSE(rules("allow to=.example.com\n").needs_resolution());
}

TEST_CASE("handler: a name is judged by its addresses, and the session sent to the one allowed") {
  asio::io_context ctx;
  auto run_handler = [&](const access_rules& r, const request_context& c) {
    auto handler = r.handler();
    return test::run(ctx, handler(c));
  };
  const auto r = rules("deny to=127.0.0.0/8\nallow\n");
  // "localhost" is 127.0.0.1 (and perhaps ::1): the IPv4 form is denied by network.
  const auto v4_only = rules("deny to=127.0.0.0/8\nallow to=::/0\n");
  auto d = run_handler(v4_only, request("10.0.0.1", address::domain("localhost", 8080)));
  if (d.what() == decision::kind::redirect) {
    // ::1 was allowed: the session goes exactly there.
    CHECK(d.target() == address(asio::ip::make_address("::1"), 8080));
  } else {
    CHECK(d.what() == decision::kind::deny);
    CHECK(d.code() == reply_code::not_allowed);
  }
  const auto loopback_v4 = rules("allow to=127.0.0.0/8\n");
  auto allowed_v4 = run_handler(loopback_v4, request("10.0.0.1", address::domain("localhost", 80)));
  REQUIRE(allowed_v4.what() == decision::kind::redirect);
  CHECK(allowed_v4.target() == address(asio::ip::make_address("127.0.0.1"), 80));
  // Denied by address whatever the name looks like.
  auto denied = run_handler(rules("deny to=127.0.0.0/8\ndeny to=::1\nallow\n"),
                            request("10.0.0.1", address::domain("localhost", 80)));
  CHECK(denied.what() == decision::kind::deny);
  CHECK(denied.code() == reply_code::not_allowed);
  // A name that does not resolve: X'04', as the server answers for it.
  auto unknown = run_handler(r, request("10.0.0.1", address::domain("no-such-host.invalid", 80)));
  CHECK(unknown.what() == decision::kind::deny);
  CHECK(unknown.code() == reply_code::host_unreachable);
  // Without target networks in the rules, names are judged as written and not resolved.
  auto by_name = run_handler(rules("allow to=.invalid\n"),
                             request("10.0.0.1", address::domain("no-such-host.invalid", 80)));
  CHECK(by_name.what() == decision::kind::allow);
  // Rules added later do not change a handler already made.
  access_rules growing = rules("allow\n");
  auto before = growing.handler();
  growing = rules("deny\n");
  CHECK(test::run(ctx, before(request("10.0.0.1", address("192.0.2.1", 80)))).what() ==
        decision::kind::allow);
}
