// The accept loop of the in-process test targets: every connection gets its own coroutine.
#pragma once

#include <memory>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>

#include "socks5/auth/driver.hpp"

namespace test {

template <class Serve>
asio::awaitable<void> accept_each(std::shared_ptr<asio::ip::tcp::acceptor> acceptor, Serve serve) {
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(socks5::detail::use_tuple);
    if (ec) co_return;
    asio::co_spawn(acceptor->get_executor(), serve(std::move(socket)), asio::detached);
  }
}

}  // namespace test
