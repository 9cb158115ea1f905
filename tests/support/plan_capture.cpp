#include "support/plan_capture.hpp"

#include <regex>
#include <sstream>

#include <catch2/catch.hpp>
#include <pqxx/errorhandler>
#include <pqxx/nontransaction>

namespace mercato::test {

// Keeps auto_explain's plan notices (and passes any other notice on to libpq's default printing).
class plan_capture::collector : public pqxx::errorhandler {
 public:
  explicit collector(pqxx::connection& c) : pqxx::errorhandler(c) {}
  bool operator()(const char msg[]) noexcept override {
    std::string_view m{msg};
    if (m.find("duration:") == std::string_view::npos || m.find("plan:") == std::string_view::npos) return true;
    try {
      plans.emplace_back(m);
    } catch (...) {
    }
    return false;
  }
  std::vector<std::string> plans;
};

plan_capture::plan_capture(pqxx::connection& c) : c_(c) {
  pqxx::nontransaction tx{c_};
  tx.exec(
      "LOAD 'auto_explain';"
      "SET auto_explain.log_min_duration = 0;"
      "SET auto_explain.log_level = 'notice';"
      "SET auto_explain.log_nested_statements = off;"
      "SET plan_cache_mode = force_generic_plan");
  tx.commit();
  collector_ = std::make_unique<collector>(c_);
}

plan_capture::~plan_capture() {
  collector_.reset();
  try {
    pqxx::nontransaction tx{c_};
    tx.exec("RESET auto_explain.log_min_duration; RESET plan_cache_mode");
    tx.commit();
  } catch (...) {
  }
}

std::vector<std::string> plan_capture::plans_of(std::string_view marker) const {
  std::vector<std::string> out;
  for (const auto& p : collector_->plans)
    if (p.find(marker) != std::string::npos) out.push_back(p);
  return out;
}

std::vector<std::string> table_reads(const std::string& plan) {
  static const std::regex node_name{R"((\w[\w ]*? (on|using) [A-Za-z_0-9.]+( on [A-Za-z_0-9.]+)?))"};
  // A key reaches an index condition as a parameter ($1) or as a column of another relation (x.j).
  static const std::regex keyed{R"(\$\d|\b[a-z_][a-z_0-9]*\.[a-z_])"};
  std::vector<std::string> out;
  std::string index_scan;  // the index scan whose detail lines follow, until its condition shows
  auto unconditioned = [&] {
    if (!index_scan.empty()) out.push_back(index_scan + " (whole index)");
    index_scan.clear();
  };
  std::istringstream lines{plan};
  for (std::string line; std::getline(lines, line);) {
    const auto cond = line.find("Index Cond: ");
    if (cond != std::string::npos) {
      if (!index_scan.empty() &&
          !std::regex_search(line.cbegin() + static_cast<std::ptrdiff_t>(cond), line.cend(), keyed))
        out.push_back(index_scan + " by " + line.substr(cond + 12));
      index_scan.clear();
      continue;
    }
    std::smatch m;
    if (line.find("->  ") == std::string::npos || !std::regex_search(line, m, node_name)) continue;
    unconditioned();  // a new node: the previous index scan had no condition
    if (m.str().find("Index") != std::string::npos && m.str().find("Scan") != std::string::npos) index_scan = m.str();
  }
  unconditioned();
  return out;
}

void check_key_probes(const plan_capture& plans, std::string_view marker, std::string_view table) {
  const auto found = plans.plans_of(marker);
  INFO("statements containing: " << marker);
  REQUIRE_FALSE(found.empty());
  for (const auto& plan : found) {
    INFO(plan);
    std::vector<std::string> reads;
    for (auto& r : table_reads(plan))
      if (table.empty() || r.find(table) != std::string::npos) reads.push_back(std::move(r));
    CHECK(reads == std::vector<std::string>{});
  }
}

}  // namespace mercato::test
