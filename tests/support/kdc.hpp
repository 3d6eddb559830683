// A hermetic Kerberos realm for tests: a Heimdal KDC on loopback in a temporary directory, with
// the service principal rcmd/localhost and the user alice, their keytabs and a ticket for alice.
// GSS-API reads KRB5_CONFIG once per process, so a test program has one realm: test::realm().
#pragma once

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "process.hpp"

namespace test {

inline constexpr const char* test_realm = "TEST.SOCKS";

class kdc_realm {
 public:
  kdc_realm() : port_(free_port()) {
    const auto d = dir_.path().string();
    krb5_conf_ = dir_.write("krb5.conf",
                            "[libdefaults]\n"
                            "\tdefault_realm = TEST.SOCKS\n"
                            "\tdns_lookup_kdc = false\n"
                            "\tdns_lookup_realm = false\n"
                            "\trdns = false\n"
                            "\tdns_canonicalize_hostname = false\n"
                            "\tkdc_timeout = 2\n"
                            "\tmax_retries = 1\n"
                            // One clock for all: a small allowance lets an expired ticket be
                            // seen as such in seconds rather than minutes.
                            "\tclockskew = 2\n"
                            "[realms]\n"
                            "\tTEST.SOCKS = {\n"
                            "\t\tkdc = 127.0.0.1:" +
                                std::to_string(port_) +
                                "\n"
                                "\t}\n"
                                "[domain_realm]\n"
                                "\tlocalhost = TEST.SOCKS\n"
                                "[kdc]\n"
                                "\tdatabase = {\n"
                                "\t\tdbname = " +
                                d +
                                "/heimdal\n"
                                "\t\tmkey_file = " +
                                d +
                                "/m-key\n"
                                "\t}\n"
                                "\tports = " +
                                std::to_string(port_) +
                                "\n"
                                "\taddresses = 127.0.0.1\n"
                                "[logging]\n"
                                "\tkdc = FILE:" +
                                d + "/kdc.log\n");
    // Every GSS-API and krb5 call of this process, and every child, uses this realm.
    ::setenv("KRB5_CONFIG", krb5_conf_.c_str(), 1);
    ::setenv("KRB5CCNAME", ("FILE:" + (dir_ / "default.cc")).c_str(), 1);
    ::unsetenv("KRB5_KTNAME");

    must({"kstash", "--random-key", "--key-file=" + (dir_ / "m-key")});
    must(kadmin({"init", "--realm-max-ticket-life=unlimited",
                 "--realm-max-renewable-life=unlimited", test_realm}));
    add_principal("rcmd/localhost");
    add_principal("alice");
    add_principal("bob");
    server_keytab_ = extract_keytab("rcmd/localhost", "server.keytab");
    alice_keytab_ = extract_keytab("alice", "alice.keytab");
    start();
    alice_ccache_ = kinit("alice", alice_keytab_, "alice.cc");
  }

  ~kdc_realm() { stop(); }

  void start() {
    kdc_ = std::make_unique<process>(
        std::vector<std::string>{"/usr/lib/heimdal-servers/kdc", "--config-file=" + krb5_conf_},
        dir_ / "kdc.out");
    if (!wait_for_port(port_)) throw std::runtime_error("the KDC did not start: " + kdc_->output());
  }
  void stop() { kdc_.reset(); }

  void add_principal(const std::string& name) {
    must(kadmin({"add", "--random-key", "--use-defaults", name + "@" + test_realm}));
  }

  // Writes the keys of `principal` to a keytab in the realm's directory; returns its path.
  std::string extract_keytab(const std::string& principal, const std::string& file) {
    const auto path = dir_ / file;
    must(kadmin({"ext_keytab", "-k", path, principal + "@" + test_realm}));
    return path;
  }

  // A fresh ticket for `principal` in a ccache of its own; returns "FILE:<path>".
  std::string kinit(const std::string& principal, const std::string& keytab,
                    const std::string& file, const std::string& lifetime = "") {
    const std::string ccache = "FILE:" + (dir_ / file);
    std::vector<std::string> argv{"kinit", "-c", ccache, "-k", "-t", keytab};
    if (!lifetime.empty()) argv.push_back("--lifetime=" + lifetime);
    argv.push_back(principal + "@" + test_realm);
    must(argv);
    return ccache;
  }

  const temp_dir& dir() const { return dir_; }
  const std::string& krb5_conf() const { return krb5_conf_; }
  const std::string& server_keytab() const { return server_keytab_; }
  const std::string& alice_keytab() const { return alice_keytab_; }
  const std::string& alice_ccache() const { return alice_ccache_; }
  std::uint16_t port() const { return port_; }

 private:
  std::vector<std::string> kadmin(std::vector<std::string> args) const {
    std::vector<std::string> argv{"kadmin", "-l", "-c", krb5_conf_};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  void must(std::vector<std::string> argv) const {
    const auto name = argv[0];
    auto [status, out] = run_command(std::move(argv), dir_, std::chrono::seconds(60));
    if (status != 0) throw std::runtime_error(name + " failed: " + out);
  }

  temp_dir dir_;
  std::uint16_t port_;
  std::string krb5_conf_;
  std::string server_keytab_;
  std::string alice_keytab_;
  std::string alice_ccache_;
  std::unique_ptr<process> kdc_;
};

// The realm of this test program, created on first use.
inline kdc_realm& realm() {
  static kdc_realm r;
  return r;
}

}  // namespace test
