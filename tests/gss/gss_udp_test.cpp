// UDP ASSOCIATE and BIND under GSS-API: datagrams wrapped whole with the session's context.
#include <doctest/doctest.h>

#include <asio/detached.hpp>

#include "bind_peer.hpp"
#include "gss_sides.hpp"
#include "proxy.hpp"
#include "records.hpp"
#include "run.hpp"
#include "socks5/auth/gssapi.hpp"
#include "socks5/bind.hpp"
#include "socks5/udp.hpp"
#include "udp_echo.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using test::gss_client;

namespace {

server_options gss_only(gss_level level) {
  GssapiAuth::server_options o;
  o.levels = {level};
  server_options s;
  s.methods = {test::gss_server(o)};
  return s;
}

}  // namespace

TEST_CASE("UDP under GSS-API levels 1 and 2: every datagram wrapped; a forged one dropped") {
  for (auto level : {gss_level::integrity, gss_level::confidentiality}) {
    INFO("level " << static_cast<int>(level));
    asio::io_context ctx;
    test::udp_echo echo(ctx);
    test::record_log log;
    auto options = gss_only(level);
    options.on_session_end = log.hook();
    test::proxy proxy(ctx, options);
    socks5::client c(ctx.get_executor(), "localhost", proxy.port(), gss_client(level));
    const address target(echo.endpoint());
    const std::string secret = "UDP-PLAINTEXT-MARKER";
    {
      auto result =
          test::run(ctx,
                    [&]() -> asio::awaitable<
                              std::tuple<std::error_code, udp_association<asio::ip::tcp::socket>>> {
                      auto r = co_await c.async_udp_associate(detail::use_tuple);
                      co_return r;
                    }());
      const std::error_code ec = std::get<0>(result);
      REQUIRE_MESSAGE(!ec, ec.message());
      auto& a = std::get<1>(result);
      auto reply = test::run(ctx, [&]() -> asio::awaitable<std::string> {
        for (int i = 0; i < 20; ++i)
          co_await a.async_send_to(asio::buffer(secret), target, asio::use_awaitable);
        std::array<char, 256> buf;
        address from;
        std::size_t n = 0;
        for (int i = 0; i < 20; ++i)
          n = co_await a.async_receive_from(asio::buffer(buf), from, asio::use_awaitable);
        co_return std::string(buf.data(), n);
      }());
      CHECK(reply == secret);
      // A plain RFC 1928 datagram from the client's own socket does not unwrap: dropped.
      wire::udp_header_buffer header;
      REQUIRE_FALSE(wire::encode(wire::udp_header{0, target}, header));
      std::vector<std::uint8_t> forged(header.data(), header.data() + header.size());
      forged.insert(forged.end(), secret.begin(), secret.end());
      a.socket().send_to(asio::buffer(forged), a.relay());
      ctx.run_for(200ms);
      CHECK(echo.received() == 20);
    }
    ctx.run_for(200ms);
    auto records = log.wait_for(1);
    REQUIRE(records.size() == 1);
    CHECK(records[0].datagrams_up == 20);
    CHECK(records[0].datagrams_down == 20);
    CHECK(records[0].datagrams_dropped == 1);
    CHECK(records[0].identity == "alice@TEST.SOCKS");
  }
}

TEST_CASE("BIND under GSS-API level 2: both replies and the relay inside the protection") {
  asio::io_context ctx;
  test::proxy proxy(ctx, gss_only(gss_level::confidentiality));
  socks5::client c(ctx.get_executor(), "localhost", proxy.port(),
                   gss_client(gss_level::confidentiality));
  auto heard = test::run(ctx, test::bind_and_hear(c, address("127.0.0.1", 0), "from the peer"));
  REQUIRE_MESSAGE(!heard.error, heard.error.message());
  CHECK(heard.text == "from the peer");
  CHECK(heard.peer.ip() == asio::ip::make_address("127.0.0.1"));
}
