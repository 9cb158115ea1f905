// A saga step that fails because the database is down usually cannot record its failure either:
// the same outage refuses both. Left at that, the saga would wait for its lease to run out
// (saga_lease_ms, 30 s) before the saga driver resumed it, however soon the database came back.
// record_saga writes the record again while this incarnation holds the lease, so the saga resumes
// about a second after the database does. Each re-write first checks the locked row
// (check_saga_rewrite): a saga another owner took over is left alone, and so is one whose first
// write did commit although its answer was lost (step_attempts already at the record's value).
// That second check is what keeps a failed step and a saga_failed event from being recorded twice.
// The run stays in the agent's memory meanwhile (state.runs, state.busy_sagas), which is what
// keeps this incarnation's saga driver from resuming it.
#include "log/log.hpp"
#include "order/order_agent_state.hpp"
#include "runtime/agent_call.hpp"
#include "runtime/db_call.hpp"

namespace mercato::order {

namespace {

constexpr std::chrono::milliseconds first_rewrite{250};
constexpr std::chrono::milliseconds longest_rewrite{2000};

struct saga_recording {
  std::string saga_id;
  int64_t attempts = 0;                    // the step_attempts the record writes
  std::function<void(pqxx::work&)> write;  // read-only once started: the pool's threads call it
  std::function<void()> stalled;
  std::function<void(bool)> landed;
  std::chrono::steady_clock::time_point give_up_at{};
  std::chrono::milliseconds delay = first_rewrite;
  int rewrites = 0;
};

void log_rewrite(const saga_recording& rec, const char* outcome) {
  log::info("order", outcome, {{"saga_id", rec.saga_id}, {"rewrites", rec.rewrites}});
}

void write_record(order_self self, std::shared_ptr<saga_recording> rec) {
  db_transact<saga_rewrite>(
      self, *self->state.ctx.database,
      [rec, guarded = rec->rewrites > 0, owner = self->state.lease_owner](pqxx::work& tx) {
        if (guarded) {
          const auto check = check_saga_rewrite(tx, rec->saga_id, owner, rec->attempts);
          if (check != saga_rewrite::due) return check;
        }
        rec->write(tx);
        return saga_rewrite::due;
      },
      [self, rec](db::outcome<saga_rewrite> r) {
        if (r.ok()) {
          if (rec->rewrites > 0) {
            switch (*r.value) {
              case saga_rewrite::due: log_rewrite(*rec, "saga_recorded_after_outage"); break;
              case saga_rewrite::landed_earlier: log_rewrite(*rec, "saga_record_had_landed"); break;
              case saga_rewrite::lease_gone: log_rewrite(*rec, "saga_record_dropped_lease_gone"); break;
            }
          }
          return rec->landed(*r.value != saga_rewrite::lease_gone);
        }
        const auto now = std::chrono::steady_clock::now();
        if (r.failure->code != db::errc::unavailable || (rec->rewrites > 0 && now >= rec->give_up_at)) {
          log::warn("order", "saga_record_failed",
                    {{"saga_id", rec->saga_id}, {"rewrites", rec->rewrites}, {"error", r.failure->message}});
          return rec->landed(false);
        }
        if (rec->rewrites == 0) {
          rec->give_up_at = now + std::chrono::seconds(self->state.saga_lease_s);
          if (rec->stalled) rec->stalled();
        }
        ++rec->rewrites;
        const auto delay = rec->delay;
        rec->delay = std::min(rec->delay * 2, longest_rewrite);
        once_or_after(self, delay, [self, rec] { write_record(self, rec); });
      });
}

}  // namespace

void record_saga(order_self self, std::string saga_id, int64_t attempts, std::function<void(pqxx::work&)> write,
                 std::function<void()> stalled, std::function<void(bool)> landed) {
  auto rec = std::make_shared<saga_recording>();
  rec->saga_id = std::move(saga_id);
  rec->attempts = attempts;
  rec->write = std::move(write);
  rec->stalled = std::move(stalled);
  rec->landed = std::move(landed);
  write_record(self, std::move(rec));
}

}  // namespace mercato::order
