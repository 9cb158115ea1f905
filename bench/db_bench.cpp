// Database pool benchmark (issue 3, "Benchmark"): single-row-insert transactions/s through
// mercato::db::pool against raw libpqxx threads at the same connection count, in the same process,
// plus the "slow unit isolation" figure. See bench/README.md, section "Database pool".
//
//   db_bench [--url URL] [--seconds N] [--warmup S] [--connections C] [--window W]
//            [--refill N] [--slice S] [--mode pool|raw|both|isolation|all] [--keep-schema]
//
// Both modes run the same transaction: pqxx::work, exec_prepared0 of
//   INSERT INTO bench.bench_tx(v) VALUES ($1)
// then commit (BEGIN / EXECUTE / COMMIT: 3 round trips), on connections with the same session
// setup the pool applies (statement_timeout). Only commits that returned are counted.
//
//   raw   C std::threads, each with its own pqxx::connection, in a loop.
//   pool  one mercato::db::pool with C connections; a submitter thread keeps at most W×C units
//         in flight (W = --window, default 4), each via pool::transact<bool>; completions free a
//         slot (mutex + condition variable: a counting semaphore). --refill N (diagnosis) makes the
//         submitter sleep until N slots are free and then fill them all.
//   isolation  pool with 2 connections: submit `SELECT pg_sleep(2)`, then 100 `SELECT 1` units;
//         prints how long the 100 quick units took to all complete, and when the sleep completed.
//
// Interleaving. The box is shared and noisy, so in mode both the two modes are not run one after
// the other: both sets of connections are opened, each is warmed up for --warmup s, then they
// take turns in slices of --slice s (default 0.5) in the order raw, pool, pool, raw, raw, pool, …
// until each mode has run --seconds s. Only one mode runs at a time: a slice ends by pausing its
// mode (raw threads park after their current transaction, the pool's submitter stops and its units
// in flight drain) before the other one resumes. A mode's tx/s = its commits inside its slices /
// the total length of its slices. --slice 0 runs raw for --seconds, then pool for --seconds.
//
// Output lines (stdout), one per figure:
//   db_bench raw connections=C tx_per_s=X commits=N seconds=S errors=E …
//   db_bench pool connections=C tx_per_s=X commits=N seconds=S errors=E window=K refill=F …
//   db_bench ratio connections=C pool_over_raw=R
//   db_bench isolation connections=2 quick_units=100 quick_all_done_ms=X sleep_done_ms=Y …
// The "…" are diagnosis fields: total_commits (every commit of the mode, warm-up included: equals
// the rows it inserted; raw rows have v > 0, pool rows v < 0), client_cpu_us_per_tx and
// ctx_switches_per_tx (getrusage of this process over the mode's slices), gap_us and body_us (see
// `timing` below).
// Exit status 1 if a mode had errors or could not run; 2 on bad arguments.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "db/db_pool.hpp"
#include "log/log.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* insert_name = "bench_ins";
constexpr const char* insert_sql = "INSERT INTO bench.bench_tx(v) VALUES ($1)";
constexpr auto statement_timeout = 5000ms;  // pool_settings' default; applied to raw sessions too

struct options {
  std::string url;
  double seconds = 5;
  double warmup = 1;
  double slice = 0.5;
  size_t connections = 4;
  size_t window = 4;  // units in flight per pool connection
  size_t refill = 1;  // the submitter wakes when this many slots are free (1: a counting semaphore)
  std::string mode = "all";
  bool keep_schema = false;
};

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

