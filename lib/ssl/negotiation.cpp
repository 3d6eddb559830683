#include "negotiation.hpp"

#include <algorithm>

#include "../auth/select_method.hpp"
#include "socks5/wire/method.hpp"

namespace socks5::tls {

negotiation::negotiation(std::shared_ptr<const detail::ssl_client_config> config,
                         std::string server_name)
    : is_client_(true), client_config_(std::move(config)), server_name_(std::move(server_name)) {}

negotiation::negotiation(std::shared_ptr<const detail::ssl_server_config> config)
    : is_client_(false), server_config_(std::move(config)) {}

auth_step negotiation::fail(std::error_code ec) {
  error_ = ec;
  at_ = stage::failed;
  return auth_step::failed(ec);
}

void negotiation::write_plain(wire::bytes_view plain) {
  SSL_write(channel_->ssl(), plain.data(), static_cast<int>(plain.size()));
  channel_->flush(wire::frame_type::ssl_options, out_);
}

auth_step negotiation::send_then(then next) {
  then_ = next;
  at_ = stage::written;
  return auth_step::write(out_);
}

auth_step negotiation::need(std::size_t octets, then next) {
  then_ = next;
  need_ = octets;
  if (channel_->plaintext().size() >= octets) return resume(next);
  at_ = stage::plain_receiving;
  return channel_->receive();
}

auth_step negotiation::resume(then next) {
  switch (next) {
    case then::options_answer: return on_options_answer();
    case then::options_request: return on_options_request();
    case then::method_request: return on_method_request();
    case then::method_selection: return on_method_selection();
    case then::sub_read: {
      auto& plain = channel_->plaintext();
      if (plain.size() < sub_input_.size()) return need(sub_input_.size(), then::sub_read);
      std::copy_n(plain.begin(), sub_input_.size(), sub_input_.begin());
      plain.erase(plain.begin(), plain.begin() + static_cast<std::ptrdiff_t>(sub_input_.size()));
      return run_sub();
    }
    case then::sub_step: return run_sub();
  }
  return fail(errc::general_failure);
}

auth_step negotiation::handshake() {
  const int r = SSL_do_handshake(channel_->ssl());
  if (r == 1) return handshake_done();
  out_.clear();
  if (SSL_get_error(channel_->ssl(), r) != SSL_ERROR_WANT_READ) {
    // Send the alert BoringSSL wrote, so that the peer learns why, then fail.
    error_ = handshake_error(channel_->ssl());
    channel_->flush(wire::frame_type::ssl_handshake, out_);
    if (out_.empty()) return fail(error_);
    at_ = stage::failing;
    return auth_step::write(out_);
  }
  channel_->flush(wire::frame_type::ssl_handshake, out_);
  if (!out_.empty()) {
    at_ = stage::handshake_written;
    return auth_step::write(out_);
  }
  at_ = stage::handshake_receiving;
  return channel_->receive();
}

auth_step negotiation::handshake_done() {
  SSL* ssl = channel_->ssl();
  resumed_ = SSL_session_reused(ssl);
  out_.clear();
  // What is left of the handshake (a Finished, session tickets) still goes in STATE 01.
  channel_->flush(wire::frame_type::ssl_handshake, out_);
  if (!is_client_) {
    identity_ = detail::peer_subject(ssl);
    if (out_.empty()) return need(1, then::options_request);
    return send_then(then::options_request);
  }
  const auto& pin = client_config_->pin;
  if (!pin.empty() && detail::peer_certificate_sha256(ssl) != pin)
    return fail(errc::certificate_pin_mismatch);
  const auto& o = client_config_->options;
  if (!o.subauth.empty()) offered_.options.push_back(wire::ssl_option::subauthentication);
  if (o.udp_naked) offered_.options.push_back(wire::ssl_option::udp_naked);
  wire::ssl_options_buffer message;
  if (auto ec = wire::encode(offered_, message)) return fail(ec);
  write_plain(message);
  return send_then(then::options_answer);
}

auth_step negotiation::on_options_answer() {
  auto& plain = channel_->plaintext();
  const auto answer = wire::parse_ssl_options(plain);
  if (answer.incomplete()) return need(answer.size, then::options_answer);
  if (answer.invalid()) return fail(answer.error);
  plain.erase(plain.begin(), plain.begin() + static_cast<std::ptrdiff_t>(answer.size));
  // Only a subset of what was offered: anything else would be a downgrade or a confusion.
  for (auto option : answer.value.options)
    if (!offered_.has(option)) return fail(errc::unsolicited_options);
  udp_naked_ = answer.value.has(wire::ssl_option::udp_naked);
  if (!answer.value.has(wire::ssl_option::subauthentication)) return finish();

  wire::method_request greeting;
  for (const auto& side : client_config_->options.subauth)
    for (method_code c : side.codes())
      greeting.methods.push_back(c);
  wire::method_request_buffer message;
  if (auto ec = wire::encode(greeting, message)) return fail(ec);
  out_.clear();
  write_plain(message);
  return send_then(then::method_selection);
}

auth_step negotiation::on_method_selection() {
  auto& plain = channel_->plaintext();
  const auto selection = wire::parse_method_selection(plain);
  if (selection.incomplete()) return need(selection.size, then::method_selection);
  if (selection.invalid()) return fail(selection.error);
  plain.erase(plain.begin(), plain.begin() + static_cast<std::ptrdiff_t>(selection.size));
  const method_code chosen = selection.value.method;
  if (chosen == method::no_acceptable) return fail(errc::no_acceptable_methods);
  for (const auto& side : client_config_->options.subauth) {
    if (!side.as(chosen)) continue;
    sub_ = side.start(client_auth_context{server_name_});
    return run_sub();
  }
  return fail(errc::unoffered_method);
}

auth_step negotiation::on_options_request() {
  auto& plain = channel_->plaintext();
  const auto request = wire::parse_ssl_options(plain);
  if (request.incomplete()) return need(request.size, then::options_request);
  if (request.invalid()) return fail(request.error);
  plain.erase(plain.begin(), plain.begin() + static_cast<std::ptrdiff_t>(request.size));
  const auto& o = server_config_->options;
  wire::ssl_options answer;  // the subset this server uses; unknown options are ignored
  if (!o.subauth.empty()) {
    // Subauthentication is this server's policy: a client that cannot do it does not get in.
    if (!request.value.has(wire::ssl_option::subauthentication))
      return fail(errc::auth_rejected_by_policy);
    answer.options.push_back(wire::ssl_option::subauthentication);
  }
  if (o.udp_naked && request.value.has(wire::ssl_option::udp_naked)) {
    answer.options.push_back(wire::ssl_option::udp_naked);
    udp_naked_ = true;
  }
  wire::ssl_options_buffer message;
  if (auto ec = wire::encode(answer, message)) return fail(ec);
  out_.clear();
  write_plain(message);
  if (o.subauth.empty()) {
    at_ = stage::written;
    then_ = then::sub_step;  // no inner method: sub_ stays empty and run_sub() finishes
    return auth_step::write(out_);
  }
  return send_then(then::method_request);
}

auth_step negotiation::on_method_request() {
  auto& plain = channel_->plaintext();
  const auto request = wire::parse_method_request(plain);
  if (request.incomplete()) return need(request.size, then::method_request);
  if (request.invalid()) return fail(request.error);
  plain.erase(plain.begin(), plain.begin() + static_cast<std::ptrdiff_t>(request.size));
  // The server's order of preference, as outside TLS.
  const any_server_auth* chosen = detail::select_method<any_server_auth>(
      server_config_->options.subauth, request.value.methods);
  const auto selection =
      wire::encode(wire::method_selection{chosen ? chosen->code() : method::no_acceptable});
  out_.clear();
  write_plain(selection);
  if (!chosen) {
    error_ = errc::no_acceptable_methods;
    at_ = stage::failing;
    return auth_step::write(out_);
  }
  sub_ = chosen->start(server_auth_context{});
  return send_then(then::sub_step);
}

auth_step negotiation::run_sub() {
  if (!sub_) return finish();
  auth_step step = sub_->next();
  switch (step.what) {
    case auth_step::action::write:
      out_.clear();
      write_plain(step.output);
      at_ = stage::sub_running;
      return auth_step::write(out_);
    case auth_step::action::read:
      sub_input_ = step.input;
      return need(step.input.size(), then::sub_read);
    case auth_step::action::offload: at_ = stage::sub_running; return step;
    case auth_step::action::done:
      if (!is_client_) {
        auto who = sub_->identity();
        if (!who.empty()) identity_ = std::move(who);
      }
      return finish();
    case auth_step::action::fail: return fail(step.error);
  }
  return fail(errc::general_failure);
}

auth_step negotiation::finish() {
  // Nothing may come before the request: leftover plaintext here is a confused peer.
  if (!channel_->plaintext().empty()) return fail(errc::bad_ssl_options);
  at_ = stage::done;
  return auth_step::finished();
}

auth_step negotiation::next() {
  switch (at_) {
    case stage::start:
      if (is_client_) {
        auto ssl = client_config_->new_session(server_name_);
        if (!ssl) return fail(last_error());
        // The session cache files new sessions under this name.
        SSL_set_app_data(ssl.get(), &server_name_);
        channel_ = std::make_unique<channel>(std::move(ssl));
        return handshake();
      } else {
        bssl::UniquePtr<SSL> ssl(SSL_new(server_config_->ctx.get()));
        if (!ssl) return fail(last_error());
        SSL_set_accept_state(ssl.get());
        SSL_set_shed_handshake_config(ssl.get(), 1);
        channel_ = std::make_unique<channel>(std::move(ssl));
        at_ = stage::handshake_receiving;
        return channel_->receive();
      }
    case stage::handshake_written: at_ = stage::handshake_receiving; return channel_->receive();
    case stage::handshake_receiving:
      if (auto more = channel_->advance()) return *more;
      if (channel_->receive_error()) return fail(channel_->receive_error());
      return handshake();
    case stage::plain_receiving: {
      if (auto more = channel_->advance()) return *more;
      if (channel_->receive_error()) return fail(channel_->receive_error());
      // STATE 03 or 04 before the option phase is over: its message never came whole.
      if (channel_->last_state() > wire::frame_type::ssl_options)
        return fail(errc::bad_ssl_options);
      if (auto ec = channel_->read_plaintext()) return fail(ec);
      if (channel_->plaintext().size() >= need_) return resume(then_);
      return channel_->receive();
    }
    case stage::written: return resume(then_);
    case stage::sub_running: return run_sub();
    case stage::failing: return fail(error_);
    case stage::done: return auth_step::finished();
    case stage::failed: return auth_step::failed(error_);
  }
  return fail(errc::general_failure);
}

std::unique_ptr<protection> negotiation::take_protection() {
  if (at_ != stage::done) return nullptr;
  channel_->release_negotiation_buffers();
  return std::make_unique<TlsProtection>(std::move(channel_), udp_naked_);
}

}  // namespace socks5::tls
