// The text form of access rules: parsing with errors that name the offending word, and printing
// back to the same form.
#include <charconv>
#include <fstream>
#include <sstream>

#include "socks5/access_rules.hpp"

namespace socks5 {
namespace {

constexpr std::string_view spaces = " \t";

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// A domain name or a ".suffix": letters, digits, '-', '_' and dots between non-empty labels,
// at most 255 octets; one trailing dot is dropped. Empty on failure. A last label of digits
// only is refused: no top-level domain is numeric, and "10.0.0.1." is an address mistyped, not
// a name that no request could ever match.
std::string domain_pattern(std::string_view text) {
  if (text.size() > 1 && text.back() == '.') text.remove_suffix(1);
  if (text.empty() || text.size() > 255) return {};
  const std::string_view labels = text.front() == '.' ? text.substr(1) : text;
  if (labels.empty() || labels.front() == '.' || labels.back() == '.') return {};
  if (labels.find("..") != std::string_view::npos) return {};
  for (char c : labels)
    if (!is_name_char(c)) return {};
  const std::string_view last = labels.substr(labels.rfind('.') + 1);
  if (last.find_first_not_of("0123456789") == std::string_view::npos) return {};
  return lower(text);
}

std::optional<std::uint16_t> port_number(std::string_view text) {
  unsigned v = 0;
  if (text.empty() || text.size() > 5) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

std::optional<port_range> parse_ports(std::string_view text) {
  const auto dash = text.find('-');
  const auto first = port_number(text.substr(0, dash));
  const auto last = dash == std::string_view::npos ? first : port_number(text.substr(dash + 1));
  if (!first || !last || *first > *last) return std::nullopt;
  return port_range{*first, *last};
}

std::optional<command> command_named(std::string_view text) {
  if (text == "connect") return command::connect;
  if (text == "bind") return command::bind;
  if (text == "udp") return command::udp_associate;
  return std::nullopt;
}

const char* command_word(command c) {
  switch (c) {
    case command::connect: return "connect";
    case command::bind: return "bind";
    case command::udp_associate: return "udp";
  }
  return "?";
}

std::optional<access_rule> failed(std::string& error, std::string message) {
  error = std::move(message);
  return std::nullopt;
}

}  // namespace

std::optional<access_rule> access_rule::parse(std::string_view text, std::string& error) {
  access_rule rule;
  bool have_verdict = false, have_to = false;
  while (!text.empty()) {
    const auto start = text.find_first_not_of(spaces);
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    const auto word = text.substr(0, text.find_first_of(spaces));
    text.remove_prefix(word.size());
    const std::string quoted = "'" + std::string(word) + "'";

    if (!have_verdict) {
      if (word != "allow" && word != "deny")
        return failed(error, quoted + ": a rule begins with allow or deny");
      rule.allow = word == "allow";
      have_verdict = true;
      continue;
    }
    const auto eq = word.find('=');
    if (eq == std::string_view::npos)
      return failed(error, quoted + ": expected KEY=VALUE (from, to, port, user, cmd)");
    const auto key = word.substr(0, eq);
    const auto value = word.substr(eq + 1);
    const auto twice = [&] {
      return failed(error, quoted + ": " + std::string(key) + " given twice");
    };
    if (key == "from") {
      if (rule.client) return twice();
      std::error_code ec;
      rule.client = network::parse(value, ec);
      if (ec)
        return failed(error, quoted +
                                 ": not a network (ADDR/LEN without host bits, e.g. 10.0.0.0/8, "
                                 "or one address)");
    } else if (key == "to") {
      if (have_to) return twice();
      have_to = true;
      std::error_code ec;
      const auto net = network::parse(value, ec);
      if (!ec) {
        rule.target_network = net;
      } else {
        rule.target_name = domain_pattern(value);
        if (rule.target_name.empty())
          return failed(error, quoted +
                                   ": not a network, a domain name or a .suffix (e.g. "
                                   "192.0.2.0/24, host.example, .example.com)");
      }
    } else if (key == "port") {
      if (rule.ports) return twice();
      rule.ports = parse_ports(value);
      if (!rule.ports) return failed(error, quoted + ": not a port or a range N-M within 0-65535");
    } else if (key == "user") {
      if (rule.identity) return twice();
      if (value.empty() || value.size() > 255)
        return failed(error, quoted + ": a user name is 1-255 octets");
      rule.identity = std::string(value);
    } else if (key == "cmd") {
      if (rule.cmd) return twice();
      rule.cmd = command_named(value);
      if (!rule.cmd) return failed(error, quoted + ": the command is connect, bind or udp");
    } else {
      return failed(error, quoted + ": unknown key (from, to, port, user, cmd)");
    }
  }
  if (!have_verdict) return failed(error, "empty rule: a rule begins with allow or deny");
  return rule;
}

std::string access_rule::to_string() const {
  std::string out = allow ? "allow" : "deny";
  if (client) out += " from=" + client->to_string();
  if (target_network) out += " to=" + target_network->to_string();
  if (!target_name.empty()) out += " to=" + target_name;
  if (ports) {
    out += " port=" + std::to_string(ports->first);
    if (ports->last != ports->first) out += "-" + std::to_string(ports->last);
  }
  if (identity) out += " user=" + *identity;
  if (cmd) out += std::string(" cmd=") + command_word(*cmd);
  return out;
}

std::optional<access_rules> access_rules::parse(std::string_view text, std::string& error) {
  access_rules out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto start = line.find_first_not_of(spaces);
    if (start == std::string_view::npos || line[start] == '#') continue;
    auto rule = access_rule::parse(line, error);
    if (!rule) {
      error = "line " + std::to_string(line_no) + ": " + error;
      return std::nullopt;
    }
    out.add(std::move(*rule));
  }
  return out;
}

std::optional<access_rules> access_rules::load(const std::filesystem::path& path,
                                               std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path.string();
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), error);
}

}  // namespace socks5
