#include <openssl/err.h>
#include <openssl/x509.h>

#include "socks5/error.hpp"

namespace socks5 {
namespace {

class tls_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls"; }
  std::string message(int value) const override {
    char text[256];
    ERR_error_string_n(static_cast<std::uint32_t>(value), text, sizeof text);
    return text;
  }
  std::error_condition default_error_condition(int) const noexcept override {
    return condition::auth_failure;
  }
};

class tls_verify_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls.verify"; }
  std::string message(int value) const override { return X509_verify_cert_error_string(value); }
  std::error_condition default_error_condition(int) const noexcept override {
    return condition::auth_failure;
  }
};

}  // namespace

const std::error_category& tls_category() noexcept {
  static const tls_category_impl instance;
  return instance;
}

const std::error_category& tls_verify_category() noexcept {
  static const tls_verify_category_impl instance;
  return instance;
}

}  // namespace socks5
