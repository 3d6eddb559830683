// Threads for work that blocks (a GSS-API call that waits on a KDC), owned by an execution
// context: each task gets a thread of its own, so one slow KDC holds up no other connection, and
// the context joins every such thread when it shuts down, so no task outlives what it works on.
#pragma once

#include <functional>

#include <asio/execution_context.hpp>

namespace socks5::detail {

// Runs `task` on a new thread belonging to `context`. The context's destruction waits for it.
void start_blocking_thread(asio::execution_context& context, std::function<void()> task);

}  // namespace socks5::detail
