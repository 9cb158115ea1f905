// The one-statement writer of every stock change and the helpers around it (see stock_writer.hpp).
#include "inventory/stock_writer.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "db/hot_statement.hpp"
#include "db/outbox.hpp"
#include "runtime/uuid.hpp"

namespace mercato::inventory::store {

namespace {
thread_local const label_book* current_labels = nullptr;
}  // namespace

void label_book::put(const std::string& item_id, item_label label) {
  std::unique_lock<std::shared_mutex> guard{mutex_};
  labels_[item_id] = std::move(label);
}

std::optional<item_label> label_book::get(const std::string& item_id) const {
  std::shared_lock<std::shared_mutex> guard{mutex_};
  auto it = labels_.find(item_id);
  if (it == labels_.end()) return std::nullopt;
  return it->second;
}

label_scope::label_scope(const label_book* book) : previous_(current_labels) { current_labels = book; }
label_scope::~label_scope() { current_labels = previous_; }

pqxx::result run(pqxx::transaction_base& tx, const std::string& sql, const params& p) {
  return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(p));
}

// The hot statements (order saga: check, reserve, confirm): prepared once per connection.
pqxx::result prep(pqxx::transaction_base& tx, const std::string& sql, const params& p) {
  return db::exec_hot(tx, sql, pqxx::prepare::make_dynamic_params(p));
}

// Row locks on every level of `products`, in (product_id, warehouse_id) order; lock_timeout 3 s.
level_map lock_levels(pqxx::work& tx, const std::vector<std::string>& products, bool set_timeout) {
  if (set_timeout) prep(tx, "SELECT set_config('lock_timeout', '3s', true)", {});
  level_map out;
  auto rows = prep(tx,
                   "SELECT product_id, warehouse_id::text, quantity, reserved_quantity, reorder_point,"
                   " max_stock, alert_state FROM inventory.stock_levels"
                   " WHERE product_id = ANY(" MERCATO_OPAQUE_PARAM("$1", "text[]") ")"
                   " ORDER BY product_id, warehouse_id FOR UPDATE",
                   {text_array(products)});
  for (const auto& r : rows) {
    level_row l{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<int64_t>(),
                r[3].as<int64_t>(),     r[4].as<int64_t>(),     r[5].as<int64_t>(),
                r[6].as<std::string>()};
    out.emplace(level_key{l.product_id, l.warehouse_id}, std::move(l));
  }
  return out;
}


std::string change_set::touch(const level_key& key, int64_t dq, int64_t dr, const std::string& movement_type,
                              const std::string& change_type, const std::string& reference,
                              const std::string& notes) {
  auto& l = levels_.at(key);
  if (!before_.count(key)) {
    before_.emplace(key, l);
    order_.push_back(key);
  }
  l.quantity += dq;
  l.reserved += dr;
  change_type_[key] = change_type;
  level_correlation_[key] = correlation_;
  if (dq == 0 && dr == 0) return {};  // a re-evaluation, not a movement: no ledger row
  std::string id = uuid_v4();
  mv_.push_back({id, l.product_id, l.warehouse_id, movement_type, dq, dr, l.quantity, l.reserved,
                 reference, notes});
  return id;
}

void change_set::add_event(const std::string& name, const nlohmann::json& payload, const std::string& aggregate) {
  add_event(name, payload, aggregate, correlation_);
}

void change_set::add_event(const std::string& name, const nlohmann::json& payload, const std::string& aggregate,
                           const std::string& correlation) {
  auto e = make_event("inventory", name, payload.dump(), correlation);
  ev_.push_back({std::move(e), aggregate});
}

