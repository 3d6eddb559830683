// A Kerberos realm that exists only in files made here, for the GSS-API fuzz targets: no KDC, no
// DNS. The service's random key goes into a keytab; a service ticket for a client, sealed with
// that key here as a KDC would seal it, goes into a credentials cache. A client holding the
// cache and a server holding the keytab then establish a real context with each other.
#pragma once

#include <string>

namespace fuzz {

inline constexpr const char* gss_service = "rcmd/localhost@FUZZ.SOCKS";
inline constexpr const char* gss_user = "alice@FUZZ.SOCKS";

struct gss_realm {
  std::string keytab;  // a path; also the default keytab (KRB5_KTNAME)
  std::string ccache;  // "FILE:..."; also the default cache (KRB5CCNAME)
};

// Made once per process; sets KRB5_CONFIG, KRB5_KTNAME and KRB5CCNAME.
const gss_realm& the_gss_realm();

}  // namespace fuzz
