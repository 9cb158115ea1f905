// A saga step that fails because the database is down usually cannot record its failure either:
// the same outage refuses both. Left at that, the saga would wait for its lease to run out
// (saga_lease_ms, 30 s) before the saga driver resumed it, however soon the database came back.
// record_saga writes the record again while this incarnation holds the lease, so the saga resumes
// about a second after the database does. Each re-write first checks, on the locked row, that the
// lease is still this incarnation's: a saga another owner took over (or whose first write did
// commit, releasing the lease) is left alone. The run stays in the agent's memory meanwhile
// (state.runs, state.busy_sagas), which is what keeps this incarnation's saga driver off it.
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
  std::function<void(pqxx::work&)> write;  // read-only once started: the pool's threads call it
  std::function<void()> stalled;
  std::function<void(bool)> landed;
  std::chrono::steady_clock::time_point give_up_at{};
  std::chrono::milliseconds delay = first_rewrite;
  int rewrites = 0;
};

void write_record(order_self self, std::shared_ptr<saga_recording> rec) {
  db_transact<bool>(
      self, *self->state.ctx.database,
      [rec, guarded = rec->rewrites > 0, owner = self->state.lease_owner](pqxx::work& tx) {
        if (guarded && !saga_leased_to(tx, rec->saga_id, owner)) return false;
        rec->write(tx);
        return true;
      },
      [self, rec](db::outcome<bool> r) {
        if (r.ok()) {
          if (rec->rewrites > 0)
            log::info("order", *r.value ? "saga_recorded_after_outage" : "saga_record_dropped_lease_gone",
                      {{"saga_id", rec->saga_id}, {"rewrites", rec->rewrites}});
          return rec->landed(*r.value);
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

void record_saga(order_self self, std::string saga_id, std::function<void(pqxx::work&)> write,
                 std::function<void()> stalled, std::function<void(bool)> landed) {
  auto rec = std::make_shared<saga_recording>();
  rec->saga_id = std::move(saga_id);
  rec->write = std::move(write);
  rec->stalled = std::move(stalled);
  rec->landed = std::move(landed);
  write_record(self, std::move(rec));
}

}  // namespace mercato::order
