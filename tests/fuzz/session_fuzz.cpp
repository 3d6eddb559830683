// A whole server session fed from a byte string. The first octet picks the configuration; the
// rest is everything the client sends: PROXY header (when enabled), greeting, RFC 1929
// sub-negotiation, request, relayed data. The session runs over one end of a socketpair(2)
// inside this process, and its handler never lets it reach a network: CONNECT is denied or
// handed an upstream that is another in-process socketpair; BIND and UDP ASSOCIATE are denied.
#include <sys/socket.h>

#include <array>
#include <list>
#include <memory>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "../../lib/server/session.hpp"
#include "fuzz.hpp"
#include "socks5/auth/user_pass.hpp"
#include "socks5/metrics.hpp"

namespace {

using asio::ip::tcp;

// Configuration bits of the first octet.
constexpr std::uint8_t user_pass_first = 0x01;  // else no-auth is preferred
constexpr std::uint8_t user_pass_only = 0x02;   // no-auth not offered at all
constexpr std::uint8_t use_upstream = 0x04;     // CONNECT relays to an in-process peer
constexpr std::uint8_t proxy_header = 0x08;     // a PROXY protocol header comes first
constexpr std::uint8_t splice = 0x10;           // relay with splice(2)
constexpr std::uint8_t with_metrics = 0x20;
constexpr std::uint8_t config_bits = 0x3f;

// What the upstream peer says before it reads anything.
constexpr std::array<std::uint8_t, 9> upstream_hello{'u', 'p', 's', 't', 'r', 'e', 'a', 'm', '\n'};

// A connected pair of stream sockets; the first end is typed as TCP, as the session wants it.
std::pair<tcp::socket, tcp::socket> socket_pair(asio::io_context& io) {
  int fds[2];
  FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  tcp::socket a(io), b(io);
  a.assign(tcp::v4(), fds[0]);
  b.assign(tcp::v4(), fds[1]);
  return {std::move(a), std::move(b)};
}

// Reads until the end of the stream, keeping what came.
void drain(tcp::socket& s, std::vector<std::uint8_t>& into) {
  auto chunk = std::make_shared<std::array<std::uint8_t, 4096>>();
  s.async_read_some(asio::buffer(*chunk), [&s, &into, chunk](std::error_code ec, std::size_t n) {
    into.insert(into.end(), chunk->begin(), chunk->begin() + static_cast<std::ptrdiff_t>(n));
    if (!ec) drain(s, into);
  });
}

// The upstream peer: greets, half-closes, reads everything, then the pair ends.
void serve_upstream(tcp::socket& s, std::vector<std::uint8_t>& received) {
  asio::async_write(s, asio::buffer(upstream_hello), [&s, &received](std::error_code, std::size_t) {
    std::error_code ignored;
    s.shutdown(tcp::socket::shutdown_send, ignored);
    drain(s, received);
  });
}

struct run_state {
  std::list<tcp::socket> upstream_peers;  // stable addresses for their handlers
  std::vector<std::uint8_t> upstream_received;
  int sessions_ended = 0;
  socks5::session_record record;
};

// One server state per configuration, kept across inputs like a real server's.
std::shared_ptr<socks5::server::state> state_for(asio::io_context& io, std::uint8_t config,
                                                 run_state*& current) {
  static std::array<std::shared_ptr<socks5::server::state>, config_bits + 1> states;
  auto& st = states[config];
  if (st) return st;

  socks5::server_options o;
  o.methods.clear();
  const socks5::UserPassAuth::server user_pass{
      [](std::string_view u, std::string_view p) { return u == "user" && p == "pass"; }};
  if (config & user_pass_only) {
    o.methods.emplace_back(user_pass);
  } else if (config & user_pass_first) {
    o.methods.emplace_back(user_pass);
    o.methods.emplace_back(socks5::NoAuth::server{});
  } else {
    o.methods.emplace_back(socks5::NoAuth::server{});
    o.methods.emplace_back(user_pass);
  }
  // Generous: the whole input is in the socket before the session starts, so nothing waits.
  o.handshake_timeout = std::chrono::seconds(60);
  o.proxy_protocol = config & proxy_header;
  o.relay_splice = config & splice;
  o.relay_buffer_size = 4096;
  o.allow_bind = false;
  o.allow_udp = false;
  if (config & with_metrics) o.metrics = std::make_shared<socks5::metrics>();
  o.handler = [&io, &current,
               config](const socks5::request_context& c) -> asio::awaitable<socks5::decision> {
    if (c.cmd != socks5::command::connect || !(config & use_upstream))
      co_return socks5::decision::deny(static_cast<socks5::reply_code>(1 + c.target.port() % 8));
    auto pair = socket_pair(io);
    serve_upstream(current->upstream_peers.emplace_back(std::move(pair.second)),
                   current->upstream_received);
    co_return socks5::decision::use(socks5::upstream_stream(std::move(pair.first)));
  };
  o.on_session_end = [&current](const socks5::session_record& r) {
    ++current->sessions_ended;
    current->record = r;
  };
  st = std::make_shared<socks5::server::state>(io.get_executor(), std::move(o));
  return st;
}

asio::awaitable<void> run_session(std::shared_ptr<socks5::session> s) {
  co_await s->run();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static asio::io_context io;
  static run_state* current = nullptr;
  const std::uint8_t config = data[0] & config_bits;
  const std::vector<std::uint8_t> client_bytes(data + 1, data + size);

  run_state run;
  current = &run;
  auto st = state_for(io, config, current);

  auto pair = socket_pair(io);
  tcp::socket client = std::move(pair.second);
  std::vector<std::uint8_t> from_server;
  asio::async_write(client, asio::buffer(client_bytes), [&client](std::error_code, std::size_t) {
    std::error_code ignored;
    client.shutdown(tcp::socket::shutdown_send, ignored);
  });
  drain(client, from_server);

  auto s = std::make_shared<socks5::session>(st, std::move(pair.first));
  asio::co_spawn(io, run_session(std::move(s)), asio::detached);
  io.restart();
  io.run();

  // The session ended once, is gone, and what the client heard matches what it recorded.
  FUZZ_CHECK(run.sessions_ended == 1);
  FUZZ_CHECK(st->active.load() == 0 && st->sessions.empty());
  const auto& r = run.record;
  if (r.method) {
    FUZZ_CHECK(from_server.size() >= 2 && from_server[0] == 5 && from_server[1] == *r.method);
  } else if (!from_server.empty()) {
    FUZZ_CHECK(from_server.size() == 2 && from_server[0] == 5 && from_server[1] == 0xff);
  }
  if (r.reply && *r.reply != socks5::reply_code::succeeded) {
    // A refusal is the last thing said: 05 REP 00 01 0.0.0.0:0.
    const std::array<std::uint8_t, 10> refusal{5, static_cast<std::uint8_t>(*r.reply), 0, 1};
    FUZZ_CHECK(from_server.size() >= refusal.size());
    FUZZ_CHECK(std::equal(refusal.begin(), refusal.end(), from_server.end() - 10));
    FUZZ_CHECK(r.error);
  }
  if (r.reply == socks5::reply_code::succeeded) {
    // The upstream peer's greeting reached the client after the reply.
    FUZZ_CHECK(from_server.size() >= upstream_hello.size());
    FUZZ_CHECK(std::equal(upstream_hello.begin(), upstream_hello.end(),
                          from_server.end() - static_cast<std::ptrdiff_t>(upstream_hello.size())));
    FUZZ_CHECK(r.bytes_down == upstream_hello.size());
    FUZZ_CHECK(r.bytes_up == run.upstream_received.size());
  }
  current = nullptr;
  return 0;
}
