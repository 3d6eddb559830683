#include "socks5/error.hpp"
#include "handles.hpp"

namespace socks5 {
namespace {

// Every message gss_display_status has for a status value, joined.
std::string display(OM_uint32 status, int type) {
  std::string text;
  OM_uint32 context = 0;
  do {
    OM_uint32 minor = 0;
    gss::buffer b;
    const OM_uint32 major = gss_display_status(
        &minor, status, type, type == GSS_C_MECH_CODE ? GSS_KRB5_MECHANISM : GSS_C_NO_OID, &context,
        b.get());
    if (GSS_ERROR(major)) break;
    // Heimdal pads some texts with spaces: trimmed, so that messages join and print cleanly.
    std::string part = b.str();
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    if (part.empty()) continue;
    if (!text.empty()) text += "; ";
    text += part;
  } while (context != 0);
  return text.empty() ? "unknown GSS-API status " + std::to_string(status) : text;
}

class gss_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "gssapi"; }
  std::string message(int value) const override {
    return display(static_cast<OM_uint32>(value), GSS_C_GSS_CODE);
  }
  std::error_condition default_error_condition(int) const noexcept override {
    return condition::auth_failure;
  }
};

// Kerberos minor codes are krb5 (com_err) codes: krb5 names them from any thread, where
// gss_display_status only knows the last error of the thread it happened on.
std::string krb5_message(krb5_error_code code) {
  krb5_context raw = nullptr;
  if (krb5_init_context(&raw) != 0) return {};
  gss::krb5_context_ptr ctx(raw);
  const char* text = krb5_get_error_message(raw, code);
  std::string out = text ? text : "";
  if (text) krb5_free_error_message(raw, text);
  return out;
}

class mechanism_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "gssapi.mech"; }
  std::string message(int value) const override {
    // Heimdal's own text is the most detailed when this thread saw the error ("Failed to find
    // rcmd/localhost@REALM in keytab ..."); otherwise krb5 names the code.
    auto text = display(static_cast<OM_uint32>(value), GSS_C_MECH_CODE);
    if (text.rfind("unknown mech-code", 0) != 0) return text;
    auto named = krb5_message(static_cast<krb5_error_code>(value));
    return named.empty() ? text : named;
  }
  std::error_condition default_error_condition(int) const noexcept override {
    return condition::auth_failure;
  }
};

}  // namespace

const std::error_category& gss_category() noexcept {
  static const gss_category_impl instance;
  return instance;
}

const std::error_category& gss_mechanism_category() noexcept {
  static const mechanism_category_impl instance;
  return instance;
}

namespace gss {

std::error_code make_error(OM_uint32 major, OM_uint32 minor) {
  if (minor != 0) return {static_cast<int>(minor), gss_mechanism_category()};
  const OM_uint32 routine = GSS_ROUTINE_ERROR(major) | GSS_CALLING_ERROR(major);
  return {static_cast<int>(routine ? routine : major), gss_category()};
}

std::error_code make_krb5_error(krb5_error_code code) {
  return {static_cast<int>(code), gss_mechanism_category()};
}

}  // namespace gss
}  // namespace socks5
