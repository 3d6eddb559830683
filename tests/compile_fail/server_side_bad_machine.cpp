// A server side whose machine has no take_protection(): the AuthMachine requirement is named.
#include "socks5/server.hpp"

struct machine_without_protection {
  socks5::auth_step next() { return socks5::auth_step::finished(); }
  std::string identity() const { return {}; }
};

struct side {
  socks5::method_code code() const { return 0x80; }
  machine_without_protection start(const socks5::server_auth_context&) const { return {}; }
};

int main() {
  socks5::server_options options;
  options.methods = {side{}};
}
