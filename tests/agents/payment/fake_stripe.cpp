// The fake Stripe API (see fake_stripe.hpp): one thread, one request per connection.
#include "fake_stripe.hpp"

#include <chrono>
#include <optional>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "domain/sha256.hpp"

namespace mercato::test {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;

std::string decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') out += ' ';
    else if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else out += s[i];
  }
  return out;
}

std::map<std::string, std::string> parse_form(const std::string& body) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string::npos) amp = body.size();
    std::string pair = body.substr(pos, amp - pos);
    size_t eq = pair.find('=');
    if (eq != std::string::npos) out[decode(pair.substr(0, eq))] = decode(pair.substr(eq + 1));
    pos = amp + 1;
  }
  return out;
}

json error(const std::string& type, const std::string& code, const std::string& message) {
  return json{{"error", {{"type", type}, {"code", code}, {"message", message}}}};
}

struct reply {
  int status = 200;
  json body;
  bool slow = false;
  bool dropped = false;  // no answer at all: the connection is closed
};

// Stripe's metadata object from the form's metadata[key]=value fields.
json metadata_of(const std::map<std::string, std::string>& f) {
  json out = json::object();
  for (const auto& [k, v] : f)
    if (k.rfind("metadata[", 0) == 0 && k.back() == ']') out[k.substr(9, k.size() - 10)] = v;
  return out;
}

}  // namespace

struct fake_stripe::impl {
  std::string key;
  int slow_ms;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::thread worker;
  mutable std::mutex mutex;
  std::map<std::string, json> intents, charges, refunds;
  std::vector<std::string> refund_order;  // ids, oldest first
  std::map<std::string, std::pair<std::string, reply>> idempotency;  // key → (fingerprint, reply)
  std::map<std::string, int> calls, executed, late, dropped;
  int late_answers = 0;  // late answers written
  std::map<std::string, std::string> last_body;
  bool multicapture = true;
  int next_id = 1;

  std::string id(const char* prefix) { return prefix + std::to_string(next_id++); }

  static reply missing() { return {404, error("invalid_request_error", "resource_missing", "No such payment_intent")}; }
  static int64_t amount_of(const json& o, const char* field) { return o[field].get<int64_t>(); }

  // The intent as Stripe renders it: latest_charge is the charge's id, or the charge itself when
  // the request asked for expand[]=latest_charge.
  json render(const json& pi, const std::map<std::string, std::string>& f) const {
    json out = pi;
    auto e = f.find("expand[]");
    if (e != f.end() && e->second == "latest_charge" && pi["latest_charge"].is_string())
      out["latest_charge"] = charges.at(pi["latest_charge"].get<std::string>());
    return out;
  }

  // The charge follows its intent's captured total.
  void sync_charge(const json& pi) {
    json& ch = charges[pi["latest_charge"].get<std::string>()];
    ch["amount_captured"] = pi["amount_received"];
    ch["captured"] = amount_of(pi, "amount_received") > 0;
  }

