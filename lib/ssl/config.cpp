#include "config.hpp"

#include <filesystem>

#include <openssl/sha.h>
#include <openssl/x509.h>
#include <asio/ip/address.hpp>

namespace socks5::detail {
namespace {

// TLS 1.2 suites with forward secrecy and AEAD only; TLS 1.3's are all of that kind.
constexpr const char* modern_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

constexpr const char* system_ca_bundle = "/etc/ssl/certs/ca-certificates.crt";

bssl::UniquePtr<SSL_CTX> modern_context(std::error_code& ec) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  if (!ctx || !SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION) ||
      !SSL_CTX_set_strict_cipher_list(ctx.get(), modern_ciphers)) {
    ec = tls::last_error();
    return nullptr;
  }
  return ctx;
}

bool missing(const std::string& path, std::error_code& ec) {
  if (std::filesystem::exists(path)) return false;
  ec = std::make_error_code(std::errc::no_such_file_or_directory);
  return true;
}

bool load_certificate(SSL_CTX* ctx, const std::string& cert, const std::string& key,
                      std::error_code& ec) {
  if (missing(cert, ec) || missing(key, ec)) return false;
  if (!SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) ||
      !SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) ||
      !SSL_CTX_check_private_key(ctx)) {
    ec = tls::last_error();
    return false;
  }
  return true;
}

std::vector<std::uint8_t> decode_hex(const std::string& text) {
  std::vector<std::uint8_t> out;
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string digits;
  for (char c : text)
    if (c != ':') digits += c;
  if (digits.size() % 2) return {};
  for (std::size_t i = 0; i < digits.size(); i += 2) {
    const int hi = value(digits[i]), lo = value(digits[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return out;
}

int remember_session(SSL* ssl, SSL_SESSION* session) {
  auto* config = static_cast<const ssl_client_config*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  const auto* name = static_cast<const std::string*>(SSL_get_app_data(ssl));
  if (!config || !name) return 0;
  std::lock_guard lock(config->sessions_mutex);
  config->sessions[*name].reset(session);
  return 1;  // the reference is ours now
}

}  // namespace

bssl::UniquePtr<SSL> ssl_client_config::new_session(const std::string& server_name) const {
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
  if (!ssl) return nullptr;
  SSL_set_connect_state(ssl.get());
  SSL_set_shed_handshake_config(ssl.get(), 1);
  std::error_code not_ip;
  (void)asio::ip::make_address(server_name, not_ip);
  if (not_ip) SSL_set_tlsext_host_name(ssl.get(), server_name.c_str());
  if (options.verify && pin.empty()) {
    auto* param = SSL_get0_param(ssl.get());
    if (not_ip)
      X509_VERIFY_PARAM_set1_host(param, server_name.data(), server_name.size());
    else
      X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str());
  }
  if (options.resume) {
    std::lock_guard lock(sessions_mutex);
    if (auto it = sessions.find(server_name); it != sessions.end())
      SSL_set_session(ssl.get(), it->second.get());
  }
  return ssl;
}

std::shared_ptr<ssl_client_config> make_client_config(SslAuth::client_options options,
                                                      std::error_code& ec) {
  ec.clear();
  auto config = std::make_shared<ssl_client_config>();
  config->ctx = modern_context(ec);
  if (ec) return nullptr;
  SSL_CTX* ctx = config->ctx.get();
  if (!options.pin_sha256.empty()) {
    config->pin = decode_hex(options.pin_sha256);
    if (config->pin.size() != SHA256_DIGEST_LENGTH) {
      ec = std::make_error_code(std::errc::invalid_argument);
      return nullptr;
    }
  }
  if (options.verify && config->pin.empty()) {
    const std::string& anchors =
        options.ca_file.empty() ? std::string(system_ca_bundle) : options.ca_file;
    if (missing(anchors, ec)) return nullptr;
    if (!SSL_CTX_load_verify_locations(ctx, anchors.c_str(), nullptr)) {
      ec = tls::last_error();
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    // Pinned: the certificate is compared after the handshake. Unverified: by explicit choice.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!options.cert_file.empty() && !load_certificate(ctx, options.cert_file, options.key_file, ec))
    return nullptr;
  if (options.resume) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
    SSL_CTX_sess_set_new_cb(ctx, remember_session);
    SSL_CTX_set_app_data(ctx, config.get());
  }
  config->options = std::move(options);
  return config;
}

std::shared_ptr<ssl_server_config> make_server_config(SslAuth::server_options options,
                                                      std::error_code& ec) {
  ec.clear();
  auto config = std::make_shared<ssl_server_config>();
  config->ctx = modern_context(ec);
  if (ec) return nullptr;
  SSL_CTX* ctx = config->ctx.get();
  if (!load_certificate(ctx, options.cert_file, options.key_file, ec)) return nullptr;
  if (!options.client_ca_file.empty()) {
    if (missing(options.client_ca_file, ec)) return nullptr;
    if (!SSL_CTX_load_verify_locations(ctx, options.client_ca_file.c_str(), nullptr)) {
      ec = tls::last_error();
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  config->options = std::move(options);
  return config;
}

std::string peer_subject(const SSL* ssl) {
  bssl::UniquePtr<X509> cert(SSL_get_peer_certificate(ssl));
  if (!cert) return {};
  bssl::UniquePtr<BIO> out(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(out.get(), X509_get_subject_name(cert.get()), 0, XN_FLAG_RFC2253);
  const std::uint8_t* data = nullptr;
  std::size_t length = 0;
  BIO_mem_contents(out.get(), &data, &length);
  return std::string(reinterpret_cast<const char*>(data), length);
}

std::vector<std::uint8_t> peer_certificate_sha256(const SSL* ssl) {
  bssl::UniquePtr<X509> cert(SSL_get_peer_certificate(ssl));
  if (!cert) return {};
  std::vector<std::uint8_t> digest(SHA256_DIGEST_LENGTH);
  unsigned int length = 0;
  X509_digest(cert.get(), EVP_sha256(), digest.data(), &length);
  return digest;
}

}  // namespace socks5::detail
