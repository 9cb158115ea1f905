// Wiring of one server (see server_app.hpp) and its lifecycle: ordered start behind a barrier,
// then listeners; on shutdown stop accepting, drain in-flight calls (bounded), stop the agents in
// reverse order, stop Asio, wait for every actor, and only then destroy the io_context.
#include "app/server_app.hpp"

#include "app/agent_factories.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <caf/all.hpp>

#include "console/admin_server.hpp"
#include "db/database.hpp"
#include "db/database_metrics.hpp"
#include "gateway/http_gateway.hpp"
#include "log/log.hpp"
#include "mercato/agent_directory.hpp"
#include "mercato/event.hpp"
#include "runtime/metrics.hpp"
#include "runtime/supervisor.hpp"

namespace mercato {
namespace {

std::vector<agent_directory::row> directory_rows(const config& cfg,
                                                 const std::vector<agent_spec>& registry) {
  std::vector<agent_directory::row> rows;
  for (const auto& spec : registry)
    rows.push_back({&spec, cfg.agents.restart(spec), cfg.agents.enabled(spec.name)});
  return rows;
}

}  // namespace

struct server_app::impl {
  impl(config c, const std::vector<agent_spec>& registry)
      : cfg(std::move(c)),
        directory(directory_rows(cfg, registry)),
        metrics(directory.size()) {
    caf_cfg.set("scheduler.max-threads", static_cast<size_t>(cfg.runtime.worker_threads));
    caf_cfg.set("scheduler.policy", caf::atom_from_string(cfg.runtime.scheduler));
  }

  config cfg;
  agent_directory directory;
  http_metrics metrics;
  event_bus events;
  caf::actor_system_config caf_cfg;
  std::optional<caf::actor_system> system;
  std::unique_ptr<db::database> database;  // null without database.url
  supervisor_actor supervisor;

  boost::asio::io_context io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::vector<std::thread> io_threads;
  std::unique_ptr<http_gateway> gateway;
  std::unique_ptr<admin_server> admin;

  std::atomic<bool> started{false};
  std::mutex mutex;
  std::condition_variable wake;
  bool shutdown_requested = false;
  int exit_code = 0;
  bool stopped = false;

