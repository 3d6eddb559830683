// Access rules: an ordered list of allow and deny rules over the client's network, the target
// (an IP network, a domain name or a domain suffix), the target port, the authenticated identity
// and the command. The first rule that matches decides; once any rule exists, a request that
// no rule matches is denied. A denial answers X'02' (connection not allowed by ruleset).
//
// Text form, one rule (in a file: one per line, blank lines and '#' comments ignored):
//   allow|deny [from=CIDR] [to=CIDR|NAME|.SUFFIX] [port=N|N-M] [user=NAME] [cmd=connect|bind|udp]
// e.g. "allow from=10.0.0.0/8 to=192.0.2.0/24 port=80-443 user=alice cmd=connect".
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/ip/address.hpp>

#include "socks5/network.hpp"
#include "socks5/server.hpp"

namespace socks5 {

struct port_range {
  std::uint16_t first = 0;
  std::uint16_t last = 65535;
  bool contains(std::uint16_t port) const noexcept { return port >= first && port <= last; }
  friend bool operator==(const port_range&, const port_range&) = default;
};

struct access_rule {
  bool allow = false;
  // Each condition, when present, must hold for the rule to match.
  std::optional<network> client;          // from=: the client's address is in this network
  std::optional<network> target_network;  // to=CIDR: the target's IP address is in it
  // to=NAME: the target is this domain name; to=.SUFFIX: the name itself or any name under it.
  // Lower case; compared without regard to case and to one trailing dot.
  std::string target_name;
  std::optional<port_range> ports;      // port=: the target port
  std::optional<std::string> identity;  // user=: the authenticated user, exactly
  std::optional<command> cmd;           // cmd=

  // `resolved`: what a domain-name target resolved to, when known; to=CIDR matches it. Without
  // it, to=CIDR matches only IP-literal targets, and to=NAME only domain-name targets.
  bool matches(const request_context& request, const asio::ip::address* resolved = nullptr) const;

  // The rule in its text form, which parses back to the same rule.
  std::string to_string() const;
  // One rule; on failure nothing, and `error` says which word is wrong and why.
  static std::optional<access_rule> parse(std::string_view text, std::string& error);

  friend bool operator==(const access_rule&, const access_rule&) = default;
};

class access_rules {
 public:
  access_rules() = default;
  explicit access_rules(std::vector<access_rule> rules);

  // Rules one per line; `error` begins with "line N: ".
  static std::optional<access_rules> parse(std::string_view text, std::string& error);
  static std::optional<access_rules> load(const std::filesystem::path& path, std::string& error);

  void add(access_rule rule);
  const std::vector<access_rule>& rules() const noexcept { return rules_; }
  bool empty() const noexcept { return rules_.empty(); }

  // The first matching rule's verdict: allow, or deny with X'02'. No rules: allow; rules and
  // no match: deny.
  decision check(const request_context& request, const asio::ip::address* resolved = nullptr) const;

  // Some rule names a target network, so a domain-name target must be resolved to be judged.
  bool needs_resolution() const noexcept;

  // Every allow rule names a client network or a user: not just anyone is served.
  bool restricts_clients() const noexcept;

  // The rules as a server's handler. A CONNECT to a domain name, when some rule names a target
  // network, is resolved here and judged by its addresses in turn; the session is redirected
  // to the first one allowed, so the address judged is the one connected to (no second
  // lookup can answer differently). A name that does not resolve is denied with X'04'.
  // The handler holds its own copy: rules added later do not change it.
  request_handler handler() const;

 private:
  std::vector<access_rule> rules_;
};

}  // namespace socks5
