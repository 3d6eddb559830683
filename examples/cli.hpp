// Small command-line helpers shared by the example programs.
#pragma once

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>
#include <asio/ip/tcp.hpp>

#include "socks5/address.hpp"
#include "socks5/auth/gssapi.hpp"

namespace cli {

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  fmt::print(stderr, "error: {}\n", fmt::format(format, std::forward<Args>(args)...));
  std::exit(2);
}

// Walks argv: options ("--name" or "--name=value") and positional arguments in order.
class arguments {
 public:
  arguments(int argc, char** argv) : argc_(argc), argv_(argv) {}

  // The next option, or nothing when the next argument is positional or there is none.
  std::optional<std::string> next() {
    pending_value_.reset();
    if (i_ >= argc_) return std::nullopt;
    std::string_view a = argv_[i_];
    if (a == "--") {
      ++i_;
      return std::nullopt;
    }
    if (a.size() < 3 || a.substr(0, 2) != "--") return std::nullopt;
    ++i_;
    if (const auto eq = a.find('='); eq != std::string_view::npos) {
      pending_value_ = std::string(a.substr(eq + 1));
      return std::string(a.substr(0, eq));
    }
    return std::string(a);
  }

  // The value of the option just returned by next().
  std::string value() {
    if (pending_value_) return *std::exchange(pending_value_, std::nullopt);
    if (i_ >= argc_) fail("option '{}' needs a value", argv_[i_ - 1]);
    return argv_[i_++];
  }

  // The next positional argument, consumed.
  std::optional<std::string> positional() {
    if (i_ >= argc_) return std::nullopt;
    return std::string(argv_[i_++]);
  }

 private:
  int argc_;
  char** argv_;
  int i_ = 1;
  std::optional<std::string> pending_value_;
};

inline std::size_t number(std::string_view text, std::size_t min, std::size_t max) {
  std::size_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < min || v > max)
    fail("'{}' is not a number between {} and {}", text, min, max);
  return v;
}

// A decimal number from `min` to `max`.
inline double real(std::string_view text, double min, double max) {
  double v = 0;
  try {
    std::size_t used = 0;
    v = std::stod(std::string(text), &used);
    if (used != text.size()) throw std::invalid_argument("");
  } catch (const std::exception&) {
    fail("'{}' is not a number", text);
  }
  if (!(v >= min && v <= max)) fail("'{}' is not a number between {} and {}", text, min, max);
  return v;
}

// --help: prints the usage and ends the program.
[[noreturn]] inline void usage(std::string_view text) {
  fmt::print("{}", text);
  std::exit(0);
}

// Ends the program when an argument is left that no option took.
inline void no_more(arguments& args) {
  if (const auto extra = args.positional()) fail("unexpected argument '{}' (see --help)", *extra);
}

inline std::chrono::milliseconds seconds(std::string_view text) {
  double v = 0;
  try {
    std::size_t used = 0;
    v = std::stod(std::string(text), &used);
    if (used != text.size() || v < 0) throw std::invalid_argument("");
  } catch (const std::exception&) {
    fail("'{}' is not a number of seconds", text);
  }
  return std::chrono::milliseconds(static_cast<long long>(v * 1000));
}

inline socks5::address host_port(std::string_view text) {
  std::error_code ec;
  auto a = socks5::address::parse(text, ec);
  if (ec) fail("'{}' is not HOST:PORT", text);
  return a;
}

inline asio::ip::address ip(std::string_view text) {
  std::error_code ec;
  auto a = asio::ip::make_address(std::string(text), ec);
  if (ec) fail("'{}' is not an IP address", text);
  return a;
}

// ADDR:PORT or [V6]:PORT with an IP literal; `if_name` is the complaint about a name.
inline asio::ip::tcp::endpoint literal_endpoint(std::string_view text, std::string_view if_name) {
  const auto a = host_port(text);
  if (a.is_domain()) fail("'{}': {}", text, if_name);
  return a.tcp_endpoint();
}

// Listening endpoints are IP literals.
inline asio::ip::tcp::endpoint endpoint(std::string_view text) {
  return literal_endpoint(text, "listen on an IP address, not a name");
}

// Endpoints to connect to without a lookup: IP literals, and a port that is not 0.
inline asio::ip::tcp::endpoint peer_endpoint(std::string_view text) {
  const auto e = literal_endpoint(text, "not an IP address");
  if (e.port() == 0) fail("'{}': bad port", text);
  return e;
}

inline std::string quote(const std::string& s) {
  return "\"" + s + "\"";
}

// "1,2" -> GSS-API protection levels; 0 only where `allow_clear`.
inline std::vector<socks5::gss_level> gss_levels(std::string_view text, bool allow_clear) {
  std::vector<socks5::gss_level> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto v = number(text.substr(0, comma), allow_clear ? 0 : 1, 2);
    out.push_back(static_cast<socks5::gss_level>(v));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  if (out.empty()) fail("no protection levels given");
  return out;
}

}  // namespace cli