  void stop_everything();
};

server_app::server_app(config cfg, const std::vector<agent_spec>* registry)
    : impl_(std::make_unique<impl>(std::move(cfg), registry ? *registry : server_registry())) {}

server_app::~server_app() {
  if (impl_->system) impl_->stop_everything();
}

void server_app::start() {
  auto& d = *impl_;
  const auto t0 = std::chrono::steady_clock::now();
  if (auto lvl = log::parse_level(d.cfg.log.level)) log::set_level(*lvl);
  log::set_json(d.cfg.log.format == "json");

  if (!d.cfg.database.url.empty()) {
    std::vector<std::string> schemas;
    for (size_t i = 0; i < d.directory.size(); ++i)
      schemas.emplace_back(d.directory.at(i).spec().schema);
    d.database = std::make_unique<db::database>(d.cfg.database, d.events, std::move(schemas));
    d.database->start();  // migrations first: agents start on the current schema
  } else {
    log::warn("server", "no_database", {{"hint", "set DATABASE_URL or database.url"}});
  }

  d.system.emplace(d.caf_cfg);
  supervisor_setup setup;
  setup.directory = &d.directory;
  setup.events = &d.events;
  setup.limits = d.cfg.supervisor;
  setup.fault_injection = d.cfg.admin.fault_injection;
  setup.call_timeout = d.cfg.gateway.request_timeout;
  setup.settings = &d.cfg;
  if (d.database) {
    setup.database = &d.database->pool();
    setup.relay = &d.database->relay();
  }
  setup.on_escalation = [this](const std::string&) {
    {
      std::lock_guard<std::mutex> guard{impl_->mutex};
      impl_->exit_code = 1;
    }
    request_shutdown();
  };
  d.supervisor = spawn_supervisor(*d.system, std::move(setup));

  // Start barrier (TOOLCHAIN P5): routes exist only once every agent answered its first ping.
  bool all_started = false;
  {
    caf::scoped_actor self{*d.system};
    self->request(d.supervisor, std::chrono::seconds(30), started_atom::value)
        .receive([&](bool ok) { all_started = ok; },
                 [&](caf::error& err) {
                   log::error("server", "start_failed", {{"reason", d.system->render(err)}});
                 });
  }
  if (!all_started) throw std::runtime_error("agents did not start");
  if (d.database) d.database->start_relay();  // consumers are declared: leftovers reach them

  gateway_dependencies gw;
  gw.directory = &d.directory;
  gw.metrics = &d.metrics;
  gw.settings = &d.cfg;
  gw.started = [this] { return impl_->started.load(); };
  if (d.database) gw.database_ready = [db = d.database.get()] { return db->ready(); };
  gw.extra_metrics = [bus = &d.events, db = d.database.get()] {
    auto text = render_event_consumers(*bus);
    if (db) text += db::render_database_metrics(*db);
    return text;
  };
  d.gateway = std::make_unique<http_gateway>(d.io, std::move(gw));
  d.gateway->start();

  admin_dependencies adm;
  adm.system = &*d.system;
  adm.supervisor = d.supervisor;
  adm.directory = &d.directory;
  adm.metrics = &d.metrics;
  adm.settings = &d.cfg;
  adm.request_shutdown = [this] { request_shutdown(); };
  d.admin = std::make_unique<admin_server>(d.io, d.cfg.admin.socket_path, std::move(adm));
  d.admin->start();

  d.work.emplace(d.io.get_executor());
  for (uint32_t i = 0; i < d.cfg.runtime.io_threads; ++i)
    d.io_threads.emplace_back([&io = d.io] { io.run(); });
  d.started = true;
  log::info("server", "ready",
            {{"startup_ms", std::chrono::duration<double, std::milli>(
                                std::chrono::steady_clock::now() - t0)
                                .count()},
             {"gateway_port", d.gateway->gateway_port()},
             {"agents", d.directory.size()},
             {"admin_socket", d.cfg.admin.socket_path}});
}

int server_app::wait() {
  auto& d = *impl_;
  {
    std::unique_lock<std::mutex> lock{d.mutex};
    d.wake.wait(lock, [&] { return d.shutdown_requested; });
  }
  d.stop_everything();
  std::lock_guard<std::mutex> guard{d.mutex};
  return d.exit_code;
}

void server_app::request_shutdown() {
  {
    std::lock_guard<std::mutex> guard{impl_->mutex};
    impl_->shutdown_requested = true;
  }
  impl_->wake.notify_all();
}

void server_app::impl::stop_everything() {
  if (stopped) return;
  stopped = true;
  log::info("server", "shutdown_started");
  if (gateway) {
    gateway->stop_accepting();
    const auto deadline = std::chrono::steady_clock::now() + cfg.gateway.drain_timeout;
    while (gateway->in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (gateway->in_flight() > 0)
      log::warn("server", "drain_timeout", {{"in_flight", gateway->in_flight()}});
  }
  if (admin) admin->stop();
  if (system && supervisor) {
    caf::scoped_actor self{*system};
    const auto bound = cfg.supervisor.shutdown_timeout * (directory.size() + 1);
    self->request(supervisor, bound, shutdown_atom::value)
        .receive([](bool) {},
                 [](caf::error&) { /* already gone (escalation) or too slow: killed below */ });
    self->send_exit(supervisor, caf::exit_reason::user_shutdown);
  }
  work.reset();
  io.stop();
  for (auto& t : io_threads) t.join();
  io_threads.clear();
  if (system) system->await_all_actors_done();
  if (database) database->stop();  // after the agents: none of them can submit work any more
  // Sessions and listeners hold io_context objects: destroy them before the io_context.
  admin.reset();
  gateway.reset();
  log::info("server", "stopped");
}

uint16_t server_app::gateway_port() const {
  return impl_->gateway ? impl_->gateway->gateway_port() : 0;
}
uint16_t server_app::legacy_port(size_t agent_index) const {
  return impl_->gateway ? impl_->gateway->legacy_port(agent_index) : 0;
}
const config& server_app::settings() const { return impl_->cfg; }
agent_directory& server_app::directory() { return impl_->directory; }
http_metrics& server_app::metrics() { return impl_->metrics; }
event_bus& server_app::events() { return impl_->events; }

}  // namespace mercato
