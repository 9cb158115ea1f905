// SQL of the daily jobs' record, customers.job_runs (see customer_store.hpp): which 02:00 UTC slot
// each job's last completed run covers, claimed and written in the transaction of the job's work.
#include <chrono>

#include <pqxx/pqxx>

#include "customer/customer_store.hpp"

namespace mercato::customer::store {

result<job_run> run_daily_job(pqxx::work& tx, const std::string& job, schedule::date slot,
                              daily_work work) {
  using R = result<job_run>;
  using schedule::days;
  // Dates cross as days since 1970-01-01 (schedule::date's own count): no text parsing either way.
  tx.exec_params("INSERT INTO customers.job_runs (job) VALUES ($1) ON CONFLICT (job) DO NOTHING",
                 job);
  auto row = tx.exec_params1(
      "SELECT last_slot - DATE '1970-01-01' FROM customers.job_runs WHERE job = $1 FOR UPDATE",
      job);
  std::optional<schedule::date> covered;
  if (!row[0].is_null()) covered = schedule::date{days{row[0].as<int64_t>()}};
  if (!schedule::due(slot, covered)) return R::of(job_run{false, 0, *covered});
  const int64_t count = work(tx, "");
  tx.exec_params(
      "UPDATE customers.job_runs SET last_slot = DATE '1970-01-01' + $2::integer, "
      "last_run_at = now(), last_count = $3 WHERE job = $1",
      job, static_cast<int64_t>(slot.time_since_epoch().count()), count);
  return R::of(job_run{true, count, slot});
}

}  // namespace mercato::customer::store
