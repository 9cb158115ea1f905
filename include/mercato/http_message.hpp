// Plain HTTP request/response values exchanged between the gateway and the agents.
// No Beast and no CAF here: agents, tests and the gateway all speak these structs.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mercato {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_request {
  std::string method;  // upper case, as received ("GET", "POST", ...)
  std::string path;    // agent-relative path: gateway prefix already removed, no query
  std::string query;   // raw query string without '?', may be empty
  header_list headers; // header names lower-cased by the gateway
  std::string body;

  // First header value with this (lower-case) name, or empty.
  std::string_view header(std::string_view name) const;
  // Decoded value of query parameter `name`; nullopt-like: returns false when absent.
  bool query_param(std::string_view name, std::string& out) const;
};

struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  header_list headers;  // extra headers (Retry-After, Allow, Location, ...)

  static http_response json(int status, std::string body) {
    http_response r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
};

// One-shot reply channel for an HTTP call. Whoever holds the last reference and has not answered
// when it is destroyed (an agent that crashed with the call in its mailbox, say) answers 503, or
// calls `dropped` when the caller gave one (the gateway then may send the request again), so a
// caller can never be left hanging by a dying agent.
class responder {
 public:
  using deliver_fn = std::function<void(http_response&&)>;

  explicit responder(deliver_fn fn, std::function<void()> dropped = {})
      : fn_(std::move(fn)), dropped_(std::move(dropped)) {}
  responder(const responder&) = delete;
  responder& operator=(const responder&) = delete;
  ~responder();

  // Delivers the response; only the first call has an effect. Returns whether it was the first.
  bool deliver(http_response response);
  bool delivered() const noexcept { return done_.load(std::memory_order_acquire); }

 private:
  deliver_fn fn_;
  std::function<void()> dropped_;
  std::atomic<bool> done_{false};
};

using reply_channel = std::shared_ptr<responder>;

inline reply_channel make_reply_channel(responder::deliver_fn fn, std::function<void()> dropped = {}) {
  return std::make_shared<responder>(std::move(fn), std::move(dropped));
}

// What the gateway hands an agent: the request and where to send the answer.
struct http_call {
  http_request request;
  reply_channel reply;
};

}  // namespace mercato