void sleep_for_seconds(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

// One session setup for both modes, as pool::worker_main does it.
void setup_session(pqxx::connection& c) {
  pqxx::nontransaction setup{c};
  setup.exec("SET statement_timeout = " + std::to_string(statement_timeout.count()));
  setup.commit();
}

void reset_schema(const std::string& url) {
  pqxx::connection c{url};
  pqxx::nontransaction tx{c};
  tx.exec("SET client_min_messages = warning");
  tx.exec("DROP SCHEMA IF EXISTS bench CASCADE");
  tx.exec("CREATE SCHEMA bench");
  tx.exec(
      "CREATE TABLE bench.bench_tx(id bigserial PRIMARY KEY, v int, "
      "at timestamptz DEFAULT now())");
  tx.commit();
  try {  // start without checkpoint debt (best effort: needs superuser)
    pqxx::nontransaction cp{c};
    cp.exec("CHECKPOINT");
    cp.commit();
  } catch (const std::exception&) {
  }
}

void drop_schema(const std::string& url) {
  pqxx::connection c{url};
  pqxx::nontransaction tx{c};
  tx.exec("SET client_min_messages = warning");
  tx.exec("DROP SCHEMA IF EXISTS bench CASCADE");
  tx.commit();
}

struct alignas(64) padded_counter {
  std::atomic<uint64_t> value{0};
};

// Diagnosis: where a connection thread's time goes, measured the same way in both modes, inside
// the mode's slices only. Per connection thread, for each transaction:
//   gap  = end of the previous transaction (its commit returned; pool: `done` was called) → the
//          work function starts (BEGIN has been answered; pool: also the unit was taken from the
//          queue, so waiting for work shows here)
//   body = work function starts → commit returned (pool: → `done` was called)
// gap + body is the period of one transaction on one connection; pool − raw is what the pool adds
// to a connection's critical path.
struct timing {
  std::atomic<uint64_t> gap_ns{0}, gap_n{0}, body_ns{0}, body_n{0};
  static uint64_t ns(clock_type::duration d) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  }
  void add(clock_type::duration gap, clock_type::duration body) {
    gap_ns.fetch_add(ns(gap), std::memory_order_relaxed);
    gap_n.fetch_add(1, std::memory_order_relaxed);
    body_ns.fetch_add(ns(body), std::memory_order_relaxed);
    body_n.fetch_add(1, std::memory_order_relaxed);
  }
  static double mean_us(uint64_t sum, uint64_t n) {
    return n ? static_cast<double>(sum) / 1e3 / static_cast<double>(n) : 0;
  }
  double gap_us() const { return mean_us(gap_ns, gap_n); }
  double body_us() const { return mean_us(body_ns, body_n); }
};

struct usage_sample {
  double cpu_s = 0;
  uint64_t switches = 0;
};

usage_sample sample_usage() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
  return {secs(ru.ru_utime) + secs(ru.ru_stime),
          static_cast<uint64_t>(ru.ru_nvcsw) + static_cast<uint64_t>(ru.ru_nivcsw)};
}

// What one mode measured, summed over its slices.
struct tally {
  uint64_t commits = 0;
  double seconds = 0;
  double cpu_s = 0;
  uint64_t switches = 0;
};

// A way of running the insert on C connections that can be paused and resumed.
class engine {
 public:
  virtual ~engine() = default;
  virtual bool ready() const = 0;  // every connection came up
  virtual void resume() = 0;       // start issuing transactions
  virtual void pause() = 0;        // stop, and return when no transaction is running
  virtual void shutdown() = 0;
  virtual uint64_t commits() const = 0;
  virtual uint64_t errors() const = 0;
  virtual const timing& times() const = 0;
  std::atomic<bool> measuring{false};  // count `timing` only while a measured slice runs
};

// ---- raw libpqxx ----------------------------------------------------------------------------

class raw_engine final : public engine {
 public:
  explicit raw_engine(const options& opt) : n_(opt.connections), commits_(opt.connections) {
    threads_.reserve(n_);
    for (size_t i = 0; i < n_; ++i)
      threads_.emplace_back([this, i, url = opt.url] { run(i, url); });
    std::unique_lock<std::mutex> lock{m_};
    ready_ = cv_.wait_for(lock, 30s, [&] { return up_ + failed_ == n_; }) && failed_ == 0;
  }
  ~raw_engine() override { shutdown(); }

