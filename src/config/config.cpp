// Loads mercato's configuration: TOML text -> typed structs, then MERCATO_* environment overrides,
// then cross-key checks. Each key is described once in key_table(): parse, override and render.
#include "config/config.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <sstream>

#include <toml.hpp>

#include "domain/money.hpp"

namespace mercato {

std::string_view to_string(restart_type t) {
  switch (t) {
    case restart_type::permanent:
      return "permanent";
    case restart_type::transient:
      return "transient";
    case restart_type::temporary:
      return "temporary";
  }
  return "permanent";  // unreachable: the switch covers every enumerator
}

std::optional<restart_type> parse_restart_type(std::string_view s) {
  for (restart_type t : {restart_type::permanent, restart_type::transient, restart_type::temporary})
    if (to_string(t) == s) return t;
  return std::nullopt;
}

bool agents_config::enabled(std::string_view name) const {
  const auto it = overrides.find(std::string(name));
  return it == overrides.end() || it->second.enabled;
}

restart_type agents_config::restart(const agent_spec& spec) const {
  const auto it = overrides.find(std::string(spec.name));
  return it != overrides.end() && it->second.restart ? *it->second.restart : spec.restart;
}

millis agent_request_timeout(const config& c, std::string_view agent) {
  const auto it = c.agents.overrides.find(std::string(agent));
  if (it != c.agents.overrides.end() && it->second.request_timeout) return *it->second.request_timeout;
  if (agent == "order") return std::max(c.gateway.request_timeout, c.order.place_wait + place_answer_margin);
  return c.gateway.request_timeout;
}

namespace {

// std::map rather than toml11's default unordered_map: the first unknown key reported is stable.
using toml_value = toml::basic_value<toml::discard_comments, std::map, std::vector>;
using toml_table = toml_value::table_type;

constexpr int64_t max_int64 = std::numeric_limits<int64_t>::max();
constexpr int64_t max_duration_ms = 24 * 60 * 60 * 1000;  // a day: anything longer is a typo

// The highest legacy port is legacy_port_base + this.
uint16_t highest_port_offset() {
  uint16_t highest = 0;
  for (const agent_spec& agent : agent_registry()) highest = std::max(highest, agent.port_offset);
  return highest;
}

bool is_registered_agent(const std::string& name) {
  const auto& registry = agent_registry();
  return std::any_of(registry.begin(), registry.end(),
                     [&](const agent_spec& agent) { return agent.name == name; });
}

std::string registered_agent_names() {
  std::string names;
  for (const agent_spec& agent : agent_registry()) {
    if (!names.empty()) names += ", ";
    names += agent.name;
  }
  return names;
}

// A value as TOML source text: one line, floats in their shortest exact form.
std::string toml_text(const toml_value& v) {
  if (v.is_floating()) {
    char buffer[32];
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, v.as_floating()).ptr;
    std::string text(buffer, end);
    if (text.find_first_of(".eni") == std::string::npos) text += ".0";  // "1" would be an integer
    return text;
  }
  return toml::format(v, std::numeric_limits<std::size_t>::max());
}

std::string describe(const toml_value& v) {
  return v.is_table() ? "a table" : toml_text(v);
}

// `where` is "<file>: <dotted key>" or "environment: <VARIABLE>".
[[noreturn]] void fail(const std::string& where, const std::string& expected,
                       const toml_value& got) {
  throw config_error(where + ": expected " + expected + ", got " + describe(got));
}

int64_t read_integer(const toml_value& v, const std::string& where, int64_t lo, int64_t hi,
                     const std::string& kind = "an integer") {
  if (!v.is_integer() || v.as_integer() < lo || v.as_integer() > hi) {
    const std::string range = hi == max_int64
                                  ? " >= " + std::to_string(lo)
                                  : " " + std::to_string(lo) + ".." + std::to_string(hi);
    fail(where, kind + range, v);
  }
  return v.as_integer();
}

millis read_duration(const toml_value& v, const std::string& where) {
  return millis{read_integer(v, where, 1, max_duration_ms, "a duration in milliseconds")};
}

bool read_bool(const toml_value& v, const std::string& where) {
  if (!v.is_boolean()) fail(where, "true or false", v);
  return v.as_boolean();
}

std::string read_string(const toml_value& v, const std::string& where) {
  if (!v.is_string() || v.as_string().str.empty()) fail(where, "a non-empty string", v);
  return v.as_string().str;
}

std::string read_optional_string(const toml_value& v, const std::string& where) {
  if (!v.is_string()) fail(where, "a string", v);
  return v.as_string().str;
}

std::string read_choice(const toml_value& v, const std::string& where,
                        const std::vector<std::string>& choices) {
  if (!v.is_string() ||
      std::find(choices.begin(), choices.end(), v.as_string().str) == choices.end()) {
    std::string expected = "one of ";
    for (const std::string& choice : choices)
      expected += (&choice == &choices.front() ? "" : "|") + choice;
    fail(where, expected, v);
  }
  return v.as_string().str;
}

restart_type read_restart(const toml_value& v, const std::string& where) {
  if (v.is_string())
    if (const auto restart = parse_restart_type(v.as_string().str)) return *restart;
  fail(where, "one of permanent|transient|temporary", v);
}

// Accepts an integer too: `backoff_jitter = 0` is a natural way to write "no jitter".
double read_fraction(const toml_value& v, const std::string& where) {
  const bool is_number = v.is_floating() || v.is_integer();
  const double x = v.is_floating() ? v.as_floating()
                   : is_number     ? static_cast<double>(v.as_integer())
                                   : 0.0;
  if (!is_number || !(x >= 0.0 && x <= 1.0)) fail(where, "a number 0..1", v);  // NaN fails too
  return x;
}

// Money as a decimal string ("5.99"); a bare integer means whole units.
int64_t read_money(const toml_value& v, const std::string& where) {
  std::optional<money::cents> cents;
  if (v.is_string()) cents = money::parse_decimal(v.as_string().str);
  if (v.is_integer()) cents = money::parse_decimal(std::to_string(v.as_integer()));
  if (!cents || *cents < 0) fail(where, "a non-negative amount such as \"5.99\"", v);
  return *cents;
}

std::vector<std::string> read_string_list(const toml_value& v, const std::string& where) {
  const auto is_text = [](const toml_value& e) {
    return e.is_string() && !e.as_string().str.empty();
  };
  if (!v.is_array() || !std::all_of(v.as_array().begin(), v.as_array().end(), is_text))
    fail(where, "an array of non-empty strings", v);
  std::vector<std::string> list;
  for (const toml_value& e : v.as_array()) list.push_back(e.as_string().str);
  return list;
}

const toml_table& read_table(const toml_value& v, const std::string& where) {
  if (!v.is_table()) fail(where, "a table", v);
  return v.as_table();
}

// How an environment variable's text is typed before the key's own check runs on it.
enum class env_text { integer, boolean, string };

struct key_spec {
  std::string section;
  std::string key;
  const char* env_var;  // nullptr: no environment override
  env_text env_kind;
  std::function<void(config&, const toml_value&, const std::string& where)> read;
  std::function<toml_value(const config&)> write;
};

// Adds the keys of one [section] to the key table; each method describes one key of the struct.
template <class Section>
class section_keys {
 public:
  section_keys(std::vector<key_spec>& table, std::string name, Section config::*section)
      : table_(table), name_(std::move(name)), section_(section) {}

