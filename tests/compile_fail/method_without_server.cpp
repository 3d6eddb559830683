// An AuthMethod without a server side, checked the way a method's author would.
#include "socks5/auth/no_auth.hpp"

struct client_only {
  using client = socks5::NoAuth::client;
};

static_assert(socks5::require_auth_method<client_only>());

int main() {}
