// Order-line resolution (see resolve.hpp).
#include "product/resolve.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace mercato::product {

namespace {

resolve_failure fail(std::string code, std::string message, size_t index, const std::string& ref) {
  return {std::move(code), std::move(message), static_cast<int64_t>(index), ref};
}

void fill_from_product(resolved_item& r, const product_record& p) {
  r.product_id = p.id;
  r.name = p.name;
  r.currency = p.currency;
  r.status = p.status;
  r.category = p.category;
  if (auto im = p.primary_image()) r.image_url = im->url;
  r.list_price = p.price;
  r.cost = p.cost.value_or(0);
  r.weight_grams = p.weight_grams();
  r.dimensions_json = p.dimensions_json;
}

int64_t grams(const std::string& kg_text) {
  try {
    return static_cast<int64_t>(std::stod(kg_text) * 1000.0 + 0.5);
  } catch (...) {
    return 0;
  }
}

void fill_variant(resolved_item& r, const variant_record& v, const product_record& parent, micros now) {
  fill_from_product(r, parent);
  r.kind = "variant";
  r.item_id = v.id;
  r.variant_id = v.id;
  r.sku = v.sku;
  if (!v.name.empty()) r.name = parent.name + " - " + v.name;
  if (const auto* price = v.price_at(now)) {
    r.list_price = price->price;
    if (price->cost) r.cost = *price->cost;
    r.currency = price->currency;
  }
  if (v.weight) r.weight_grams = grams(*v.weight);
}

bool sellable(const product_record& p) { return !p.deleted() && p.status == "active"; }

}  // namespace

std::optional<resolve_failure> resolve(const catalog& cat, const resolve_items& request, resolved_items& out) {
  out.items.clear();
  micros now = now_micros();
  for (size_t i = 0; i < request.refs.size(); ++i) {
    const item_ref& ref = request.refs[i];
    resolved_item r;
    if (ref.quantity < 1) return fail("invalid", "Quantity must be at least 1", i, ref.ref);
    if (const auto* v = cat.variant(ref.ref)) {
      const auto* parent = cat.product(v->parent_id);
      if (!parent) return fail("not_found", "Product not found", i, ref.ref);
      if (!v->is_active || !sellable(*parent)) return fail("inactive", "Product is not active", i, ref.ref);
      fill_variant(r, *v, *parent, now);
    } else if (const auto* p = cat.product(ref.ref)) {
      if (!sellable(*p)) return fail("inactive", "Product is not active", i, ref.ref);
      auto variants = cat.variants_of(p->id);
      if (!ref.variant_id.empty()) {
        const auto* v = cat.variant(ref.variant_id);
        if (!v || v->parent_id != p->id) return fail("not_found", "Variant not found", i, ref.ref);
        if (!v->is_active) return fail("inactive", "Variant is not active", i, ref.ref);
        fill_variant(r, *v, *p, now);
      } else if (!variants.empty()) {
        return fail("variant_required", "Product is sold through its variants: choose one", i, ref.ref);
      } else {
        fill_from_product(r, *p);
        r.kind = "product";
        r.item_id = p->id;
        r.sku = p->sku;
      }
    } else if (const auto* b = cat.bundle(ref.ref)) {
      if (!b->currently_active(now)) return fail("inactive", "Bundle is not active", i, ref.ref);
      bundle_quote quote;
      auto err = price_bundle(b->terms(now), ref.selected_components, ref.quantity,
                              [&](const std::string& id) { return cat.item_price(id); }, quote);
      if (err == bundle_error::max_quantity)
        return fail("bundle_max_quantity", fmt::format("Quantity exceeds the bundle maximum of {}", b->max_quantity.value_or(0)), i, ref.ref);
      if (err != bundle_error::none) return fail("bundle_selection_invalid", "Invalid bundle selection", i, ref.ref);
      r.kind = "bundle";
      r.item_id = b->id;
      r.product_id = b->id;
      r.sku = b->sku;
      r.name = b->name;
      r.status = "active";
      r.currency = "USD";
      // The unit price of one bundle at this quantity (quantity rules included), half-up.
      r.list_price = (quote.price * 2 + ref.quantity) / (2 * ref.quantity);
      for (const auto& c : quote.components) {
        resolved_component rc;
        rc.item_id = c.item_id;
        rc.quantity = c.per_bundle;
        rc.unit_price = c.unit_price;
        if (const auto* v = cat.variant(c.item_id)) rc.sku = v->sku;
        else if (const auto* p = cat.product(c.item_id)) {
          rc.sku = p->sku;
          r.currency = p->currency;
          r.cost += p->cost.value_or(0) * c.per_bundle;
          r.weight_grams += p->weight_grams() * c.per_bundle;
        }
        r.components.push_back(std::move(rc));
      }
    } else {
      return fail("not_found", "Product not found", i, ref.ref);
    }
    out.items.push_back(std::move(r));
  }
  return std::nullopt;
}

