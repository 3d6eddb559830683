// Access rules: matching a request against the ordered list, and the server handler over it.
#include "socks5/access_rules.hpp"

#include <algorithm>

#include <memory>
#include <tuple>

#include <asio/async_result.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/this_coro.hpp>

#include "net/lookup.hpp"
#include "socks5/auth/driver.hpp"

namespace socks5 {
namespace {

bool same_letter(char a, char b) {
  const auto fold = [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  };
  return fold(a) == fold(b);
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), same_letter);
}

// `pattern` is lower case: "host.example" for that name, ".example" for it and names under it.
bool name_matches(std::string_view pattern, std::string_view name) {
  if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
  if (pattern.front() != '.') return equal_ignoring_case(pattern, name);
  const auto bare = pattern.substr(1);
  if (equal_ignoring_case(bare, name)) return true;
  return name.size() > pattern.size() &&
         equal_ignoring_case(pattern, name.substr(name.size() - pattern.size()));
}

}  // namespace

bool access_rule::matches(const request_context& request, const asio::ip::address* resolved) const {
  if (client && !client->contains(request.client.address())) return false;
  if (cmd && *cmd != request.cmd) return false;
  if (identity && *identity != request.identity) return false;
  if (ports && !ports->contains(request.target.port())) return false;
  if (target_network) {
    if (!request.target.is_domain()) {
      if (!target_network->contains(request.target.ip())) return false;
    } else if (!resolved || !target_network->contains(*resolved)) {
      return false;
    }
  }
  if (!target_name.empty())
    if (!request.target.is_domain() || !name_matches(target_name, request.target.domain_name()))
      return false;
  return true;
}

access_rules::access_rules(std::vector<access_rule> rules) : rules_(std::move(rules)) {}

void access_rules::add(access_rule rule) {
  rules_.push_back(std::move(rule));
}

decision access_rules::check(const request_context& request,
                             const asio::ip::address* resolved) const {
  if (rules_.empty()) return decision::allow();
  for (const auto& rule : rules_)
    if (rule.matches(request, resolved))
      return rule.allow ? decision::allow() : decision::deny(reply_code::not_allowed);
  return decision::deny(reply_code::not_allowed);
}

bool access_rules::needs_resolution() const noexcept {
  return std::any_of(rules_.begin(), rules_.end(),
                     [](const access_rule& r) { return r.target_network.has_value(); });
}

bool access_rules::restricts_clients() const noexcept {
  return !rules_.empty() && std::all_of(rules_.begin(), rules_.end(), [](const access_rule& r) {
    return !r.allow || r.client || r.identity;
  });
}

namespace {

using lookup_results = asio::ip::tcp::resolver::results_type;

// The addresses of `host`, looked up on the context's lookup threads as the session's own
// lookups are: not on Asio's one resolver thread, behind every other name.
asio::awaitable<std::tuple<std::error_code, lookup_results>> look_up(const std::string& host,
                                                                     std::uint16_t port) {
  const auto ex = co_await asio::this_coro::executor;
  auto initiate = [&ex, &host, port](auto handler) {
    auto held = std::make_shared<decltype(handler)>(std::move(handler));
    detail::async_lookup(ex, host, std::to_string(port),
                         [held](std::error_code ec, lookup_results results) {
                           auto resume = std::move(*held);
                           resume(ec, std::move(results));
                         });
  };
  auto found = co_await asio::async_initiate<decltype(detail::use_tuple),
                                             void(std::error_code, lookup_results)>(
      initiate, detail::use_tuple);
  co_return found;
}

// A CONNECT to a name, judged by what the name resolves to.
asio::awaitable<decision> judge_resolved(std::shared_ptr<const access_rules> rules,
                                         request_context request) {
  auto [ec, results] = co_await look_up(request.target.domain_name(), request.target.port());
  if (ec) co_return decision::deny(reply_code::host_unreachable);
  for (const auto& entry : results) {
    const auto ip = entry.endpoint().address();
    if (rules->check(request, &ip).what() == decision::kind::allow)
      co_return decision::redirect(address(ip, request.target.port()));
  }
  co_return decision::deny(reply_code::not_allowed);
}

asio::awaitable<decision> ready(decision d) {
  co_return d;
}

}  // namespace

request_handler access_rules::handler() const {
  auto rules = std::make_shared<const access_rules>(*this);
  const bool resolve = needs_resolution();
  return [rules, resolve](const request_context& request) -> asio::awaitable<decision> {
    if (resolve && request.cmd == command::connect && request.target.is_domain())
      return judge_resolved(rules, request);
    return ready(rules->check(request));
  };
}

}  // namespace socks5
