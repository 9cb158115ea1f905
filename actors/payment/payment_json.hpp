// JSON bodies of the payment REST API (agents/8004-payment.md "REST") and the typed payment_view,
// built from store rows. Plain C++.
#pragma once

#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "payment/payment_messages.hpp"
#include "payment/payment_store.hpp"

namespace mercato::payment {

nlohmann::json gateway_json(const gateway_row& g, bool configured);
nlohmann::json method_json(const method_row& m);
nlohmann::json transaction_json(const transaction_row& t, const payment_row& p, bool test_mode);
nlohmann::json refund_json(const refund_row& r);
nlohmann::json payment_json(const payment_row& p, const std::optional<method_row>& method,
                            const std::vector<transaction_row>& transactions,
                            const std::vector<refund_row>& refunds);
// The PaymentAuthorization shape of POST /api/v1/payment/authorize.
nlohmann::json authorization_json(const payment_row& p, const transaction_row& t);

payment_view to_view(const payment_row& p, const std::string& transaction_id = {});
refund_view to_refund_view(const refund_row& r);

}  // namespace mercato::payment
