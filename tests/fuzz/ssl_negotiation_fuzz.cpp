// The SSL method's negotiation machine (either side) against a peer scripted by the input. The
// peer is a plain BoringSSL session that completes the TLS handshake honestly, so that the
// script reaches the option phase: each script record is sent either through TLS or raw, in a
// frame whose STATE the record picks. In raw mode the whole input goes to the machine unframed,
// as hostile handshake frames. The machine must end (done or failed) without hanging, reading
// nothing it did not ask for, and write only well-formed frames.
//
// Input: CONFIG, then records CTL LEN DATA(LEN).
//   CONFIG bit 0: the machine is the client (else the server); bit 1: Subauthentication
//   (username/password) is configured; bit 2: UDP-Naked; bit 3: raw mode.
//   CTL bits 0-1: STATE 02, 03, 01 or 04; bit 2: DATA goes unencrypted; bit 3: split in two frames.
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <optional>
#include <string>

#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "fuzz.hpp"
#include "socks5/auth/ssl.hpp"
#include "socks5/auth/user_pass.hpp"
#include "socks5/error.hpp"
#include "socks5/wire/frame.hpp"

namespace {

using socks5::auth_step;
using socks5::wire::byte;

struct pki {
  std::string cert_file, key_file, pin;
  bssl::UniquePtr<X509> cert;
  bssl::UniquePtr<EVP_PKEY> key;
};

// A self-signed certificate for localhost, made once per process (keys are never committed).
const pki& certificate() {
  static const pki made = [] {
    pki p;
    p.key.reset(EVP_PKEY_new());
    EC_KEY* ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    FUZZ_CHECK(ec && EC_KEY_generate_key(ec) && EVP_PKEY_assign_EC_KEY(p.key.get(), ec));
    p.cert.reset(X509_new());
    X509* x = p.cert.get();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400 * 365);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, p.key.get());
    FUZZ_CHECK(X509_sign(x, p.key.get(), EVP_sha256()));

    char dir_template[] = "/tmp/cosocks-ssl-fuzz-XXXXXX";
    const char* dir = ::mkdtemp(dir_template);
    FUZZ_CHECK(dir != nullptr);
    p.cert_file = std::string(dir) + "/cert.pem";
    p.key_file = std::string(dir) + "/key.pem";
    FILE* f = std::fopen(p.cert_file.c_str(), "w");
    FUZZ_CHECK(f && PEM_write_X509(f, x));
    std::fclose(f);
    f = std::fopen(p.key_file.c_str(), "w");
    FUZZ_CHECK(f && PEM_write_PrivateKey(f, p.key.get(), nullptr, nullptr, 0, nullptr, nullptr));
    std::fclose(f);

    unsigned char digest[SHA256_DIGEST_LENGTH];
    unsigned int length = 0;
    X509_digest(x, EVP_sha256(), digest, &length);
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < length; ++i) {
      p.pin.push_back(hex[digest[i] >> 4]);
      p.pin.push_back(hex[digest[i] & 15]);
    }
    return p;
  }();
  return made;
}

bool valid(std::string_view u, std::string_view p) {
  return u == "user" && p == "pass";
}

socks5::SslAuth::server make_server(bool subauth, bool udp_naked) {
  socks5::SslAuth::server_options o;
  o.cert_file = certificate().cert_file;
  o.key_file = certificate().key_file;
  if (subauth) o.subauth.emplace_back(socks5::UserPassAuth::server{valid});
  o.udp_naked = udp_naked;
  std::error_code ec;
  auto s = socks5::SslAuth::server::create(std::move(o), ec);
  FUZZ_CHECK(!ec);
  return s;
}

socks5::SslAuth::client make_client(bool subauth, bool udp_naked) {
  socks5::SslAuth::client_options o;
  o.pin_sha256 = certificate().pin;
  o.resume = false;  // every input starts from the same state
  if (subauth) o.subauth.emplace_back(socks5::UserPassAuth::client{"user", "pass"});
  o.udp_naked = udp_naked;
  std::error_code ec;
  auto c = socks5::SslAuth::client::create(std::move(o), ec);
  FUZZ_CHECK(!ec);
  return c;
}

