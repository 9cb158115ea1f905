// In-process actor messaging figures of mercato's runtime (no HTTP, no sockets).
//
// Spawns the supervisor and the 26 registry agents exactly as the server does (agent_directory
// from agent_registry(), spawn_supervisor, start barrier = started_atom), then measures from one
// event-based driver actor:
//   (a) http_request{GET /health} request/response round trips/s to one agent, with a pipelined
//       window of --window outstanding requests and with a window of 1;
//   (b) http_call one-way sends whose reply_channel answers are counted (the gateway's path: the
//       answer comes back as a message to the driver, as the gateway posts it to its strand);
//   (c) heartbeat_atom round trips/s (window 1 and --window);
//   (d) restart latency of a new incarnation: restart_atom to the supervisor, then GET /health to
//       the new handle (agent_directory::handle): restart request -> first answer, and new handle
//       available -> first answer; median and p99 over --restarts restarts.
// Output: one line per figure, `actor_bench <name> <value> <unit>`.
//
//   actor_bench [--seconds=3] [--workers=2] [--window=64] [--restarts=200] [--agent=product]
//               [--log-level=warn]
#include "bench_stats.hpp"
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "config/config.hpp"
#include "log/log.hpp"
#include "mercato/agent_actor.hpp"
#include "mercato/agent_directory.hpp"
#include "mercato/agent_spec.hpp"
#include "mercato/supervisor_actor.hpp"
#include "runtime/supervisor.hpp"

namespace {

using namespace mercato;
using steady = std::chrono::steady_clock;
using run_atom = caf::atom_constant<caf::atom("run")>;
using answer_atom = caf::atom_constant<caf::atom("answer")>;

struct options {
  int seconds = 3;
  size_t workers = 2;
  size_t window = 64;
  size_t restarts = 200;
  std::string agent = "product";
  std::string log_level = "warn";
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "actor_bench: %s\nusage: actor_bench [--seconds=N] [--workers=W] [--window=K] "
               "[--restarts=R] [--agent=NAME] [--log-level=LEVEL]\n",
               why.c_str());
  std::exit(2);
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    std::string key = arg.substr(0, eq);
    std::string value;
    if (eq != std::string::npos) value = arg.substr(eq + 1);
    else if (i + 1 < argc) value = argv[++i];
    else usage("missing value for " + key);
    auto number = [&](long lo, long hi) {
      char* end = nullptr;
      long v = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || v < lo || v > hi)
        usage(key + " must be an integer " + std::to_string(lo) + ".." + std::to_string(hi));
      return v;
    };
    if (key == "--seconds") o.seconds = static_cast<int>(number(1, 3600));
    else if (key == "--workers") o.workers = static_cast<size_t>(number(1, 64));
    else if (key == "--window") o.window = static_cast<size_t>(number(1, 100000));
    else if (key == "--restarts") o.restarts = static_cast<size_t>(number(1, 100000));
    else if (key == "--agent") o.agent = value;
    else if (key == "--log-level") o.log_level = value;
    else usage("unknown argument " + arg);
  }
  return o;
}

http_request health_request() {
  http_request r;
  r.method = "GET";
  r.path = "/health";
  r.headers = {{"host", "127.0.0.1"}, {"user-agent", "actor_bench"}};
  return r;
}

// ---- throughput drivers ---------------------------------------------------------------------

enum class load_kind { request, call, heartbeat };

struct load_state {
  agent_actor target;
  load_kind kind = load_kind::request;
  size_t window = 1;
  steady::time_point start, deadline, last;
  uint64_t done = 0;
  uint64_t errors = 0;
  size_t outstanding = 0;
  uint64_t sequence = 0;
  caf::response_promise promise;
  const char* name = "bench_driver";
};

using load_self = caf::stateful_actor<load_state>*;

void finish_if_done(load_self self) {
  auto& st = self->state;
  if (st.outstanding > 0) return;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(st.last - st.start).count();
  st.promise.deliver(st.done, st.errors, static_cast<uint64_t>(ns));
  self->quit();
}

void issue(load_self self);

// One answer (or error) arrived: count it, and keep the window full until the deadline.
void completed(load_self self, bool ok) {
  auto& st = self->state;
  --st.outstanding;
  st.last = steady::now();
  if (ok) ++st.done;
  else ++st.errors;
  if (st.last < st.deadline) issue(self);
  else finish_if_done(self);
}

void issue(load_self self) {
  auto& st = self->state;
  ++st.outstanding;
  switch (st.kind) {
    case load_kind::request:
      self->request(st.target, caf::infinite, health_request())
          .then([self](http_response& r) { completed(self, r.status == 200); },
                [self](caf::error&) { completed(self, false); });
      break;
    case load_kind::heartbeat:
      self->request(st.target, caf::infinite, heartbeat_atom::value, ++st.sequence)
          .then([self](heartbeat_reply&) { completed(self, true); },
                [self](caf::error&) { completed(self, false); });
      break;
    case load_kind::call: {
      // The answer comes back as a message, like the gateway posting it to its strand.
      auto driver = caf::actor_cast<caf::actor>(self);
      auto reply = make_reply_channel([driver](http_response&& r) {
        caf::anon_send(driver, answer_atom::value, std::move(r));
      });
      self->send(st.target, http_call{health_request(), std::move(reply)});
      break;
    }
  }
}

