// The server side of RFC 1961: one reply per client token, X'01 FF' and close on any failure,
// mutual authentication enforced, then the protection level by policy.
#include <algorithm>
#include <filesystem>

#include "context_flags.hpp"
#include "handles.hpp"
#include "level_token.hpp"
#include "message.hpp"
#include "socks5/auth/gss_protection.hpp"

namespace socks5 {

namespace detail {

struct gss_acceptor {
  GssapiAuth::server_options options;
  gss::credentials credentials;
};

struct gss_server_state {
  enum class stage {
    reading_token,
    reply_sent,
    final_reply_sent,
    reading_level,
    level_sent,
    aborting,
    done,
    failed
  };

  std::shared_ptr<const gss_acceptor> acceptor;
  stage at = stage::reading_token;
  bool started = false;
  std::error_code error;

  std::shared_ptr<gss_shared_context> context = std::make_shared<gss_shared_context>();
  gss::name client;
  std::string identity;
  gss_level agreed = gss_level::clear;
  OM_uint32 flags = 0;  // the context's ret_flags
  bool established = false;

  gss::message_reader in;
  std::vector<wire::byte> out;

  auth_step fail(std::error_code ec) {
    error = ec;
    at = stage::failed;
    return auth_step::failed(ec);
  }

  // Tell the client, then fail: a client waiting for a token must not hang.
  auth_step abort(std::error_code ec) {
    error = ec;
    at = stage::aborting;
    return auth_step::write(gss::abort_message);
  }

  auth_step send(wire::byte type, wire::bytes_view body, stage next) {
    if (auto ec = gss::make_frame(type, body, out)) return abort(ec);
    at = next;
    return auth_step::write(out);
  }

  auth_step on_token() {
    if (in.error()) return abort(in.error());
    if (in.type() == wire::frame_type::abort) return fail(errc::peer_aborted);
    if (in.type() != wire::frame_type::gss_authentication) return abort(errc::bad_frame_type);
    if (in.token().empty()) return abort(errc::empty_token);

    gss_buffer_desc token = gss::input(in.token());
    gss::buffer output;
    OM_uint32 minor = 0;
    const OM_uint32 major = gss_accept_sec_context(
        &minor, context->context.out(), acceptor->credentials.get(), &token,
        GSS_C_NO_CHANNEL_BINDINGS, client.out(), nullptr, output.get(), &flags, nullptr, nullptr);
    if (GSS_ERROR(major)) return abort(gss::make_error(major, minor));
    if (major & GSS_S_CONTINUE_NEEDED)
      return send(wire::frame_type::gss_authentication, output.view(), stage::reply_sent);
    established = true;
    if (auto ec = gss::missing_required_flags(flags)) return abort(ec);

    gss::buffer display;
    OM_uint32 display_minor = 0;
    if (!GSS_ERROR(gss_display_name(&display_minor, client.get(), display.get(), nullptr)))
      identity = display.str();
    // Complete: the last reply, empty when the mechanism has nothing more to say.
    return send(wire::frame_type::gss_authentication, output.view(), stage::final_reply_sent);
  }

  static int strength(gss_level l) {
    switch (l) {
      case gss_level::confidentiality: return 3;
      case gss_level::selective: return 2;
      case gss_level::integrity: return 1;
      case gss_level::clear: return 0;
    }
    return 0;
  }

  gss_level decide(gss_level requested) const {
    const auto& o = acceptor->options;
    if (o.answer) return o.answer(requested);
    if (requested == gss_level::clear && o.allow_clear) return requested;
    if (requested != gss_level::clear &&
        std::find(o.levels.begin(), o.levels.end(), requested) != o.levels.end())
      return requested;
    return *std::max_element(o.levels.begin(), o.levels.end(),
                             [](gss_level a, gss_level b) { return strength(a) < strength(b); });
  }

  auth_step on_level() {
    if (in.error()) return abort(in.error());
    if (in.type() == wire::frame_type::abort) return fail(errc::peer_aborted);
    if (in.type() != wire::frame_type::gss_protection) return abort(errc::bad_frame_type);
    const auto& o = acceptor->options;
    // With NEC compatibility on, each client is answered in the form it used; with it off, a
    // raw octet goes to gss_unwrap and fails like any other bad token.
    const bool raw = o.nec && gss::is_raw_level(in.token());
    gss_level requested{};
    if (auto ec = gss::decode_level(context->context.get(), in.token(), raw, requested))
      return abort(ec);
    agreed = decide(requested);
    if (agreed == gss_level::selective && !o.selective)
      return abort(errc::protection_level_rejected);
    if (agreed == gss_level::clear && !o.allow_clear) return abort(errc::protection_level_rejected);
    std::vector<wire::byte> body;
    if (auto ec = gss::encode_level(context->context.get(), agreed, raw, body)) return abort(ec);
    return send(wire::frame_type::gss_protection, body, stage::level_sent);
  }