  reply create_intent(const std::map<std::string, std::string>& f) {
    json pi{{"id", id("pi_fake_")},
            {"object", "payment_intent"},
            {"amount", std::stoll(f.at("amount"))},
            {"currency", f.at("currency")},
            {"capture_method", f.count("capture_method") ? f.at("capture_method") : "automatic"},
            {"payment_method", f.count("payment_method") ? f.at("payment_method") : ""},
            {"metadata", {{"transaction_id", f.count("metadata[transaction_id]") ? f.at("metadata[transaction_id]") : ""}}},
            {"amount_received", 0},
            {"amount_capturable", 0},
            {"latest_charge", nullptr}};
    std::string pm = pi["payment_method"];
    if (pm == "pm_card_chargeDeclined") {
      pi["status"] = "requires_payment_method";
      pi["last_payment_error"] = {{"code", "card_declined"}, {"decline_code", "generic_decline"},
                                  {"message", "Your card was declined."}};
      intents[pi["id"]] = pi;
      json e = error("card_error", "card_declined", "Your card was declined.");
      e["error"]["decline_code"] = "generic_decline";
      e["error"]["payment_intent"] = pi;
      return {402, e};
    }
    const bool manual = pi["capture_method"] == "manual";
    const auto asked = f.find("payment_method_options[card][request_multicapture]");
    const bool multi = manual && multicapture && pm != "pm_card_noMulticapture" && asked != f.end() &&
                       asked->second == "if_available";
    pi["payment_method_options"] = {{"card", {{"request_multicapture", asked != f.end() ? asked->second : "never"}}}};
    json ch{{"id", id("ch_fake_")},
            {"object", "charge"},
            {"amount", pi["amount"]},
            {"amount_captured", 0},
            {"amount_refunded", 0},
            {"captured", false},
            {"payment_intent", pi["id"]},
            {"payment_method_details",
             {{"type", "card"}, {"card", {{"multicapture", {{"status", multi ? "available" : "unavailable"}}}}}}}};
    charges[ch["id"]] = ch;
    pi["latest_charge"] = ch["id"];
    if (manual) {
      pi["status"] = "requires_capture";
      pi["amount_capturable"] = pi["amount"];
    } else {
      pi["status"] = "succeeded";
      pi["amount_received"] = pi["amount"];
    }
    intents[pi["id"]] = pi;
    sync_charge(pi);
    return {200, render(pi, f), pm == "pm_card_timeout"};
  }

  reply capture(const std::string& pid, const std::map<std::string, std::string>& f) {
    if (!intents.count(pid)) return missing();
    json& pi = intents[pid];
    if (pi["status"] != "requires_capture")
      return {400, error("invalid_request_error", "payment_intent_unexpected_state", "This PaymentIntent could not be captured")};
    int64_t capturable = amount_of(pi, "amount_capturable");
    int64_t amount = f.count("amount_to_capture") ? std::stoll(f.at("amount_to_capture")) : capturable;
    bool final = !f.count("final_capture") || f.at("final_capture") != "false";
    if (amount <= 0 || amount > capturable)
      return {400, error("invalid_request_error", "amount_too_large", "Amount to capture is too large")};
    const json& ch = charges.at(pi["latest_charge"].get<std::string>());
    if (!final && ch["payment_method_details"]["card"]["multicapture"]["status"] != "available")
      return {400, error("invalid_request_error", "parameter_invalid_boolean",
                         "final_capture=false is only allowed when multicapture is available for this PaymentIntent")};
    pi["amount_received"] = amount_of(pi, "amount_received") + amount;
    pi["amount_capturable"] = final ? 0 : capturable - amount;
    if (amount_of(pi, "amount_capturable") == 0) pi["status"] = "succeeded";  // the rest is released
    sync_charge(pi);
    return {200, render(pi, f)};
  }

  reply cancel(const std::string& pid, const std::map<std::string, std::string>& f) {
    if (!intents.count(pid)) return missing();
    json& pi = intents[pid];
    if (pi["status"] == "succeeded" || pi["status"] == "canceled")
      return {400, error("invalid_request_error", "payment_intent_unexpected_state", "This PaymentIntent cannot be canceled")};
    pi["status"] = "canceled";  // what was capturable is released; what was captured stays
    pi["amount_capturable"] = 0;
    return {200, render(pi, f)};
  }

  reply refund(const std::map<std::string, std::string>& f) {
    std::string pid = f.count("payment_intent") ? f.at("payment_intent") : "";
    if (!intents.count(pid)) return missing();
    json& pi = intents[pid];
    if (!pi["latest_charge"].is_string())
      return {400, error("invalid_request_error", "charge_not_refundable", "This PaymentIntent has no charge")};
    json& ch = charges.at(pi["latest_charge"].get<std::string>());
    int64_t left = amount_of(pi, "amount_received") - amount_of(ch, "amount_refunded");
    int64_t amount = f.count("amount") ? std::stoll(f.at("amount")) : left;
    if (left <= 0 || amount <= 0 || amount > left)
      return {400, error("invalid_request_error", "charge_already_refunded", "Refund amount exceeds what is left")};
    ch["amount_refunded"] = amount_of(ch, "amount_refunded") + amount;
    json re{{"id", id("re_fake_")},   {"object", "refund"},       {"amount", amount},
            {"payment_intent", pid},    {"charge", ch["id"]},       {"status", "succeeded"},
            {"failure_reason", nullptr}, {"metadata", metadata_of(f)}};
    refund_order.push_back(re["id"]);
    refunds[re["id"]] = re;
    if (pi["payment_method"] == "pm_card_refundFail") {  // answered succeeded, failed later
      json& stored = refunds[re["id"]];
      stored["status"] = "failed";
      stored["failure_reason"] = "expired_or_canceled_card";
    }
    return {200, re};
  }