  template <class Int>
  void integer(std::string key, Int Section::*member, int64_t lo, int64_t hi,
               const char* env_var = nullptr) {
    add(
        std::move(key), env_var, env_text::integer,
        [=](Section& s, const toml_value& v, const std::string& where) {
          s.*member = static_cast<Int>(read_integer(v, where, lo, hi));
        },
        [=](const Section& s) { return toml_value(static_cast<toml::integer>(s.*member)); });
  }

  // 1 up to what both the member and a TOML integer can hold.
  template <class Int>
  void positive(std::string key, Int Section::*member) {
    const bool fits_int64 = std::numeric_limits<Int>::max() <= static_cast<uint64_t>(max_int64);
    integer(std::move(key), member, 1,
            fits_int64 ? static_cast<int64_t>(std::numeric_limits<Int>::max()) : max_int64);
  }

  void duration(std::string key, millis Section::*member) {
    add(
        std::move(key), nullptr, env_text::integer,
        [=](Section& s, const toml_value& v, const std::string& where) {
          s.*member = read_duration(v, where);
        },
        [=](const Section& s) {
          return toml_value(static_cast<toml::integer>((s.*member).count()));
        });
  }

  void boolean(std::string key, bool Section::*member, const char* env_var = nullptr) {
    add(
        std::move(key), env_var, env_text::boolean,
        [=](Section& s, const toml_value& v, const std::string& where) {
          s.*member = read_bool(v, where);
        },
        [=](const Section& s) { return toml_value(s.*member); });
  }

