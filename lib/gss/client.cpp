// The client side of RFC 1961: context establishment (section 3) and protection-level
// subnegotiation (section 4), as an I/O-free machine.
#include <algorithm>
#include <ctime>

#include "context_flags.hpp"
#include "handles.hpp"
#include "krb5_token.hpp"
#include "level_token.hpp"
#include "message.hpp"
#include "socks5/auth/gss_protection.hpp"

namespace socks5 {

namespace detail {

struct gss_client_state {
  enum class stage {
    start,
    initialized,
    token_sent,
    reading_reply,
    level_sent,
    reading_level,
    done,
    failed
  };

  std::shared_ptr<const GssapiAuth::client_options> options;
  std::string proxy_host;
  stage at = stage::start;
  std::error_code error;

  gss::credentials credentials;
  gss::name target;
  std::shared_ptr<gss_shared_context> context = std::make_shared<gss_shared_context>();
  gss::buffer output;  // the token init_sec_context produced last
  bool established = false;
  OM_uint32 flags = 0;
  gss_level agreed = gss_level::clear;

  gss::message_reader in;
  std::vector<wire::byte> out;

  auth_step fail(std::error_code ec) {
    error = ec;
    at = stage::failed;
    return auth_step::failed(ec);
  }

  std::error_code check_options() const {
    if (options->levels.empty()) return std::make_error_code(std::errc::invalid_argument);
    const bool selective = std::find(options->levels.begin(), options->levels.end(),
                                     gss_level::selective) != options->levels.end();
    if (selective && !options->selective) return std::make_error_code(std::errc::invalid_argument);
    return {};
  }

  // Everything that may block on a KDC: run away from the event loop.
  std::error_code first_step() {
    if (!options->ccache.empty()) {
      krb5_context raw = nullptr;
      if (auto r = krb5_init_context(&raw)) return gss::make_krb5_error(r);
      gss::krb5_context_ptr kctx(raw);
      krb5_ccache cc = nullptr;
      if (auto r = krb5_cc_resolve(raw, options->ccache.c_str(), &cc))
        return gss::make_krb5_error(r);
      gss::krb5_ccache_ptr ccache(raw, cc);
      // A cache that does not exist or holds no principal has no ticket to offer.
      krb5_principal owner = nullptr;
      if (krb5_cc_get_principal(raw, cc, &owner) != 0) return errc::credentials_unavailable;
      gss::krb5_principal_ptr owner_ptr(raw, owner);
      // Heimdal skips expired tickets and then reports none found: say what it is.
      if (tgt_expired(raw, cc)) return errc::credentials_expired;
      OM_uint32 minor = 0;
      const OM_uint32 major = gss_krb5_import_cred(&minor, cc, nullptr, nullptr, credentials.out());
      if (GSS_ERROR(major)) return gss::make_error(major, minor);
    }
    if (auto ec = import_target()) return ec;
    return init(wire::bytes_view{});
  }

  // True when the cache has ticket-granting tickets and all of them have expired.
  static bool tgt_expired(krb5_context ctx, krb5_ccache cc) {
    krb5_cc_cursor cursor;
    if (krb5_cc_start_seq_get(ctx, cc, &cursor) != 0) return false;
    bool any = false, valid = false;
    const auto now = std::time(nullptr);
    krb5_creds creds;
    while (krb5_cc_next_cred(ctx, cc, &cursor, &creds) == 0) {
      if (krb5_principal_is_krbtgt(ctx, creds.server)) {
        any = true;
        valid = valid || creds.times.endtime > now;
      }
      krb5_free_cred_contents(ctx, &creds);
    }
    krb5_cc_end_seq_get(ctx, cc, &cursor);
    return any && !valid;
  }

  std::error_code import_target() {
    std::string text = options->service;
    gss_OID type = GSS_C_NT_HOSTBASED_SERVICE;
    if (text.empty())
      text = "rcmd@" + proxy_host;
    else if (text.find('/') != std::string::npos)
      type = GSS_KRB5_NT_PRINCIPAL_NAME;
    else if (text.find('@') == std::string::npos)
      text += "@" + proxy_host;
    gss_buffer_desc buf{text.size(), text.data()};
    OM_uint32 minor = 0;
    const OM_uint32 major = gss_import_name(&minor, &buf, type, target.out());
    return GSS_ERROR(major) ? gss::make_error(major, minor) : std::error_code{};
  }

  std::error_code init(wire::bytes_view token) {
    OM_uint32 wanted = GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG |
                       GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG;
    if (options->delegate) wanted |= GSS_C_DELEG_FLAG;
    gss_OID mech = GSS_C_NO_OID;
    if (options->mechanism == gss_mechanism::kerberos) mech = GSS_KRB5_MECHANISM;
    if (options->mechanism == gss_mechanism::spnego) mech = GSS_SPNEGO_MECHANISM;
    gss_buffer_desc in = gss::input(token);
    output.reset();
    OM_uint32 minor = 0;
    const OM_uint32 major = gss_init_sec_context(
        &minor, credentials.get(), context->context.out(), target.get(), mech, wanted, 0,
        GSS_C_NO_CHANNEL_BINDINGS, token.empty() ? GSS_C_NO_BUFFER : &in, nullptr, output.get(),
        &flags, nullptr);
    if (GSS_ERROR(major)) return gss::make_error(major, minor);
    established = !(major & GSS_S_CONTINUE_NEEDED);
    return {};
  }

