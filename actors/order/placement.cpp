// POST /orders (and the typed place_order) up to the saga's start (agents/8000-order.md "Place-order
// saga"): the body checked, customer ∥ product asked, the order drafted and priced
// (placement_draft.hpp), stock pre-checked (no order when short), then ONE statement writes the key,
// the order, its lines, the saga, the timeline entry and the event, shared with the placements that
// meet it. The saga (place_saga.cpp) goes on from there; the caller is answered when it settles, or
// with the order's state after place_wait.
#include <fmt/format.h>

#include "customer/customer_messages.hpp"
#include "db/idempotency_store.hpp"
#include "inventory/inventory_messages.hpp"
#include "log/log.hpp"
#include "order/order_agent_state.hpp"
#include "order/order_request.hpp"
#include "order/placement_draft.hpp"
#include "order/promotions_builtin.hpp"
#include "order/shipping_rates.hpp"
#include "order/timeline.hpp"
#include "product/product_messages.hpp"
#include "runtime/agent_call.hpp"
#include "runtime/clock.hpp"
#include "runtime/db_call.hpp"
#include "runtime/uuid.hpp"

namespace mercato::order {

namespace {

void send_placements(order_self self, std::vector<pending_placement> batch);

// ---- the placement's commit ----

// What committing a placement found: the order placed, the order an earlier request with the same
// Idempotency-Key (or channel reference) placed, or a key reused with another request.
struct commit_result {
  bool mismatch = false;
  std::optional<order_record> existing;
  bool existing_in_progress = false;  // its saga is being worked on (placement_in_progress)
  order_record placed;
  std::string saga_id;
  int64_t order_count_24h = -1;
};
using commit_done = std::function<void(db::outcome<commit_result>)>;

nlohmann::json placement_events(const order_record& o) {
  auto ev = event_base(o);
  ev["channel"] = o.channel;
  ev["total_amount"] = money::to_json(o.total_amount);
  ev["currency"] = o.currency;
  ev["items_count"] = o.lines.size();
  return nlohmann::json::array({outbox_row("order_created", ev, o.order_id)});
}

// The stored answer names the order, known before it is written.
db::stored_response placement_answer(const order_record& o) {
  return {201, nlohmann::json{{"order_id", o.order_id}}.dump()};
}

// The commit in a transaction that first decides what the Idempotency-Key or the channel
// reference already names (replay, mismatch, an expired key, a channel duplicate).
void commit_placement_checked(order_self self, std::shared_ptr<const placement_draft> p, std::string key, std::string fingerprint,
                              std::string saga_id, commit_done done) {
  db_transact<commit_result>(
      self, *self->state.ctx.database,
      [p, key, fingerprint, saga_id, lease = self->state.lease()](pqxx::work& tx) {
        commit_result r;
        const auto& o = p->order;
        if (!key.empty()) {
          const auto answer = placement_answer(o);
          auto claim = order_keys().claim(tx, key, "POST /orders", fingerprint, &answer);
          if (claim.state == db::claim_state::mismatch) {
            r.mismatch = true;
            return r;
          }
          if (claim.state == db::claim_state::replay) {
            auto stored = nlohmann::json::parse(claim.stored.body, nullptr, false);
            r.existing = load_order(tx, stored.is_object() ? stored.value("order_id", "") : "");
            r.existing_in_progress = r.existing && placement_in_progress(tx, r.existing->order_id);
            return r;
          }
        }
        if (!o.channel_order_id.empty()) {
          auto id = find_channel_order(tx, o.channel, o.channel_name, o.channel_order_id);
          if (!id.empty()) {  // the key then names the order placed before
            if (!key.empty()) order_keys().save(tx, key, {201, nlohmann::json{{"order_id", id}}.dump()});
            r.existing = load_order(tx, id);
            r.existing_in_progress = r.existing && placement_in_progress(tx, id);
            return r;
          }
        }
        r.placed = o;
        r.saga_id = saga_id;
        r.order_count_24h = *insert_placed_order(tx, r.placed, saga_id, to_json(p->context), lease,
                                                 placement_events(o));
        return r;
      },
      std::move(done));
}

using placements_outcome = db::outcome<std::vector<std::optional<placed_stamp>>>;
void settle_unknown_write(order_self self, pending_placement item, db::error failure);

// One statement for `batch`. `queued`: the batch came from state.placements, which hears when it
// is done. A statement refused by the database wrote nothing; when it carried several placements
// each is written again alone, so one that cannot be written fails only its own request. One
// whose outcome is unknown (the database unavailable) is settled by settle_unknown_write.
void write_placements(order_self self, std::vector<pending_placement> batch, bool queued) {
  auto docs = std::make_shared<nlohmann::json>(nlohmann::json::array());
  for (auto& b : batch) docs->push_back(std::move(b.doc));
  auto items = std::make_shared<std::vector<pending_placement>>(std::move(batch));
  db_autocommit<std::vector<std::optional<placed_stamp>>>(
      self, *self->state.ctx.database, db::pool::effect::write,
      [docs](pqxx::nontransaction& tx) { return insert_placed_orders(tx, *docs); },
      [self, docs, items, queued](placements_outcome r) {
        if (queued) {
          self->state.placements.finished([self](auto next) { send_placements(self, std::move(next)); });
        }
        // Unknown outcome; or the re-write of one whose outcome was unknown meeting its own order
        // (committed by a backend that outlived its connection): look it up.
        const bool rewrite_met_itself = r.failure && r.failure->code == db::errc::conflict && items->size() == 1 &&
                                        (*items)[0].unknown_until != std::chrono::steady_clock::time_point{};
        if (!r.ok() && (r.failure->code == db::errc::unavailable || rewrite_met_itself)) {
          for (size_t i = 0; i < items->size(); ++i) {
            auto& item = (*items)[i];
            item.doc = std::move((*docs)[i]);
            settle_unknown_write(self, std::move(item), *r.failure);
          }
          return;
        }
        if (!r.ok() && items->size() > 1) {
          log::warn("order", "placement_batch_failed", {{"orders", items->size()}, {"error", r.failure->message}});
          for (size_t i = 0; i < items->size(); ++i) {
            auto& item = (*items)[i];
            item.doc = std::move((*docs)[i]);
            write_placements(self, {std::move(item)}, false);
          }
          return;
        }
        using one = db::outcome<std::optional<placed_stamp>>;
        for (size_t i = 0; i < items->size(); ++i)
          (*items)[i].written(r.ok() ? one::success((*r.value)[i]) : one::fail(*r.failure));
      });
}

constexpr std::chrono::milliseconds unknown_write_retry{100};

// A placement statement that failed with the database unavailable may have committed before its
// answer was lost (the connection dropped mid-statement). Failing it with 503 would let a client
// without an Idempotency-Key place the order again while the saga driver completes the first:
// two orders, two charges (order_tests: "connections cut during placements"). So it is looked up
// by order and saga id every unknown_write_retry until the database answers, for at most
// place_wait: written → answered as written; not written → written again (a new order id, so
// the order exists once); still unknown at the deadline → the 503 it had.
void settle_unknown_write(order_self self, pending_placement item, db::error failure) {
  const auto now = std::chrono::steady_clock::now();
  if (item.unknown_until == std::chrono::steady_clock::time_point{}) item.unknown_until = now + self->state.place_wait;
  if (now >= item.unknown_until) {
    log::warn("order", "placement_outcome_unknown",
              {{"order_id", item.doc.value("order_id", "")}, {"error", failure.message}});
    return item.written(db::outcome<std::optional<placed_stamp>>::fail(std::move(failure)));
  }
  auto pending = std::make_shared<pending_placement>(std::move(item));
  once_or_after(self, unknown_write_retry, [self, pending] {
    db_autocommit<std::optional<placed_stamp>>(
        self, *self->state.ctx.database, db::pool::effect::read,
        [order_id = pending->doc.value("order_id", ""), saga_id = pending->doc.value("saga_id", "")](
            pqxx::nontransaction& tx) { return find_placed_order(tx, order_id, saga_id); },
        [self, pending](db::outcome<std::optional<placed_stamp>> r) {
          if (!r.ok() && r.failure->code == db::errc::unavailable)
            return settle_unknown_write(self, std::move(*pending), *r.failure);
          if (!r.ok()) return pending->written(db::outcome<std::optional<placed_stamp>>::fail(*r.failure));
          if (*r.value) {
            log::info("order", "placement_found_after_unknown_write", {{"order_id", pending->doc.value("order_id", "")}});
            return pending->written(db::outcome<std::optional<placed_stamp>>::success(*r.value));
          }
          write_placements(self, {std::move(*pending)}, false);
        });
  });
}

// The usual placement (a new Idempotency-Key or none, no channel reference) commits in ONE
// statement without BEGIN/COMMIT: key claim, order, lines, saga, timeline entry and event, shared
// with the placements that meet it (state.placements). When the key turns out to exist, nothing
// of it was written and the checked transaction decides.
void commit_placement(order_self self, std::shared_ptr<const placement_draft> p, std::string key, std::string fingerprint,
                      commit_done done) {
  std::string saga_id = uuid_v4();
  if (!p->order.channel_order_id.empty())
    return commit_placement_checked(self, std::move(p), std::move(key), std::move(fingerprint), std::move(saga_id),
                                    std::move(done));
  std::optional<key_claim> claim;
  if (!key.empty()) claim.emplace(key_claim{key, "POST /orders", fingerprint, placement_answer(p->order)});
  pending_placement item;
  item.doc = placement_doc(p->order, saga_id, to_json(p->context), self->state.lease(),
                           placement_events(p->order), claim ? &*claim : nullptr);
  item.key = key;
  item.written = [self, p, key, fingerprint, saga_id, done](db::outcome<std::optional<placed_stamp>> w) {
    if (!w.ok()) return done(db::outcome<commit_result>::fail(std::move(*w.failure)));
    if (!*w.value) return commit_placement_checked(self, p, key, fingerprint, saga_id, done);
    const placed_stamp& stamp = **w.value;
    commit_result r;
    r.placed = p->order;
    r.placed.order_number = stamp.order_number;
    r.placed.created_at = stamp.created_at;
    r.placed.updated_at = stamp.created_at;
    r.saga_id = saga_id;
    r.order_count_24h = stamp.order_count_24h;
    done(db::outcome<commit_result>::success(std::move(r)));
  };
  auto batch = self->state.placements.push(std::move(item));
  if (!batch.empty()) send_placements(self, std::move(batch));
}

void send_placements(order_self self, std::vector<pending_placement> batch) {
  // Keys are distinct within one statement. A key met again (the same request sent twice at
  // once) goes to the checked transaction, whose claim waits for the statement carrying the key
  // (the unique index) and then replays its order, or places it if that statement failed.
  std::unordered_set<std::string> keys;
  std::vector<pending_placement> distinct;
  distinct.reserve(batch.size());
  std::vector<pending_placement> repeated;
  for (auto& b : batch) {
    if (!b.key.empty() && !keys.insert(b.key).second) repeated.push_back(std::move(b));
    else distinct.push_back(std::move(b));
  }
  write_placements(self, std::move(distinct), true);
  for (auto& b : repeated) b.written(db::outcome<std::optional<placed_stamp>>::success(std::nullopt));
}

// ---- the stages before the commit ----

// What a placement knows between its asynchronous stages.
struct placement_job {
  place_request req;
  std::string key;          // the client's Idempotency-Key, or ""
  std::string fingerprint;  // of the request, for the key
  std::string requested_by;
  place_done done;  // releases the key
  // customer ∥ product
  std::optional<customer::customer_profile> customer;
  std::optional<product::resolved_items> items;
  std::optional<failure> error;
  input::issue_list issues;
  int pending = 2;
  std::shared_ptr<placement_draft> draft;
};
using job_ptr = std::shared_ptr<placement_job>;

place_outcome error_outcome(failure f) {
  place_outcome out;
  out.error = std::move(f);
  return out;
}

place_outcome issues_outcome(input::issue_list issues) {
  place_outcome out;
  out.issues = std::move(issues);
  return out;
}

place_outcome mismatch_outcome() {
  return issues_outcome({{{"header", "Idempotency-Key"}, "Idempotency-Key was already used with a different request",
                          "value_error.idempotency_mismatch"}});
}

constexpr std::chrono::milliseconds replay_recheck{100};

// What an Idempotency-Key replay found in the database.
struct replay_read {
  std::optional<order_record> order;
  bool in_progress = false;
};

// A replay (the key's order, or a channel duplicate's) is answered as its first send was: when
// the order's saga settles, or with the order's state once place_wait has passed. That matters
// for the gateway's resend after a crash of the order agent, and for a client retrying a slow
// placement: answered at once they would get a pending order instead of a confirmed one. A saga
// this incarnation does not run (the incarnation that wrote the order crashed) is resumed by the
// saga driver within first_scan; the order is read again until then.
void answer_existing(order_self self, const job_ptr& job, order_record existing, bool in_progress,
                     std::chrono::steady_clock::time_point until) {
  auto answer = [job](order_record o) {
    place_outcome out;
    out.order = std::move(o);
    out.existing = true;
    job->done(std::move(out));
  };
  const auto now = std::chrono::steady_clock::now();
  auto run = find_run(self, existing.order_id);
  if (run && now < until) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
    run->waiters.push_back(once_or_after(self, left, [run, answer] { answer(run->order); }));
    run->answer_by = std::max(run->answer_by, until);
    return;
  }
  if (!in_progress || now + replay_recheck >= until) return answer(std::move(existing));
  // The returned trigger is dropped on purpose: the read runs once replay_recheck has passed.
  once_or_after(self, replay_recheck, [self, job, existing = std::move(existing), until, answer]() mutable {
    db_transact<replay_read>(
        self, *self->state.ctx.database,
        [id = existing.order_id](pqxx::work& tx) {
          replay_read r;
          r.order = load_order(tx, id);
          r.in_progress = r.order && placement_in_progress(tx, id);
          return r;
        },
        [self, job, existing, until, answer](db::outcome<replay_read> r) mutable {
          if (!r.ok() || !r.value->order) return answer(std::move(existing));
          answer_existing(self, job, std::move(*r.value->order), r.value->in_progress, until);
        });
  });
}

// A refusal before the commit (stock sold out, a price changed, a product withdrawn, an agent
// unavailable) first asks whether the request's Idempotency-Key already holds an order. If so the
// request is a replay (a client's retry, the gateway's resend after a crash) and gets that order,
// as the key promises, not a refusal its first send never had. Reading the key only here keeps it
// off the path of the placements that succeed.
void refuse(order_self self, const job_ptr& job, place_outcome refusal) {
  if (job->key.empty()) return job->done(std::move(refusal));
  struct found {
    bool mismatch = false;
    replay_read replay;
  };
  db_transact<found>(
      self, *self->state.ctx.database,
      [key = job->key, fingerprint = job->fingerprint](pqxx::work& tx) {
        found f;
        auto claim = order_keys().peek(tx, key, "POST /orders", fingerprint);
        if (!claim) return f;
        f.mismatch = claim->state == db::claim_state::mismatch;
        if (f.mismatch) return f;
        auto stored = nlohmann::json::parse(claim->stored.body, nullptr, false);
        const std::string id = stored.is_object() ? stored.value("order_id", "") : "";
        if (id.empty()) return f;
        f.replay.order = load_order(tx, id);
        f.replay.in_progress = f.replay.order && placement_in_progress(tx, id);
        return f;
      },
      [self, job, refusal = std::move(refusal)](db::outcome<found> r) mutable {
        if (!r.ok()) return job->done(std::move(refusal));
        if (r.value->mismatch) return job->done(mismatch_outcome());
        if (!r.value->replay.order) return job->done(std::move(refusal));
        log::info("order", "placement_replayed_past_refusal",
                  {{"order_id", r.value->replay.order->order_id},
                   {"refusal", refusal.error ? refusal.error->code : std::string{"validation"}}});
        answer_existing(self, job, std::move(*r.value->replay.order), r.value->replay.in_progress,
                        std::chrono::steady_clock::now() + self->state.place_wait);
      });
}

// The order is written and its saga starts; the caller hears when the saga settles, or the order's
// state after place_wait.
void start_run(order_self self, const job_ptr& job, commit_result written) {
  self->state.ctx.relay->wake(self->state.ctx.spec->schema);
  auto run = std::make_shared<place_run>();
  run->saga_id = written.saga_id;
  run->order = std::move(written.placed);
  run->c = job->draft->context;
  run->c.order_count_24h = written.order_count_24h;
  self->state.runs[run->order.order_id] = run;
  run->answer_by = std::chrono::steady_clock::now() + self->state.place_wait;
  run->waiters.push_back(once_or_after(self, self->state.place_wait, [run, done = job->done] {
    place_outcome o;
    o.order = run->order;
    done(std::move(o));
  }));
  start_place_saga(self, std::move(run));
}

void commit(order_self self, const job_ptr& job) {
  commit_placement(self, job->draft, job->key, job->fingerprint, [self, job](db::outcome<commit_result> r) {
    if (!r.ok()) {
      log::warn("order", "place_commit_failed", {{"error", r.failure->message}});
      return job->done(error_outcome(db_failure(*r.failure)));
    }
    if (r.value->mismatch) return job->done(mismatch_outcome());
    if (r.value->existing)
      return answer_existing(self, job, std::move(*r.value->existing), r.value->existing_in_progress,
                             std::chrono::steady_clock::now() + self->state.place_wait);
    start_run(self, job, std::move(*r.value));
  });
}

// No order when a line is short: 409 before anything is written.
void check_stock(order_self self, const job_ptr& job) {
  ask_agent_resending<inventory_actor>(
      self, self->state.ctx, "inventory", inventory::check_availability{job->draft->stock},
      [self, job](inventory::availability_report& rep) {
        for (const auto& l : rep.lines) {
          if (l.available) continue;
          auto it = job->draft->sku_of.find(l.product_id);
          const std::string message =
              fmt::format("Insufficient stock for product {}: requested {}, available {}",
                          it == job->draft->sku_of.end() ? l.product_id : it->second, l.requested, l.total_available);
          return refuse(self, job, error_outcome(failure{failure_kind::conflict, "insufficient_stock", message, {}}));
        }
        commit(self, job);
      },
      [self, job](const failure& f) {
        if (f.kind == failure_kind::invalid)
          return refuse(self, job, issues_outcome({{{"body", "items"}, f.message, "value_error.not_found"}}));
        refuse(self, job, error_outcome(f));
      });
}

void price(order_self self, const job_ptr& job, money::cents points_value) {
  auto& o = job->draft->order;
  const auto rate = pick_tax_rate(self->state.tax_rates, address_country(o.shipping_address),
                                  address_region(o.shipping_address), clock::iso8601_now());
  const std::string conflict = price_draft(*job->draft, job->req, points_value, self->state.shipping, rate);
  if (!conflict.empty())
    return refuse(self, job, error_outcome(failure{failure_kind::conflict, "price_changed", conflict, {}}));
  check_stock(self, job);
}

// Loyalty points are valued by the customer agent before the order is priced.
void value_points(order_self self, const job_ptr& job) {
  const auto& c = job->draft->context;
  if (c.redeem_points <= 0) return price(self, job, 0);
  ask_agent_resending<customer_actor>(
      self, self->state.ctx, "customer",
      customer::quote_redemption{c.customer_id, c.redeem_points, c.merchandise_amount},
      [self, job](customer::redemption& r) { price(self, job, r.value); },
      [self, job](const failure& f) {
        if (f.kind == failure_kind::unavailable) return refuse(self, job, error_outcome(f));
        refuse(self, job, issues_outcome({{{"body", "redeem_points"}, f.message, "value_error"}}));
      });
}

// Customer and product have both answered.
void draft(order_self self, const job_ptr& job) {
  if (job->error) return refuse(self, job, error_outcome(*job->error));
  if (!job->issues.empty()) return refuse(self, job, issues_outcome(std::move(job->issues)));
  auto d = draft_placement(job->req, *job->customer, job->items->items, job->key, job->requested_by, job->issues);
  if (!d) return refuse(self, job, issues_outcome(std::move(job->issues)));
  job->draft = std::make_shared<placement_draft>(std::move(*d));
  value_points(self, job);
}

void ask_customer_and_product(order_self self, const job_ptr& job) {
  auto joined = [self, job] {
    if (--job->pending > 0) return;
    if (!self->state.tax_loaded) return reload_tax_rates(self, [self, job] { draft(self, job); });  // first order
    draft(self, job);
  };
  ask_agent_resending<customer_actor>(
      self, self->state.ctx, "customer", customer::validate_customer{job->req.customer_id},
      [job, joined](customer::customer_profile& p) {
        job->customer = std::move(p);
        joined();
      },
      [job, joined](const failure& f) {
        if (f.kind == failure_kind::unavailable) job->error = f;
        else if (f.kind == failure_kind::not_found)
          job->issues.push_back({{"body", "customer_id"}, "Customer not found", "value_error.not_found"});
        else
          job->issues.push_back({{"body", "customer_id"}, f.message.empty() ? "Customer account is suspended" : f.message,
                                 "value_error"});
        joined();
      });
  std::vector<product::item_ref> refs;
  for (const auto& l : job->req.lines) refs.push_back({l.ref, l.variant_id, l.quantity, l.selected_components});
  ask_agent_resending<product_actor>(
      self, self->state.ctx, "product", product::resolve_items{std::move(refs)},
      [job, joined](product::resolved_items& r) {
        job->items = std::move(r);
        joined();
      },
      [job, joined](const failure& f) {
        if (f.kind == failure_kind::unavailable) job->error = f;
        else job->issues.push_back(product_refusal_issue(f));
        joined();
      });
}

}  // namespace

