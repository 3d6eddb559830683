// The SSL method in one run: relay throughput through socks5::server with the SSL method next to
// the unprotected relay, and next to BoringSSL's raw seal+open rate for the negotiated cipher;
// handshakes per second, full and resumed.
//   ssl-throughput [--mib N] [--rounds N] [--seconds S] [--json]
// With --json the figures are also printed as one JSON line on stdout, and the table goes to
// stderr.
#include <openssl/aead.h>
#include <openssl/rand.h>

#include <cstdio>
#include <string>

#include "bench.hpp"
#include "machines.hpp"
#include "pki.hpp"
#include "protected_bench_options.hpp"
#include "relay_rate.hpp"
#include "socks5/auth/ssl.hpp"
#include "socks5/auth/tls_protection.hpp"
#include "socks5/client.hpp"
#include "socks5/server.hpp"

using namespace socks5;
using bench::clock_type;
using test::certs;

namespace {

SslAuth::server make_server() {
  SslAuth::server_options o;
  o.cert_file = certs().cert("server");
  o.key_file = certs().key("server");
  std::error_code ec;
  auto s = SslAuth::server::create(o, ec);
  if (ec) throw std::system_error(ec);
  return s;
}

SslAuth::client make_client(bool resume) {
  SslAuth::client_options o;
  o.ca_file = certs().cert("ca");
  o.resume = resume;
  std::error_code ec;
  auto c = SslAuth::client::create(o, ec);
  if (ec) throw std::system_error(ec);
  return c;
}

// The suite a connection negotiates.
std::string negotiated_cipher() {
  auto server = make_server().start({});
  auto client = make_client(false).start({"localhost"});
  auto t = test::converse(client, server);
  if (!t.client_done) throw std::runtime_error("negotiation failed: " + t.client_error.message());
  auto p = client.take_protection();
  return static_cast<TlsProtection&>(*p).cipher();
}

const EVP_AEAD* aead_for(const std::string& cipher) {
  if (cipher.find("CHACHA20") != std::string::npos) return EVP_aead_chacha20_poly1305();
  if (cipher.find("AES_256_GCM") != std::string::npos ||
      cipher.find("AES256-GCM") != std::string::npos)
    return EVP_aead_aes_256_gcm();
  return EVP_aead_aes_128_gcm();
}

// Seal then open 16 KiB records, as a relayed byte is sealed by one end and opened by the other.
double seal_open_rate(const EVP_AEAD* aead, std::size_t total) {
  std::vector<std::uint8_t> key(EVP_AEAD_key_length(aead)), nonce(EVP_AEAD_nonce_length(aead));
  RAND_bytes(key.data(), key.size());
  bssl::ScopedEVP_AEAD_CTX ctx;
  EVP_AEAD_CTX_init(ctx.get(), aead, key.data(), key.size(), EVP_AEAD_DEFAULT_TAG_LENGTH, nullptr);
  std::vector<std::uint8_t> plain(16384, 'x'), sealed(16384 + EVP_AEAD_max_overhead(aead)),
      opened(16384);
  const auto start = clock_type::now();
  for (std::size_t done = 0; done < total; done += plain.size()) {
    std::size_t sealed_len = 0, opened_len = 0;
    ++nonce[0];
    if (!EVP_AEAD_CTX_seal(ctx.get(), sealed.data(), &sealed_len, sealed.size(), nonce.data(),
                           nonce.size(), plain.data(), plain.size(), nullptr, 0) ||
        !EVP_AEAD_CTX_open(ctx.get(), opened.data(), &opened_len, opened.size(), nonce.data(),
                           nonce.size(), sealed.data(), sealed_len, nullptr, 0))
      throw std::runtime_error("AEAD failed");
  }
  return bench::mib_per_second(total, clock_type::now() - start);
}

// Negotiations in memory for `seconds`: with a new client each time (full handshakes) or one
// client throughout (resumed after the first).
double handshakes(bool resumed, double seconds, std::size_t& resumptions) {
  auto server_side = make_server();
  auto shared_client = make_client(true);
  std::size_t n = 0;
  resumptions = 0;
  const auto start = clock_type::now();
  while (clock_type::now() - start < std::chrono::duration<double>(seconds)) {
    auto client_side = resumed ? shared_client : make_client(false);
    auto server = server_side.start({});
    auto client = client_side.start({"localhost"});
    auto t = test::converse(client, server);
    if (!t.client_done || !t.server_done) throw std::runtime_error("negotiation failed");
    if (client.session_resumed()) ++resumptions;
    ++n;
  }
  return static_cast<double>(n) / std::chrono::duration<double>(clock_type::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const auto o = bench::parse_protected_bench_options(argc, argv, "ssl-throughput", true);
  FILE* const out = o.table();
  const std::size_t total = o.total_octets();
  certs();
  bench::background sink_thread;
  bench::sink target(sink_thread.context());

  const auto cipher = negotiated_cipher();
  const double raw = seal_open_rate(aead_for(cipher), total);
  // Rounds alternate between the two relays and each keeps its best: a busy moment on a shared
  // machine only ever slows a round down, and it hits both alike.
  double plain = 0, ssl = 0;
  for (std::size_t r = 0; r < o.rounds; ++r) {
    plain = std::max(
        plain, bench::relay_rate({NoAuth::server{}}, {NoAuth::client{}}, total, target.endpoint()));
    ssl = std::max(
        ssl, bench::relay_rate({make_server()}, {make_client(false)}, total, target.endpoint()));
  }
  std::size_t full_resumed = 0, resumed_resumed = 0;
  const double full = handshakes(false, o.seconds, full_resumed);
  const double resumed = handshakes(true, o.seconds, resumed_resumed);

  std::fprintf(out, "SSL method (BoringSSL, %s), %zu MiB per relay figure, best of %zu rounds\n",
               cipher.c_str(), o.mib, o.rounds);
  std::fprintf(out, "  %-40s %8.0f MiB/s\n", "seal+open of 16 KiB records, one core", raw);
  std::fprintf(out, "  %-40s %8.0f MiB/s\n", "relay, no authentication", plain);
  std::fprintf(out, "  %-40s %8.0f MiB/s   %.2f of the plain relay, %.2f of seal+open\n",
               "relay, SSL method", ssl, ssl / plain, ssl / raw);
  std::fprintf(
      out,
      "  handshakes per second (negotiation in memory): full %.0f, resumed %.0f (%zu of %zu "
      "resumed)\n",
      full, resumed, resumed_resumed, static_cast<std::size_t>(resumed * o.seconds));
  if (o.json)
    std::printf(
        "{\"benchmark\":\"ssl-throughput\",\"cipher\":\"%s\",\"mib\":%zu,\"rounds\":%zu,"
        "\"seal_open_mib_per_s\":%.1f,\"plain_relay_mib_per_s\":%.1f,"
        "\"ssl_relay_mib_per_s\":%.1f,\"full_handshakes_per_s\":%.1f,"
        "\"resumed_handshakes_per_s\":%.1f}\n",
        cipher.c_str(), o.mib, o.rounds, raw, plain, ssl, full, resumed);
  return 0;
}
