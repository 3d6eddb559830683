// SHA-256 and random payloads for end-to-end data checks.
#pragma once

#include <array>
#include <random>
#include <string>
#include <vector>

#include <openssl/sha.h>

namespace test {

using digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

class hasher {
 public:
  hasher() { SHA256_Init(&ctx_); }
  void update(const void* p, std::size_t n) { SHA256_Update(&ctx_, p, n); }
  digest final() {
    digest d;
    SHA256_Final(d.data(), &ctx_);
    return d;
  }

 private:
  SHA256_CTX ctx_;
};

inline std::vector<char> random_payload(std::size_t n, unsigned seed = 1) {
  std::vector<char> out(n);
  std::mt19937_64 gen(seed);
  for (std::size_t i = 0; i < n; i += 8) {
    const auto v = gen();
    for (std::size_t k = 0; k < 8 && i + k < n; ++k)
      out[i + k] = static_cast<char>(v >> (8 * k));
  }
  return out;
}

inline digest sha256(const std::vector<char>& data) {
  hasher h;
  h.update(data.data(), data.size());
  return h.final();
}

}  // namespace test
