// Order-line resolution (see resolve.hpp).
#include "product/resolve.hpp"

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

}  // namespace mercato::product
