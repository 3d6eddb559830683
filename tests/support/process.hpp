// Child processes for real-peer tests: started with posix_spawn, output captured to a file,
// killed and reaped when the owner goes away.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

extern char** environ;

namespace test {

// A fresh directory under the build's temporary area, removed at the end.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cosocks-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

  std::string write(const std::string& name, const std::string& content) const {
    const auto p = *this / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class process {
 public:
  // `env` entries are added to (or replace) the current environment.
  process(std::vector<std::string> argv, std::string output_file,
          std::map<std::string, std::string> env = {}, std::string input_file = "/dev/null")
      : output_(std::move(output_file)) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      std::string kv = *e;
      if (!env.count(kv.substr(0, kv.find('=')))) env_strings.push_back(kv);
    }
    for (const auto& [k, v] : env)
      env_strings.push_back(k + "=" + v);

    std::vector<char*> args, envp;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    for (auto& e : env_strings)
      envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, input_file.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const int rc = ::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }

  process(const process&) = delete;
  process& operator=(const process&) = delete;
  ~process() { kill(); }

  // Exit status, or nothing if still running after `limit`.
  std::optional<int> wait(std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    if (status_) return status_;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      int st = 0;
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return status_;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  bool running() { return !status_ && !wait(std::chrono::milliseconds(0)); }

  void signal(int sig) {
    if (!status_) ::kill(pid_, sig);
  }

  void kill() {
    if (status_) return;
    ::kill(pid_, SIGTERM);
    if (!wait(std::chrono::seconds(5))) {
      ::kill(pid_, SIGKILL);
      wait(std::chrono::seconds(5));
    }
  }

  std::string output() const { return read_file(output_); }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string output_;
  std::optional<int> status_;
};

// Runs a command to completion and returns its exit status (or -1 on timeout) and output.
inline std::pair<int, std::string> run_command(
    std::vector<std::string> argv, const temp_dir& dir,
    std::chrono::seconds limit = std::chrono::seconds(60),
    std::map<std::string, std::string> env = {}) {
  static int counter = 0;
  process p(std::move(argv), dir / ("command-" + std::to_string(++counter) + ".out"),
            std::move(env));
  const auto status = p.wait(limit);
  if (!status) p.kill();
  return {status.value_or(-1), p.output()};
}

// A port that was free a moment ago, for programs that cannot pick their own.
inline std::uint16_t free_port() {
  asio::io_context ctx;
  asio::ip::tcp::acceptor a(ctx, {asio::ip::address_v4::loopback(), 0});
  return a.local_endpoint().port();
}

// Waits until something accepts connections on 127.0.0.1:port.
inline bool wait_for_port(std::uint16_t port,
                          std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  asio::io_context ctx;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    asio::ip::tcp::socket s(ctx);
    std::error_code ec;
    s.connect({asio::ip::address_v4::loopback(), port}, ec);
    if (!ec) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Where a program is: a build output named by an environment variable (set by meson), or
// nothing when it is missing.
inline std::optional<std::string> program(const char* env_name) {
  const char* p = std::getenv(env_name);
  if (!p || !std::filesystem::exists(p)) return std::nullopt;
  return std::string(p);
}

}  // namespace test