caf::behavior load_driver(load_self self, agent_actor target, load_kind kind, size_t window,
                          steady::duration length) {
  self->state.target = std::move(target);
  self->state.kind = kind;
  self->state.window = window;
  return {
      [self, length](run_atom) -> caf::result<uint64_t, uint64_t, uint64_t> {
        auto& st = self->state;
        st.promise = self->make_response_promise();
        st.start = st.last = steady::now();
        st.deadline = st.start + length;
        for (size_t i = 0; i < st.window; ++i) issue(self);
        return caf::delegated<uint64_t, uint64_t, uint64_t>{};
      },
      [self](answer_atom, http_response& r) { completed(self, r.status == 200); },
  };
}

struct load_result {
  double per_second = 0;
  uint64_t errors = 0;
  bool ok = false;
};

load_result run_load(caf::actor_system& sys, const agent_actor& target, load_kind kind,
                     size_t window, int seconds) {
  load_result out;
  auto driver = sys.spawn(load_driver, target, kind, window,
                          std::chrono::duration_cast<steady::duration>(std::chrono::seconds(seconds)));
  caf::scoped_actor self{sys};
  self->request(driver, std::chrono::seconds(seconds + 60), run_atom::value)
      .receive(
          [&](uint64_t done, uint64_t errors, uint64_t ns) {
            out.per_second = ns > 0 ? static_cast<double>(done) * 1e9 / static_cast<double>(ns) : 0;
            out.errors = errors;
            out.ok = true;
          },
          [&](caf::error& err) {
            std::fprintf(stderr, "actor_bench: load run failed: %s\n", sys.render(err).c_str());
          });
  return out;
}

// ---- restart latency ------------------------------------------------------------------------

struct restart_state {
  supervisor_actor supervisor;
  const agent_directory* directory = nullptr;
  std::string agent;
  size_t remaining = 0;
  std::vector<double> total_us;      // restart request sent -> first answer of the new incarnation
  std::vector<double> new_handle_us;  // supervisor's reply (new handle routed) -> first answer
  uint64_t failures = 0;
  caf::response_promise promise;
  const char* name = "bench_restarter";
};

using restart_self = caf::stateful_actor<restart_state>*;

void restart_once(restart_self self);

void restart_step_done(restart_self self) {
  auto& st = self->state;
  if (--st.remaining > 0) return restart_once(self);
  st.promise.deliver(st.total_us, st.new_handle_us, st.failures);
  self->quit();
}

void restart_once(restart_self self) {
  const auto t0 = steady::now();
  auto& st = self->state;
  self->request(st.supervisor, std::chrono::seconds(10), restart_atom::value, st.agent,
                std::string("actor_bench"))
      .then(
          [self, t0](control_reply& reply) {
            auto& st = self->state;
            if (!reply.ok) {
              std::fprintf(stderr, "actor_bench: restart refused: %s\n", reply.message.c_str());
              ++st.failures;
              return restart_step_done(self);
            }
            const auto* entry = st.directory->find(st.agent);
            const uint32_t incarnation = entry ? entry->incarnation() : 0;
            auto handle = caf::actor_cast<agent_actor>(st.directory->handle(st.agent));
            const auto t1 = steady::now();
            if (!handle) {
              ++st.failures;
              return restart_step_done(self);
            }
            self->request(handle, std::chrono::seconds(10), health_request())
                .then(
                    [self, t0, t1, incarnation](http_response& r) {
                      auto& st = self->state;
                      const auto t2 = steady::now();
                      const std::string expect =
                          "\"incarnation\":" + std::to_string(incarnation) + ",";
                      if (r.status != 200 || r.body.find(expect) == std::string::npos) {
                        ++st.failures;
                      } else {
                        st.total_us.push_back(
                            std::chrono::duration<double, std::micro>(t2 - t0).count());
                        st.new_handle_us.push_back(
                            std::chrono::duration<double, std::micro>(t2 - t1).count());
                      }
                      restart_step_done(self);
                    },
                    [self](caf::error&) {
                      ++self->state.failures;
                      restart_step_done(self);
                    });
          },
          [self](caf::error& err) {
            std::fprintf(stderr, "actor_bench: restart request failed: %s\n",
                         self->system().render(err).c_str());
            ++self->state.failures;
            restart_step_done(self);
          });
}