  void string(std::string key, std::string Section::*member, const char* env_var = nullptr) {
    add(
        std::move(key), env_var, env_text::string,
        [=](Section& s, const toml_value& v, const std::string& where) {
          s.*member = read_string(v, where);
        },
        [=](const Section& s) { return toml_value(s.*member); });
  }

  // A string that may be empty (a path or a setting that is off when unset).
  void optional_string(std::string key, std::string Section::*member, const char* env_var = nullptr) {
    add(
        std::move(key), env_var, env_text::string,
        [=](Section& s, const toml_value& v, const std::string& where) {
          s.*member = read_optional_string(v, where);
        },
        [=](const Section& s) { return toml_value(s.*member); });
  }

  // A string that may be empty and may hold a password: rendered with the password masked.
  void secret_string(std::string key, std::string Section::*member, const char* env_var) {
    add(
        std::move(key), env_var, env_text::string,
        [=](Section& s, const toml_value& v, const std::string& where) {
          s.*member = read_optional_string(v, where);
        },
        [=](const Section& s) { return toml_value(redact_database_url(s.*member)); });
  }

  void choice(std::string key, std::string Section::*member, std::vector<std::string> choices,
              const char* env_var = nullptr) {
    add(
        std::move(key), env_var, env_text::string,
        [=](Section& s, const toml_value& v, const std::string& where) {
          s.*member = read_choice(v, where, choices);
        },
        [=](const Section& s) { return toml_value(s.*member); });
  }

  // A decimal amount written as a string ("5.99"), kept in cents.
  void money(std::string key, int64_t Section::*member) {
    add(
        std::move(key), nullptr, env_text::string,
        [=](Section& s, const toml_value& v, const std::string& where) {
          s.*member = read_money(v, where);
        },
        [=](const Section& s) { return toml_value(money::format(s.*member)); });
  }

  // A credential: read as a string, rendered as "****" when set.
  void secret(std::string key, std::string Section::*member, const char* env_var) {
    add(
        std::move(key), env_var, env_text::string,
        [=](Section& s, const toml_value& v, const std::string& where) {
          s.*member = read_optional_string(v, where);
        },
        [=](const Section& s) { return toml_value((s.*member).empty() ? "" : "****"); });
  }

  void fraction(std::string key, double Section::*member) {
    add(
        std::move(key), nullptr, env_text::string,
        [=](Section& s, const toml_value& v, const std::string& where) {
          s.*member = read_fraction(v, where);
        },
        [=](const Section& s) { return toml_value(s.*member); });
  }

  void string_list(std::string key, std::vector<std::string> Section::*member) {
    add(
        std::move(key), nullptr, env_text::string,
        [=](Section& s, const toml_value& v, const std::string& where) {
          s.*member = read_string_list(v, where);
        },
        [=](const Section& s) {
          toml_value::array_type list;
          for (const std::string& item : s.*member) list.emplace_back(item);
          return toml_value(std::move(list));
        });
  }

