#include "socks5/auth/password_file.hpp"

#include <fstream>
#include <sstream>

#include "socks5/auth/user_pass.hpp"

namespace socks5 {

password_file password_file::load(const std::filesystem::path& path, std::error_code& ec) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ec = std::make_error_code(std::errc::no_such_file_or_directory);
    return {};
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), ec);
}

password_file password_file::parse(std::string_view text, std::error_code& ec,
                                   std::size_t* error_line) {
  ec.clear();
  auto users = std::make_shared<std::unordered_map<std::string, std::string>>();
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const auto colon = line.find(':');
    const bool ok =
        colon != std::string_view::npos && colon > 0 && colon <= 255 &&
        line.size() - colon - 1 >= 1 && line.size() - colon - 1 <= 255 &&
        users->emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)))
            .second;
    if (!ok) {
      ec = std::make_error_code(std::errc::invalid_argument);
      if (error_line) *error_line = line_no;
      return {};
    }
  }
  password_file f;
  f.users_ = std::move(users);
  return f;
}

bool password_file::operator()(std::string_view user, std::string_view password) const {
  static constexpr std::string_view no_such_user = "\x01no-such-user-password-placeholder\x01";
  if (!users_) return false;
  const auto it = users_->find(std::string(user));
  const bool known = it != users_->end();
  const bool match = constant_time_equal(password, known ? it->second : no_such_user);
  return known && match;
}

}  // namespace socks5
