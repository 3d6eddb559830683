// The SSL method (draft "Secure Sockets Layer for SOCKS Version 5"): a TLS 1.2/1.3 handshake in
// STATE 01 frames, option negotiation (and optionally a whole RFC 1928 subauthentication) inside
// TLS in STATE 02, then the request, reply and data in STATE 03, and close_notify in STATE 04.
// On BoringSSL; this header does not include it.
//
// The method's code: IANA's registry assigns X'06' (method::ssl_iana); the draft used X'86'
// (method::ssl) before that. Both are the same method. By default a client offers X'86' then
// X'06' in one greeting and works with whichever the server picks, and a server answers to
// both (X'86' first when a client offers both); each side's `code` option narrows it to one.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "socks5/auth/any_auth.hpp"
#include "socks5/auth/method.hpp"

namespace socks5 {

namespace detail {
struct ssl_client_config;
struct ssl_server_config;
struct ssl_client_state;
struct ssl_server_state;
}  // namespace detail

struct SslAuth {
  struct client_options {
    // Unset: X'86' and X'06' are both offered, in that order. Set: only that code (method::ssl,
    // X'86', the draft's; method::ssl_iana, X'06', IANA's).
    std::optional<method_code> code;
    // Trust anchors (PEM). Empty: the system's store (/etc/ssl/certs).
    std::string ca_file;
    // The name the certificate must carry and that is sent as SNI. Empty: the proxy's host.
    std::string server_name;
    // Hex SHA-256 of the server certificate (DER). When set it replaces the CA and name checks.
    std::string pin_sha256;
    // Certificate verification; turning it off is an explicit choice, never a default.
    bool verify = true;
    // A client certificate for mutual TLS (PEM), if the server asks for one.
    std::string cert_file;
    std::string key_file;
    // Offer the UDP-Naked option (datagrams unprotected, control connection protected).
    bool udp_naked = false;
    // Methods offered inside TLS (Subauthentication), in order of preference; none: the option
    // is not offered.
    std::vector<any_client_auth> subauth;
    // Resume TLS sessions on later connections made with this client.
    bool resume = true;
  };

  struct server_options {
    // Unset: X'86' and X'06' are both accepted (X'86' preferred). Set: only that code.
    std::optional<method_code> code;
    std::string cert_file;  // PEM certificate chain
    std::string key_file;   // PEM private key
    // When set, clients must present a certificate signed by these CAs (mutual TLS); its
    // subject becomes the session's identity.
    std::string client_ca_file;
    // When not empty, Subauthentication is required, with one of these methods (server order).
    std::vector<any_server_auth> subauth;
    // Agree to UDP-Naked when the client offers it.
    bool udp_naked = true;
  };

  class client_machine {
   public:
    client_machine(std::shared_ptr<const detail::ssl_client_config> config, std::string proxy_host);
    client_machine(client_machine&&) noexcept;
    client_machine& operator=(client_machine&&) noexcept;
    ~client_machine();
    auth_step next();
    std::string identity() const { return {}; }
    std::unique_ptr<protection> take_protection();
    bool udp_naked() const noexcept;        // the server agreed to UDP-Naked
    bool session_resumed() const noexcept;  // the TLS session was resumed

   private:
    std::unique_ptr<detail::ssl_client_state> state_;
  };

  class server_machine {
   public:
    explicit server_machine(std::shared_ptr<const detail::ssl_server_config> config);
    server_machine(server_machine&&) noexcept;
    server_machine& operator=(server_machine&&) noexcept;
    ~server_machine();
    auth_step next();
    // The subauthentication's identity (a user name) if there was one, else the client
    // certificate's subject (RFC 2253), else empty.
    std::string identity() const;
    std::unique_ptr<protection> take_protection();
    bool udp_naked() const noexcept;

   private:
    std::unique_ptr<detail::ssl_server_state> state_;
  };

  class client {
   public:
    // Loads the trust anchors and client certificate now, so errors show at configuration.
    static client create(client_options options, std::error_code& ec);
    method_code code() const;  // the first of codes()
    // The codes this side answers to, in order of preference (see the top of this header).
    std::vector<method_code> codes() const;
    client_machine start(const client_auth_context& c) const;

   private:
    explicit client(std::shared_ptr<const detail::ssl_client_config> c) : config_(std::move(c)) {}
    std::shared_ptr<const detail::ssl_client_config> config_;
  };

  class server {
   public:
    // Loads the certificate chain, key and client CAs now.
    static server create(server_options options, std::error_code& ec);
    method_code code() const;  // the first of codes()
    // The codes this side answers to, in order of preference (see the top of this header).
    std::vector<method_code> codes() const;
    server_machine start(const server_auth_context& c) const;

   private:
    explicit server(std::shared_ptr<const detail::ssl_server_config> c) : config_(std::move(c)) {}
    std::shared_ptr<const detail::ssl_server_config> config_;
  };
};

static_assert(AuthMethod<SslAuth>);

}  // namespace socks5