std::optional<product_summary> summarize(const catalog& cat, const std::string& key) {
  product_summary s;
  auto from_product = [&](const product_record& p) {
    s.product_id = p.id;
    s.sku = p.sku;
    s.name = p.name;
    s.category = p.category;
    s.currency = p.currency;
    s.status = p.deleted() ? "archived" : p.status;
    if (auto im = p.primary_image()) s.image_url = im->url;
    s.price = p.price;
    s.cost = p.cost.value_or(0);
    s.weight_grams = p.weight_grams();
  };
  if (const auto* p = cat.product(key)) {
    from_product(*p);
    return s;
  }
  if (const auto* v = cat.variant(key)) {
    const auto* parent = cat.product(v->parent_id);
    if (!parent) return std::nullopt;
    from_product(*parent);
    s.product_id = v->id;
    s.sku = v->sku;
    if (!v->name.empty()) s.name = parent->name + " - " + v->name;
    if (!v->is_active) s.status = "archived";
    if (const auto* pr = v->price_at(now_micros())) {
      s.price = pr->price;
      if (pr->cost) s.cost = *pr->cost;
    }
    if (v->weight) s.weight_grams = grams(*v->weight);
    return s;
  }
  if (const auto* b = cat.bundle(key)) {
    s.product_id = b->id;
    s.sku = b->sku;
    s.name = b->name;
    s.currency = "USD";
    s.status = b->currently_active(now_micros()) ? "active" : "archived";
    bundle_quote q;
    if (price_bundle(b->terms(now_micros()), {}, 1, [&](const std::string& id) { return cat.item_price(id); }, q) ==
        bundle_error::none)
      s.price = q.price;
    return s;
  }
  return std::nullopt;
}

std::optional<product_list> list_summaries(const catalog& cat, const list_products& m, std::string& error) {
  static const std::vector<std::string> statuses{"draft", "active", "archived", "all"};
  static const std::vector<std::string> sorts{"", "popular", "newest", "price_asc", "price_desc", "name"};
  if (std::find(statuses.begin(), statuses.end(), m.status) == statuses.end()) error = "Unknown status: " + m.status;
  else if (std::find(sorts.begin(), sorts.end(), m.sort) == sorts.end()) error = "Unknown sort: " + m.sort;
  else if (m.limit < 1 || m.limit > 1000) error = "limit must be between 1 and 1000";
  else if (m.skip < 0) error = "skip must be at least 0";
  else if (m.min_price >= 0 && m.max_price >= 0 && m.min_price > m.max_price)
    error = "max_price must be greater than or equal to min_price";
  std::optional<std::string> type;
  if (error.empty() && !m.product_type.empty() && !(type = product_type_code(m.product_type)))
    error = "Invalid product_type: " + m.product_type;
  if (!error.empty()) return std::nullopt;
  list_query q;
  q.product_type = type.value_or("");
  if (m.status == "all") q.status.reset();
  else q.status = m.status;
  q.category = m.category;
  q.category_id = m.category_id;
  q.include_subcategories = m.include_subcategories;
  q.brand = m.brand;
  if (m.min_price >= 0) q.min_price = m.min_price;
  if (m.max_price >= 0) q.max_price = m.max_price;
  q.search = m.search;
  q.sort = !m.sort.empty() ? m.sort : m.search.empty() ? "newest" : "relevance";
  q.skip = m.skip;
  q.limit = m.limit;
  auto result = cat.list(q);
  product_list out;
  out.total = result.total;
  for (const auto* p : result.page)
    if (auto s = summarize(cat, p->id)) out.products.push_back(std::move(*s));
  return out;
}

std::optional<resolve_failure> quote_bundle(const catalog& cat, const bundle_price& m, bundle_price_calculation& out) {
  const auto* b = cat.bundle(m.bundle_id);
  if (!b) return fail("not_found", "Bundle not found", 0, m.bundle_id);
  if (m.quantity < 1) return fail("invalid", "quantity must be at least 1", 0, m.bundle_id);
  std::vector<std::string> selection = m.selected_components;
  for (auto& s : selection) {
    if (const auto* v = cat.variant(s)) s = v->id;
    else if (const auto* p = cat.product(s)) s = p->id;
  }
  bundle_quote quote;
  auto terms = b->terms(now_micros());
  auto err = price_bundle(terms, selection, m.quantity, [&](const std::string& id) { return cat.item_price(id); }, quote);
  if (err == bundle_error::max_quantity)
    return fail("max_quantity", "Quantity exceeds the bundle maximum of " + std::to_string(b->max_quantity.value_or(0)),
                0, m.bundle_id);
  if (err != bundle_error::none)
    return fail("selection_invalid", "Invalid component selection for this bundle", 0, m.bundle_id);
  out.bundle_id = b->id;
  out.quantity = m.quantity;
  out.original_price = quote.original;
  out.bundle_price = quote.price;
  out.discount_amount = quote.discount;
  out.discount_percentage_e2 = quote.discount_pct_e2;
  for (const auto& c : quote.components) {
    bundle_price_line line;
    line.product_id = c.item_id;
    if (const auto* v = cat.variant(c.item_id)) line.product_name = v->name;
    if (const auto* p = cat.product(c.item_id)) line.product_name = p->name;
    line.quantity = c.quantity;
    line.unit_price = c.unit_price;
    line.total = c.total;
    out.components_breakdown.push_back(std::move(line));
  }
  auto avail = bundle_availability(terms.components, [&](const std::string& id) { return cat.available(id); });
  out.available_quantity = avail ? *avail : -1;
  return std::nullopt;
}

}  // namespace mercato::product