 private:
  template <class Read, class Write>
  void add(std::string key, const char* env_var, env_text env_kind, Read read, Write write) {
    const auto section = section_;
    table_.push_back(key_spec{name_, std::move(key), env_var, env_kind,
                              [=](config& c, const toml_value& v, const std::string& where) {
                                read(c.*section, v, where);
                              },
                              [=](const config& c) { return write(c.*section); }});
  }

  std::vector<key_spec>& table_;
  std::string name_;
  Section config::*section_;
};

// Every key of every fixed section, in the order render_config writes them. [agents.<name>]
// tables are dynamic and handled by read_agents / render_agents.
const std::vector<key_spec>& key_table() {
  static const std::vector<key_spec> table = [] {
    std::vector<key_spec> keys;

    section_keys<gateway_config> gateway{keys, "gateway", &config::gateway};
    gateway.string("bind_address", &gateway_config::bind_address, "MERCATO_BIND_ADDRESS");
    gateway.integer("port", &gateway_config::port, 0, 65535, "MERCATO_GATEWAY_PORT");
    gateway.boolean("legacy_ports", &gateway_config::legacy_ports, "MERCATO_LEGACY_PORTS");
    gateway.integer("legacy_port_base", &gateway_config::legacy_port_base, 0,
                    65535 - highest_port_offset(), "MERCATO_LEGACY_PORT_BASE");
    gateway.positive("max_body_bytes", &gateway_config::max_body_bytes);
    gateway.positive("max_header_bytes", &gateway_config::max_header_bytes);
    gateway.duration("request_timeout_ms", &gateway_config::request_timeout);
    gateway.duration("read_timeout_ms", &gateway_config::read_timeout);
    gateway.duration("keep_alive_idle_timeout_ms", &gateway_config::keep_alive_idle_timeout);
    gateway.positive("max_connections", &gateway_config::max_connections);
    gateway.positive("max_in_flight_per_agent", &gateway_config::max_in_flight_per_agent);
    gateway.duration("drain_timeout_ms", &gateway_config::drain_timeout);
    gateway.string_list("cors_allowed_origins", &gateway_config::cors_allowed_origins);
    gateway.integer("retry_after_seconds", &gateway_config::retry_after_seconds, 1, 86400);

    section_keys<supervisor_config> supervisor{keys, "supervisor", &config::supervisor};
    supervisor.positive("restart_intensity", &supervisor_config::restart_intensity);
    supervisor.duration("restart_period_ms", &supervisor_config::restart_period);
    supervisor.positive("total_restart_intensity", &supervisor_config::total_restart_intensity);
    supervisor.duration("total_restart_period_ms", &supervisor_config::total_restart_period);
    supervisor.duration("backoff_min_ms", &supervisor_config::backoff_min);
    supervisor.duration("backoff_max_ms", &supervisor_config::backoff_max);
    supervisor.fraction("backoff_jitter", &supervisor_config::backoff_jitter);
    supervisor.duration("heartbeat_interval_ms", &supervisor_config::heartbeat_interval);
    supervisor.duration("heartbeat_deadline_ms", &supervisor_config::heartbeat_deadline);
    supervisor.duration("shutdown_timeout_ms", &supervisor_config::shutdown_timeout);

    section_keys<database_config> database{keys, "database", &config::database};
    database.secret_string("url", &database_config::url, "DATABASE_URL");
    database.integer("pool_size", &database_config::pool_size, 1, 64, "MERCATO_DB_POOL_SIZE");
    database.duration("statement_timeout_ms", &database_config::statement_timeout);
    database.duration("reconnect_min_ms", &database_config::reconnect_min);
    database.duration("reconnect_max_ms", &database_config::reconnect_max);
    database.duration("connect_timeout_ms", &database_config::connect_timeout);
    database.boolean("auto_migrate", &database_config::auto_migrate, "MERCATO_AUTO_MIGRATE");
    database.string("migrations_dir", &database_config::migrations_dir);
    database.string("seed_dir", &database_config::seed_dir);
    database.integer("retention_interval_s", &database_config::retention_interval_s, 10, 86400);
    database.integer("processed_events_retention_days", &database_config::processed_events_retention_days, 1,
                     3650);

    section_keys<admin_config> admin{keys, "admin", &config::admin};
    admin.string("socket_path", &admin_config::socket_path, "MERCATO_ADMIN_SOCKET");
    admin.boolean("fault_injection", &admin_config::fault_injection, "MERCATO_FAULT_INJECTION");

    section_keys<log_config> log{keys, "log", &config::log};
    log.choice("level", &log_config::level, {"trace", "debug", "info", "warn", "error", "off"},
               "MERCATO_LOG_LEVEL");
    log.choice("format", &log_config::format, {"json", "text"}, "MERCATO_LOG_FORMAT");

    section_keys<runtime_config> runtime{keys, "runtime", &config::runtime};
    runtime.integer("worker_threads", &runtime_config::worker_threads, 1, 64,
                    "MERCATO_WORKER_THREADS");
    runtime.integer("io_threads", &runtime_config::io_threads, 1, 16, "MERCATO_IO_THREADS");
    runtime.choice("scheduler", &runtime_config::scheduler, {"stealing", "sharing"},
                   "MERCATO_SCHEDULER");

    section_keys<order_config> order{keys, "order", &config::order};
    order.duration("place_wait_ms", &order_config::place_wait);
    order.duration("payment_window_ms", &order_config::payment_window);
    order.duration("review_window_ms", &order_config::review_window);
    order.duration("saga_poll_interval_ms", &order_config::saga_poll_interval);
    order.duration("saga_lease_ms", &order_config::saga_lease);
    order.integer("saga_max_attempts", &order_config::saga_max_attempts, 1, 1000);
    order.duration("retry_after_agent_stop_ms", &order_config::retry_after_agent_stop);
    order.integer("confirm_batch_max", &order_config::confirm_batch_max, 1, 1000);
    order.integer("confirm_batches_in_flight", &order_config::confirm_batches_in_flight, 1, 64);
    order.integer("placement_batch_max", &order_config::placement_batch_max, 1, 1000);
    order.integer("placement_batches_in_flight", &order_config::placement_batches_in_flight, 1, 64);

    section_keys<shipping_config> shipping{keys, "shipping", &config::shipping};
    shipping.string("carrier_code", &shipping_config::carrier_code);
    shipping.money("standard", &shipping_config::standard_cents);
    shipping.money("express", &shipping_config::express_cents);
    shipping.money("overnight", &shipping_config::overnight_cents);
    shipping.money("free_standard_threshold", &shipping_config::free_standard_threshold_cents);

    section_keys<inventory_config> inventory{keys, "inventory", &config::inventory};
    inventory.duration("sweep_interval_ms", &inventory_config::sweep_interval);
    inventory.duration("reservation_ttl_ms", &inventory_config::reservation_ttl);
    inventory.integer("reserve_batch_max", &inventory_config::reserve_batch_max, 1, 1000);
    inventory.integer("reserve_batches_in_flight", &inventory_config::reserve_batches_in_flight, 1, 64);

    section_keys<fraud_config> fraud{keys, "fraud_detection", &config::fraud};
    fraud.integer("scoring_batch_max", &fraud_config::scoring_batch_max, 1, 1000);
    fraud.integer("scoring_batches_in_flight", &fraud_config::scoring_batches_in_flight, 1, 64);

    section_keys<payment_config> payment{keys, "payment", &config::payment};
    payment.integer("authorization_days", &payment_config::authorization_days, 1, 30);
    payment.integer("authorize_batch_max", &payment_config::authorize_batch_max, 1, 1000);
    payment.integer("authorize_batches_in_flight", &payment_config::authorize_batches_in_flight, 1, 64);
    payment.secret("stripe_secret_key", &payment_config::stripe_secret_key, "MERCATO_STRIPE_SECRET_KEY");
    payment.secret("stripe_webhook_secret", &payment_config::stripe_webhook_secret,
                   "MERCATO_STRIPE_WEBHOOK_SECRET");
    payment.string("stripe_base_url", &payment_config::stripe_base_url, "MERCATO_STRIPE_BASE_URL");
    payment.duration("stripe_timeout_ms", &payment_config::stripe_timeout);
    payment.optional_string("stripe_ca_file", &payment_config::stripe_ca_file, "MERCATO_STRIPE_CA_FILE");

    section_keys<store_config> store{keys, "store", &config::store};
    store.string("base_url", &store_config::base_url, "MERCATO_STORE_BASE_URL");

    return keys;
  }();
  return table;
}

const key_spec* find_key(const std::string& section, const std::string& key) {
  for (const key_spec& spec : key_table())
    if (spec.section == section && spec.key == key) return &spec;
  return nullptr;
}

bool is_section(const std::string& section) {
  const auto& table = key_table();
  return std::any_of(table.begin(), table.end(),
                     [&](const key_spec& spec) { return spec.section == section; });
}

[[noreturn]] void unknown_key(const std::string& source, const std::string& dotted_key) {
  throw config_error(source + ": unknown key '" + dotted_key + "'");
}

toml_value parse_toml(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  try {
    return toml::parse<toml::discard_comments, std::map, std::vector>(in, source);
  } catch (const std::exception& e) {
    // toml11's message names the file again and shows the offending line.
    throw config_error(source + ": invalid TOML: " + e.what());
  }
}

void read_agents(const toml_value& agents, const std::string& source, agents_config& out) {
  for (const auto& [name, body] : read_table(agents, source + ": agents")) {
    const std::string table_name = "agents." + name;
    if (!is_registered_agent(name))
      throw config_error(source + ": unknown agent '" + name + "' in [" + table_name +
                         "] (known agents: " + registered_agent_names() + ")");
    agent_override& agent = out.overrides[name];
    for (const auto& [key, v] : read_table(body, source + ": " + table_name)) {
      const std::string dotted = table_name + "." + key;
      const std::string where = source + ": " + dotted;
      if (key == "enabled")
        agent.enabled = read_bool(v, where);
      else if (key == "restart")
        agent.restart = read_restart(v, where);
      else if (key == "request_timeout_ms")
        agent.request_timeout = read_duration(v, where);
      else
        unknown_key(source, dotted);
    }
  }
}

void read_file_values(const toml_value& root, const std::string& source, config& c) {
  for (const auto& [section, body] : root.as_table()) {
    if (section == "agents") {
      read_agents(body, source, c.agents);
      continue;
    }
    if (!is_section(section)) {
      if (body.is_table()) throw config_error(source + ": unknown section '" + section + "'");
      unknown_key(source, section);
    }
    for (const auto& [key, v] : read_table(body, source + ": " + section)) {
      const std::string dotted = section + "." + key;
      const key_spec* spec = find_key(section, key);
      if (spec == nullptr) unknown_key(source, dotted);
      spec->read(c, v, source + ": " + dotted);
    }
  }
}

// The variable's text as the TOML value it stands for; text that does not fit the key's kind
// stays a string, so the key's check rejects it with the usual message.
toml_value env_value(const std::string& text, env_text kind) {
  if (kind == env_text::integer) {
    toml::integer number = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error == std::errc() && end == text.data() + text.size() && !text.empty())
      return toml_value(number);
  } else if (kind == env_text::boolean) {
    if (text == "true" || text == "1") return toml_value(true);
    if (text == "false" || text == "0") return toml_value(false);
  }
  return toml_value(text);
}

