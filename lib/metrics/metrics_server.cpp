#include "socks5/metrics_server.hpp"

#include <array>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "../net/listener_set.hpp"
#include "socks5/auth/driver.hpp"

namespace socks5 {

using asio::ip::tcp;

namespace {

using detail::use_tuple;

struct response {
  int status = 200;
  const char* reason = "OK";
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string extra_headers;
  bool head = false;  // HEAD: the headers of a GET, no body

  std::string text() const {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
    out += "Content-Type: " + content_type + "\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += extra_headers;
    out += "Connection: close\r\n\r\n";
    if (!head) out += body;
    return out;
  }
};

response error_response(int status, const char* reason) {
  response r;
  r.status = status;
  r.reason = reason;
  r.body = std::string(reason) + "\n";
  return r;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c <= ' ' || c >= 0x7f ||
        std::string_view("()<>@,;:\\\"/[]?={}").find(c) != std::string_view::npos)
      return false;
  return true;
}

// `head` is everything up to and including the blank line that ends the headers.
response answer(std::string_view head, const metrics& registry) {
  const auto line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == line.npos ? line.npos : line.find(' ', sp1 + 1);
  if (sp2 == line.npos || line.find(' ', sp2 + 1) != line.npos)
    return error_response(400, "Bad Request");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method) || target.empty() || version.substr(0, 7) != "HTTP/1." ||
      version.size() != 8 || version[7] < '0' || version[7] > '9')
    return error_response(400, "Bad Request");
  for (char c : target)
    if (c <= ' ' || c >= 0x7f) return error_response(400, "Bad Request");

  if (method != "GET" && method != "HEAD") {
    response r = error_response(405, "Method Not Allowed");
    r.extra_headers = "Allow: GET, HEAD\r\n";
    return r;
  }
  response r;
  if (target.substr(0, target.find('?')) != "/metrics") {
    r = error_response(404, "Not Found");
  } else {
    r.content_type = metrics::content_type;
    r.body = registry.render();
  }
  r.head = method == "HEAD";
  return r;
}

struct connection {
  explicit connection(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}

  void close() {
    std::error_code ignored;
    socket.close(ignored);
    timer.cancel();
  }

  tcp::socket socket;
  asio::steady_timer timer;
};

}  // namespace

struct metrics_server::state : std::enable_shared_from_this<state> {
  state(asio::any_io_executor executor, std::shared_ptr<const metrics> r, metrics_server_options o)
      : ex(std::move(executor)),
        strand(asio::make_strand(ex)),
        registry(std::move(r)),
        options(o),
        listeners(
            strand, [this](tcp::acceptor& a) { start_accepting(a); },
            asio::error::operation_aborted) {}

  void start_accepting(tcp::acceptor& acceptor);

  asio::any_io_executor ex;
  asio::strand<asio::any_io_executor> strand;  // the listeners live here
  const std::shared_ptr<const metrics> registry;
  const metrics_server_options options;
  detail::listener_set listeners;  // closed: the server is stopping

  std::mutex mutex;  // guards what follows
  std::unordered_map<connection*, std::weak_ptr<connection>> connections;
};

namespace {

using state = metrics_server::state;

asio::awaitable<void> serve(std::shared_ptr<state> st, std::shared_ptr<connection> c);

asio::awaitable<void> accept_loop(std::shared_ptr<state> st, tcp::acceptor& acceptor) {
  for (;;) {
    const asio::any_io_executor connection_ex = asio::make_strand(st->ex);
    auto [ec, socket] = co_await acceptor.async_accept(connection_ex, use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors, or a connection that died in the backlog: the next one may do.
      asio::steady_timer pause(st->strand, std::chrono::milliseconds(50));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    auto c = std::make_shared<connection>(std::move(socket));
    {
      std::lock_guard lock(st->mutex);
      const auto limit = st->options.max_connections;
      if (st->listeners.closed() || (limit != 0 && st->connections.size() >= limit)) {
        c->close();
        continue;
      }
      st->connections.emplace(c.get(), c);
    }
    asio::co_spawn(connection_ex, serve(st, c), asio::detached);
  }
}

asio::awaitable<void> serve(std::shared_ptr<state> st, std::shared_ptr<connection> c) {
  c->timer.expires_after(st->options.timeout);
  c->timer.async_wait([c](std::error_code ec) {
    if (!ec) c->close();
  });

  std::string request;
  auto [read_ec, n] = co_await asio::async_read_until(
      c->socket, asio::dynamic_buffer(request, st->options.max_request_size), "\r\n\r\n",
      use_tuple);
  std::string out;
  if (read_ec == asio::error::not_found)
    out = error_response(431, "Request Header Fields Too Large").text();
  else if (!read_ec)
    out = answer(std::string_view(request).substr(0, n), *st->registry).text();

  if (!out.empty()) {
    auto [write_ec, written] = co_await asio::async_write(c->socket, asio::buffer(out), use_tuple);
    if (!write_ec) {
      // Whatever the client still sends is read and dropped until it closes (or the timer
      // fires): closing with unread input would reset the connection and could lose the
      // response on its way.
      std::error_code ec;
      c->socket.shutdown(tcp::socket::shutdown_send, ec);
      std::array<char, 512> sink;
      while (!ec) {
        auto [drain_ec, k] = co_await c->socket.async_read_some(asio::buffer(sink), use_tuple);
        ec = drain_ec;
      }
    }
  }
  c->close();
  std::lock_guard lock(st->mutex);
  st->connections.erase(c.get());
}

}  // namespace

void metrics_server::state::start_accepting(tcp::acceptor& acceptor) {
  asio::co_spawn(strand, accept_loop(shared_from_this(), acceptor), asio::detached);
}

metrics_server::metrics_server(asio::any_io_executor ex, std::shared_ptr<const metrics> registry,
                               metrics_server_options options)
    : state_(std::make_shared<state>(std::move(ex), std::move(registry), options)) {
  if (!state_->registry) throw std::invalid_argument("metrics_server: no registry");
}

metrics_server::~metrics_server() {
  stop();
}

std::error_code metrics_server::listen(const tcp::endpoint& endpoint) {
  return state_->listeners.listen(endpoint, false);
}

std::vector<tcp::endpoint> metrics_server::local_endpoints() const {
  return state_->listeners.local_endpoints();
}

void metrics_server::start() {
  state_->listeners.start();
}

void metrics_server::stop() {
  if (!state_->listeners.close()) return;
  // A connection accepted from here on sees the set closed and is closed at once.
  std::vector<std::shared_ptr<connection>> live;
  {
    std::lock_guard lock(state_->mutex);
    for (auto& entry : state_->connections)
      if (auto c = entry.second.lock()) live.push_back(std::move(c));
  }
  for (auto& c : live) {
    auto ex = c->socket.get_executor();
    asio::post(ex, [c] { c->close(); });
  }
}

}  // namespace socks5
