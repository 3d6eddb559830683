#include "level_token.hpp"

namespace socks5::gss {

std::error_code encode_level(gss_ctx_id_t context, gss_level level, bool nec,
                             std::vector<wire::byte>& body) {
  const wire::byte octet = static_cast<wire::byte>(level);
  body.clear();
  if (nec) {
    body.push_back(octet);
    return {};
  }
  gss_buffer_desc in = input(wire::bytes_view(&octet, 1));
  buffer out;
  int conf_state = 0;
  OM_uint32 minor = 0;
  const OM_uint32 major =
      gss_wrap(&minor, context, 0, GSS_C_QOP_DEFAULT, &in, &conf_state, out.get());
  if (GSS_ERROR(major)) return make_error(major, minor);
  body.assign(out.view().begin(), out.view().end());
  return {};
}

std::error_code decode_level(gss_ctx_id_t context, wire::bytes_view body, bool nec,
                             gss_level& level) {
  wire::byte octet = 0xff;
  if (nec) {
    if (body.size() != 1) return errc::protection_level_rejected;
    octet = body[0];
  } else {
    gss_buffer_desc in = input(body);
    buffer out;
    int conf_state = 0;
    gss_qop_t qop = 0;
    OM_uint32 minor = 0;
    const OM_uint32 major = gss_unwrap(&minor, context, &in, out.get(), &conf_state, &qop);
    if (GSS_ERROR(major)) return make_error(major, minor);
    if (out.view().size() != 1) return errc::protection_level_rejected;
    octet = out.view()[0];
  }
  if (octet > static_cast<wire::byte>(gss_level::selective)) return errc::protection_level_rejected;
  level = static_cast<gss_level>(octet);
  return {};
}

}  // namespace socks5::gss
