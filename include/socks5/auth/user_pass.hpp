// Method X'02': username/password (RFC 1929).
#pragma once

#include <functional>
#include <string_view>

#include "socks5/auth/method.hpp"
#include "socks5/detail/message_reader.hpp"
#include "socks5/wire/user_pass.hpp"

namespace socks5 {

// Decides whether a user name and password are valid. Called on the connection's executor, so
// it must not block for long.
using credential_verifier = std::function<bool(std::string_view user, std::string_view password)>;

// Compares two secrets in time that depends on neither their content nor where they differ:
// SHA-256 of each, compared with BoringSSL's CRYPTO_memcmp. For verifiers of passwords.
bool constant_time_equal(std::string_view given, std::string_view expected) noexcept;

struct UserPassAuth {
  class client_machine {
   public:
    client_machine(std::string username, std::string password);
    auth_step next();
    std::string identity() const { return {}; }
    std::unique_ptr<protection> take_protection() { return nullptr; }

   private:
    enum class state { send, receive, check } state_ = state::send;
    wire::user_pass_request_buffer request_;
    std::error_code encode_error_;
    std::array<wire::byte, 2> reply_{};
  };

  class server_machine {
   public:
    explicit server_machine(credential_verifier verify) : verify_(std::move(verify)) {}
    auth_step next();
    std::string identity() const { return identity_; }
    std::unique_ptr<protection> take_protection() { return nullptr; }

   private:
    enum class state { receive, replied_ok, replied_failure } state_ = state::receive;
    credential_verifier verify_;
    detail::message_reader<sizeof(wire::user_pass_request_buffer)> reader_;
    wire::user_pass_reply_buffer reply_;
    std::error_code failure_;
    std::string identity_;
  };

  struct client {
    std::string username;
    std::string password;
    method_code code() const { return method::username_password; }
    client_machine start(const client_auth_context&) const { return {username, password}; }
  };

  struct server {
    credential_verifier verify;
    method_code code() const { return method::username_password; }
    server_machine start(const server_auth_context&) const { return server_machine(verify); }
  };
};

static_assert(AuthMethod<UserPassAuth>);

}  // namespace socks5