void place_new_order(order_self self, place_order msg, place_done done) {
  auto& st = self->state;
  input::issue_list issues;
  auto job = std::make_shared<placement_job>();
  job->req = read_place_request(msg.body, issues);
  quote_promotions(job->req.promotion_codes, issues);
  if (!flat_rate(st.shipping, job->req.shipping_service_level, 0))
    issues.push_back({{"body", "shipping_service_level"},
                      "Unknown shipping service level '" + job->req.shipping_service_level + "'", "value_error"});
  if (!issues.empty()) {
    place_outcome out;
    out.issues = std::move(issues);
    return done(std::move(out));
  }
  const std::string key = msg.idempotency_key;
  if (!key.empty()) {
    if (!db::idempotency_store::valid_key(key)) {
      place_outcome out;
      out.issues.push_back({{"header", "Idempotency-Key"}, "invalid Idempotency-Key", "value_error"});
      return done(std::move(out));
    }
    if (st.keys_in_flight.count(key)) {
      place_outcome out;
      out.error = failure{failure_kind::conflict, "conflict", "A request with this Idempotency-Key is in progress", {}};
      return done(std::move(out));
    }
    st.keys_in_flight.insert(key);
  }
  job->key = key;
  job->fingerprint = key.empty() ? std::string{} : db::idempotency_store::fingerprint("POST", "/orders", msg.body.dump());
  job->requested_by = msg.requested_by;
  // Every exit from here on releases the key.
  job->done = [self, key, done = std::move(done)](place_outcome out) {
    if (!key.empty()) self->state.keys_in_flight.erase(key);
    done(std::move(out));
  };
  ask_customer_and_product(self, job);
}

}  // namespace mercato::order
