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
  const OM_uint32 major =
      gss_wrap_size_limit(&minor, context_->context.get(), conf, GSS_C_QOP_DEFAULT,
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
  return unwrap_token(body, plain, false);
}

std::error_code GssProtection::unwrap_token(wire::bytes_view token, std::vector<wire::byte>& plain,
                                            bool datagram) {
  gss_buffer_desc in = gss::input(token);
  gss::buffer out;
  int conf_state = 0;
  gss_qop_t qop = 0;
  OM_uint32 minor = 0;
  const OM_uint32 major =
      gss_unwrap(&minor, context_->context.get(), &in, out.get(), &conf_state, &qop);
  if (GSS_ERROR(major)) return gss::make_error(major, minor);
  // The context asked for replay and sequence detection: act on what they detect. A stream
  // must be complete and in order; datagrams may be lost or late, but never repeated.
  const OM_uint32 stream_faults =
      GSS_S_DUPLICATE_TOKEN | GSS_S_OLD_TOKEN | GSS_S_UNSEQ_TOKEN | GSS_S_GAP_TOKEN;
  if (major & (datagram ? GSS_S_DUPLICATE_TOKEN : stream_faults)) return errc::replayed_message;
  const bool confidential = conf_state != 0;
  if ((level_ == gss_level::confidentiality && !confidential) ||
      (level_ == gss_level::integrity && confidential))
    return errc::protection_mismatch;
  plain.insert(plain.end(), out.view().begin(), out.view().end());
  return {};
}

std::error_code GssProtection::wrap_datagram(wire::bytes_view datagram,
                                             std::vector<wire::byte>& packet) {
  packet.resize(wire::frame_header_size);
  if (auto ec = wrap(datagram, packet)) return ec;
  const std::size_t body = packet.size() - wire::frame_header_size;
  if (body > wire::max_frame_body) return errc::frame_too_large;
  wire::encode_frame_header(wire::frame_type::data, static_cast<std::uint16_t>(body),
                            packet.data());
  return {};
}

std::error_code GssProtection::unwrap_datagram(wire::bytes_view packet,
                                               std::vector<wire::byte>& datagram) {
  const auto header = wire::parse_frame_header(packet);
  if (header.invalid()) return header.error;
  if (!header.complete() || header.value.type != wire::frame_type::data)
    return errc::bad_frame_type;
  if (packet.size() != header.size + header.value.length) return errc::truncated_frame;
  return unwrap_token(packet.subspan(header.size), datagram, true);
}

}  // namespace socks5
