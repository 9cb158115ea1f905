// Migration loading and application (see migrations.hpp).
#include "db/migrations.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "log/log.hpp"

namespace mercato::db {
namespace {

// Arbitrary constant: the advisory lock that serialises migration runs.
constexpr int64_t migration_lock_key = 0x6d657263'61746f31;  // "mercato1"

bool parse_file_name(const std::string& file, int& version, std::string& name) {
  if (file.size() < 10 || file.compare(file.size() - 4, 4, ".sql") != 0) return false;
  if (file[4] != '_') return false;
  for (int i = 0; i < 4; ++i)
    if (!std::isdigit(static_cast<unsigned char>(file[i]))) return false;
  version = std::stoi(file.substr(0, 4));
  name = file.substr(5, file.size() - 9);
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
           c == '_';
  });
}

using applied_map = std::map<int, std::string>;  // version → checksum

applied_map read_applied(pqxx::connection& c) {
  applied_map applied;
  pqxx::nontransaction read{c};
  auto exists = read.exec("SELECT to_regclass('public.schema_migrations') IS NOT NULL");
  if (!exists[0][0].as<bool>()) return applied;
  for (const auto& row : read.exec("SELECT version, checksum FROM public.schema_migrations"))
    applied[row[0].as<int>()] = row[1].as<std::string>();
  return applied;
}

// Whether `m` was applied; throws when it was, but from another text.
bool is_applied(const applied_map& applied, const migration& m) {
  auto it = applied.find(m.version);
  if (it == applied.end()) return false;
  if (it->second != m.checksum)
    throw migration_error(fmt::format(
        "migration {:04}_{}.sql was changed after it was applied (checksum {} in the database, "
        "{} on disk); add a new migration instead of editing an applied one",
        m.version, m.name, it->second, m.checksum));
  return true;
}

}  // namespace

std::string checksum_of(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return fmt::format("{:016x}", h);
}

std::vector<migration> load_migrations(const std::string& directory) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(directory, ec))
    throw migration_error(fmt::format("{}: migrations directory not found", directory));
  std::map<int, migration> by_version;
  for (const auto& entry : fs::directory_iterator(directory)) {
    if (!entry.is_regular_file()) continue;
    const auto file = entry.path().filename().string();
    if (entry.path().extension() != ".sql") continue;
    migration m;
    if (!parse_file_name(file, m.version, m.name))
      throw migration_error(
          fmt::format("{}: migration file names are NNNN_lower_snake.sql", entry.path().string()));
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    m.sql = text.str();
    m.checksum = checksum_of(m.sql);
    auto [it, inserted] = by_version.emplace(m.version, m);
    if (!inserted)
      throw migration_error(fmt::format("{}: version {:04} is used twice ({} and {})", directory,
                                        m.version, it->second.name, m.name));
  }
  std::vector<migration> out;
  for (auto& [v, m] : by_version) out.push_back(std::move(m));
  return out;
}

migration_report apply_migrations(pqxx::connection& c, const std::vector<migration>& all) {
  migration_report report;
  // The lock comes first: concurrent CREATE TABLE IF NOT EXISTS on a fresh database can still
  // collide in the catalog.
  {
    pqxx::nontransaction lock{c};
    lock.exec("SELECT pg_advisory_lock(" + std::to_string(migration_lock_key) + ")");
  }
  struct unlock_on_exit {
    pqxx::connection& c;
    ~unlock_on_exit() {
      try {
        pqxx::nontransaction tx{c};
        tx.exec("SELECT pg_advisory_unlock(" + std::to_string(migration_lock_key) + ")");
      } catch (...) {  // the lock dies with the session anyway
      }
    }
  } unlock{c};
  {
    pqxx::nontransaction setup{c};
    setup.exec(
        "CREATE TABLE IF NOT EXISTS public.schema_migrations ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
  }

  const auto applied = read_applied(c);
  for (const auto& m : all) {
    if (is_applied(applied, m)) {
      ++report.already_applied;
      continue;
    }
    try {
      pqxx::work tx{c};
      tx.exec(m.sql);
      tx.exec_params("INSERT INTO public.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                     m.version, m.name, m.checksum);
      tx.commit();
    } catch (const std::exception& e) {
      throw migration_error(
          fmt::format("migration {:04}_{}.sql failed and was rolled back: {}", m.version, m.name,
                      e.what()));
    }
    log::info("db", "migration_applied", {{"version", m.version}, {"name", m.name}});
    report.applied.push_back(m.version);
  }
  return report;
}

std::vector<int> pending_migrations(pqxx::connection& c, const std::vector<migration>& all) {
  const auto applied = read_applied(c);
  std::vector<int> pending;
  for (const auto& m : all)
    if (!is_applied(applied, m)) pending.push_back(m.version);
  return pending;
}

}  // namespace mercato::db