  auth_step next() {
    switch (at) {
      case stage::reading_token:
        if (!started) {
          started = true;
          return in.start();
        }
        if (auto more = in.advance()) return *more;
        return on_token();
      case stage::reply_sent: at = stage::reading_token; return in.start();
      case stage::final_reply_sent: at = stage::reading_level; return in.start();
      case stage::reading_level:
        if (auto more = in.advance()) return *more;
        return on_level();
      case stage::level_sent: at = stage::done; return auth_step::finished();
      case stage::aborting: return fail(error);
      case stage::done: return auth_step::finished();
      case stage::failed: return auth_step::failed(error);
    }
    return fail(errc::general_failure);
  }
};

namespace {

// The acceptor's principal from "rcmd", "rcmd@host" or "rcmd/host@REALM".
krb5_error_code service_principal(krb5_context ctx, const std::string& service,
                                  krb5_principal* out) {
  if (service.find('/') != std::string::npos) return krb5_parse_name(ctx, service.c_str(), out);
  const auto at = service.find('@');
  if (at == std::string::npos)
    return krb5_sname_to_principal(ctx, nullptr, service.c_str(), KRB5_NT_SRV_HST, out);
  const std::string name = service.substr(0, at), host = service.substr(at + 1);
  return krb5_sname_to_principal(ctx, host.c_str(), name.c_str(), KRB5_NT_SRV_HST, out);
}

}  // namespace

}  // namespace detail

GssapiAuth::server GssapiAuth::server::create(server_options options, std::error_code& ec) {
  ec.clear();
  const bool selective = std::find(options.levels.begin(), options.levels.end(),
                                   gss_level::selective) != options.levels.end();
  const bool clear_listed = std::find(options.levels.begin(), options.levels.end(),
                                      gss_level::clear) != options.levels.end();
  if (options.levels.empty() || clear_listed || (selective && !options.selective)) {
    ec = std::make_error_code(std::errc::invalid_argument);
    return server(nullptr);
  }
  if (!options.keytab.empty() && !std::filesystem::exists(options.keytab)) {
    ec = std::make_error_code(std::errc::no_such_file_or_directory);
    return server(nullptr);
  }

  krb5_context raw = nullptr;
  if (auto r = krb5_init_context(&raw)) {
    ec = gss::make_krb5_error(r);
    return server(nullptr);
  }
  gss::krb5_context_ptr kctx(raw);
  krb5_keytab kt = nullptr;
  const krb5_error_code kt_error =
      options.keytab.empty() ? krb5_kt_default(raw, &kt)
                             : krb5_kt_resolve(raw, ("FILE:" + options.keytab).c_str(), &kt);
  if (kt_error) {
    ec = gss::make_krb5_error(kt_error);
    return server(nullptr);
  }
  gss::krb5_keytab_ptr keytab(raw, kt);

  krb5_principal principal = nullptr;
  if (!options.service.empty()) {
    if (auto r = detail::service_principal(raw, options.service, &principal)) {
      ec = gss::make_krb5_error(r);
      return server(nullptr);
    }
  }
  gss::krb5_principal_ptr service(raw, principal);

  // The key must be there now, not only when the first client shows up.
  if (principal) {
    krb5_keytab_entry entry;
    if (auto r = krb5_kt_get_entry(raw, kt, principal, 0, static_cast<krb5_enctype>(0), &entry)) {
      ec = r == KRB5_KT_NOTFOUND ? std::error_code(errc::credentials_unavailable)
                                 : gss::make_krb5_error(r);
      return server(nullptr);
    }
    krb5_kt_free_entry(raw, &entry);
  } else {
    krb5_kt_cursor cursor;
    if (auto r = krb5_kt_start_seq_get(raw, kt, &cursor)) {
      ec = gss::make_krb5_error(r);
      return server(nullptr);
    }
    krb5_keytab_entry entry;
    const krb5_error_code first = krb5_kt_next_entry(raw, kt, &entry, &cursor);
    if (!first) krb5_kt_free_entry(raw, &entry);
    krb5_kt_end_seq_get(raw, kt, &cursor);
    if (first) {
      ec = errc::credentials_unavailable;
      return server(nullptr);
    }
  }

  auto acceptor = std::make_shared<detail::gss_acceptor>();
  acceptor->options = std::move(options);
  OM_uint32 minor = 0;
  const OM_uint32 major =
      gss_krb5_import_cred(&minor, nullptr, principal, kt, acceptor->credentials.out());
  if (GSS_ERROR(major)) {
    ec = gss::make_error(major, minor);
    return server(nullptr);
  }
  return server(std::move(acceptor));
}

GssapiAuth::server_machine GssapiAuth::server::start(const server_auth_context&) const {
  return server_machine(acceptor_);
}

GssapiAuth::server_machine::server_machine(std::shared_ptr<const detail::gss_acceptor> acceptor)
    : state_(std::make_unique<detail::gss_server_state>()) {
  state_->acceptor = std::move(acceptor);
}
GssapiAuth::server_machine::server_machine(server_machine&&) noexcept = default;
GssapiAuth::server_machine& GssapiAuth::server_machine::operator=(server_machine&&) noexcept =
    default;
GssapiAuth::server_machine::~server_machine() = default;

auth_step GssapiAuth::server_machine::next() {
  // A server built from a failed create() has no credentials: refuse every client.
  if (!state_->acceptor) return auth_step::failed(errc::credentials_unavailable);
  return state_->next();
}

std::string GssapiAuth::server_machine::identity() const {
  return state_->identity;
}
gss_level GssapiAuth::server_machine::level() const noexcept {
  return state_->agreed;
}

gss_context_flags GssapiAuth::server_machine::flags() const noexcept {
  return state_->established ? gss::context_flags(state_->flags) : gss_context_flags{};
}

std::unique_ptr<protection> GssapiAuth::server_machine::take_protection() {
  if (state_->at != detail::gss_server_state::stage::done || state_->agreed == gss_level::clear)
    return nullptr;
  return std::make_unique<GssProtection>(state_->context, state_->agreed,
                                         state_->acceptor->options.selective);
}

}  // namespace socks5
