// Both RFC 1929 state machines fed hostile input the way the driver would: each read is filled
// from the input, and the machine must end (done or failed) without asking for more than the
// protocol allows.

#include "fuzz.hpp"
#include "socks5/auth/user_pass.hpp"

namespace {

template <class Machine>
void drive(Machine& m, socks5::wire::bytes_view in) {
  using socks5::auth_step;
  std::size_t at = 0;
  for (int steps = 0; steps < 16; ++steps) {
    const auth_step step = m.next();
    switch (step.what) {
      case auth_step::action::write:
        FUZZ_CHECK(!step.output.empty() && step.output.size() <= 513);
        break;
      case auth_step::action::read: {
        FUZZ_CHECK(!step.input.empty() && step.input.size() <= 513);
        if (!fuzz::feed_read(step.input, in, at)) return;  // the peer hung up
        break;
      }
      case auth_step::action::offload: step.work(); break;
      case auth_step::action::done:
      case auth_step::action::fail: return;
    }
  }
  std::abort();  // a machine that never ends
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = fuzz::input(data, size);
  auto server = socks5::UserPassAuth::server{[](std::string_view u, std::string_view p) {
                  return u == "user" && p == "pass";
                }}.start({});
  drive(server, in);
  auto client = socks5::UserPassAuth::client{"user", "pass"}.start({});
  drive(client, in);
  return 0;
}