// The peer: a TLS session over memory BIOs, with the script for after its handshake.
class scripted_peer {
 public:
  scripted_peer(bool is_server, socks5::wire::bytes_view script) : script_(script) {
    static SSL_CTX* const client_ctx = [] {
      SSL_CTX* c = SSL_CTX_new(TLS_method());
      SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
      return c;
    }();
    static SSL_CTX* const server_ctx = [] {
      SSL_CTX* c = SSL_CTX_new(TLS_method());
      SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
      FUZZ_CHECK(SSL_CTX_use_certificate(c, certificate().cert.get()));
      FUZZ_CHECK(SSL_CTX_use_PrivateKey(c, certificate().key.get()));
      return c;
    }();
    ssl_.reset(SSL_new(is_server ? server_ctx : client_ctx));
    if (is_server)
      SSL_set_accept_state(ssl_.get());
    else
      SSL_set_connect_state(ssl_.get());
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_.get(), in_, out_);
  }

  // Takes the machine's frames: checks their form, gives their DATA to TLS.
  void receive(socks5::wire::bytes_view frames) {
    pending_.insert(pending_.end(), frames.begin(), frames.end());
    while (pending_.size() >= 4) {
      FUZZ_CHECK(pending_[0] == socks5::wire::frame_version);
      FUZZ_CHECK(pending_[1] >= 1 && pending_[1] <= 4);
      FUZZ_CHECK(pending_[1] >= last_state_);  // never backwards
      last_state_ = pending_[1];
      const std::size_t length = std::size_t{pending_[2]} << 8 | pending_[3];
      if (pending_.size() < 4 + length) return;
      std::vector<byte> body(pending_.begin() + 4, pending_.begin() + 4 + length);
      BIO_write(in_, body.data(), static_cast<int>(body.size()));
      pending_.erase(pending_.begin(), pending_.begin() + 4 + static_cast<std::ptrdiff_t>(length));
    }
    progress();
  }

  // Fills `to_machine` with at least `want` octets if the peer has that much to say.
  void produce(std::deque<byte>& to_machine, std::size_t want) {
    while (to_machine.size() < want) {
      progress();
      // Post-handshake messages (session tickets) go out in the current phase.
      if (flush(sent_state_, to_machine)) continue;
      if (!SSL_is_init_finished(ssl_.get()) || !next_record(to_machine)) return;
    }
  }

 private:
  void progress() {
    if (!SSL_is_init_finished(ssl_.get())) {
      SSL_do_handshake(ssl_.get());
      return;
    }
    byte discard[4096];
    while (SSL_read(ssl_.get(), discard, sizeof discard) > 0) {
    }
  }

  // TLS output so far, as frames of `state`.
  bool flush(byte state, std::deque<byte>& to) {
    const byte* data = nullptr;
    std::size_t length = 0;
    BIO_mem_contents(out_, &data, &length);
    if (length == 0) return false;
    frame(state, socks5::wire::bytes_view(data, length), false, to);
    BIO_reset(out_);
    return true;
  }

  // `data` in one frame (or as many as its size needs), or in two when split.
  static void frame(byte state, socks5::wire::bytes_view data, bool split, std::deque<byte>& to) {
    if (!split) return put(state, data, to);
    put(state, data.first(data.size() / 2), to);
    put(state, data.subspan(data.size() / 2), to);
  }

  static void put(byte state, socks5::wire::bytes_view data, std::deque<byte>& to) {
    std::size_t at = 0;
    do {
      const std::size_t n = std::min<std::size_t>(socks5::wire::max_frame_body, data.size() - at);
      to.insert(to.end(), {socks5::wire::frame_version, state, static_cast<byte>(n >> 8),
                           static_cast<byte>(n)});
      to.insert(to.end(), data.begin() + static_cast<std::ptrdiff_t>(at),
                data.begin() + static_cast<std::ptrdiff_t>(at + n));
      at += n;
    } while (at < data.size());
  }

  bool next_record(std::deque<byte>& to) {
    if (script_.size() < 2) return false;
    const byte ctl = script_[0];
    const std::size_t length = std::min<std::size_t>(script_[1], script_.size() - 2);
    const auto data = script_.subspan(2, length);
    script_ = script_.subspan(2 + length);
    static constexpr byte states[] = {2, 3, 1, 4};
    const byte state = states[ctl & 3];
    sent_state_ = state;
    if (ctl & 4) {
      frame(state, data, ctl & 8, to);
      return true;
    }
    if (!data.empty()) SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size()));
    const byte* out = nullptr;
    std::size_t out_length = 0;
    BIO_mem_contents(out_, &out, &out_length);
    frame(state, socks5::wire::bytes_view(out, out_length), ctl & 8, to);
    BIO_reset(out_);
    return true;
  }

  bssl::UniquePtr<SSL> ssl_;
  BIO* in_ = nullptr;
  BIO* out_ = nullptr;
  socks5::wire::bytes_view script_;
  std::vector<byte> pending_;
  byte last_state_ = 0;
  byte sent_state_ = socks5::wire::frame_type::ssl_handshake;
};

