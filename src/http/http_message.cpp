// http_request helpers (header and query look-up) and the responder's exactly-once delivery.
#include "mercato/http_message.hpp"

#include "http/problem.hpp"
#include "http/url.hpp"

namespace mercato {

std::string_view http_request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

bool http_request::query_param(std::string_view name, std::string& out) const {
  return http::find_query_param(query, name, out);
}

responder::~responder() {
  if (done_.load(std::memory_order_acquire)) return;
  // The call was dropped without an answer (its agent stopped): never leave the caller hanging.
  if (dropped_) dropped_();
  else if (fn_) fn_(http::unavailable("Agent stopped before answering; retry", 1));
}

bool responder::deliver(http_response response) {
  bool expected = false;
  if (!done_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return false;
  if (fn_) fn_(std::move(response));
  return true;
}

}  // namespace mercato
