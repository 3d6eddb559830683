#include "socks5/auth/user_pass.hpp"

#include <openssl/mem.h>
#include <openssl/sha.h>

namespace socks5 {

bool constant_time_equal(std::string_view given, std::string_view expected) noexcept {
  // Both secrets are hashed, and the two 32-octet digests compared with CRYPTO_memcmp, which
  // looks at every octet whatever it finds: neither where the secrets differ nor whether their
  // lengths do shows in the time taken.
  std::uint8_t given_digest[SHA256_DIGEST_LENGTH], expected_digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const std::uint8_t*>(given.data()), given.size(), given_digest);
  SHA256(reinterpret_cast<const std::uint8_t*>(expected.data()), expected.size(), expected_digest);
  return CRYPTO_memcmp(given_digest, expected_digest, SHA256_DIGEST_LENGTH) == 0;
}

UserPassAuth::client_machine::client_machine(std::string username, std::string password) {
  encode_error_ =
      wire::encode(wire::user_pass_request{std::move(username), std::move(password)}, request_);
}

auth_step UserPassAuth::client_machine::next() {
  switch (state_) {
    case state::send:
      if (encode_error_) return auth_step::failed(encode_error_);
      state_ = state::receive;
      return auth_step::write(request_);
    case state::receive: state_ = state::check; return auth_step::read(reply_);
    case state::check: {
      const auto reply = wire::parse_user_pass_reply(reply_);
      if (reply.invalid()) return auth_step::failed(reply.error);
      if (!reply.value.success()) return auth_step::failed(errc::auth_failed);
      return auth_step::finished();
    }
  }
  return auth_step::failed(errc::general_failure);
}

auth_step UserPassAuth::server_machine::next() {
  switch (state_) {
    case state::receive: {
      reader_.commit();
      const auto request = wire::parse_user_pass_request(reader_.data());
      if (request.incomplete()) return auth_step::read(reader_.prepare(request.size));
      bool ok = false;
      if (request.invalid()) {
        failure_ = request.error;
      } else {
        ok = verify_ && verify_(request.value.username, request.value.password);
        if (ok)
          identity_ = request.value.username;
        else
          failure_ = errc::auth_failed;
      }
      // RFC 1929: any STATUS other than 00 is a failure, after which the server closes.
      reply_ = wire::encode(wire::user_pass_reply{static_cast<wire::byte>(ok ? 0x00 : 0x01)});
      state_ = ok ? state::replied_ok : state::replied_failure;
      return auth_step::write(reply_);
    }
    case state::replied_ok: return auth_step::finished();
    case state::replied_failure: return auth_step::failed(failure_);
  }
  return auth_step::failed(errc::general_failure);
}

}  // namespace socks5
