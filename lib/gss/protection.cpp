#include "handles.hpp"
#include "socks5/auth/gss_protection.hpp"
#include "socks5/wire/frame.hpp"

namespace socks5 {

GssProtection::GssProtection(std::shared_ptr<detail::gss_shared_context> context, gss_level level,
                             gss_selective_policy selective)
    : context_(std::move(context)), level_(level), selective_(std::move(selective)) {
  // Confidentiality tokens are the larger: size by them whenever they may be sent.
  const int conf = level_ == gss_level::integrity ? 0 : 1;
  OM_uint32 minor = 0, limit = 0;
  const OM_uint32 major = gss_wrap_size_limit(&minor, context_->context.get(), conf, GSS_C_QOP_DEFAULT,
                                              static_cast<OM_uint32>(wire::max_frame_body), &limit);
  // Without an answer, a size far below any Kerberos overhead keeps tokens under 65535.
  max_plaintext_ = GSS_ERROR(major) || limit == 0 ? 60000 : limit;
}

GssProtection::~GssProtection() = default;

std::error_code GssProtection::wrap(wire::bytes_view plain, std::vector<wire::byte>& body) {
  const bool conf = level_ == gss_level::confidentiality ||
                    (level_ == gss_level::selective && selective_ && selective_(plain));
  gss_buffer_desc in = gss::input(plain);
  gss::buffer out;
  int conf_state = 0;
  OM_uint32 minor = 0;
  const OM_uint32 major = gss_wrap(&minor, context_->context.get(), conf ? 1 : 0, GSS_C_QOP_DEFAULT,
                                   &in, &conf_state, out.get());
  if (GSS_ERROR(major)) return gss::make_error(major, minor);
  if (conf && !conf_state) return errc::protection_mismatch;  // the mechanism cannot encrypt
  body.insert(body.end(), out.view().begin(), out.view().end());
  return {};
}

std::error_code GssProtection::unwrap(wire::byte type, wire::bytes_view body,
                                      std::vector<wire::byte>& plain) {
  if (type != wire::frame_type::data) return errc::bad_frame_type;
  gss_buffer_desc in = gss::input(body);
  gss::buffer out;
  int conf_state = 0;
  gss_qop_t qop = 0;
  OM_uint32 minor = 0;
  const OM_uint32 major = gss_unwrap(&minor, context_->context.get(), &in, out.get(), &conf_state, &qop);
  if (GSS_ERROR(major)) return gss::make_error(major, minor);
  // The context asked for replay and sequence detection: act on what they detect.
  if (major & (GSS_S_DUPLICATE_TOKEN | GSS_S_OLD_TOKEN | GSS_S_UNSEQ_TOKEN | GSS_S_GAP_TOKEN))
    return errc::replayed_message;
  const bool confidential = conf_state != 0;
  if ((level_ == gss_level::confidentiality && !confidential) ||
      (level_ == gss_level::integrity && confidential))
    return errc::protection_mismatch;
  plain.insert(plain.end(), out.view().begin(), out.view().end());
  return {};
}

}  // namespace socks5
