#include "support/agent_fixture.hpp"

#include <stdexcept>
#include <thread>

#include "mercato/supervisor_actor.hpp"
#include "mercato/agent_spec.hpp"

namespace mercato::test {

agent_spec spec_for(std::string_view name, agent_factory factory) {
  for (const auto& spec : agent_registry()) {
    if (spec.name == name) {
      agent_spec copy = spec;
      copy.factory = factory;
      return copy;
    }
  }
  throw std::invalid_argument("no agent named " + std::string{name} + " in the registry");
}

nlohmann::json http_reply::json() const {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded())
    throw std::runtime_error("HTTP " + std::to_string(status) + " body is not JSON: " + body);
  return doc;
}

std::string http_reply::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

namespace {
supervisor_config test_limits() {
  supervisor_config s;
  s.restart_intensity = 50;
  s.restart_period = std::chrono::seconds(30);
  s.total_restart_intensity = 500;
  s.backoff_min = std::chrono::milliseconds(1);
  s.backoff_max = std::chrono::milliseconds(20);
  s.heartbeat_interval = std::chrono::milliseconds(200);
  s.heartbeat_deadline = std::chrono::milliseconds(3000);
  s.shutdown_timeout = std::chrono::milliseconds(3000);
  return s;
}
}  // namespace

agent_fixture::agent_fixture(std::vector<agent_spec> agents, fixture_options options)
    : db_(std::make_unique<migrated_database>()), specs_(std::move(agents)) {
  std::vector<agent_directory::row> rows;
  for (const auto& spec : specs_) rows.push_back({&spec, spec.restart, true});
  directory_ = std::make_unique<agent_directory>(rows);
  bus_.subscribe("*", [this](const event& e) {
    std::lock_guard<std::mutex> guard{mutex_};
    seen_.push_back(e);
  });

  if (options.adjust) options.adjust(settings_);
  database_config& cfg = settings_.database;
  cfg.url = db_->url();
  cfg.pool_size = static_cast<uint32_t>(options.pool_size);
  cfg.migrations_dir = migrations_dir();
  cfg.seed_dir = source_dir() + "/db/seed";
  cfg.auto_migrate = false;  // migrated_database did it
  cfg.reconnect_min = std::chrono::milliseconds(20);
  cfg.reconnect_max = std::chrono::milliseconds(200);
  if (options.seed) db::seed(cfg);
  std::vector<std::string> schemas;
  for (const auto& spec : specs_) schemas.emplace_back(spec.schema);
  database_ = std::make_unique<db::database>(cfg, bus_, std::move(schemas));
  database_->start();

  caf_config_.set("scheduler.max-threads", size_t{2});
  caf_config_.set("scheduler.policy", caf::atom("sharing"));
  system_ = std::make_unique<caf::actor_system>(caf_config_);
  self_storage_ = std::make_unique<caf::scoped_actor>(*system_);
  self_ = self_storage_.get();

  supervisor_setup setup;
  setup.directory = directory_.get();
  setup.events = &bus_;
  setup.limits = test_limits();
  setup.fault_injection = options.fault_injection;
  setup.call_timeout = options.call_timeout;
  setup.database = &database_->pool();
  setup.relay = &database_->relay();
  setup.settings = &settings_;
  supervisor_ = spawn_supervisor(*system_, std::move(setup));
  bool started = false;
  (*self_)->request(supervisor_, std::chrono::seconds(10), started_atom::value)
      .receive([&](bool ok) { started = ok; }, [](caf::error&) {});
  if (!started) throw std::runtime_error("the supervisor did not start the agents");
  database_->start_relay();
}

agent_fixture::~agent_fixture() {
  (*self_)->send_exit(supervisor_, caf::exit_reason::user_shutdown);
  (*self_)->wait_for(supervisor_);
  self_storage_.reset();
  system_.reset();  // waits for every actor before the database goes away
  database_->stop();
}

http_reply agent_fixture::http(std::string_view agent, std::string method, std::string target,
                               std::string body, header_list headers) {
  http_reply out;
  http_request req;
  req.method = std::move(method);
  auto q = target.find('?');
  if (q != std::string::npos) {
    req.query = target.substr(q + 1);
    target.resize(q);
  }
  req.path = std::move(target);
  req.body = std::move(body);
  req.headers = std::move(headers);
  if (!req.body.empty()) req.headers.emplace_back("content-type", "application/json");
  auto raw = directory_->handle(agent);
  if (!raw) {
    out.status = 503;
    return out;
  }
  (*self_)->request(caf::actor_cast<agent_actor>(raw), std::chrono::seconds(15), std::move(req))
      .receive(
          [&](http_response& r) {
            out.status = r.status;
            out.body = std::move(r.body);
            out.headers = std::move(r.headers);
          },
          [&](caf::error& e) {
            out.status = 599;
            out.body = system_->render(e);
          });
  return out;
}

std::vector<event> agent_fixture::events() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return seen_;
}

std::vector<event> agent_fixture::events(std::string_view qualified_name) const {
  std::vector<event> out;
  std::lock_guard<std::mutex> guard{mutex_};
  for (const auto& e : seen_)
    if (e.name == qualified_name) out.push_back(e);
  return out;
}

bool agent_fixture::eventually(const std::function<bool()>& pred,
                               std::chrono::milliseconds timeout) const {
  return test::eventually(pred, timeout);
}

control_reply agent_fixture::inject(const std::string& agent, const std::string& kind,
                                    uint32_t millis) {
  control_reply out;
  (*self_)->request(supervisor_, std::chrono::seconds(5), inject_atom::value, agent, kind, millis)
      .receive([&](control_reply& r) { out = std::move(r); },
               [&](caf::error& e) { out.message = system_->render(e); });
  return out;
}

control_reply agent_fixture::stop(const std::string& agent) {
  control_reply out;
  (*self_)->request(supervisor_, std::chrono::seconds(5), stop_atom::value, agent)
      .receive([&](control_reply& r) { out = std::move(r); },
               [&](caf::error& e) { out.message = system_->render(e); });
  return out;
}

bool agent_fixture::wait_running(std::string_view agent, std::chrono::milliseconds timeout) {
  return test::eventually([&] { return static_cast<bool>(directory_->handle(agent)); }, timeout);
}

db::pool& agent_fixture::pool() { return database_->pool(); }

}  // namespace mercato::test
