// The method itself where its client side belongs.
#include "socks5/auth/user_pass.hpp"
#include "socks5/client.hpp"

int main() {
  socks5::client_options options;
  options.methods.push_back(socks5::UserPassAuth{});
}
