// Profile rules of the customer agent (agents/8007-customer.md "Rules"), plain C++: e-mail, phone
// and id normalisation, account status transitions, referral codes, interaction status changes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mercato::customer {

// Trimmed and lower-cased; nullopt unless it looks like local@domain.tld (≤ 254 chars).
std::optional<std::string> normalize_email(std::string_view raw);
// Digits with an optional leading "+", 7..15 digits; spaces, dots, dashes and parentheses are
// dropped first. nullopt when not a phone number.
std::optional<std::string> normalize_phone(std::string_view raw);
// 1..100 chars of [A-Za-z0-9_.:@-] (customer ids are client-chosen strings).
bool valid_customer_id(std::string_view id);
// ISO date YYYY-MM-DD of a real calendar day.
bool valid_iso_date(std::string_view text);

// active ↔ inactive, active ↔ suspended, any → blocked, blocked → active; same → same is allowed.
bool account_transition_allowed(std::string_view from, std::string_view to);

// 8 characters of A–Z and 2–9 (the contract's alphabet: the digits 0 and 1 are left out because
// they read like O and I), from a thread-local random source.
std::string make_referral_code();
bool valid_referral_code(std::string_view code);

// open → in_progress → resolved → closed; open/in_progress → closed; resolved → in_progress;
// closed is final. Same → same is a no-op (allowed) except for closed.
bool interaction_transition_allowed(std::string_view from, std::string_view to);

}  // namespace mercato::customer
