// Runs a coroutine as an asynchronous operation that completes with (error_code, T), so any
// completion token works (use_awaitable, as_tuple, callbacks) and per-operation cancellation
// reaches the coroutine's awaited operations.
#pragma once

#include <exception>
#include <optional>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/this_coro.hpp>

namespace socks5::detail {

// co_spawn needs a default-constructible result, which streams are not: carry it in an optional.
template <class R>
asio::awaitable<std::optional<R>> as_optional(asio::awaitable<R> op) {
  R result = co_await std::move(op);
  std::optional<R> out;
  out.emplace(std::move(result));
  co_return out;
}

template <class T, class Executor, class Token>
auto async_spawn(Executor ex, asio::awaitable<std::tuple<std::error_code, T>> op, Token&& token) {
  using result = std::tuple<std::error_code, T>;
  return asio::async_initiate<Token, void(std::error_code, T)>(
      [ex](auto handler, asio::awaitable<result> op) mutable {
        auto slot = asio::get_associated_cancellation_slot(handler);
        auto handler_ex = asio::get_associated_executor(handler, ex);
        // The coroutines report errors as values; an exception here is bad_alloc.
        if constexpr (std::is_default_constructible_v<result>) {
          asio::co_spawn(ex, std::move(op),
                         asio::bind_cancellation_slot(
                             slot, asio::bind_executor(
                                       handler_ex, [h = std::move(handler)](std::exception_ptr e,
                                                                            result r) mutable {
                                         if (e) std::rethrow_exception(e);
                                         std::apply(std::move(h), std::move(r));
                                       })));
        } else {
          asio::co_spawn(
              ex, as_optional(std::move(op)),
              asio::bind_cancellation_slot(
                  slot, asio::bind_executor(
                            handler_ex, [h = std::move(handler)](std::exception_ptr e,
                                                                 std::optional<result> r) mutable {
                              if (e) std::rethrow_exception(e);
                              std::apply(std::move(h), std::move(*r));
                            })));
        }
      },
      token, std::move(op));
}

// True when the awaiting operation was cancelled, even between two awaited operations.
inline asio::awaitable<bool> cancelled() {
  auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

}  // namespace socks5::detail
