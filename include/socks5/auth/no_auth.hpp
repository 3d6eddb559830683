// Method X'00': no authentication.
#pragma once

#include "socks5/auth/method.hpp"

namespace socks5 {

struct NoAuth {
  class machine {
   public:
    auth_step next() { return auth_step::finished(); }
    std::string identity() const { return {}; }
    std::unique_ptr<protection> take_protection() { return nullptr; }
  };

  struct client {
    method_code code() const { return method::no_auth; }
    machine start(const client_auth_context&) const { return {}; }
  };

  struct server {
    method_code code() const { return method::no_auth; }
    machine start(const server_auth_context&) const { return {}; }
  };
};

static_assert(AuthMethod<NoAuth>);

}  // namespace socks5
