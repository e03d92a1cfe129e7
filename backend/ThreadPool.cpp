#include "backend/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace gantry::backend {
namespace {

// Workers spin for a short while before sleeping, so the back-to-back kernels of a training step hand work over
// in microseconds rather than the tens of microseconds a condition-variable wake-up costs.
// A polite spin: tells the core this is a wait loop (x86 `pause`), so it does not starve its sibling or the bus.
inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

class Pool {
 public:
  static Pool &instance() {
    static Pool pool;
    return pool;
  }

  ~Pool() { resize(0); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Workers besides the calling thread.
  void resize(int workers) {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (std::thread &t : workers_) t.join();
    workers_.clear();
    stop_ = false;
    const uint64_t start = generation_.load();  // a worker waits for the first generation after this one
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this, i, start] { work(i + 1, start); });
  }

  // Runs task(part) for part in [0, parts), part 0 on the caller; parts <= size().
  void run(int parts, const std::function<void(int)> &task) {
    if (parts <= 1) return task(0);
    {
      std::lock_guard<std::mutex> lock(m_);
      task_ = &task;
      parts_ = parts;
      pending_.store(parts - 1);
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    task(0);
    for (int spins = 0; pending_.load() != 0; ++spins) {
      relax();
      if (spins > kSpins) std::this_thread::yield();
    }
    task_ = nullptr;
  }

 private:
  static constexpr int kSpins = 20000;  // about 50 microseconds of polling

  Pool() { resize(defaultThreads() - 1); }

  void work(int part, uint64_t seen) {
    while (true) {
      // Poll first, then sleep.
      for (int spins = 0; generation_.load() == seen && !stop_.load() && spins < kSpins; ++spins) relax();
      {
        std::unique_lock<std::mutex> lock(m_);
        wake_.wait(lock, [&] { return generation_.load() != seen || stop_.load(); });
      }
      const std::function<void(int)> *task;
      int parts;
      {
        // The generation and its task are read together: run() publishes both under this lock.
        std::lock_guard<std::mutex> lock(m_);
        if (stop_) return;
        seen = generation_.load();
        task = task_;
        parts = parts_;
      }
      if (!task || part >= parts) continue;
      (*task)(part);
      pending_.fetch_sub(1);
    }
  }

  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable wake_;
  const std::function<void(int)> *task_ = nullptr;
  int parts_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
};

int requested = 0;  // 0: not set yet

}  // namespace

int defaultThreads() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

void setThreads(int n) {
  if (n < 1) throw std::invalid_argument("the thread count must be at least 1");
  requested = n;
  if (Pool::instance().size() != n) Pool::instance().resize(n - 1);
}

int threads() { return requested ? requested : Pool::instance().size(); }

}  // namespace gantry::backend

extern "C" void gantry_parallel_for(void (*body)(int64_t, int64_t, void *), void *ctx, int64_t n, int64_t grain) {
  using namespace gantry::backend;
  grain = std::max<int64_t>(grain, 1);
  const int64_t units = (n + grain - 1) / grain;
  const int parts = static_cast<int>(std::min<int64_t>(threads(), units));
  if (parts <= 1) return body(0, n, ctx);
  // Part p takes units [p * units / parts, (p + 1) * units / parts): a partition fixed by the thread count.
  Pool::instance().run(parts, [&](int p) {
    int64_t begin = p * units / parts * grain, end = std::min(n, (p + 1) * units / parts * grain);
    if (begin < end) body(begin, end, ctx);
  });
}
