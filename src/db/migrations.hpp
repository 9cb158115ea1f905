// Schema migrations: db/migrations/NNNN_name.sql files applied in order, one transaction each,
// recorded in public.schema_migrations (version, name, checksum, applied_at). An applied file
// whose text changed is refused, so the database never silently drifts from the repository.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <pqxx/connection>

namespace mercato::db {

struct migration {
  int version = 0;      // NNNN
  std::string name;     // the part after NNNN_, without .sql
  std::string sql;
  std::string checksum; // hex digest of the file's bytes
};

struct migration_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads every NNNN_name.sql in `directory`, sorted by version. Throws migration_error for a
// missing directory, a malformed file name or a duplicate version.
std::vector<migration> load_migrations(const std::string& directory);

// 64-bit FNV-1a of the text as 16 hex digits: change detection, not security.
std::string checksum_of(const std::string& text);

struct migration_report {
  std::vector<int> applied;  // versions applied by this call
  size_t already_applied = 0;
};

// Applies the pending migrations. Serialised across processes by an advisory lock. Throws
// migration_error (naming the file) when an applied file changed or a migration fails; a failing
// migration is rolled back and nothing after it runs.
migration_report apply_migrations(pqxx::connection& c, const std::vector<migration>& all);

// Versions not applied yet, without applying anything; throws migration_error like
// apply_migrations when an applied file changed.
std::vector<int> pending_migrations(pqxx::connection& c, const std::vector<migration>& all);

}  // namespace mercato::db
