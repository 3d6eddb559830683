// A ready credential verifier over a file of "user:password" lines.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>

namespace socks5 {

// Format: one "user:password" per line; the password is everything after the first ':'.
// Blank lines and lines starting with '#' are ignored; a trailing CR is dropped. Both fields are
// 1-255 octets and a user appears once. Copies share the loaded table.
class password_file {
 public:
  static password_file load(const std::filesystem::path& path, std::error_code& ec);
  // Same as load() for text already in memory; `error_line` is the first bad line (1-based).
  static password_file parse(std::string_view text, std::error_code& ec,
                             std::size_t* error_line = nullptr);

  // True when the user exists and the password matches, compared in constant time; an unknown
  // user costs the same comparison.
  bool operator()(std::string_view user, std::string_view password) const;

  std::size_t size() const noexcept { return users_ ? users_->size() : 0; }

 private:
  std::shared_ptr<const std::unordered_map<std::string, std::string>> users_;
};

}  // namespace socks5
