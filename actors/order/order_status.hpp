// The order status machine (agents/8000-order.md "Transitions of status"): which changes are
// legal, which a PATCH may ask for, and the legacy `paid` alias. Plain C++.
#pragma once

#include <string>

namespace mercato::order {

bool is_order_status(const std::string& s);
bool is_cancellation_reason(const std::string& s);

// The table's edges (any trigger).
bool can_transition(const std::string& from, const std::string& to);

// A PATCH/PUT /orders/{id}/status request, before side effects.
struct status_decision {
  enum kind_t { unchanged, apply, reject_conflict, reject_invalid } kind = reject_conflict;
  std::string target;   // the status to set (paid → confirmed)
  std::string message;  // 409 / 422 text
};
status_decision decide_status_change(const std::string& current, const std::string& requested,
                                     const std::string& payment_status);

// Progress shown by GET /orders/{id}/tracking.
int progress_percentage(const std::string& status);

}  // namespace mercato::order
