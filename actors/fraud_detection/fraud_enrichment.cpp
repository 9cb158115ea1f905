// Enrichment calls to order, customer and payment (fraud_enrichment.hpp).
#include "fraud_detection/fraud_enrichment.hpp"

#include <algorithm>
#include <memory>

#include "customer/customer_messages.hpp"
#include "order/order_messages.hpp"
#include "payment/payment_messages.hpp"
#include "runtime/agent_call.hpp"

namespace mercato::fraud {
namespace {

// One scoring waiting for its answers (touched only inside the actor).
struct pending {
  score_request req;
  std::vector<std::string> unavailable;
  int waiting = 1;  // an extra hold, released once every ask has been sent
  enriched_fn done;
};

void release(const std::shared_ptr<pending>& job) {
  if (--job->waiting != 0) return;
  static const std::vector<std::string_view> order{signal_name::high_velocity, signal_name::new_account,
                                                   signal_name::frequent_payment_changes};
  auto rank = [](const std::string& s) { return std::find(order.begin(), order.end(), s) - order.begin(); };
  std::sort(job->unavailable.begin(), job->unavailable.end(),
            [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  job->done(std::move(job->req), std::move(job->unavailable));
}

}  // namespace

void enrich(fraud_agent_actor::pointer self, const agent_context& ctx, score_request req,
            enriched_fn done) {
  auto job = std::make_shared<pending>();
  job->done = std::move(done);
  const bool need_velocity = !req.input.order_count_24h;
  const bool need_age = !req.input.account_age_days;
  const bool need_changes = !req.input.payment_method_changes_7d;
  const std::string customer = req.customer_id;
  // The scored order itself is not part of its customer's velocity.
  const std::string exclude = req.entity_type == "order" ? req.entity_id : std::string{};
  job->req = std::move(req);

  if (customer.empty()) {
    // Nobody to ask about: the customer-based signals cannot be evaluated.
    if (need_velocity) job->unavailable.emplace_back(signal_name::high_velocity);
    if (need_age) job->unavailable.emplace_back(signal_name::new_account);
    if (need_changes) job->unavailable.emplace_back(signal_name::frequent_payment_changes);
    release(job);
    return;
  }
  if (need_velocity) {
    ++job->waiting;
    ask_agent_resending<order_actor>(
        self, ctx, "order", order::count_recent_orders{customer, 24, exclude},
        [job](count_reply& r) {
          job->req.input.order_count_24h = r.count;
          release(job);
        },
        [job](const failure&) {
          job->unavailable.emplace_back(signal_name::high_velocity);
          release(job);
        },
        enrichment_timeout);
  }
  if (need_age) {
    ++job->waiting;
    ask_agent_resending<customer_actor>(
        self, ctx, "customer", customer::get_customer{customer},
        [job](customer::customer_profile& p) {
          if (auto age = account_age_days(p.registration_date, std::chrono::system_clock::now()))
            job->req.input.account_age_days = *age;
          else
            job->unavailable.emplace_back(signal_name::new_account);
          release(job);
        },
        [job](const failure&) {
          job->unavailable.emplace_back(signal_name::new_account);
          release(job);
        },
        enrichment_timeout);
  }
  if (need_changes) {
    ++job->waiting;
    ask_agent_resending<payment_actor>(
        self, ctx, "payment", payment::count_method_changes{customer, 7},
        [job](count_reply& r) {
          job->req.input.payment_method_changes_7d = r.count;
          release(job);
        },
        [job](const failure&) {
          job->unavailable.emplace_back(signal_name::frequent_payment_changes);
          release(job);
        },
        enrichment_timeout);
  }
  release(job);
}

}  // namespace mercato::fraud