void apply_environment(config& c, env_lookup getenv_fn) {
  for (const key_spec& spec : key_table()) {
    if (spec.env_var == nullptr) continue;
    if (const char* text = getenv_fn(spec.env_var))
      spec.read(c, env_value(text, spec.env_kind), std::string("environment: ") + spec.env_var);
  }
}

// Rules that involve more than one key; run after the environment so overrides are checked too.
void check_consistency(const config& c, const std::string& source) {
  const supervisor_config& supervisor = c.supervisor;
  if (supervisor.backoff_min > supervisor.backoff_max)
    throw config_error(source + ": supervisor.backoff_min_ms (" +
                       std::to_string(supervisor.backoff_min.count()) +
                       ") must not exceed supervisor.backoff_max_ms (" +
                       std::to_string(supervisor.backoff_max.count()) + ")");

  if (c.database.reconnect_min > c.database.reconnect_max)
    throw config_error(source + ": database.reconnect_min_ms (" +
                       std::to_string(c.database.reconnect_min.count()) +
                       ") must not exceed database.reconnect_max_ms (" +
                       std::to_string(c.database.reconnect_max.count()) + ")");

  const gateway_config& gateway = c.gateway;
  if (gateway.legacy_ports && gateway.port != 0 && gateway.legacy_port_base != 0) {
    const unsigned first = gateway.legacy_port_base;
    const unsigned last = first + highest_port_offset();
    if (gateway.port >= first && gateway.port <= last)
      throw config_error(source + ": gateway.port " + std::to_string(gateway.port) +
                         " collides with the legacy agent ports " + std::to_string(first) + ".." +
                         std::to_string(last) + " (gateway.legacy_port_base)");
  }
}

