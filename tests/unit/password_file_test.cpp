#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "socks5/auth/password_file.hpp"
#include "socks5/auth/user_pass.hpp"

using socks5::password_file;

TEST_CASE("password file: user:password lines, comments, blank lines, CRLF, ':' in passwords") {
  std::error_code ec;
  auto f = password_file::parse("# users\nalice:wonder:land\r\n\nbob:builder\n", ec);
  REQUIRE_FALSE(ec);
  CHECK(f.size() == 2);
  CHECK(f("alice", "wonder:land"));
  CHECK(f("bob", "builder"));
  CHECK_FALSE(f("bob", "builder "));
  CHECK_FALSE(f("bob", "builde"));
  CHECK_FALSE(f("carol", "builder"));
  CHECK_FALSE(f("", ""));
}

TEST_CASE("password file: malformed lines are reported with their number") {
  std::error_code ec;
  std::size_t line = 0;
  for (const char* bad : {"nocolon\n", ":nouser\n", "nopass:\n", "a:b\na:c\n"}) {
    INFO(bad);
    password_file::parse(bad, ec, &line);
    CHECK(ec == std::errc::invalid_argument);
  }
  password_file::parse("ok:1\n# fine\nbroken\n", ec, &line);
  CHECK(ec);
  CHECK(line == 3);
  password_file::parse("u:" + std::string(256, 'p') + "\n", ec);
  CHECK(ec);
}

TEST_CASE("password file: load from disk; a missing file is an error") {
  const std::string path = "password_file_test.users";
  {
    std::ofstream out(path);
    out << "dave:pw\n";
  }
  std::error_code ec;
  auto f = password_file::load(path, ec);
  std::remove(path.c_str());
  REQUIRE_FALSE(ec);
  CHECK(f("dave", "pw"));
  password_file::load("/nonexistent/users", ec);
  CHECK(ec);
  // A default-constructed file knows nobody.
  CHECK_FALSE(password_file{}("dave", "pw"));
}

TEST_CASE("constant_time_equal") {
  using socks5::constant_time_equal;
  CHECK(constant_time_equal("", ""));
  CHECK(constant_time_equal("secret", "secret"));
  CHECK_FALSE(constant_time_equal("secret", "secreT"));
  CHECK_FALSE(constant_time_equal("secret", "secret2"));
  CHECK_FALSE(constant_time_equal("secret2", "secret"));
  CHECK_FALSE(constant_time_equal("", "x"));
  CHECK_FALSE(constant_time_equal("x", ""));
  // Repeating the secret is not the secret.
  CHECK_FALSE(constant_time_equal("abab", "ab"));
}

namespace {

// The RFC 1929 server over `users` answers this request with STATUS 00 (true) or not.
bool accepted(const password_file& users, const std::string& user, const std::string& pass) {
  std::vector<std::uint8_t> request{0x01, static_cast<std::uint8_t>(user.size())};
  request.insert(request.end(), user.begin(), user.end());
  request.push_back(static_cast<std::uint8_t>(pass.size()));
  request.insert(request.end(), pass.begin(), pass.end());
  auto m = socks5::UserPassAuth::server{users}.start({});
  std::size_t at = 0;
  auto step = m.next();
  while (step.what == socks5::auth_step::action::read) {
    REQUIRE(at + step.input.size() <= request.size());
    std::copy_n(request.begin() + static_cast<std::ptrdiff_t>(at), step.input.size(),
                step.input.begin());
    at += step.input.size();
    step = m.next();
  }
  REQUIRE(step.what == socks5::auth_step::action::write);
  REQUIRE(step.output.size() == 2);
  const bool ok = step.output[1] == 0x00;
  const auto last = m.next();
  CHECK(ok == (last.what == socks5::auth_step::action::done));
  CHECK(m.identity() == (ok ? user : std::string()));
  return ok;
}

}  // namespace

TEST_CASE("RFC 1929 against a password file: right, wrong, empty, longest and unknown") {
  const std::string longest(255, 'L');
  std::error_code ec;
  auto users = password_file::parse("alice:wonderland\nlong:" + longest + "\n", ec);
  REQUIRE_FALSE(ec);
  CHECK(accepted(users, "alice", "wonderland"));
  CHECK_FALSE(accepted(users, "alice", "Wonderland"));
  CHECK_FALSE(accepted(users, "alice", "wonderlan"));
  CHECK_FALSE(accepted(users, "alice", "wonderland!"));
  CHECK_FALSE(accepted(users, "alice", ""));
  CHECK_FALSE(accepted(users, "alice", longest));
  CHECK(accepted(users, "long", longest));
  CHECK_FALSE(accepted(users, "long", longest.substr(1)));
  CHECK_FALSE(accepted(users, "long", longest.substr(0, 254) + "l"));
  // An unknown user is compared against a stand-in secret, and still refused whatever the
  // password, including someone else's and an empty one.
  CHECK_FALSE(accepted(users, "mallory", "wonderland"));
  CHECK_FALSE(accepted(users, "mallory", ""));
  CHECK_FALSE(accepted(users, "mallory", longest));
  CHECK_FALSE(accepted(users, "", "wonderland"));
  // The user name is matched exactly.
  CHECK_FALSE(accepted(users, "Alice", "wonderland"));
  CHECK_FALSE(accepted(users, "alice ", "wonderland"));
}
