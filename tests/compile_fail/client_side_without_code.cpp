// A client side without code(): any_client_auth names the missing requirement.
#include "socks5/client.hpp"

struct side_without_code {
  socks5::NoAuth::machine start(const socks5::client_auth_context&) const { return {}; }
};

int main() {
  socks5::client_options options;
  options.methods.push_back(side_without_code{});
}