const char* process_environment(const char* name) {
  return std::getenv(name);
}

void render_agents(const agents_config& agents, std::ostringstream& out) {
  for (const auto& [name, agent] : agents.overrides) {
    out << "\n[agents." << toml::format_key(name) << "]\n";
    out << "enabled = " << toml_text(toml_value(agent.enabled)) << '\n';
    if (agent.restart) out << "restart = \"" << to_string(*agent.restart) << "\"\n";
    if (agent.request_timeout)
      out << "request_timeout_ms = " << agent.request_timeout->count() << '\n';
  }
}

}  // namespace

config parse_config(const std::string& toml_text, const std::string& source, env_lookup getenv_fn) {
  config c;
  c.source = source;
  read_file_values(parse_toml(toml_text, source), source, c);
  apply_environment(c, getenv_fn != nullptr ? getenv_fn : process_environment);
  check_consistency(c, source);
  return c;
}

config load_config_file(const std::string& path, env_lookup getenv_fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error(path + ": cannot open: " + std::strerror(errno));
  std::string text;
  try {
    // libstdc++ reports a read error (e.g. the path is a directory) by throwing here.
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } catch (const std::exception&) {
    throw config_error(path + ": cannot read: " + std::strerror(errno));
  }
  if (in.bad()) throw config_error(path + ": cannot read: " + std::strerror(errno));
  return parse_config(text, path, getenv_fn);
}

std::string render_config(const config& c) {
  std::ostringstream out;
  out << "# mercato effective configuration (file: " << c.source
      << ", then MERCATO_* environment overrides)\n";
  const std::string* section = nullptr;
  for (const key_spec& spec : key_table()) {
    if (section == nullptr || *section != spec.section) {
      section = &spec.section;
      out << "\n[" << spec.section << "]\n";
    }
    out << spec.key << " = " << toml_text(spec.write(c)) << '\n';
  }
  render_agents(c.agents, out);
  return out.str();
}

std::string redact_database_url(const std::string& url) {
  std::string out = url;
  // URI form: scheme://user:password@host/...
  auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    auto at = out.find('@', scheme + 3);
    auto colon = out.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at)
      out.replace(colon + 1, at - colon - 1, "****");
  }
  // key=value form: password=secret (up to the next space)
  for (size_t pos = out.find("password="); pos != std::string::npos;
       pos = out.find("password=", pos + 1)) {
    auto start = pos + 9;
    auto end = out.find(' ', start);
    out.replace(start, (end == std::string::npos ? out.size() : end) - start, "****");
  }
  return out;
}

}  // namespace mercato
