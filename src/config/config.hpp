// mercato's configuration: every key with its default, loaded from one TOML file plus environment
// overrides. Unknown keys and bad values are errors that name the key and the file.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mercato/agent_spec.hpp"

namespace mercato {

using millis = std::chrono::milliseconds;

struct gateway_config {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 8080;                     // 0 = ephemeral (tests)
  bool legacy_ports = true;
  uint16_t legacy_port_base = 8000;         // 0 = one ephemeral port per agent (tests)
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
  millis request_timeout{5000};             // agent answer deadline -> 504
  millis read_timeout{10000};               // whole request must arrive within this -> 408
  millis keep_alive_idle_timeout{30000};    // idle connection closed after this
  size_t max_connections = 10000;
  size_t max_in_flight_per_agent = 1024;    // above -> 503 + Retry-After
  millis drain_timeout{5000};               // SIGTERM: in-flight requests get this long
  std::vector<std::string> cors_allowed_origins{"*"};
  uint32_t retry_after_seconds = 1;
};

struct agent_override {
  bool enabled = true;
  std::optional<restart_type> restart;      // default: the registry's
  std::optional<millis> request_timeout;    // default: agent_request_timeout() below
};

struct agents_config {
  std::map<std::string, agent_override> overrides;  // [agents.<name>] tables
  // Effective values for one agent.
  bool enabled(std::string_view name) const;
  restart_type restart(const agent_spec& spec) const;
};

struct supervisor_config {
  uint32_t restart_intensity = 5;           // more than this many restarts of one agent ...
  millis restart_period{30000};             // ... within this window -> agent failed
  uint32_t total_restart_intensity = 50;    // more restarts than this across all agents ...
  millis total_restart_period{30000};       // ... within this window -> process exits non-zero
  millis backoff_min{10};                   // first repeated restart waits this long (±jitter)
  millis backoff_max{5000};
  double backoff_jitter = 0.2;              // ± fraction of the backoff
  millis heartbeat_interval{1000};
  millis heartbeat_deadline{1000};          // no answer in time -> hang -> kill + restart
  millis shutdown_timeout{2000};            // per agent, on stop
};

struct database_config {
  std::string url;                          // libpq URL/conninfo; empty = no database (DATABASE_URL)
  uint32_t pool_size = 4;                   // connections, one thread each
  millis statement_timeout{5000};
  millis reconnect_min{100};                // reconnect backoff, doubling up to reconnect_max
  millis reconnect_max{1000};
  millis connect_timeout{10000};            // serve/migrate wait this long for a first connection
  bool auto_migrate = true;                 // serve applies pending migrations on start
  std::string migrations_dir = "db/migrations";
  std::string seed_dir = "db/seed";
  uint32_t retention_interval_s = 900;           // retention keeper's round (db/retention_keeper.hpp)
  uint32_t processed_events_retention_days = 7;  // consumed-event marks kept at least this long
};

struct admin_config {
  std::string socket_path = "var/mercato.sock";
  bool fault_injection = false;             // enables console `crash` / `hang`
};

struct log_config {
  std::string level = "info";               // trace|debug|info|warn|error|off
  std::string format = "json";              // json|text
};

struct runtime_config {
  uint32_t worker_threads = 2;              // CAF scheduler workers
  std::string scheduler = "sharing";        // CAF scheduler policy: sharing|stealing
  uint32_t io_threads = 1;                  // Asio threads for HTTP and the admin socket
};

// Domain settings (issue #4 on). Money is kept in cents; the TOML file writes it as a decimal string.
struct order_config {
  millis place_wait{10000};                 // POST /orders waits this long for the saga
  millis payment_window{1800000};           // waiting_payment → cancelled after this
  millis review_window{86400000};           // waiting_review → cancelled after this
  millis saga_poll_interval{5000};          // recovery driver: claim due sagas this often
  millis saga_lease{30000};                 // a claimed saga is owned for this long
  uint32_t saga_max_attempts = 20;          // failing step retries before the saga is `failed`
  millis retry_after_agent_stop{100};       // first retry of a step its agent's stop failed
  uint32_t confirm_batch_max = 32;          // confirmations per statement (1 = one each)
  uint32_t confirm_batches_in_flight = 2;   // statements written at once before others wait
  uint32_t placement_batch_max = 32;        // new placements per commit statement (1 = one each)
  uint32_t placement_batches_in_flight = 2; // commit statements written at once before others wait
};

// The built-in shipping step: a flat-rate table by service level (the carrier agent's issue
// replaces it with real quotes).
struct shipping_config {
  std::string carrier_code = "FLATRATE";
  int64_t standard_cents = 599;
  int64_t express_cents = 1499;
  int64_t overnight_cents = 2999;
  int64_t free_standard_threshold_cents = 7500;  // standard is free at or above this (0 = never)
};

struct inventory_config {
  millis sweep_interval{15000};             // expired reservations released this often
  millis reservation_ttl{900000};           // REST reservations without expires_at
  uint32_t reserve_batch_max = 32;          // saga reserves per transaction (1 = one each)
  uint32_t reserve_batches_in_flight = 2;   // reserve transactions at once before others wait
};

// The fraud agent's shared scoring statements (db/batch_queue.hpp).
struct fraud_config {
  uint32_t scoring_batch_max = 32;          // scorings per statement (1 = one each)
  uint32_t scoring_batches_in_flight = 2;   // statements written at once before others wait
};

struct payment_config {
  uint32_t authorization_days = 7;          // an authorization expires after this
  uint32_t authorize_batch_max = 32;        // saga authorizations per shared staging (1 = one each)
  uint32_t authorize_batches_in_flight = 2; // shared stagings at once before others wait
  std::string stripe_secret_key;            // empty: the Stripe gateway is "not configured"
  std::string stripe_webhook_secret;        // empty: Stripe webhooks are refused
  std::string stripe_base_url = "https://api.stripe.com";
  millis stripe_timeout{10000};             // per Stripe call; past it the outcome is unknown
  std::string stripe_ca_file;               // PEM of trusted CAs; empty: the system store
};

// The shop's public face: where its storefront lives (sitemap and SEO URLs).
struct store_config {
  std::string base_url = "http://localhost:8080";
};

struct config {
  gateway_config gateway;
  agents_config agents;
  supervisor_config supervisor;
  database_config database;
  admin_config admin;
  log_config log;
  runtime_config runtime;
  order_config order;
  shipping_config shipping;
  inventory_config inventory;
  fraud_config fraud;
  payment_config payment;
  store_config store;
  std::string source = "<defaults>";        // file the values came from
};

struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses `toml_text` (named `source` in messages), then applies environment overrides read
// through `getenv` (injectable for tests). Throws config_error naming key and source.
using env_lookup = const char* (*)(const char*);
config parse_config(const std::string& toml_text, const std::string& source,
                    env_lookup getenv_fn = nullptr);
config load_config_file(const std::string& path, env_lookup getenv_fn = nullptr);

// How long the gateway waits for `agent`'s answer before it replies 504: the agent's own
// `[agents.<name>] request_timeout_ms`, else `gateway.request_timeout_ms`. Without its own value
// the order agent gets at least `order.place_wait_ms` + place_answer_margin: POST /orders answers
// with the order as it is once place_wait has passed (agents/8000-order.md), and a gateway that
// gave up first would answer 504 for an order that exists.
inline constexpr millis place_answer_margin{5000};  // the checks before the saga: customer, products, stock
millis agent_request_timeout(const config& c, std::string_view agent);

// The effective configuration as TOML (console `config`); a database password is masked.
std::string render_config(const config& c);

// `url` with its password replaced by "****" (URI and key=value forms), for logs and output.
std::string redact_database_url(const std::string& url);

}  // namespace mercato
