// The SSL method's negotiation for either side, as one I/O-free machine: the TLS handshake in
// STATE 01 frames, the option messages in STATE 02, and, when agreed, a whole RFC 1928 method
// negotiation with the chosen method's own machine running inside TLS, still in STATE 02.
#pragma once

#include <memory>
#include <string>

#include "config.hpp"
#include "socks5/auth/any_auth.hpp"
#include "socks5/auth/tls_protection.hpp"
#include "socks5/wire/ssl_options.hpp"

namespace socks5::tls {

class negotiation {
 public:
  // Client side: the session for `server_name`.
  negotiation(std::shared_ptr<const detail::ssl_client_config> config, std::string server_name);
  // Server side.
  explicit negotiation(std::shared_ptr<const detail::ssl_server_config> config);

  auth_step next();

  bool udp_naked() const noexcept { return udp_naked_; }
  bool resumed() const noexcept { return resumed_; }
  const std::string& identity() const noexcept { return identity_; }
  std::unique_ptr<protection> take_protection();

 private:
  enum class stage {
    start,
    handshake_written,    // a handshake flight went out: receive the next frame
    handshake_receiving,  // a frame of the handshake is coming in
    plain_receiving,      // frames are coming in until need_ octets of plaintext are there
    written,              // a write of the option phase went out: go on with then_
    sub_running,          // the inner method's write or offload is done: ask it again
    failing,              // an alert is going out; then fail
    done,
    failed,
  };
  // What to do once a write went out or enough plaintext arrived.
  enum class then {
    options_answer,
    options_request,
    method_request,
    method_selection,
    sub_read,
    sub_step
  };

  auth_step fail(std::error_code ec);
  auth_step handshake();
  auth_step handshake_done();
  auth_step send_then(then next);  // writes out_, then continues with `next`
  auth_step need(std::size_t octets, then next);
  auth_step resume(then next);
  auth_step on_options_answer();    // client
  auth_step on_options_request();   // server
  auth_step on_method_request();    // server
  auth_step on_method_selection();  // client
  auth_step run_sub();
  auth_step finish();
  // Writes plaintext through TLS, framed in STATE 02, into out_.
  void write_plain(wire::bytes_view plain);

  bool is_client_;
  std::shared_ptr<const detail::ssl_client_config> client_config_;
  std::shared_ptr<const detail::ssl_server_config> server_config_;
  std::string server_name_;  // client: what the certificate must name (and the session key)

  std::unique_ptr<channel> channel_;
  stage at_ = stage::start;
  then then_ = then::options_answer;
  std::size_t need_ = 0;
  std::error_code error_;
  std::vector<wire::byte> out_;

  wire::ssl_options offered_;  // client: what it offered
  bool udp_naked_ = false;
  bool resumed_ = false;
  std::string identity_;

  // The method running inside TLS (Subauthentication), and its pending read.
  std::unique_ptr<auth_machine> sub_;
  std::span<wire::byte> sub_input_;
};

}  // namespace socks5::tls
