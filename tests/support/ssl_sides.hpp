// The SSL method's two sides set up with the test certificates (pki.hpp): a server with the
// "server" certificate, a client trusting the test CA. Tests change only the options they are
// about.
#pragma once

#include <doctest/doctest.h>

#include "pki.hpp"
#include "socks5/auth/ssl.hpp"
#include "socks5/client.hpp"
#include "socks5/server.hpp"

namespace test {

// The SSL server method with `o`, and the "server" certificate and key unless `o` names others.
inline socks5::SslAuth::server ssl_server(socks5::SslAuth::server_options o = {}) {
  if (o.cert_file.empty()) o.cert_file = certs().cert("server");
  if (o.key_file.empty()) o.key_file = certs().key("server");
  std::error_code ec;
  auto s = socks5::SslAuth::server::create(std::move(o), ec);
  REQUIRE_MESSAGE(!ec, ec.message());
  return s;
}

// socks5::server options offering the SSL method alone, as ssl_server(o).
inline socks5::server_options ssl_only(socks5::SslAuth::server_options o = {}) {
  socks5::server_options s;
  s.methods = {ssl_server(std::move(o))};
  return s;
}

// SSL client options that check the proxy against the test CA.
inline socks5::SslAuth::client_options trusting_test_ca() {
  socks5::SslAuth::client_options o;
  o.ca_file = certs().cert("ca");
  return o;
}

// The SSL client method with `o`, taken as it is: pass {} for the library's defaults.
inline socks5::SslAuth::client ssl_client_method(
    socks5::SslAuth::client_options o = trusting_test_ca()) {
  std::error_code ec;
  auto c = socks5::SslAuth::client::create(std::move(o), ec);
  REQUIRE_MESSAGE(!ec, ec.message());
  return c;
}

// socks5::client options offering the SSL method alone, as ssl_client_method(o).
inline socks5::client_options ssl_client(socks5::SslAuth::client_options o = trusting_test_ca()) {
  socks5::client_options c;
  c.methods = {ssl_client_method(std::move(o))};
  return c;
}

}  // namespace test
