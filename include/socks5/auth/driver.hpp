// The one driver that runs any auth state machine, and the reader for length-prefixed
// messages, over any AsyncStream.
#pragma once

#include <functional>
#include <memory>

#include <asio/associated_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/execution/context.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/query.hpp>
#include <asio/read.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "socks5/auth/method.hpp"
#include "socks5/detail/blocking_threads.hpp"
#include "socks5/detail/message_reader.hpp"

namespace socks5 {

namespace detail {

inline constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// Runs `work` on a thread of its own and resumes on the coroutine's executor, which is kept
// busy meanwhile so that run() does not return. The work cannot be interrupted; what it waits
// on must have its own timeout (a KDC has). The thread belongs to the executor's context: if the
// context is destroyed first, its destruction waits for the work, which may use the coroutine's
// state (the handler that owns that state is held until the work has ended).
inline asio::awaitable<void> run_blocking(std::function<void()>& work) {
  auto ex = co_await asio::this_coro::executor;
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
      [ex, &work](auto handler) {
        auto held = std::make_shared<decltype(handler)>(std::move(handler));
        auto& context = asio::query(ex, asio::execution::context);
        start_blocking_thread(
            context, [w = std::move(work), held, guard = asio::make_work_guard(ex)]() mutable {
              w();
              auto resume_ex = asio::get_associated_executor(*held, guard.get_executor());
              asio::post(resume_ex, [held] {
                auto resume = std::move(*held);
                resume();
              });
            });
      },
      asio::use_awaitable);
}

}  // namespace detail

// Runs `machine` to its end over `stream`. Reads only what the machine asks for, so the stream
// holds exactly the octets that follow the negotiation.
template <class Stream, class Machine>
asio::awaitable<std::error_code> run_auth(Stream& stream, Machine& machine) {
  // Plain if-chains and named locals: no temporary with a destructor lives across a co_await,
  // which both GCC 12 and clang 14 mishandle.
  for (;;) {
    auth_step step = machine.next();
    if (step.what == auth_step::action::write) {
      auto [ec, n] = co_await asio::async_write(
          stream, asio::buffer(step.output.data(), step.output.size()), detail::use_tuple);
      if (ec) co_return ec;
    } else if (step.what == auth_step::action::read) {
      // An empty read would make no progress: a machine asking for one is broken.
      if (step.input.empty()) co_return errc::general_failure;
      auto [ec, n] = co_await asio::async_read(
          stream, asio::buffer(step.input.data(), step.input.size()), detail::use_tuple);
      if (ec) co_return ec;
    } else if (step.what == auth_step::action::offload) {
      co_await detail::run_blocking(step.work);
    } else if (step.what == auth_step::action::done) {
      co_return std::error_code{};
    } else {
      co_return step.error;
    }
  }
}

// Reads one message with an incremental parser (see wire/buffer.hpp), octet-exact.
template <class Stream, std::size_t N, class Parser>
asio::awaitable<decltype(std::declval<Parser>()(wire::bytes_view{}))> read_message(
    Stream& stream, detail::message_reader<N>& reader, Parser parse) {
  using result = decltype(parse(wire::bytes_view{}));
  for (;;) {
    auto r = parse(reader.data());
    if (!r.incomplete()) co_return r;
    const auto space = reader.prepare(r.size);
    if (space.empty()) co_return result::fail(errc::truncated_message);
    auto [ec, n] = co_await asio::async_read(stream, asio::buffer(space.data(), space.size()),
                                             detail::use_tuple);
    if (ec) co_return result::fail(ec);
    reader.commit();
  }
}

}  // namespace socks5
