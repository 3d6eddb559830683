// socks5-proxy's security defaults, as a program: loopback unless told otherwise, no open proxy
// without asking for it by name, and access rules (--rule, --rules) on the wire.
#include <doctest/doctest.h>

#include <filesystem>
#include <set>

#include "process.hpp"
#include "threaded.hpp"

using namespace std::chrono_literals;
using asio::ip::tcp;
using test::b;
using test::bytes;

namespace {

std::string proxy_bin() {
  const auto bin = test::program("SOCKS5_PROXY_BIN");
  REQUIRE(bin);
  return *bin;
}

// The socket inodes a process holds open.
std::set<std::string> socket_inodes(pid_t pid) {
  std::set<std::string> out;
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(e.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0) out.insert(target.substr(8, target.size() - 9));
  }
  return out;
}

// Local addresses ("0100007F:0438", kernel notation) of the listening TCP sockets among `inodes`.
std::vector<std::string> listening_addresses(const std::set<std::string>& inodes) {
  std::vector<std::string> out;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream lines(test::read_file(table));
    std::string line;
    std::getline(lines, line);  // the heading
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      if (state == "0A" && inodes.count(inode)) out.push_back(local);
    }
  }
  return out;
}

bool port_free(const asio::ip::address& a, std::uint16_t port) {
  asio::io_context ctx;
  tcp::acceptor acceptor(ctx);
  std::error_code ec;
  acceptor.open(a.is_v4() ? tcp::v4() : tcp::v6(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind({a, port}, ec);
  if (!ec) acceptor.listen(1, ec);
  return !ec;
}

// Runs socks5-proxy with `args` expecting it to refuse to start: exit status and output.
std::pair<int, std::string> refused_start(const test::temp_dir& dir,
                                          std::vector<std::string> args) {
  args.insert(args.begin(), proxy_bin());
  // A proxy that starts instead runs until the limit: then -1, and the test fails.
  return test::run_command(args, dir, std::chrono::seconds(20));
}

// Waits until something accepts connections on host:port.
bool accepting(const std::string& host, std::uint16_t port) {
  asio::io_context ctx;
  const tcp::endpoint ep(asio::ip::make_address(host), port);
  for (int i = 0; i < 1000; ++i) {
    tcp::socket s(ctx);
    std::error_code ec;
    s.connect(ep, ec);
    if (!ec) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// A proxy that must start and accept on host:port (directly, or through 0.0.0.0).
struct running_proxy {
  running_proxy(const test::temp_dir& dir, std::uint16_t port, std::vector<std::string> args,
                const std::string& host = "127.0.0.1")
      : proc(with_bin(std::move(args)), dir / ("proxy-" + std::to_string(port) + ".log")) {
    const bool up = accepting(host, port);
    const std::string log = proc.output();
    INFO(log);
    REQUIRE(up);
  }
  static std::vector<std::string> with_bin(std::vector<std::string> args) {
    args.insert(args.begin(), proxy_bin());
    return args;
  }
  test::process proc;
};

struct echo_thread {
  echo_thread() : echo(ctx), thread([this] { ctx.run_for(120s); }) {}
  ~echo_thread() {
    ctx.stop();
    thread.join();
  }
  asio::io_context ctx;
  test::echo_server echo;
  std::thread thread;
};

struct socks_attempt {
  const char* source = "127.0.0.1";
  std::string user, password;  // username/password when user is set
  bytes request;
};

// One session with blocking sockets: the reply code (or -1 if none came) and, on success,
// whether a message came back from the echo target.
std::pair<int, bool> attempt(std::uint16_t proxy_port, const socks_attempt& a) {
  asio::io_context ctx;
  tcp::socket s(ctx);
  s.open(tcp::v4());
  s.bind({asio::ip::make_address(a.source), 0});
  s.connect({asio::ip::address_v4::loopback(), proxy_port});
  const std::uint8_t method = a.user.empty() ? 0x00 : 0x02;
  test::send(s, b({0x05, 0x01, method}));
  if (test::receive(s, 2) != b({0x05, method})) return {-1, false};
  if (!a.user.empty()) {
    bytes auth{0x01, static_cast<std::uint8_t>(a.user.size())};
    auth.insert(auth.end(), a.user.begin(), a.user.end());
    auth.push_back(static_cast<std::uint8_t>(a.password.size()));
    auth.insert(auth.end(), a.password.begin(), a.password.end());
    test::send(s, auth);
    if (test::receive(s, 2) != b({0x01, 0x00})) return {-1, false};
  }
  test::send(s, a.request);
  const auto reply = test::receive(s, 10);
  if (reply.size() < 2) return {-1, false};
  if (reply[1] != 0x00) return {reply[1], false};
  const bytes ping = test::text("ping");
  test::send(s, ping);
  return {0, test::receive(s, ping.size()) == ping};
}

bytes connect_to_name(const std::string& name, std::uint16_t port) {
  bytes r{0x05, 0x01, 0x00, 0x03, static_cast<std::uint8_t>(name.size())};
  r.insert(r.end(), name.begin(), name.end());
  r.push_back(static_cast<std::uint8_t>(port >> 8));
  r.push_back(static_cast<std::uint8_t>(port & 0xff));
  return r;
}

}  // namespace

TEST_CASE("socks5-proxy without --listen listens on 127.0.0.1:1080 and nowhere else") {
  const auto loopback = asio::ip::make_address("127.0.0.1");
  if (!port_free(loopback, 1080) || !port_free(asio::ip::make_address("0.0.0.0"), 1080)) {
    MESSAGE("port 1080 is in use here: the default listener cannot be checked");
    return;
  }
  test::temp_dir dir;
  running_proxy proxy(dir, 1080, {"--quiet"});
  // Its own listening sockets, as the kernel lists them: one, on 127.0.0.1 port 1080 (0x0438).
  const auto listening = listening_addresses(socket_inodes(proxy.proc.pid()));
  CHECK(listening == std::vector<std::string>{"0100007F:0438"});
  CHECK(proxy.proc.output().find("listening on 127.0.0.1:1080") != std::string::npos);
  // And it serves there.
  echo_thread target;
  socks_attempt a;
  a.request = test::connect_request(target.echo.endpoint());
  const auto result = attempt(1080, a);
  CHECK(result.first == 0);
  CHECK(result.second);
}

TEST_CASE("socks5-proxy refuses to start as an open proxy unless --allow-open-proxy says so") {
  test::temp_dir dir;
  const auto users = dir.write("users", "alice:wonderland\n");
  const auto open_rules = dir.write("open.rules", "deny port=25\nallow\n");
  const std::string port = std::to_string(test::free_port());
  const std::vector<std::vector<std::string>> open_setups{
      {"--listen", "0.0.0.0:" + port},
      {"--listen", "[::]:" + port},
      {"--listen", "127.0.0.1:" + port, "--listen", "0.0.0.0:" + std::to_string(test::free_port())},
      {"--listen", "0.0.0.0:" + port, "--method", "none"},
      // Username/password offered, but no authentication too: anyone picks that.
      {"--listen", "0.0.0.0:" + port, "--users", users, "--method", "userpass", "--method", "none"},
      // Networks and rules that restrict nobody.
      {"--listen", "0.0.0.0:" + port, "--allow-from", "0.0.0.0/0"},
      {"--listen", "0.0.0.0:" + port, "--rule", "allow port=443"},
      {"--listen", "0.0.0.0:" + port, "--rules", open_rules},
  };
  for (const auto& args : open_setups) {
    std::string joined;
    for (const auto& a : args)
      joined += a + " ";
    INFO(joined);
    auto [status, out] = refused_start(dir, args);
    const std::string output = out;
    INFO(output);
    CHECK(status == 2);
    CHECK(output.find("error: refusing to start an open proxy") != std::string::npos);
    CHECK(output.find("--allow-open-proxy") != std::string::npos);
  }
}

TEST_CASE(
    "socks5-proxy beyond loopback starts with --allow-open-proxy, --users, --allow-from or a "
    "restricting --rule; on loopback it needs none") {
  test::temp_dir dir;
  echo_thread target;
  const auto users = dir.write("users", "alice:wonderland\n");
  const std::vector<std::vector<std::string>> accepted{
      {"--allow-open-proxy"},
      {"--users", users},
      {"--allow-from", "127.0.0.0/8"},
      {"--rule", "allow from=127.0.0.1"},
      {"--rule", "allow user=alice", "--users", users, "--method", "userpass"},
  };
  for (const auto& extra : accepted) {
    const auto port = test::free_port();
    std::vector<std::string> args{"--listen", "0.0.0.0:" + std::to_string(port)};
    args.insert(args.end(), extra.begin(), extra.end());
    INFO(extra.front());
    running_proxy proxy(dir, port, args);
    CHECK(proxy.proc.running());
    const bool warned = proxy.proc.output().find("warning: anyone who can reach 0.0.0.0:" +
                                                 std::to_string(port)) != std::string::npos;
    CHECK(warned == (extra.front() == "--allow-open-proxy"));
  }
  // Any 127.0.0.0/8 address is loopback.
  for (const char* host : {"127.0.0.1", "127.0.0.2"}) {
    const auto port = test::free_port();
    running_proxy proxy(dir, port, {"--listen", std::string(host) + ":" + std::to_string(port)},
                        host);
    CHECK(proxy.proc.running());
  }
}

TEST_CASE("socks5-proxy --rule: by identity, by target port, by client network; X'02' otherwise") {
  test::temp_dir dir;
  echo_thread target, other_target;
  const auto users = dir.write("users", "alice:wonderland\nbob:builder\n");
  const auto allowed_port = target.echo.port();
  const auto port = test::free_port();
  running_proxy proxy(
      dir, port,
      {"--listen", "127.0.0.1:" + std::to_string(port), "--users", users, "--rule",
       "allow user=alice", "--rule", "allow user=bob port=" + std::to_string(allowed_port)});
  socks_attempt alice{"127.0.0.1", "alice", "wonderland",
                      test::connect_request(other_target.echo.endpoint())};
  auto r = attempt(port, alice);
  CHECK(r.first == 0);
  CHECK(r.second);
  // bob only to the allowed port.
  socks_attempt bob{"127.0.0.1", "bob", "builder", test::connect_request(target.echo.endpoint())};
  r = attempt(port, bob);
  CHECK(r.first == 0);
  CHECK(r.second);
  bob.request = test::connect_request(other_target.echo.endpoint());
  CHECK(attempt(port, bob).first == 0x02);

  // Client network: only 127.0.0.2 may use this one.
  const auto port2 = test::free_port();
  running_proxy by_client(
      dir, port2,
      {"--listen", "127.0.0.1:" + std::to_string(port2), "--rule", "allow from=127.0.0.2/32"});
  socks_attempt from_2{"127.0.0.2", "", "", test::connect_request(target.echo.endpoint())};
  r = attempt(port2, from_2);
  CHECK(r.first == 0);
  CHECK(r.second);
  socks_attempt from_1{"127.0.0.1", "", "", test::connect_request(target.echo.endpoint())};
  CHECK(attempt(port2, from_1).first == 0x02);
  by_client.proc.kill();
  const auto log = by_client.proc.output();
  INFO(log);
  CHECK(log.find("client=127.0.0.1:") != std::string::npos);
  CHECK(log.find("reply=02") != std::string::npos);
}

TEST_CASE("socks5-proxy --rules FILE: a name is judged by the address it resolves to") {
  test::temp_dir dir;
  echo_thread target;
  const auto rules = dir.write("rules",
                               "# no loopback targets, whatever they are called\n"
                               "deny to=127.0.0.0/8\n"
                               "deny to=::1\n"
                               "allow from=127.0.0.0/8\n");
  const auto port = test::free_port();
  running_proxy proxy(dir, port,
                      {"--listen", "127.0.0.1:" + std::to_string(port), "--rules", rules});
  socks_attempt by_address{"127.0.0.1", "", "", test::connect_request(target.echo.endpoint())};
  CHECK(attempt(port, by_address).first == 0x02);
  socks_attempt by_name{"127.0.0.1", "", "", connect_to_name("localhost", target.echo.port())};
  CHECK(attempt(port, by_name).first == 0x02);

  // And where names are allowed by name, the name is served.
  const auto names = dir.write("names", "allow to=localhost\n");
  const auto port2 = test::free_port();
  running_proxy by_names(dir, port2,
                         {"--listen", "127.0.0.1:" + std::to_string(port2), "--rules", names});
  by_name.request = connect_to_name("LocalHost", target.echo.port());
  const auto r = attempt(port2, by_name);
  CHECK(r.first == 0);
  CHECK(r.second);
  CHECK(attempt(port2, by_address).first == 0x02);
}

TEST_CASE("socks5-proxy --rule and --rules errors: exit 2 naming the word and the line") {
  test::temp_dir dir;
  const auto bad = dir.write("bad.rules", "allow from=127.0.0.0/8\nallow port=99999\n");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--rule", "allow form=10.0.0.0/8"},
       "--rule 'allow form=10.0.0.0/8': 'form=10.0.0.0/8': "
       "unknown key (from, to, port, user, cmd)"},
      {{"--rule", "allow cmd=connect cmd=bind"}, "'cmd=bind': cmd given twice"},
      {{"--rules", bad}, "line 2: 'port=99999': not a port or a range N-M within 0-65535"},
      {{"--rules", dir / "missing"}, "cannot read " + (dir / "missing")},
  };
  for (const auto& [args, expected] : cases) {
    std::vector<std::string> argv = args;
    argv.insert(argv.begin(), {"--listen", "127.0.0.1:" + std::to_string(test::free_port())});
    auto result = refused_start(dir, argv);
    const std::string output = result.second;
    const std::string wanted = expected;
    INFO(output);
    CHECK(result.first == 2);
    CHECK(output.find(wanted) != std::string::npos);
  }
}