template <class Machine>
void drive(Machine& machine, scripted_peer* peer, socks5::wire::bytes_view raw) {
  std::deque<byte> to_machine(raw.begin(), raw.end());
  int writes_in_a_row = 0;
  for (int steps = 0;; ++steps) {
    FUZZ_CHECK(steps < 100000);
    auth_step step = machine.next();
    switch (step.what) {
      case auth_step::action::write:
        FUZZ_CHECK(!step.output.empty() && ++writes_in_a_row < 64);
        if (peer) peer->receive(step.output);
        break;
      case auth_step::action::read:
        writes_in_a_row = 0;
        FUZZ_CHECK(!step.input.empty() && step.input.size() <= socks5::wire::max_frame_body);
        if (peer) peer->produce(to_machine, step.input.size());
        if (to_machine.size() < step.input.size()) return;  // the peer has nothing more to say
        std::copy_n(to_machine.begin(), step.input.size(), step.input.begin());
        to_machine.erase(to_machine.begin(),
                         to_machine.begin() + static_cast<std::ptrdiff_t>(step.input.size()));
        break;
      case auth_step::action::offload: step.work(); break;
      case auth_step::action::done:
        // Done means a working protection for the request that follows.
        FUZZ_CHECK(machine.take_protection() != nullptr);
        return;
      case auth_step::action::fail:
        FUZZ_CHECK(static_cast<bool>(step.error));
        // Verification is off (the client pins, the server asks for no certificate): whatever
        // failed, it was not a certificate check.
        FUZZ_CHECK(step.error.category() != socks5::tls_verify_category());
        FUZZ_CHECK(machine.take_protection() == nullptr);
        return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const socks5::SslAuth::server servers[4] = {
      make_server(false, false), make_server(true, false), make_server(false, true),
      make_server(true, true)};
  static const socks5::SslAuth::client clients[4] = {
      make_client(false, false), make_client(true, false), make_client(false, true),
      make_client(true, true)};
  const std::uint8_t config = data[0];
  const bool is_client = config & 1;
  const int variant = (config >> 1) & 3;
  const bool raw = config & 8;
  const auto rest = fuzz::input(data + 1, size - 1);

  std::optional<scripted_peer> peer;
  if (!raw) peer.emplace(/*is_server=*/is_client, rest);
  const socks5::wire::bytes_view raw_input = raw ? rest : socks5::wire::bytes_view{};
  if (is_client) {
    auto machine = clients[variant].start({"localhost"});
    drive(machine, peer ? &*peer : nullptr, raw_input);
  } else {
    auto machine = servers[variant].start({});
    drive(machine, peer ? &*peer : nullptr, raw_input);
  }
  ERR_clear_error();
  return 0;
}
