// The plans PostgreSQL chooses for the statements a piece of code runs on one connection.
//
// The shared statements of the order path are prepared once per pool connection and, after five
// runs, executed with a generic plan: one made without the parameters' values and with whatever
// statistics the tables had then, which on a new database is none. A plan that scans a table
// instead of probing its keys then stays until the statistics change, and its cost grows with the
// table, not with the batch (session 13 found the order confirmation reading every pending order).
// plan_capture lets a test see those plans: auto_explain reports each statement's plan as a
// NOTICE and plan_cache_mode = force_generic_plan makes the first run use the generic plan.
// auto_explain must be loadable by the test's role (a superuser, as scripts/pg.sh's cluster gives).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/connection>

namespace mercato::test {

class plan_capture {
 public:
  // Sets the session up on `c` (no transaction may be open on it); resets it when destroyed.
  explicit plan_capture(pqxx::connection& c);
  ~plan_capture();
  plan_capture(const plan_capture&) = delete;
  plan_capture& operator=(const plan_capture&) = delete;

  // The plans (query text and plan) of the statements whose text contains `marker`.
  std::vector<std::string> plans_of(std::string_view marker) const;

 private:
  class collector;
  pqxx::connection& c_;
  std::unique_ptr<collector> collector_;
};

// The index scans of `plan` that are not probes by key: a condition with no parameter and no other
// relation's column ("Index Scan using orders_status_created on orders by (status =
// 'pending'::text)": every pending order read to find a few), or none at all (the whole of a
// partial index). Their cost grows with the table's state, whatever the batch. Sequential scans are
// not listed: on the small tables of a test they are the planner's right choice, and the plan is
// made again when the table's statistics change.
std::vector<std::string> table_reads(const std::string& plan);

// Catch2 checks: at least one statement whose text contains `marker` ran, and no plan of them has
// table_reads() (only those naming `table`, when given: e.g. the tables that grow with orders).
void check_key_probes(const plan_capture& plans, std::string_view marker, std::string_view table = {});

}  // namespace mercato::test
