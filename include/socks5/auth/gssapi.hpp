// Method X'01': GSS-API (RFC 1961) on Heimdal's GSS-API library, Kerberos 5 by default.
// This header does not include <gssapi.h>: the GSS-API handles stay inside the library.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "socks5/auth/method.hpp"

namespace socks5 {

// RFC 1961 section 4 protection levels. Level 0 (no encapsulation after authentication) is
// outside the RFC; some peers use it, so it exists here only when asked for by name.
enum class gss_level : std::uint8_t {
  clear = 0,
  integrity = 1,
  confidentiality = 2,
  selective = 3
};

// For level 3: whether this outgoing message gets confidentiality as well as integrity.
using gss_selective_policy = std::function<bool(wire::bytes_view plaintext)>;

enum class gss_mechanism { kerberos, spnego, library_default };

// What an established security context provides (GSS-API's ret_flags). Both sides refuse a
// context without mutual authentication (errc::mutual_auth_required) or without replay and
// sequence detection (errc::replay_detection_required).
struct gss_context_flags {
  bool mutual = false;           // GSS_C_MUTUAL_FLAG: the server proved who it is
  bool replay = false;           // GSS_C_REPLAY_FLAG: repeated messages are detected
  bool sequence = false;         // GSS_C_SEQUENCE_FLAG: reordered and missing ones too
  bool integrity = false;        // GSS_C_INTEG_FLAG
  bool confidentiality = false;  // GSS_C_CONF_FLAG
  bool delegated = false;        // GSS_C_DELEG_FLAG: the client's ticket was forwarded
};

namespace detail {
struct gss_client_state;
struct gss_server_state;
struct gss_acceptor;
}  // namespace detail

struct GssapiAuth {
  // Confidentiality first, then integrity. (A function, not a braced default member
  // initializer, which GCC 12 warns about in every user's build.)
  static std::vector<gss_level> default_levels() {
    std::vector<gss_level> levels;
    levels.push_back(gss_level::confidentiality);
    levels.push_back(gss_level::integrity);
    return levels;
  }

  struct client_options {
    // Whom to authenticate to: "" means the host-based service rcmd@<proxy host> (what curl and
    // Dante use); "svc" means svc@<proxy host>; "svc@host" is a host-based service; a name with
    // a '/' is a Kerberos principal ("rcmd/proxy.example@REALM").
    std::string service;
    // Credentials cache, e.g. "FILE:/tmp/krb5cc_alice"; empty means the default one.
    std::string ccache;
    // The levels this client accepts, in order of preference: it asks for the first and closes
    // if the server answers one not listed. gss_level::clear only when listed.
    std::vector<gss_level> levels = default_levels();
    // Send the level octet raw instead of wrapped (curl's and Dante's "NEC" mode).
    bool nec = false;
    bool delegate = false;  // GSS_C_DELEG_FLAG: forward the ticket to the proxy
    gss_mechanism mechanism = gss_mechanism::kerberos;
    gss_selective_policy selective;  // needed when gss_level::selective is listed
  };

  struct server_options {
    std::string keytab;   // path of the keytab; empty means the default keytab
    std::string service;  // acceptor name ("rcmd", "rcmd@host" or a principal); empty: any key
    // The levels this server accepts.
    std::vector<gss_level> levels = default_levels();
    // The level to answer for a requested one. By default the requested level when accepted,
    // otherwise the strongest accepted level (the client then decides whether to go on).
    std::function<gss_level(gss_level requested)> answer;
    bool allow_clear = false;  // accept level 0: no protection after authentication
    // NEC compatibility (curl's and Dante's "NEC" clients): also accept a level octet sent raw,
    // and answer such a client raw. Each client's form is told from its level message (a raw
    // octet has LEN 1, a wrapped token never does), so standard clients keep working on the same
    // server at every level these options accept. Off by default: a raw octet is unprotected, and
    // when off a raw level message is refused like any bad token.
    bool nec = false;
    gss_selective_policy selective;  // needed when gss_level::selective is accepted
  };

  class client_machine {
   public:
    client_machine(std::shared_ptr<const client_options> options, std::string proxy_host);
    client_machine(client_machine&&) noexcept;
    client_machine& operator=(client_machine&&) noexcept;
    ~client_machine();
    auth_step next();
    std::string identity() const { return {}; }
    std::unique_ptr<protection> take_protection();
    gss_level level() const noexcept;          // the agreed level, once done
    gss_context_flags flags() const noexcept;  // once the context is established

   private:
    std::unique_ptr<detail::gss_client_state> state_;
  };

  class server_machine {
   public:
    server_machine(std::shared_ptr<const detail::gss_acceptor> acceptor);
    server_machine(server_machine&&) noexcept;
    server_machine& operator=(server_machine&&) noexcept;
    ~server_machine();
    auth_step next();
    std::string identity() const;  // the client's principal, e.g. "alice@EXAMPLE.ORG"
    std::unique_ptr<protection> take_protection();
    gss_level level() const noexcept;
    gss_context_flags flags() const noexcept;  // once the context is established

   private:
    std::unique_ptr<detail::gss_server_state> state_;
  };

  class client {
   public:
    client();  // all defaults: rcmd@<proxy host>, default ccache, levels 2 then 1
    explicit client(client_options options);
    method_code code() const { return method::gssapi; }
    client_machine start(const client_auth_context& c) const;

   private:
    std::shared_ptr<const client_options> options_;
  };

  class server {
   public:
    // Reads the keytab and acquires the acceptor credentials now, so that a missing keytab or
    // service key is reported when the server is configured rather than per connection.
    static server create(server_options options, std::error_code& ec);
    method_code code() const { return method::gssapi; }
    server_machine start(const server_auth_context& c) const;

   private:
    explicit server(std::shared_ptr<const detail::gss_acceptor> a) : acceptor_(std::move(a)) {}
    std::shared_ptr<const detail::gss_acceptor> acceptor_;
  };
};

static_assert(AuthMethod<GssapiAuth>);

}  // namespace socks5
