// The customer agent's daily loyalty jobs (agents/8007-customer.md "Background work"): points
// expiry, then tier review, at 02:00 UTC and at start if missed (loyalty::job_schedule). The SQL is
// loyalty_store.cpp's; customers.job_runs holds what each job last covered, so the schedule
// survives restarts and needs nothing in memory but a cache of that table.
#include <array>
#include <chrono>

#include "customer/customer_actor.hpp"
#include "customer/daily_schedule.hpp"
#include "customer/loyalty_rules.hpp"
#include "log/log.hpp"

namespace mercato::customer {
namespace {

struct loyalty_job {
  const char* name;  // the job_runs key
  store::daily_work work;
};

// One chain, in this order: a tick's work is over when the last job answered (tests rely on it).
constexpr std::array<loyalty_job, 2> loyalty_jobs{
    {{"points_expiry", &store::expire_lots}, {"tier_review", &store::review_tier_expiries}}};
static_assert(std::tuple_size_v<decltype(customer_state::loyalty_jobs_covered)> ==
              loyalty_jobs.size());

void schedule_next_tick(customer_self self, bool failed) {
  // The job owed a run soonest decides: the oldest coverage (unknown counts as none at all).
  const auto& covered = self->state.loyalty_jobs_covered;
  std::optional<schedule::date> oldest = covered[0];
  for (const auto& c : covered)
    if (!c || (oldest && *c < *oldest)) oldest = c;
  const auto wait =
      schedule::next_check(loyalty::job_schedule, std::chrono::system_clock::now(), oldest, failed);
  self->delayed_send(self, wait, loyalty_tick_atom::value);
}

// Runs jobs[i..] that `slot` is owed to, one after the other, then schedules the next tick
// (after retry_after if one failed: it is still owed, and the job_runs row says so).
void run_jobs_from(customer_self self, size_t i, schedule::date slot, bool failed) {
  const auto& covered = self->state.loyalty_jobs_covered;
  while (i < loyalty_jobs.size() && !schedule::due(slot, covered[i])) ++i;
  if (i == loyalty_jobs.size()) return schedule_next_tick(self, failed);
  const loyalty_job job = loyalty_jobs[i];
  run_store<store::job_run>(
      self,
      [job, slot](pqxx::work& tx) { return store::run_daily_job(tx, job.name, slot, job.work); },
      [self, i, slot, failed, job](store::job_run&& r) {
        self->state.loyalty_jobs_covered[i] = r.covered;
        if (r.ran)
          log::info("customer", "loyalty_job_ran",
                    {{"job", job.name}, {"slot", schedule::iso_date(slot)}, {"count", r.count}});
        else
          log::debug("customer", "loyalty_job_already_covered",
                     {{"job", job.name},
                      {"slot", schedule::iso_date(slot)},
                      {"covered", schedule::iso_date(r.covered)}});
        run_jobs_from(self, i + 1, slot, failed);
      },
      [self, i, slot, job](const failure& f) {
        log::warn("customer", "loyalty_job_failed",
                  {{"job", job.name},
                   {"slot", schedule::iso_date(slot)},
                   {"error", f.message},
                   {"retry_in_seconds",
                    static_cast<int64_t>(loyalty::job_schedule.retry_after.count())}});
        run_jobs_from(self, i + 1, slot, true);
      });
}

}  // namespace

void run_due_loyalty_jobs(customer_self self) {
  const auto now = std::chrono::system_clock::now();
  run_jobs_from(self, 0, schedule::latest_slot(loyalty::job_schedule, now), false);
}

}  // namespace mercato::customer
