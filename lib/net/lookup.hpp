// Name lookups that run side by side. Asio's resolver runs every lookup of one execution
// context on a single background thread, so one name server that never answers would hold up
// every name behind it, for every client. Here each execution context gets a few lookup threads
// of its own (created on its first lookup, joined when it shuts down).
#pragma once

#include <functional>
#include <string>
#include <system_error>

#include <asio/any_io_executor.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

namespace socks5::detail {

// How many names one execution context looks up at once.
inline constexpr int lookup_threads = 8;

// Looks `host`:`service` up on a lookup thread of `ex`'s context; `done` then runs on `ex`. A
// lookup under way cannot be interrupted: whoever gives up on it ignores its result.
void async_lookup(const asio::any_io_executor& ex, std::string host, std::string service,
                  std::function<void(std::error_code, asio::ip::tcp::resolver::results_type)> done);
void async_lookup(const asio::any_io_executor& ex, std::string host, std::string service,
                  std::function<void(std::error_code, asio::ip::udp::resolver::results_type)> done);

}  // namespace socks5::detail
