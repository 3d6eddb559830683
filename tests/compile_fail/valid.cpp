// The control case: valid methods compile, so the failures above are not the harness's own.
#include "socks5/auth/user_pass.hpp"
#include "socks5/client.hpp"
#include "socks5/server.hpp"

static_assert(socks5::require_auth_method<socks5::NoAuth>());
static_assert(socks5::require_auth_method<socks5::UserPassAuth>());

int main() {
  socks5::client_options client;
  client.methods.push_back(socks5::NoAuth::client{});
  socks5::server_options server;
  server.methods = {socks5::NoAuth::server{}};
  socks5::any_client_auth copy = client.methods.front();
  (void)copy;
}
