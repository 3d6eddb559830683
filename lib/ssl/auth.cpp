#include "negotiation.hpp"
#include "socks5/auth/ssl.hpp"

namespace socks5 {

namespace detail {
struct ssl_client_state {
  tls::negotiation negotiation;
};
struct ssl_server_state {
  tls::negotiation negotiation;
};
}  // namespace detail

SslAuth::client SslAuth::client::create(client_options options, std::error_code& ec) {
  return client(detail::make_client_config(std::move(options), ec));
}

namespace {
// A code set narrows to it; unset, both: the draft's X'86', then IANA's X'06'.
std::vector<method_code> ssl_codes(const std::optional<method_code>& code) {
  if (code) return {*code};
  return {method::ssl, method::ssl_iana};
}
}  // namespace

method_code SslAuth::client::code() const {
  return codes().front();
}

std::vector<method_code> SslAuth::client::codes() const {
  return ssl_codes(config_ ? config_->options.code : std::nullopt);
}

SslAuth::client_machine SslAuth::client::start(const client_auth_context& c) const {
  return client_machine(config_, c.proxy_host);
}

SslAuth::server SslAuth::server::create(server_options options, std::error_code& ec) {
  return server(detail::make_server_config(std::move(options), ec));
}

method_code SslAuth::server::code() const {
  return codes().front();
}

std::vector<method_code> SslAuth::server::codes() const {
  return ssl_codes(config_ ? config_->options.code : std::nullopt);
}

SslAuth::server_machine SslAuth::server::start(const server_auth_context&) const {
  return server_machine(config_);
}

SslAuth::client_machine::client_machine(std::shared_ptr<const detail::ssl_client_config> config,
                                        std::string proxy_host) {
  // A side whose create() failed has no configuration: it refuses every connection.
  if (!config) return;
  std::string name =
      config->options.server_name.empty() ? std::move(proxy_host) : config->options.server_name;
  state_ = std::make_unique<detail::ssl_client_state>(
      detail::ssl_client_state{tls::negotiation(std::move(config), std::move(name))});
}
SslAuth::client_machine::client_machine(client_machine&&) noexcept = default;
SslAuth::client_machine& SslAuth::client_machine::operator=(client_machine&&) noexcept = default;
SslAuth::client_machine::~client_machine() = default;

auth_step SslAuth::client_machine::next() {
  if (!state_) return auth_step::failed(std::make_error_code(std::errc::invalid_argument));
  return state_->negotiation.next();
}
std::unique_ptr<protection> SslAuth::client_machine::take_protection() {
  return state_ ? state_->negotiation.take_protection() : nullptr;
}
bool SslAuth::client_machine::udp_naked() const noexcept {
  return state_ && state_->negotiation.udp_naked();
}
bool SslAuth::client_machine::session_resumed() const noexcept {
  return state_ && state_->negotiation.resumed();
}

SslAuth::server_machine::server_machine(std::shared_ptr<const detail::ssl_server_config> config) {
  if (!config) return;
  state_ = std::make_unique<detail::ssl_server_state>(
      detail::ssl_server_state{tls::negotiation(std::move(config))});
}
SslAuth::server_machine::server_machine(server_machine&&) noexcept = default;
SslAuth::server_machine& SslAuth::server_machine::operator=(server_machine&&) noexcept = default;
SslAuth::server_machine::~server_machine() = default;

auth_step SslAuth::server_machine::next() {
  if (!state_) return auth_step::failed(std::make_error_code(std::errc::invalid_argument));
  return state_->negotiation.next();
}
std::string SslAuth::server_machine::identity() const {
  return state_ ? state_->negotiation.identity() : "";
}
std::unique_ptr<protection> SslAuth::server_machine::take_protection() {
  return state_ ? state_->negotiation.take_protection() : nullptr;
}
bool SslAuth::server_machine::udp_naked() const noexcept {
  return state_ && state_->negotiation.udp_naked();
}

}  // namespace socks5
