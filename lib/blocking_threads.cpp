#include "socks5/detail/blocking_threads.hpp"

#include <list>
#include <mutex>
#include <thread>

namespace socks5::detail {

namespace {

// The threads of one execution context, as an Asio service: shut down before the services
// created ahead of it (the scheduler among them), so a task that ends during the shutdown can
// still post its completion and release its work guard.
class blocking_thread_service : public asio::execution_context::service {
 public:
  static asio::execution_context::id id;

  explicit blocking_thread_service(asio::execution_context& context)
      : asio::execution_context::service(context) {}

  ~blocking_thread_service() override { join_all(); }

  void start(std::function<void()> task) {
    std::lock_guard lock(mutex_);
    reap_finished();
    auto& entry = threads_.emplace_back();
    entry.thread = std::thread([this, &entry, task = std::move(task)]() mutable {
      task();
      task = nullptr;  // what it holds is released before the thread counts as finished
      std::lock_guard done_lock(mutex_);
      entry.finished = true;
    });
  }

 private:
  struct running {
    std::thread thread;
    bool finished = false;
  };

  void shutdown() override { join_all(); }

  // Joins threads whose task has ended, so that a long-lived context does not accumulate them.
  void reap_finished() {
    for (auto it = threads_.begin(); it != threads_.end();) {
      if (it->finished) {
        it->thread.join();
        it = threads_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void join_all() {
    std::list<running> all;
    {
      std::lock_guard lock(mutex_);
      all.splice(all.end(), threads_);
    }
    for (auto& r : all)
      r.thread.join();
  }

  std::mutex mutex_;
  std::list<running> threads_;  // a list: each thread refers to its own entry
};

asio::execution_context::id blocking_thread_service::id;

}  // namespace

void start_blocking_thread(asio::execution_context& context, std::function<void()> task) {
  asio::use_service<blocking_thread_service>(context).start(std::move(task));
}

}  // namespace socks5::detail