  // GET /v1/refunds: newest first, optionally of one intent; `limit` 1..100 (default 10),
  // `starting_after` a refund id of the list.
  reply list_refunds(const std::map<std::string, std::string>& f) {
    std::string pid = f.count("payment_intent") ? f.at("payment_intent") : "";
    if (!pid.empty() && !intents.count(pid)) return missing();
    int64_t limit = f.count("limit") ? std::stoll(f.at("limit")) : 10;
    if (limit < 1 || limit > 100)
      return {400, error("invalid_request_error", "parameter_invalid_integer", "limit must be between 1 and 100")};
    std::vector<const json*> matching;
    for (auto it = refund_order.rbegin(); it != refund_order.rend(); ++it)
      if (const json& re = refunds.at(*it); pid.empty() || re["payment_intent"] == pid) matching.push_back(&re);
    size_t from = 0;
    if (f.count("starting_after")) {
      const std::string& after = f.at("starting_after");
      while (from < matching.size() && (*matching[from])["id"] != after) ++from;
      if (from == matching.size())
        return {400, error("invalid_request_error", "resource_missing", "No such refund: '" + after + "'")};
      ++from;
    }
    json data = json::array();
    for (size_t i = from; i < matching.size() && data.size() < static_cast<size_t>(limit); ++i)
      data.push_back(*matching[i]);
    const bool more = from + data.size() < matching.size();
    return {200, json{{"object", "list"}, {"url", "/v1/refunds"}, {"data", data}, {"has_more", more}}};
  }

  // → (route pattern, reply)
  std::pair<std::string, reply> handle(const bhttp::request<bhttp::string_body>& req) {
    std::string target(req.target()), query;
    if (auto q = target.find('?'); q != std::string::npos) {
      query = target.substr(q + 1);
      target = target.substr(0, q);
    }
    std::string method = req.method() == bhttp::verb::get ? "GET" : "POST";
    std::string route = method + " " + target;
    std::string pid;
    const std::string base = "/v1/payment_intents/";
    if (target.rfind(base, 0) == 0) {
      std::string rest = target.substr(base.size());
      auto slash = rest.find('/');
      pid = rest.substr(0, slash);
      route = method + " " + base + "{id}" + (slash == std::string::npos ? "" : rest.substr(slash));
    }
    std::lock_guard<std::mutex> guard{mutex};
    ++calls[route];
    last_body[route] = method == "GET" ? query : req.body();
    if (auto it = dropped.find(route); it != dropped.end() && it->second > 0) {
      --it->second;
      reply lost;
      lost.dropped = true;
      return {route, lost};
    }
    if (std::string(req[bhttp::field::authorization]) != "Bearer " + key)
      return {route, {401, error("invalid_request_error", "api_key_invalid", "Invalid API Key provided")}};
    std::string idem(req["Idempotency-Key"]);
    std::string fingerprint = route + "\n" + req.body();
    if (method == "POST" && !idem.empty()) {
      auto it = idempotency.find(idem);
      if (it != idempotency.end()) {
        if (it->second.first != fingerprint)
          return {route, {400, error("idempotency_error", "idempotency_key_in_use",
                                     "Keys for idempotent requests can only be used with the same parameters")}};
        reply again = it->second.second;
        again.slow = false;
        return {route, again};
      }
    }
    ++executed[route];
    auto form = parse_form(method == "GET" ? query : req.body());
    reply r;
    if (route == "POST /v1/payment_intents") r = create_intent(form);
    else if (route == "POST /v1/payment_intents/{id}/capture") r = capture(pid, form);
    else if (route == "POST /v1/payment_intents/{id}/cancel") r = cancel(pid, form);
    else if (route == "POST /v1/refunds") r = refund(form);
    else if (route == "GET /v1/refunds") r = list_refunds(form);
    else if (route == "GET /v1/payment_intents/{id}") r = intents.count(pid) ? reply{200, render(intents[pid], form)} : missing();
    else r = {404, error("invalid_request_error", "unknown_route", "Unrecognized request URL")};
    if (auto it = late.find(route); it != late.end() && it->second > 0) {
      --it->second;
      r.slow = true;
    }
    if (method == "POST" && !idem.empty() && r.status < 500) {
      reply stored = r;
      stored.slow = false;
      idempotency[idem] = {fingerprint, stored};
    }
    return {route, r};
  }

