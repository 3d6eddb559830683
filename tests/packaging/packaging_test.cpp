// cosocks as its users get it: installed with a pkg-config file, or as a Meson subproject.
#include <doctest/doctest.h>

#include <filesystem>

#include "process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  REQUIRE_MESSAGE(v, name << " must be set by the test runner");
  return v;
}

// Copies the consumer project into `dir`.
fs::path consumer_copy(const test::temp_dir& dir) {
  const fs::path from = fs::path(env("COSOCKS_SOURCE_DIR")) / "tests" / "packaging" / "consumer";
  const fs::path to = dir.path() / "consumer";
  fs::create_directories(to);
  for (const auto* name : {"meson.build", "main.cpp"})
    fs::copy_file(from / name, to / name);
  return to;
}

}  // namespace

TEST_CASE(
    "meson install: headers, library and cosocks.pc; a consumer builds against them and runs") {
  test::temp_dir dir;
  const auto destdir = dir / "root";
  auto [install_status, install_out] = test::run_command(
      {"meson", "install", "-C", env("COSOCKS_BUILD_DIR"), "--destdir", destdir, "--quiet"}, dir,
      300s);
  const std::string install_out_text = install_out;  // clang 14 cannot capture bindings
  INFO(install_out_text);
  REQUIRE(install_status == 0);

  // Find what was installed, wherever the prefix and libdir put it.
  fs::path pc, header, libdir;
  for (const auto& e : fs::recursive_directory_iterator(destdir)) {
    if (e.path().filename() == "cosocks.pc") pc = e.path();
    if (e.path().filename() == "server.hpp" && e.path().parent_path().filename() == "socks5")
      header = e.path();
    if (e.path().filename().string().rfind("libcosocks.so", 0) == 0)
      libdir = e.path().parent_path();
  }
  REQUIRE_FALSE(pc.empty());
  REQUIRE_FALSE(header.empty());
  REQUIRE_FALSE(libdir.empty());
  const auto pc_text = test::read_file(pc.string());
  CHECK(pc_text.find("Name: cosocks") != std::string::npos);
  // BoringSSL is private to the shared library: a consumer never links OpenSSL by mistake.
  CHECK(pc_text.find("-lssl") == std::string::npos);
  CHECK(pc_text.find("prefix=${pcfiledir}") != std::string::npos);

  const auto src = consumer_copy(dir);
  // The .pc file is relocatable: found through PKG_CONFIG_PATH, it points into the destdir.
  const std::map<std::string, std::string> pkg_env = {
      {"PKG_CONFIG_PATH", pc.parent_path().string()}};
  auto [setup_status, setup_out] = test::run_command(
      {"meson", "setup", dir / "consumer-build", src.string(), "--wrap-mode=nofallback"}, dir, 300s,
      pkg_env);
  const std::string setup_out_text = setup_out;  // clang 14 cannot capture bindings
  INFO(setup_out_text);
  REQUIRE(setup_status == 0);
  CHECK(setup_out.find("Run-time dependency cosocks found: YES") != std::string::npos);
  auto [build_status, build_out] =
      test::run_command({"ninja", "-C", dir / "consumer-build"}, dir, 600s);
  const std::string build_out_text = build_out;  // clang 14 cannot capture bindings
  INFO(build_out_text);
  REQUIRE(build_status == 0);
  auto [run_status, run_out] = test::run_command({dir / "consumer-build/consumer"}, dir, 60s,
                                                 {{"LD_LIBRARY_PATH", libdir.string()}});
  CHECK(run_status == 0);
  CHECK(run_out == "ok\n");

  // The installed program loads the installed library, which finds BoringSSL by itself.
  fs::path proxy;
  for (const auto& e : fs::recursive_directory_iterator(destdir))
    if (e.path().filename() == "socks5-proxy") proxy = e.path();
  REQUIRE_FALSE(proxy.empty());
  auto [help_status, help_out] = test::run_command({proxy.string(), "--help"}, dir, 60s,
                                                   {{"LD_LIBRARY_PATH", libdir.string()}});
  CHECK(help_status == 0);
}

TEST_CASE(
    "as a Meson subproject: dependency('cosocks') resolves through meson.override_dependency") {
  test::temp_dir dir;
  const auto src = consumer_copy(dir);
  fs::create_directories(src / "subprojects");
  fs::create_directory_symlink(env("COSOCKS_SOURCE_DIR"), src / "subprojects" / "cosocks");
  auto [setup_status, setup_out] = test::run_command(
      {"meson", "setup", dir / "consumer-build", src.string(), "--wrap-mode=nodownload",
       "--force-fallback-for=cosocks", "-Dcosocks:tests=false", "-Dcosocks:examples=false",
       "-Dcosocks:benchmarks=false"},
      dir, 300s);
  const std::string setup_out_text = setup_out;  // clang 14 cannot capture bindings
  INFO(setup_out_text);
  REQUIRE(setup_status == 0);
  CHECK(setup_out.find("cosocks") != std::string::npos);
  auto [build_status, build_out] =
      test::run_command({"ninja", "-C", dir / "consumer-build"}, dir, 900s);
  const std::string build_out_text = build_out;  // clang 14 cannot capture bindings
  INFO(build_out_text);
  REQUIRE(build_status == 0);
  auto [run_status, run_out] = test::run_command({dir / "consumer-build/consumer"}, dir, 60s);
  CHECK(run_status == 0);
  CHECK(run_out == "ok\n");
}
