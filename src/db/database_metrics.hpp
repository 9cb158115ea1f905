// The database side of /metrics: the pool's connections and backlog, the outbox relay and the two
// keepers, in Prometheus text. The gateway appends it to the agents' figures (server_app.cpp).
#pragma once

#include <string>

namespace mercato::db {

class database;

std::string render_database_metrics(const database& db);

}  // namespace mercato::db
