// The flags an established context must carry, checked alike by both sides.
#pragma once

#include <gssapi/gssapi.h>

#include <system_error>

#include "socks5/auth/gssapi.hpp"
#include "socks5/error.hpp"

namespace socks5::gss {

inline gss_context_flags context_flags(OM_uint32 f) noexcept {
  gss_context_flags out;
  out.mutual = (f & GSS_C_MUTUAL_FLAG) != 0;
  out.replay = (f & GSS_C_REPLAY_FLAG) != 0;
  out.sequence = (f & GSS_C_SEQUENCE_FLAG) != 0;
  out.integrity = (f & GSS_C_INTEG_FLAG) != 0;
  out.confidentiality = (f & GSS_C_CONF_FLAG) != 0;
  out.delegated = (f & GSS_C_DELEG_FLAG) != 0;
  return out;
}

// Without mutual authentication the client cannot know whom it talks to; without replay and
// sequence detection a recorded message could be played again or reordered unnoticed.
inline std::error_code missing_required_flags(OM_uint32 f) noexcept {
  if (!(f & GSS_C_MUTUAL_FLAG)) return errc::mutual_auth_required;
  if (!(f & GSS_C_REPLAY_FLAG) || !(f & GSS_C_SEQUENCE_FLAG))
    return errc::replay_detection_required;
  return {};
}

}  // namespace socks5::gss
