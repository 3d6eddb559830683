// The GSS-API client machine (RFC 1961) against a server scripted by the input. The client holds
// a service ticket minted for this process's own realm (gss_fuzz_realm.hpp), so its first token
// is a real AP-REQ; in scripted mode the target accepts it with plain GSS-API calls, which gives
// an honest reply token and an acceptor context to wrap scripted level answers with. In raw mode
// the whole input is the server's bytes. The machine must end (done or failed) without hanging,
// write only well-formed frames, and finish only with a level it accepts.
//
// Input: CONFIG, then (scripted mode) records CTL LEN DATA(LEN).
//   CONFIG bit 0: NEC mode; bit 1: raw mode; bits 2-3: the levels the client accepts (default,
//   integrity only, confidentiality only, clear then integrity); bit 4: SPNEGO (else Kerberos).
//   CTL bits 0-1: MTYP 01, 02, FF or 03; bit 2: the body is the acceptor's reply token instead of
//   DATA; bit 3: the body is DATA wrapped by the acceptor (bit 4: with confidentiality).
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "../../lib/gss/handles.hpp"
#include "fuzz.hpp"
#include "gss_fuzz_realm.hpp"
#include "socks5/auth/gssapi.hpp"
#include "socks5/wire/frame.hpp"

namespace {

using socks5::auth_step;
using socks5::gss_level;
using socks5::wire::byte;

std::vector<gss_level> levels_for(unsigned choice) {
  switch (choice & 3) {
    case 1: return {gss_level::integrity};
    case 2: return {gss_level::confidentiality};
    case 3: return {gss_level::clear, gss_level::integrity};
    default: return socks5::GssapiAuth::default_levels();
  }
}

socks5::GssapiAuth::client make_client(unsigned config) {
  socks5::GssapiAuth::client_options o;
  o.service = fuzz::gss_service;
  o.ccache = fuzz::the_gss_realm().ccache;
  o.nec = config & 1;
  o.levels = levels_for(config >> 2);
  if (config & 16) {
    // Heimdal 7.8's SPNEGO takes no credentials imported from a given cache: the default one.
    o.mechanism = socks5::gss_mechanism::spnego;
    o.ccache.clear();
  }
  return socks5::GssapiAuth::client(std::move(o));
}

// The acceptor's side, by plain GSS-API calls with the realm's keytab.
struct acceptor {
  socks5::gss::context context;
  socks5::gss::buffer reply;

  bool accept(socks5::wire::bytes_view token) {
    gss_buffer_desc in{token.size(), const_cast<byte*>(token.data())};
    OM_uint32 minor = 0;
    const OM_uint32 major = gss_accept_sec_context(&minor, context.out(), GSS_C_NO_CREDENTIAL, &in,
                                                   GSS_C_NO_CHANNEL_BINDINGS, nullptr, nullptr,
                                                   reply.get(), nullptr, nullptr, nullptr);
    return major == GSS_S_COMPLETE;
  }

  std::vector<byte> wrap(socks5::wire::bytes_view data, bool conf) {
    gss_buffer_desc in{data.size(), const_cast<byte*>(data.data())};
    socks5::gss::buffer out;
    OM_uint32 minor = 0;
    FUZZ_CHECK(!GSS_ERROR(
        gss_wrap(&minor, context.get(), conf, GSS_C_QOP_DEFAULT, &in, nullptr, out.get())));
    const auto v = out.view();
    return {v.begin(), v.end()};
  }
};

void append_frame(byte type, socks5::wire::bytes_view body, std::vector<byte>& out) {
  const std::size_t length = std::min(body.size(), socks5::wire::max_frame_body);
  const std::size_t at = out.size();
  out.resize(at + socks5::wire::frame_header_size);
  socks5::wire::encode_frame_header(type, static_cast<std::uint16_t>(length), out.data() + at);
  out.insert(out.end(), body.begin(), body.begin() + static_cast<std::ptrdiff_t>(length));
}

// What the scripted server sends, once the client's first token has been accepted.
std::vector<byte> script(acceptor& server, socks5::wire::bytes_view records) {
  static constexpr byte types[] = {0x01, 0x02, 0xff, 0x03};
  std::vector<byte> stream;
  for (std::size_t at = 0; at + 2 <= records.size();) {
    const byte ctl = records[at];
    const std::size_t length = std::min<std::size_t>(records[at + 1], records.size() - at - 2);
    const auto data = records.subspan(at + 2, length);
    at += 2 + length;
    if (ctl & 4)
      append_frame(types[ctl & 3], server.reply.view(), stream);
    else if (ctl & 8)
      append_frame(types[ctl & 3], server.wrap(data, ctl & 16), stream);
    else
      append_frame(types[ctl & 3], data, stream);
  }
  return stream;
}

void check_frame(socks5::wire::bytes_view out) {
  FUZZ_CHECK(out.size() >= socks5::wire::frame_header_size);
  FUZZ_CHECK(out[0] == 1 && (out[1] == 0x01 || out[1] == 0x02));
  FUZZ_CHECK(((std::size_t{out[2]} << 8) | out[3]) == out.size() - socks5::wire::frame_header_size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned config = data[0];
  const bool raw = config & 2;
  const auto in = fuzz::input(data + 1, size - 1);
  const auto client = make_client(config);
  const auto accepted = levels_for(config >> 2);

  auto machine = client.start({"localhost"});
  acceptor server;
  std::vector<byte> peer;  // the server's bytes, read by the machine in order
  if (raw) peer.assign(in.begin(), in.end());
  std::size_t at = 0, writes = 0;
  for (int steps = 0;; ++steps) {
    FUZZ_CHECK(steps < 1000);  // a machine that never ends
    const auto step = machine.next();
    if (step.what == auth_step::action::offload) {
      step.work();
    } else if (step.what == auth_step::action::write) {
      check_frame(step.output);
      if (writes++ == 0 && !raw) {
        // The first token is the AP-REQ for the minted ticket: the acceptor must take it.
        FUZZ_CHECK(step.output[1] == 0x01);
        FUZZ_CHECK(server.accept(step.output.subspan(socks5::wire::frame_header_size)));
        peer = script(server, in);
      }
    } else if (step.what == auth_step::action::read) {
      FUZZ_CHECK(!step.input.empty() && step.input.size() <= socks5::wire::max_frame_body);
      if (!fuzz::feed_read(step.input, peer, at)) return 0;  // the server hung up
    } else if (step.what == auth_step::action::fail) {
      FUZZ_CHECK(static_cast<bool>(step.error));
      FUZZ_CHECK(machine.take_protection() == nullptr);
      return 0;
    } else {
      // Done: only with a level this client listed, and protected unless that level is clear.
      const auto level = machine.level();
      FUZZ_CHECK(std::find(accepted.begin(), accepted.end(), level) != accepted.end());
      FUZZ_CHECK((machine.take_protection() != nullptr) == (level != gss_level::clear));
      FUZZ_CHECK(!raw);  // an honest context is needed to get this far
      return 0;
    }
  }
}
