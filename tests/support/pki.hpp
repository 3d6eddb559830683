// Certificates made by the openssl command at test time (keys are never committed): a CA and a
// server certificate for localhost/127.0.0.1, an expired one, one for another name, one from
// another CA, and a client CA with a client certificate.
#pragma once

#include <string>

#include "process.hpp"

namespace test {

class pki {
 public:
  pki() {
    make_ca("ca", "Test CA");
    make_ca("other-ca", "Other CA");
    make_ca("client-ca", "Client CA");
    make_cert("server", "ca", "localhost", "DNS:localhost,IP:127.0.0.1", "2");
    make_cert("expired", "ca", "localhost", "DNS:localhost,IP:127.0.0.1", "-1");
    make_cert("wrong-name", "ca", "other.example", "DNS:other.example", "2");
    make_cert("stranger", "other-ca", "localhost", "DNS:localhost,IP:127.0.0.1", "2");
    make_cert("alice", "client-ca", "alice", "DNS:alice.client", "2");
  }

  std::string cert(const std::string& name) const { return dir_ / (name + ".pem"); }
  std::string key(const std::string& name) const { return dir_ / (name + ".key"); }

  // SHA-256 of a certificate's DER, in hex: what a pin names.
  std::string sha256(const std::string& name) const {
    auto [status, out] = run_command(
        {"sh", "-c",
         "openssl x509 -in '" + cert(name) + "' -outform DER | openssl dgst -sha256 -r"},
        dir_);
    if (status != 0) throw std::runtime_error("openssl dgst failed: " + out);
    return out.substr(0, 64);
  }

  const temp_dir& dir() const { return dir_; }

 private:
  void must(std::vector<std::string> argv) const {
    auto [status, out] = run_command(std::move(argv), dir_);
    if (status != 0) throw std::runtime_error("openssl failed: " + out);
  }

  void make_ca(const std::string& name, const std::string& cn) {
    must({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-nodes", "-keyout", key(name), "-out", cert(name), "-days", "2", "-subj", "/CN=" + cn});
  }

  // `days` -1 makes a certificate that expired before it was issued.
  void make_cert(const std::string& name, const std::string& ca, const std::string& cn,
                 const std::string& san, const std::string& days) {
    const auto csr = dir_ / (name + ".csr");
    const auto ext = dir_.write(name + ".ext", "subjectAltName=" + san + "\n");
    must({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
          "-keyout", key(name), "-out", csr, "-subj", "/CN=" + cn + "/O=cosocks tests"});
    must({"openssl", "x509", "-req", "-in", csr, "-CA", cert(ca), "-CAkey", key(ca),
          "-CAcreateserial", "-out", cert(name), "-days", days, "-extfile", ext});
  }

  temp_dir dir_;
};

// The program's certificates: made on first use, one set shared by all its tests.
inline const pki& certs() {
  static pki p;
  return p;
}

}  // namespace test
