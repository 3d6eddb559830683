// The GSS-API method as far as it runs without a KDC: the server machine, with a keytab made
// here from a random key, fed hostile RFC 1961 messages (its context tokens reach
// gss_accept_sec_context, which must refuse them); and the protection-level token decoder in
// NEC mode. The first octet picks NEC mode; the rest is the client's bytes.
#include <cstdlib>
#include <string>

#include "../../lib/gss/handles.hpp"
#include "../../lib/gss/level_token.hpp"
#include "fuzz.hpp"
#include "gss_fuzz_realm.hpp"
#include "socks5/auth/gssapi.hpp"
#include "socks5/wire/frame.hpp"

namespace {

socks5::GssapiAuth::server make_server(const std::string& keytab, bool nec) {
  socks5::GssapiAuth::server_options o;
  o.keytab = keytab;
  o.service = fuzz::gss_service;
  o.nec = nec;
  std::error_code ec;
  auto server = socks5::GssapiAuth::server::create(std::move(o), ec);
  FUZZ_CHECK(!ec);
  return server;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using socks5::auth_step;
  static const std::string keytab = fuzz::the_gss_realm().keytab;
  static const auto plain_server = make_server(keytab, false);
  static const auto nec_server = make_server(keytab, true);
  if (size == 0) return 0;
  const bool nec = data[0] & 1;
  const auto in = fuzz::input(data + 1, size - 1);

  // The level token alone, in NEC mode (raw, no context needed). Wrapped, it is decoded only
  // with an established context, which needs a ticket this target cannot have.
  socks5::gss_level level{};
  const auto nec_ec = socks5::gss::decode_level(GSS_C_NO_CONTEXT, in, true, level);
  FUZZ_CHECK(!nec_ec == (in.size() == 1 && in[0] <= 3));
  if (!nec_ec) FUZZ_CHECK(static_cast<std::uint8_t>(level) == in[0]);

  // The server machine, its reads filled from the input as the driver would.
  auto machine = (nec ? nec_server : plain_server).start({});
  std::size_t at = 0;
  bool aborted = false;
  for (int steps = 0;; ++steps) {
    FUZZ_CHECK(steps < 1000);  // a machine that never ends
    auth_step step = machine.next();
    if (step.what == auth_step::action::read) {
      FUZZ_CHECK(!step.input.empty() && step.input.size() <= socks5::wire::max_frame_body);
      if (!fuzz::feed_read(step.input, in, at)) return 0;  // the client hung up
    } else if (step.what == auth_step::action::write) {
      FUZZ_CHECK(step.output.size() >= 2 && step.output[0] == 1);
      // Whatever failed, the client is told with 01 FF before the machine gives up.
      aborted = step.output.size() == 2 && step.output[1] == 0xff;
    } else if (step.what == auth_step::action::offload) {
      step.work();
    } else if (step.what == auth_step::action::fail) {
      FUZZ_CHECK(static_cast<bool>(step.error));
      // Without a ticket made with this keytab's key no context can be established; a failure
      // is either an abort sent or the client's own abort received.
      FUZZ_CHECK(aborted || step.error == socks5::errc::peer_aborted);
      FUZZ_CHECK(machine.take_protection() == nullptr);
      return 0;
    } else {
      std::abort();  // done: no client could have authenticated
    }
  }
}