  auth_step send(wire::byte type, wire::bytes_view body, stage next) {
    if (auto ec = gss::make_frame(type, body, out)) return fail(ec);
    at = next;
    return auth_step::write(out);
  }

  // Context established: mutual authentication is required, then the level is negotiated.
  auth_step established_step() {
    if (auto ec = gss::missing_required_flags(flags)) return fail(ec);
    std::vector<wire::byte> body;
    if (auto ec =
            gss::encode_level(context->context.get(), options->levels.front(), options->nec, body))
      return fail(ec);
    return send(wire::frame_type::gss_protection, body, stage::level_sent);
  }

  auth_step on_reply() {
    if (in.error()) return fail(in.error());
    if (in.type() == wire::frame_type::abort) return fail(errc::peer_aborted);
    if (in.type() != wire::frame_type::gss_authentication) return fail(errc::bad_frame_type);
    const auto token = in.token();
    if (established) return token.empty() ? established_step() : fail(errc::unexpected_token);
    if (token.empty()) return fail(errc::empty_token);
    if (options->mechanism != gss_mechanism::spnego && !gss::is_krb5_reply_token(token))
      return fail(gss::make_error(GSS_S_DEFECTIVE_TOKEN, 0));
    if (auto ec = init(token)) return fail(ec);
    if (!output.empty())
      return send(wire::frame_type::gss_authentication, output.view(), stage::token_sent);
    if (established) return established_step();
    return fail(errc::empty_token);  // neither done nor anything to say: the mechanism is stuck
  }

  auth_step on_level() {
    if (in.error()) return fail(in.error());
    if (in.type() == wire::frame_type::abort) return fail(errc::peer_aborted);
    if (in.type() != wire::frame_type::gss_protection) return fail(errc::bad_frame_type);
    gss_level answer{};
    if (auto ec = gss::decode_level(context->context.get(), in.token(), options->nec, answer))
      return fail(ec);
    // Only what this client accepts; never a silent downgrade.
    if (std::find(options->levels.begin(), options->levels.end(), answer) == options->levels.end())
      return fail(errc::protection_level_rejected);
    agreed = answer;
    at = stage::done;
    return auth_step::finished();
  }

  auth_step next() {
    switch (at) {
      case stage::start:
        if (auto ec = check_options()) return fail(ec);
        at = stage::initialized;
        return auth_step::offload([this] { error = first_step(); });
      case stage::initialized:
        if (error) return fail(error);
        if (output.empty()) return fail(errc::empty_token);
        return send(wire::frame_type::gss_authentication, output.view(), stage::token_sent);
      case stage::token_sent: at = stage::reading_reply; return in.start();
      case stage::reading_reply:
        if (auto more = in.advance()) return *more;
        return on_reply();
      case stage::level_sent: at = stage::reading_level; return in.start();
      case stage::reading_level:
        if (auto more = in.advance()) return *more;
        return on_level();
      case stage::done: return auth_step::finished();
      case stage::failed: return auth_step::failed(error);
    }
    return fail(errc::general_failure);
  }
};

}  // namespace detail

GssapiAuth::client_machine::client_machine(std::shared_ptr<const client_options> options,
                                           std::string proxy_host)
    : state_(std::make_unique<detail::gss_client_state>()) {
  state_->options = std::move(options);
  state_->proxy_host = std::move(proxy_host);
}
GssapiAuth::client_machine::client_machine(client_machine&&) noexcept = default;
GssapiAuth::client_machine& GssapiAuth::client_machine::operator=(client_machine&&) noexcept =
    default;
GssapiAuth::client_machine::~client_machine() = default;

auth_step GssapiAuth::client_machine::next() {
  return state_->next();
}

gss_level GssapiAuth::client_machine::level() const noexcept {
  return state_->agreed;
}

gss_context_flags GssapiAuth::client_machine::flags() const noexcept {
  return state_->established ? gss::context_flags(state_->flags) : gss_context_flags{};
}

std::unique_ptr<protection> GssapiAuth::client_machine::take_protection() {
  if (state_->at != detail::gss_client_state::stage::done || state_->agreed == gss_level::clear)
    return nullptr;
  return std::make_unique<GssProtection>(state_->context, state_->agreed,
                                         state_->options->selective);
}

GssapiAuth::client::client() : client(client_options{}) {}

GssapiAuth::client::client(client_options options)
    : options_(std::make_shared<const client_options>(std::move(options))) {}

GssapiAuth::client_machine GssapiAuth::client::start(const client_auth_context& c) const {
  return client_machine(options_, c.proxy_host);
}

}  // namespace socks5
