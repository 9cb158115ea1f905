// Order pricing arithmetic (see order_pricing.hpp).
#include "order/order_pricing.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

namespace mercato::order {

std::vector<money::cents> spread(money::cents amount, const std::vector<money::cents>& weights) {
  std::vector<money::cents> out(weights.size(), 0);
  const money::cents total = std::accumulate(weights.begin(), weights.end(), money::cents{0});
  if (total <= 0 || amount == 0) return out;
  std::vector<std::pair<__int128, size_t>> remainders;
  money::cents given = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const __int128 share = static_cast<__int128>(amount) * weights[i];
    out[i] = static_cast<money::cents>(share / total);
    remainders.emplace_back(share % total, i);
    given += out[i];
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; given < amount && k < remainders.size(); ++k, ++given) ++out[remainders[k].second];
  return out;
}

money::cents apply_rate_e5(money::cents amount, int64_t rate_e5) {
  const __int128 p = static_cast<__int128>(amount) * rate_e5;
  return static_cast<money::cents>((p + 50'000) / 100'000);  // amounts are ≥ 0 here
}

std::optional<int64_t> parse_rate_e5(const std::string& text) {
  size_t i = 0;
  int64_t whole = 0;
  if (i == text.size()) return std::nullopt;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') whole = whole * 10 + (text[i++] - '0');
  if (whole != 0 || i == 0) return std::nullopt;
  int64_t frac = 0;
  int digits = 0;
  if (i < text.size()) {
    if (text[i++] != '.') return std::nullopt;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (digits == 5) {
        if (text[i] != '0') return std::nullopt;
        ++i;
        continue;
      }
      frac = frac * 10 + (text[i++] - '0');
      ++digits;
    }
    if (i != text.size()) return std::nullopt;
  }
  while (digits < 5) {
    frac *= 10;
    ++digits;
  }
  return frac;
}

std::string format_rate_e5(int64_t rate_e5) {
  std::string s = fmt::format("0.{:05d}", rate_e5);
  while (s.size() > 6 && s.back() == '0') s.pop_back();  // keep at least 4 decimals: "0.0825"
  return s;
}

order_totals price_order(const std::vector<line_price>& lines, money::cents discount,
                         money::cents shipping, int64_t tax_rate_e5,
                         std::optional<money::cents> fixed_tax) {
  order_totals t;
  std::vector<money::cents> weights;
  for (const auto& l : lines) {
    line_amounts a;
    a.total_price = l.unit_price * l.quantity;
    t.subtotal += a.total_price;
    weights.push_back(a.total_price);
    t.lines.push_back(a);
  }
  t.discount = std::clamp<money::cents>(discount, 0, t.subtotal);
  const auto shares = spread(t.discount, weights);
  std::vector<money::cents> taxable;
  for (size_t i = 0; i < t.lines.size(); ++i) {
    t.lines[i].discount = shares[i];
    taxable.push_back(t.lines[i].total_price - shares[i]);
  }
  if (fixed_tax) {
    const auto tax_shares = spread(*fixed_tax, taxable);
    for (size_t i = 0; i < t.lines.size(); ++i) t.lines[i].tax = tax_shares[i];
  } else {
    for (size_t i = 0; i < t.lines.size(); ++i) t.lines[i].tax = apply_rate_e5(taxable[i], tax_rate_e5);
  }
  for (const auto& l : t.lines) t.tax += l.tax;
  t.shipping = shipping;
  t.total = t.subtotal - t.discount + t.shipping + t.tax;
  return t;
}

std::string check_expected(const std::vector<expected_line>& lines,
                           std::optional<money::cents> expected_shipping, money::cents shipping,
                           std::optional<money::cents> expected_total, money::cents total) {
  for (const auto& l : lines) {
    if (l.unit_price && l.current_unit_price > *l.unit_price)
      return fmt::format("Price changed for product {}: expected {}, current {}", l.sku,
                         money::format(*l.unit_price), money::format(l.current_unit_price));
  }
  if (expected_shipping && shipping > *expected_shipping)
    return fmt::format("Shipping cost changed: expected {}, current {}", money::format(*expected_shipping),
                       money::format(shipping));
  if (expected_total && total > *expected_total)
    return fmt::format("Order total changed: expected {}, computed {}", money::format(*expected_total),
                       money::format(total));
  return {};
}

money::cents units_value(money::cents line_paid, int64_t quantity, int64_t already, int64_t k) {
  if (quantity <= 0 || k <= 0) return 0;
  auto upto = [&](int64_t n) -> money::cents {
    if (n >= quantity) return line_paid;
    const __int128 p = static_cast<__int128>(line_paid) * n;
    return static_cast<money::cents>((p * 2 + quantity) / (2 * quantity));  // half-up
  };
  return upto(std::min(quantity, already + k)) - upto(already);
}

}  // namespace mercato::order