  bool ready() const override { return ready_; }
  void resume() override {
    std::lock_guard<std::mutex> g{m_};
    active_ = true;
    cv_.notify_all();
  }
  void pause() override {
    std::unique_lock<std::mutex> lock{m_};
    active_ = false;
    cv_.wait(lock, [&] { return running_ == 0; });
  }
  void shutdown() override {
    {
      std::lock_guard<std::mutex> g{m_};
      stop_ = true;
      active_ = false;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  uint64_t commits() const override {
    uint64_t sum = 0;
    for (auto& c : commits_) sum += c.value.load(std::memory_order_relaxed);
    return sum;
  }
  uint64_t errors() const override { return errors_.load() + failed_; }
  const timing& times() const override { return times_; }

 private:
  void run(size_t i, const std::string& url) {
    std::unique_ptr<pqxx::connection> conn;
    try {
      conn = std::make_unique<pqxx::connection>(url);
      setup_session(*conn);
      conn->prepare(insert_name, insert_sql);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "db_bench raw: connection %zu: %s\n", i, e.what());
      std::lock_guard<std::mutex> g{m_};
      ++failed_;
      cv_.notify_all();
      return;
    }
    {
      std::lock_guard<std::mutex> g{m_};
      ++up_;
      cv_.notify_all();
    }
    int v = static_cast<int>(i % 16) * 100000000;  // raw rows have v > 0, pool rows v < 0
    for (;;) {
      {  // park while paused
        std::unique_lock<std::mutex> lock{m_};
        cv_.wait(lock, [&] { return active_ || stop_; });
        if (stop_) return;
        ++running_;
      }
      auto last_end = clock_type::now();
      for (;;) {  // run while active
        try {
          pqxx::work tx{*conn};
          const auto work_start = clock_type::now();
          tx.exec_prepared0(insert_name, ++v);
          tx.commit();
          const auto end = clock_type::now();
          commits_[i].value.fetch_add(1, std::memory_order_relaxed);
          if (measuring.load(std::memory_order_relaxed))
            times_.add(work_start - last_end, end - work_start);
          last_end = end;
        } catch (const std::exception& e) {
          if (errors_.fetch_add(1) < 5) std::fprintf(stderr, "db_bench raw: %s\n", e.what());
          if (!conn->is_open()) {
            std::lock_guard<std::mutex> g{m_};
            --running_;
            cv_.notify_all();
            return;
          }
        }
        if (!active_.load(std::memory_order_acquire)) {  // pause() asked: park
          std::lock_guard<std::mutex> g{m_};
          --running_;
          cv_.notify_all();
          break;
        }
      }
    }
  }

  const size_t n_;
  std::vector<padded_counter> commits_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> errors_{0};
  timing times_;
  mutable std::mutex m_;
  std::condition_variable cv_;
  size_t up_ = 0, failed_ = 0, running_ = 0;
  std::atomic<bool> active_{false};  // written under m_, read without it between transactions
  bool stop_ = false, ready_ = false;
};

// ---- through mercato::db::pool ---------------------------------------------------------------

// Waits (bounded) until `k` pool connections are up: k units that each block until all k run at
// once can only complete when k distinct connection threads hold them.
bool wait_for_connections(mercato::db::pool& p, size_t k, std::chrono::milliseconds limit) {
  auto deadline = clock_type::now() + limit;
  while (!p.connected()) {
    if (clock_type::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  struct gate {
    std::mutex m;
    std::condition_variable cv;
    size_t arrived = 0;
    size_t done = 0;
    bool all_met = true;
  };
  auto g = std::make_shared<gate>();
  for (size_t i = 0; i < k; ++i) {
    p.transact<bool>(
        [g, k, deadline](pqxx::work&) {
          std::unique_lock<std::mutex> lock{g->m};
          ++g->arrived;
          g->cv.notify_all();
          return g->cv.wait_until(lock, deadline, [&] { return g->arrived >= k; });
        },
        [g](mercato::db::outcome<bool> o) {
          std::lock_guard<std::mutex> lock{g->m};
          if (!o.ok() || !*o.value) g->all_met = false;
          ++g->done;
          g->cv.notify_all();
        });
  }
  std::unique_lock<std::mutex> lock{g->m};
  if (!g->cv.wait_until(lock, deadline + 1s, [&] { return g->done == k; })) return false;
  return g->all_met;
}

// Per pool thread: when its last unit ended, when the current unit's work started, and in which
// resume() generation (the first unit after a pause has no meaningful gap).
thread_local clock_type::time_point tl_last_end{};
thread_local clock_type::time_point tl_work_start{};
thread_local uint64_t tl_generation = 0;

class pool_engine final : public engine {
 public:
  explicit pool_engine(const options& opt)
      : window_(std::max<size_t>(1, opt.window * opt.connections)),
        refill_(std::clamp<size_t>(opt.refill, 1, window_)) {
    mercato::db::pool_settings s;
    s.url = opt.url;
    s.connections = opt.connections;
    s.statement_timeout = statement_timeout;
    pool_ = std::make_unique<mercato::db::pool>(s);
    pool_->prepare(insert_name, insert_sql);
    pool_->start();
    ready_ = wait_for_connections(*pool_, opt.connections, 30s);
    if (ready_) submitter_ = std::thread([this] { submit_loop(); });
  }
  ~pool_engine() override { shutdown(); }

  size_t window() const { return window_; }
  bool ready() const override { return ready_; }
  void resume() override {
    std::lock_guard<std::mutex> g{m_};
    generation_.fetch_add(1);
    active_ = true;
    cv_.notify_all();
  }
  void pause() override {
    std::unique_lock<std::mutex> lock{m_};
    active_ = false;
    if (!cv_.wait_for(lock, 30s, [&] { return in_flight_ == 0; }))
      std::fprintf(stderr, "db_bench pool: %zu units still in flight after 30 s\n", in_flight_);
  }
  void shutdown() override {
    if (!pool_) return;
    {
      std::lock_guard<std::mutex> g{m_};
      stop_ = true;
      active_ = false;
    }
    cv_.notify_all();
    if (submitter_.joinable()) submitter_.join();
    pause();
    pool_->stop();
    pool_.reset();
  }
  uint64_t commits() const override { return commits_.value.load(std::memory_order_relaxed); }
  uint64_t errors() const override { return errors_.load() + (ready_ ? 0 : 1); }
  const timing& times() const override { return times_; }

 private:
  void submit_loop() {
    int v = 0;
    size_t batch = 0;
    auto done = [this](mercato::db::outcome<bool> o) { on_done(std::move(o)); };
    for (;;) {
      {
        std::unique_lock<std::mutex> lock{m_};
        submitter_waiting_ = true;
        cv_.wait(lock, [&] { return (active_ && in_flight_ + refill_ <= window_) || stop_; });
        submitter_waiting_ = false;
        if (stop_) return;
        batch = window_ - in_flight_;  // fill the window
        in_flight_ = window_;
      }
      for (size_t k = 0; k < batch; ++k) {
        const int value = -(++v);  // pool rows have v < 0, raw rows v > 0
        pool_->transact<bool>(
            [value](pqxx::work& tx) {
              tl_work_start = clock_type::now();
              tx.exec_prepared0(insert_name, value);
              return true;
            },
            done);
      }
    }
  }

  void on_done(mercato::db::outcome<bool> o) {  // on a pool thread
    const auto end = clock_type::now();
    const uint64_t gen = generation_.load();
    if (tl_generation == gen && measuring.load(std::memory_order_relaxed))
      times_.add(tl_work_start - tl_last_end, end - tl_work_start);
    tl_generation = gen;
    tl_last_end = end;
    if (o.ok()) {
      commits_.value.fetch_add(1, std::memory_order_relaxed);
    } else if (errors_.fetch_add(1) < 5) {
      std::fprintf(stderr, "db_bench pool: %s: %s\n",
                   std::string(mercato::db::to_string(o.failure->code)).c_str(),
                   o.failure->message.c_str());
    }
    bool wake;
    {
      std::lock_guard<std::mutex> g{m_};
      --in_flight_;
      wake = (submitter_waiting_ && in_flight_ + refill_ <= window_) || in_flight_ == 0;
    }
    if (wake) cv_.notify_all();
  }

  const size_t window_;
  const size_t refill_;
  std::unique_ptr<mercato::db::pool> pool_;
  std::thread submitter_;
  padded_counter commits_;
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> generation_{0};
  timing times_;
  std::mutex m_;
  std::condition_variable cv_;
  size_t in_flight_ = 0;
  bool submitter_waiting_ = false, active_ = false, stop_ = false, ready_ = false;
};

// ---- slices ----------------------------------------------------------------------------------

// Runs `e` for `seconds`, counting commits, time and this process' CPU into `t` (unless null).
void run_slice(engine& e, double seconds, tally* t) {
  const uint64_t c0 = e.commits();
  const auto u0 = sample_usage();
  const auto t0 = clock_type::now();
  e.measuring = t != nullptr;
  e.resume();
  sleep_for_seconds(seconds);
  const uint64_t c1 = e.commits();  // commits that returned within the slice
  const double elapsed = seconds_since(t0);
  e.measuring = false;
  const auto u1 = sample_usage();  // the slice's transactions cost CPU up to here
  e.pause();
  if (t) {
    t->commits += c1 - c0;
    t->seconds += elapsed;
    t->cpu_s += u1.cpu_s - u0.cpu_s;
    t->switches += u1.switches - u0.switches;
  }
}

void print_mode(const char* mode, const options& opt, const tally& t, const engine& e,
                size_t window) {
  const double tx_per_s = t.seconds > 0 ? static_cast<double>(t.commits) / t.seconds : 0;
  std::printf("db_bench %s connections=%zu tx_per_s=%.1f commits=%llu seconds=%.3f errors=%llu",
              mode, opt.connections, tx_per_s, static_cast<unsigned long long>(t.commits),
              t.seconds, static_cast<unsigned long long>(e.errors()));
  if (window)
    std::printf(" window=%zu refill=%zu", window, std::clamp<size_t>(opt.refill, 1, window));
  // Every commit of the run, warm-up and slice tails included: matches the rows the mode inserted.
  std::printf(" total_commits=%llu", static_cast<unsigned long long>(e.commits()));
  if (t.commits > 0)
    std::printf(" client_cpu_us_per_tx=%.1f ctx_switches_per_tx=%.2f gap_us=%.1f body_us=%.1f",
                t.cpu_s * 1e6 / static_cast<double>(t.commits),
                static_cast<double>(t.switches) / static_cast<double>(t.commits),
                e.times().gap_us(), e.times().body_us());
  std::printf("\n");
  std::fflush(stdout);
}

// Throughput of raw and/or pool. Returns false when a mode could not run or had errors.
bool run_throughput(const options& opt, bool do_raw, bool do_pool) {
  reset_schema(opt.url);
  std::unique_ptr<raw_engine> raw;
  std::unique_ptr<pool_engine> pool;
  if (do_raw) {
    raw = std::make_unique<raw_engine>(opt);
    if (!raw->ready()) {
      std::fprintf(stderr, "db_bench raw: not every connection came up\n");
      return false;
    }
  }
  if (do_pool) {
    pool = std::make_unique<pool_engine>(opt);
    if (!pool->ready()) {
      std::fprintf(stderr, "db_bench pool: not every connection came up\n");
      return false;
    }
  }

  // Warm-up (not counted): connections, prepared statements, caches, both modes alike.
  if (raw) run_slice(*raw, opt.warmup, nullptr);
  if (pool) run_slice(*pool, opt.warmup, nullptr);

  tally raw_t, pool_t;
  if (raw && pool && opt.slice > 0) {
    // raw, pool, pool, raw, raw, pool, … (ABBA: a linear drift hits both modes alike).
    const auto slices = std::max<long>(1, std::lround(opt.seconds / opt.slice));
    const double len = opt.seconds / static_cast<double>(slices);
    for (long i = 0; i < slices; ++i) {
      const bool raw_first = i % 2 == 0;
      run_slice(raw_first ? static_cast<engine&>(*raw) : *pool, len, raw_first ? &raw_t : &pool_t);
      run_slice(raw_first ? static_cast<engine&>(*pool) : *raw, len, raw_first ? &pool_t : &raw_t);
    }
  } else {
    if (raw) run_slice(*raw, opt.seconds, &raw_t);
    if (pool) run_slice(*pool, opt.seconds, &pool_t);
  }
  if (raw) raw->shutdown();
  if (pool) pool->shutdown();

  bool ok = true;
  if (raw) {
    print_mode("raw", opt, raw_t, *raw, 0);
    ok = ok && raw->errors() == 0 && raw_t.commits > 0;
  }
  if (pool) {
    print_mode("pool", opt, pool_t, *pool, pool->window());
    ok = ok && pool->errors() == 0 && pool_t.commits > 0;
  }
  if (raw && pool && raw_t.commits > 0 && raw_t.seconds > 0 && pool_t.seconds > 0) {
    const double r = static_cast<double>(raw_t.commits) / raw_t.seconds;
    const double p = static_cast<double>(pool_t.commits) / pool_t.seconds;
    std::printf("db_bench ratio connections=%zu pool_over_raw=%.3f\n", opt.connections, p / r);
    std::fflush(stdout);
  }
  if (!opt.keep_schema) drop_schema(opt.url);
  return ok;
}

// ---- slow unit isolation ---------------------------------------------------------------------

struct isolation_result {
  double quick_all_done_ms = -1;
  double sleep_done_ms = -1;
  size_t quick_ok = 0;
  bool sleep_ok = false;
  bool ran = false;
};

isolation_result run_isolation(const options& opt) {
  constexpr size_t connections = 2;
  constexpr size_t quick_units = 100;
  mercato::db::pool_settings s;
  s.url = opt.url;
  s.connections = connections;
  s.statement_timeout = statement_timeout;  // 5 s > the 2 s sleep
  mercato::db::pool p{s};
  p.start();

  isolation_result r;
  if (!wait_for_connections(p, connections, 30s)) {
    std::fprintf(stderr, "db_bench isolation: not every connection came up\n");
    return r;
  }

  struct state {
    std::mutex m;
    std::condition_variable cv;
    size_t quick_done = 0;
    size_t quick_ok = 0;
    bool sleep_done = false;
    bool sleep_ok = false;
    clock_type::time_point quick_last{};
    clock_type::time_point sleep_at{};
  };
  auto st = std::make_shared<state>();

  const auto t_sleep = clock_type::now();
  p.transact<bool>(
      [](pqxx::work& tx) {
        tx.exec("SELECT pg_sleep(2)");
        return true;
      },
      [st](mercato::db::outcome<bool> o) {
        std::lock_guard<std::mutex> g{st->m};
        st->sleep_done = true;
        st->sleep_ok = o.ok();
        st->sleep_at = clock_type::now();
        st->cv.notify_all();
      });
  const auto t_quick = clock_type::now();
  for (size_t i = 0; i < quick_units; ++i) {
    p.transact<int>([](pqxx::work& tx) { return tx.exec1("SELECT 1")[0].as<int>(); },
                    [st](mercato::db::outcome<int> o) {
                      std::lock_guard<std::mutex> g{st->m};
                      ++st->quick_done;
                      if (o.ok() && *o.value == 1) ++st->quick_ok;
                      st->quick_last = clock_type::now();
                      st->cv.notify_all();
                    });
  }

  std::unique_lock<std::mutex> lock{st->m};
  bool finished =
      st->cv.wait_for(lock, 15s, [&] { return st->quick_done == quick_units && st->sleep_done; });
  if (!finished) {
    std::fprintf(stderr, "db_bench isolation: units did not complete within 15 s (quick %zu/%zu)\n",
                 st->quick_done, quick_units);
    lock.unlock();
    p.stop();
    return r;
  }
  auto ms = [](clock_type::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  r.quick_all_done_ms = ms(st->quick_last - t_quick);
  r.sleep_done_ms = ms(st->sleep_at - t_sleep);
  r.quick_ok = st->quick_ok;
  r.sleep_ok = st->sleep_ok;
  r.ran = true;
  lock.unlock();
  p.stop();
  return r;
}

// ---- main ------------------------------------------------------------------------------------

[[noreturn]] void usage(int rc) {
  std::fprintf(
      rc == 0 ? stdout : stderr,
      "usage: db_bench [--url URL] [--seconds N] [--warmup S] [--connections C]\n"
      "                [--window W] [--refill N] [--slice S] [--mode pool|raw|both|isolation|all]\n"
      "                [--keep-schema]\n"
      "  --url          libpq connection string (default: $DATABASE_URL)\n"
      "  --seconds      measured seconds per mode (default 5)\n"
      "  --warmup       unmeasured seconds per mode before measuring (default 1)\n"
      "  --connections  connections (raw: threads; pool: pool size) (default 4)\n"
      "  --window       pool units in flight per connection (default 4)\n"
      "  --refill       pool: the submitter wakes when N slots are free, then fills the\n"
      "                 window (default 1: one wake-up per completed unit)\n"
      "  --slice        both: alternate raw/pool in slices of S s (default 0.5);\n"
      "                 0 = raw for --seconds, then pool for --seconds\n"
      "  --mode         both = raw and pool + ratio; all = both + isolation (default)\n"
      "  --keep-schema  leave schema 'bench' in place at exit\n");
  std::exit(rc);
}

options parse(int argc, char** argv) {
  options o;
  if (const char* env = std::getenv("DATABASE_URL")) o.url = env;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto next = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= argc) {
        std::fprintf(stderr, "db_bench: %s needs a value\n", arg.c_str());
        usage(2);
      }
      return argv[++i];
    };
    try {
      if (arg == "--url")
        o.url = next();
      else if (arg == "--seconds")
        o.seconds = std::stod(next());
      else if (arg == "--warmup")
        o.warmup = std::stod(next());
      else if (arg == "--slice")
        o.slice = std::stod(next());
      else if (arg == "--connections")
        o.connections = std::stoul(next());
      else if (arg == "--window")
        o.window = std::stoul(next());
      else if (arg == "--refill")
        o.refill = std::stoul(next());
      else if (arg == "--mode")
        o.mode = next();
      else if (arg == "--keep-schema")
        o.keep_schema = true;
      else if (arg == "-h" || arg == "--help")
        usage(0);
      else {
        std::fprintf(stderr, "db_bench: unknown argument '%s'\n", arg.c_str());
        usage(2);
      }
    } catch (const std::logic_error&) {
      std::fprintf(stderr, "db_bench: bad value for %s\n", arg.c_str());
      usage(2);
    }
  }
  if (o.url.empty()) {
    std::fprintf(stderr, "db_bench: no --url and DATABASE_URL is not set\n");
    usage(2);
  }
  if (!(o.seconds > 0) || !(o.warmup >= 0) || !(o.slice >= 0) || o.connections == 0 ||
      o.connections > 256 || o.window == 0) {
    std::fprintf(stderr,
                 "db_bench: need --seconds > 0, --warmup >= 0, --slice >= 0, "
                 "1 <= --connections <= 256, --window >= 1\n");
    usage(2);
  }
  if (o.mode != "pool" && o.mode != "raw" && o.mode != "both" && o.mode != "isolation" &&
      o.mode != "all") {
    std::fprintf(stderr, "db_bench: unknown --mode '%s'\n", o.mode.c_str());
    usage(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  options opt = parse(argc, argv);
  mercato::log::set_level(mercato::log::level::warn);  // no per-connection "connected" lines

  const bool do_raw = opt.mode == "raw" || opt.mode == "both" || opt.mode == "all";
  const bool do_pool = opt.mode == "pool" || opt.mode == "both" || opt.mode == "all";
  const bool do_isolation = opt.mode == "isolation" || opt.mode == "all";
  int rc = 0;

  try {
    if ((do_raw || do_pool) && !run_throughput(opt, do_raw, do_pool)) rc = 1;
    if (do_isolation) {
      auto iso = run_isolation(opt);
      if (iso.ran) {
        std::printf(
            "db_bench isolation connections=2 quick_units=100 quick_all_done_ms=%.1f "
            "sleep_done_ms=%.1f quick_ok=%zu sleep_ok=%d quick_before_sleep=%d\n",
            iso.quick_all_done_ms, iso.sleep_done_ms, iso.quick_ok, iso.sleep_ok ? 1 : 0,
            iso.quick_all_done_ms < iso.sleep_done_ms ? 1 : 0);
        std::fflush(stdout);
        if (iso.quick_ok != 100 || !iso.sleep_ok) rc = 1;
      } else {
        rc = 1;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "db_bench: %s\n", e.what());
    return 1;
  }
  return rc;
}