caf::behavior restart_driver(restart_self self, supervisor_actor supervisor,
                             const agent_directory* directory, std::string agent, size_t count) {
  auto& st = self->state;
  st.supervisor = std::move(supervisor);
  st.directory = directory;
  st.agent = std::move(agent);
  st.remaining = count;
  st.total_us.reserve(count);
  st.new_handle_us.reserve(count);
  return {
      [self](run_atom) -> caf::result<std::vector<double>, std::vector<double>, uint64_t> {
        self->state.promise = self->make_response_promise();
        restart_once(self);
        return caf::delegated<std::vector<double>, std::vector<double>, uint64_t>{};
      },
  };
}

void print(const std::string& name, double value, const char* unit, int precision = 0) {
  std::printf("actor_bench %s %.*f %s\n", name.c_str(), precision, value, unit);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse_args(argc, argv);
  if (auto lvl = log::parse_level(opt.log_level)) log::set_level(*lvl);
  else usage("bad --log-level " + opt.log_level);

  const auto& registry = agent_registry();
  std::vector<agent_directory::row> rows;
  for (const auto& spec : registry) rows.push_back({&spec, spec.restart, true});
  agent_directory directory{rows};
  if (directory.index_of(opt.agent) < 0) usage("unknown agent " + opt.agent);

  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", opt.workers);
  int exit_code = 0;
  {
    caf::actor_system sys{cfg};
    supervisor_setup setup;
    setup.directory = &directory;
    setup.limits.restart_intensity = 100000;
    setup.limits.restart_period = millis{1000};
    setup.limits.total_restart_intensity = 100000;
    setup.limits.total_restart_period = millis{1000};
    setup.fault_injection = false;
    setup.on_escalation = [](const std::string& why) {
      std::fprintf(stderr, "actor_bench: supervisor escalated: %s\n", why.c_str());
    };
    const auto t_spawn = steady::now();
    auto supervisor = spawn_supervisor(sys, std::move(setup));
    bool started = false;
    {
      caf::scoped_actor self{sys};
      self->request(supervisor, std::chrono::seconds(30), started_atom::value)
          .receive([&](bool ok) { started = ok; },
                   [&](caf::error& err) {
                     std::fprintf(stderr, "actor_bench: start barrier failed: %s\n",
                                  sys.render(err).c_str());
                   });
    }
    if (!started || !directory.all_running()) {
      std::fprintf(stderr, "actor_bench: agents did not start\n");
      exit_code = 1;
    } else {
      print("start_barrier_26_agents",
            std::chrono::duration<double, std::milli>(steady::now() - t_spawn).count(), "ms", 2);
      auto target = caf::actor_cast<agent_actor>(directory.handle(opt.agent));
      const std::string w = std::to_string(opt.window);
      struct figure {
        std::string name;
        load_kind kind;
        size_t window;
        const char* unit;
      };
      const std::vector<figure> figures{
          {"http_request_rt_w" + w, load_kind::request, opt.window, "rt/s"},
          {"http_request_rt_w1", load_kind::request, 1, "rt/s"},
          {"http_call_answers_w" + w, load_kind::call, opt.window, "answers/s"},
          {"heartbeat_rt_w1", load_kind::heartbeat, 1, "rt/s"},
          {"heartbeat_rt_w" + w, load_kind::heartbeat, opt.window, "rt/s"},
      };
      for (const auto& f : figures) {
        auto r = run_load(sys, target, f.kind, f.window, opt.seconds);
        if (!r.ok) {
          exit_code = 1;
          continue;
        }
        print(f.name, r.per_second, f.unit);
        if (r.errors > 0) print(f.name + "_errors", static_cast<double>(r.errors), "count");
      }

      auto restarter =
          sys.spawn(restart_driver, supervisor, &directory, opt.agent, opt.restarts);
      caf::scoped_actor self{sys};
      self->request(restarter, std::chrono::seconds(600), run_atom::value)
          .receive(
              [&](std::vector<double>& total, std::vector<double>& fresh, uint64_t failures) {
                print("restart_to_answer_median", percentile(total, 0.5) / 1000.0, "ms", 3);
                print("restart_to_answer_p99", percentile(total, 0.99) / 1000.0, "ms", 3);
                print("new_handle_to_answer_median", percentile(fresh, 0.5) / 1000.0, "ms", 3);
                print("new_handle_to_answer_p99", percentile(fresh, 0.99) / 1000.0, "ms", 3);
                print("restarts_measured", static_cast<double>(total.size()), "count");
                if (failures > 0) {
                  print("restart_failures", static_cast<double>(failures), "count");
                  exit_code = 1;
                }
              },
              [&](caf::error& err) {
                std::fprintf(stderr, "actor_bench: restart run failed: %s\n",
                             sys.render(err).c_str());
                exit_code = 1;
              });
      self->send_exit(restarter, caf::exit_reason::user_shutdown);
    }

    // Ordered shutdown, then the actor system's destructor waits for every actor.
    caf::scoped_actor self{sys};
    self->request(supervisor, std::chrono::seconds(60), shutdown_atom::value)
        .receive([](bool) {}, [](caf::error&) {});
    self->send_exit(supervisor, caf::exit_reason::user_shutdown);
  }
  return exit_code;
}