  void serve() {
    while (!stopping) {
      tcp::socket socket{ioc};
      beast::error_code ec;
      acceptor.accept(socket, ec);
      if (stopping) break;
      if (ec) continue;
      beast::flat_buffer buffer;
      bhttp::request<bhttp::string_body> req;
      bhttp::read(socket, buffer, req, ec);
      if (ec) continue;
      auto [route, r] = handle(req);
      if (r.dropped) {  // the request never reached the API: closed unanswered
        socket.shutdown(tcp::socket::shutdown_both, ec);
        continue;
      }
      if (r.slow) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms));
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), 11};
      res.set(bhttp::field::content_type, "application/json");
      res.body() = r.body.dump();
      res.prepare_payload();
      bhttp::write(socket, res, ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
      if (r.slow) {
        std::lock_guard<std::mutex> guard{mutex};
        ++late_answers;
      }
    }
    beast::error_code ignored;
    acceptor.close(ignored);
  }
};

fake_stripe::fake_stripe(std::string api_key, int slow_ms) : impl_(std::make_unique<impl>()) {
  impl_->key = std::move(api_key);
  impl_->slow_ms = slow_ms;
  tcp::endpoint ep{net::ip::make_address("127.0.0.1"), 0};
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->worker = std::thread([this] { impl_->serve(); });
}

fake_stripe::~fake_stripe() { stop(); }

void fake_stripe::stop() {
  if (impl_->stopping.exchange(true)) return;
  // Wake the blocking accept with a connection of our own; the thread then closes the listener.
  net::io_context ioc;
  tcp::socket wake{ioc};
  beast::error_code ec;
  wake.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), impl_->port}, ec);
  if (impl_->worker.joinable()) impl_->worker.join();
}

std::string fake_stripe::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

int fake_stripe::calls(const std::string& route) const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  auto it = impl_->calls.find(route);
  return it == impl_->calls.end() ? 0 : it->second;
}

int fake_stripe::executed(const std::string& route) const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  auto it = impl_->executed.find(route);
  return it == impl_->executed.end() ? 0 : it->second;
}

int fake_stripe::late_answers() const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  return impl_->late_answers;
}

void fake_stripe::set_multicapture(bool available) {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  impl_->multicapture = available;
}

void fake_stripe::answer_late(const std::string& route) {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  ++impl_->late[route];
}

void fake_stripe::drop(const std::string& route) {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  ++impl_->dropped[route];
}

nlohmann::json fake_stripe::intent(const std::string& id) const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  auto it = impl_->intents.find(id);
  return it == impl_->intents.end() ? json{} : it->second;
}

nlohmann::json fake_stripe::refund(const std::string& id) const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  auto it = impl_->refunds.find(id);
  return it == impl_->refunds.end() ? json{} : it->second;
}

nlohmann::json fake_stripe::charge(const std::string& id) const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  auto it = impl_->charges.find(id);
  return it == impl_->charges.end() ? json{} : it->second;
}

std::string fake_stripe::last_body(const std::string& route) const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  auto it = impl_->last_body.find(route);
  return it == impl_->last_body.end() ? std::string{} : it->second;
}

std::string fake_stripe::signature(const std::string& body, const std::string& secret, int64_t t) {
  std::string ts = std::to_string(t);
  return "t=" + ts + ",v1=" + crypto::to_hex(crypto::hmac_sha256(secret, ts + "." + body));
}

}  // namespace mercato::test
