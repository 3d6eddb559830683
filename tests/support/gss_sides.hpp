// The GSS-API method's two sides set up against the test realm (kdc.hpp): a server with the
// service's keytab, a client with alice's ticket. Tests change only the options they are about.
#pragma once

#include <doctest/doctest.h>

#include "kdc.hpp"
#include "socks5/auth/gssapi.hpp"
#include "socks5/client.hpp"

namespace test {

// The GSS-API server method with `o`, and the service's keytab unless `o` names another.
inline socks5::GssapiAuth::server gss_server(socks5::GssapiAuth::server_options o = {}) {
  if (o.keytab.empty()) o.keytab = realm().server_keytab();
  std::error_code ec;
  auto s = socks5::GssapiAuth::server::create(std::move(o), ec);
  REQUIRE_MESSAGE(!ec, ec.message());
  return s;
}

// GSS-API client options that authenticate as alice, with her ticket.
inline socks5::GssapiAuth::client_options alice() {
  socks5::GssapiAuth::client_options o;
  o.ccache = realm().alice_ccache();
  return o;
}

// socks5::client options offering GSS-API alone, with `o`.
inline socks5::client_options gss_client(socks5::GssapiAuth::client_options o = alice()) {
  socks5::client_options c;
  c.methods = {socks5::GssapiAuth::client(std::move(o))};
  return c;
}

// As alice, accepting `level` only.
inline socks5::client_options gss_client(socks5::gss_level level) {
  auto o = alice();
  o.levels = {level};
  return gss_client(std::move(o));
}

}  // namespace test
