// Runs coroutines to completion in tests, with a watchdog so that a hang fails instead of
// blocking the suite.
#pragma once

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

namespace test {

template <class T>
T run(asio::io_context& ctx, asio::awaitable<T> op,
      std::chrono::seconds limit = std::chrono::seconds(60)) {
  std::optional<T> result;
  std::exception_ptr error;
  bool finished = false;
  // Through an optional: co_spawn wants a default-constructible result.
  auto wrapped = [](asio::awaitable<T> inner) -> asio::awaitable<std::optional<T>> {
    T result = co_await std::move(inner);
    std::optional<T> out;
    out.emplace(std::move(result));
    co_return out;
  };
  asio::co_spawn(ctx, wrapped(std::move(op)), [&](std::exception_ptr e, std::optional<T> value) {
    error = e;
    if (!e) result = std::move(value);
    finished = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  ctx.restart();
  while (!finished && std::chrono::steady_clock::now() < deadline) {
    if (ctx.run_one_for(std::chrono::milliseconds(100)) == 0 && ctx.stopped()) ctx.restart();
  }
  if (!finished) throw std::runtime_error("operation did not finish in time");
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

inline void run(asio::io_context& ctx, asio::awaitable<void> op,
                std::chrono::seconds limit = std::chrono::seconds(60)) {
  auto wrapped = [](asio::awaitable<void> inner) -> asio::awaitable<bool> {
    co_await std::move(inner);
    co_return true;
  };
  run(ctx, wrapped(std::move(op)), limit);
}

}  // namespace test