void change_set::apply(pqxx::work& tx) {
  params p;
  std::vector<std::string> dp, dw, dst, ap, aw, alvl, up, uw, ulvl;
  std::vector<int64_t> ddq, ddr, aav, arp, asq, uav, urp, usq;
  for (const auto& key : order_) {
    const auto& b = before_.at(key);
    const auto& l = levels_.at(key);
    auto change = evaluate_alert(b.alert_state, l.available(), l.reorder_point);
    dp.push_back(key.first);
    dw.push_back(key.second);
    ddq.push_back(l.quantity - b.quantity);
    ddr.push_back(l.reserved - b.reserved);
    dst.push_back(change.new_state);
    int64_t total = 0;
    bool changed = l.quantity != b.quantity || l.reserved != b.reserved;
    for (auto it = levels_.lower_bound({key.first, ""});
         it != levels_.end() && it->first.first == key.first; ++it)
      total += it->second.available();
    const std::string& correlation = level_correlation_[key];
    if (changed)
      add_event("stock_changed",
                {{"product_id", key.first}, {"available", total}, {"warehouse_id", key.second},
                 {"available_quantity", l.available()}, {"on_hand", l.quantity},
                 {"reserved", l.reserved}, {"change_type", change_type_[key]}},
                key.first, correlation);
    if (change.transition == alert_transition::none) continue;
    int64_t suggested = suggested_reorder_quantity(l.max_stock, l.quantity);
    std::optional<item_label> label = current_labels ? current_labels->get(key.first) : std::nullopt;
    nlohmann::json alert = {{"product_id", key.first},
                            {"product_name", label ? label->name : ""},
                            {"sku", label ? label->sku : ""},
                            {"warehouse_id", key.second},
                            {"available_quantity", l.available()}, {"quantity", l.available()},
                            {"reorder_point", l.reorder_point}, {"alert_level", change.new_state},
                            {"suggested_reorder_quantity", suggested}};
    if (change.transition == alert_transition::opened) {
      ap.push_back(key.first);
      aw.push_back(key.second);
      alvl.push_back(change.new_state);
      aav.push_back(l.available());
      arp.push_back(l.reorder_point);
      asq.push_back(suggested);
    } else {
      up.push_back(key.first);
      uw.push_back(key.second);
      ulvl.push_back(change.new_state);
      uav.push_back(l.available());
      urp.push_back(l.reorder_point);
      usq.push_back(suggested);
    }
    if (change.transition == alert_transition::resolved) {
      alert["alert_level"] = b.alert_state;
      add_event("stock_replenished", alert, key.first, correlation);
    } else if (change.new_state == "critical") {
      add_event("stock_out", alert, key.first, correlation);
    } else if (change.transition == alert_transition::opened) {
      add_event("stock_low", alert, key.first, correlation);
    }  // critical → warning: the alert's level follows, no event
  }
  p.push_back(text_array(dp));
  p.push_back(text_array(dw));
  p.push_back(int_array(ddq));
  p.push_back(int_array(ddr));
  p.push_back(text_array(dst));
  std::vector<std::string> mid, mp, mw, mt, mref, mnotes;
  std::vector<int64_t> mdq, mdr, mqa, mra;
  for (const auto& m : mv_) {
    mid.push_back(m.id);
    mp.push_back(m.product_id);
    mw.push_back(m.warehouse_id);
    mt.push_back(m.type);
    mdq.push_back(m.dq);
    mdr.push_back(m.dr);
    mqa.push_back(m.q_after);
    mra.push_back(m.r_after);
    mref.push_back(m.reference);
    mnotes.push_back(m.notes);
  }
  for (auto* v : {&mid, &mp, &mw, &mt}) p.push_back(text_array(*v));
  for (auto* v : {&mdq, &mdr, &mqa, &mra}) p.push_back(int_array(*v));
  p.push_back(text_array(mref));
  p.push_back(text_array(mnotes));
  std::vector<std::string> rid, ro, rx, rp, rw;
  std::vector<int64_t> rq;
  for (const auto& r : ri_) {
    rid.push_back(r.id);
    ro.push_back(r.order_id);
    rx.push_back(r.expires_at);
    rp.push_back(r.a.product_id);
    rw.push_back(r.a.warehouse_id);
    rq.push_back(r.a.quantity);
  }
  p.push_back(text_array(rid));
  p.push_back(text_array(ro));
  p.push_back(text_array(rx));
  p.push_back(text_array(rp));
  p.push_back(text_array(rw));
  p.push_back(int_array(rq));
  std::vector<std::string> cid, cst, creason;
  std::vector<int64_t> cq;
  for (const auto& c : rc_) {
    cid.push_back(c.id);
    cst.push_back(c.status);
    creason.push_back(c.reason);
    cq.push_back(c.quantity);
  }
  p.push_back(text_array(cid));
  p.push_back(text_array(cst));
  p.push_back(text_array(creason));
  p.push_back(int_array(cq));
  p.push_back(text_array(ap));
  p.push_back(text_array(aw));
  p.push_back(text_array(alvl));
  p.push_back(int_array(aav));
  p.push_back(int_array(arp));
  p.push_back(int_array(asq));
  p.push_back(text_array(up));
  p.push_back(text_array(uw));
  p.push_back(text_array(ulvl));
  p.push_back(int_array(uav));
  p.push_back(int_array(urp));
  p.push_back(int_array(usq));
  std::vector<std::string> eid, eagg, ename, ecorr, epay, eat;
  for (const auto& [e, agg] : ev_) {
    eid.push_back(e.event_id);
    eagg.push_back(agg);
    ename.push_back(e.name);
    ecorr.push_back(e.correlation_id);
    epay.push_back(e.payload);
    eat.push_back(e.occurred_at);
  }
  for (auto* v : {&eid, &eagg, &ename, &ecorr, &epay, &eat}) p.push_back(text_array(*v));
  // The three updates join their table to an unnest whose first array is opaque to the planner: a
  // multi-array unnest counts the rows of its longest array, and an opaque one as 10 (PostgreSQL's
  // default), so for batches up to 10 a custom plan costs the same join as the cached generic plan
  // and PostgreSQL stops planning this statement on every call (MERCATO_OPAQUE_PARAM,
  // db/hot_statement.hpp). The inserts' unnests do not change the plan's shape.
  // `rc` says "still open" as `<> ALL` of the closed statuses, not `IN ('active', 'confirmed')`:
  // the IN form matches reservations_live's predicate, and a generic plan then read that whole
  // index (every open reservation) instead of probing the primary key per closed row.
  static const std::string sql =
      "WITH lv AS (UPDATE inventory.stock_levels s SET quantity = s.quantity + d.dq,"
      "   reserved_quantity = s.reserved_quantity + d.dr, alert_state = d.st, last_updated = now()"
      "  FROM unnest(" MERCATO_OPAQUE_PARAM("$1", "text[]") ", $2::uuid[], $3::int[], $4::int[], $5::text[]) AS d(p, w, dq, dr, st)"
      "  WHERE s.product_id = d.p AND s.warehouse_id = d.w RETURNING 1),"
      " mv AS (INSERT INTO inventory.stock_movements (movement_id, product_id, warehouse_id,"
      "   movement_type, quantity_change, reserved_change, quantity_after, reserved_after,"
      "   reference_id, notes)"
      "  SELECT m.id, m.p, m.w, m.t, m.dq, m.dr, m.qa, m.ra, NULLIF(m.ref, ''), NULLIF(m.notes, '')"
      "  FROM unnest($6::uuid[], $7::text[], $8::uuid[], $9::text[], $10::int[], $11::int[],"
      "   $12::int[], $13::int[], $14::text[], $15::text[]) AS m(id, p, w, t, dq, dr, qa, ra, ref, notes)"
      "  RETURNING 1),"
      " ri AS (INSERT INTO inventory.reservations (reservation_id, order_id, product_id, warehouse_id,"
      "   quantity, status, expires_at)"
      "  SELECT r.id, r.o, r.p, r.w, r.q, 'active', r.x"
      "  FROM unnest($16::uuid[], $17::text[], $18::timestamptz[], $19::text[], $20::uuid[], $21::int[])"
      "   AS r(id, o, x, p, w, q) RETURNING 1),"
      " rc AS (UPDATE inventory.reservations r SET status = c.st,"
      "   reason = COALESCE(NULLIF(c.reason, ''), r.reason), updated_at = now(),"
      "   quantity = CASE WHEN c.q > 0 THEN c.q ELSE r.quantity END,"
      "   closed_at = CASE WHEN c.st IN ('released', 'expired', 'fulfilled') THEN now() ELSE r.closed_at END,"
      "   expires_at = CASE WHEN c.st = 'confirmed' THEN NULL ELSE r.expires_at END"
      "  FROM unnest(" MERCATO_OPAQUE_PARAM("$22", "uuid[]") ", $23::text[], $24::text[], $25::int[]) AS c(id, st, reason, q)"
      "  WHERE r.reservation_id = c.id AND r.status <> ALL ('{released, expired, fulfilled}') RETURNING 1),"
      " ao AS (INSERT INTO inventory.stock_alerts (alert_id, product_id, warehouse_id, alert_level,"
      "   available_quantity, reorder_point, suggested_reorder_quantity, status)"
      "  SELECT gen_random_uuid(), a.p, a.w, a.lvl, a.av, a.rp, a.sq, 'open'"
      "  FROM unnest($26::text[], $27::uuid[], $28::text[], $29::int[], $30::int[], $31::int[])"
      "   AS a(p, w, lvl, av, rp, sq)"
      "  ON CONFLICT (product_id, warehouse_id) WHERE status = 'open' DO NOTHING RETURNING 1),"
      " au AS (UPDATE inventory.stock_alerts x SET"
      "   alert_level = CASE WHEN a.lvl = 'none' THEN x.alert_level ELSE a.lvl END,"
      "   available_quantity = a.av, reorder_point = a.rp, suggested_reorder_quantity = a.sq,"
      "   status = CASE WHEN a.lvl = 'none' THEN 'resolved' ELSE 'open' END,"
      "   resolved_at = CASE WHEN a.lvl = 'none' THEN now() END"
      "  FROM unnest(" MERCATO_OPAQUE_PARAM("$32", "text[]") ", $33::uuid[], $34::text[], $35::int[], $36::int[], $37::int[])"
      "   AS a(p, w, lvl, av, rp, sq)"
      "  WHERE x.product_id = a.p AND x.warehouse_id = a.w AND x.status = 'open' RETURNING 1),"
      " ob AS (" + db::outbox{"inventory"}.insert_events_sql(
          "SELECT jsonb_build_object('event_id', e.id, 'aggregate_id', e.agg, 'name', e.name,"
          "  'publisher', 'inventory', 'correlation_id', e.corr, 'payload', e.payload, 'occurred_at', e.at), e.k"
          " FROM unnest($38::uuid[], $39::text[], $40::text[], $41::text[], $42::text[], $43::text[])"
          "  WITH ORDINALITY AS e(id, agg, name, corr, payload, at, k)") + " RETURNING 1)"
      " SELECT (SELECT count(*) FROM lv), (SELECT count(*) FROM rc), (SELECT count(*) FROM mv),"
      "  (SELECT count(*) FROM ri), (SELECT count(*) FROM ao), (SELECT count(*) FROM au),"
      "  (SELECT count(*) FROM ob)";
  auto counts = prep(tx, sql, p)[0];
  // Every touched level and closed reservation was locked and re-read by the caller; a mismatch
  // means that rule was broken somewhere: roll back rather than write inconsistent numbers.
  if (counts[0].as<size_t>() != order_.size() || counts[1].as<size_t>() != rc_.size())
    throw std::logic_error(fmt::format("inventory write touched {} of {} levels and {} of {} reservations",
                                       counts[0].as<size_t>(), order_.size(), counts[1].as<size_t>(),
                                       rc_.size()));
}

}  // namespace mercato::inventory::store
