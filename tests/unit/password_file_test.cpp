#include <doctest/doctest.h>

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
