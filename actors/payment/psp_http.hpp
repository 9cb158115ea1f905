// A small synchronous HTTP/1.1 client for PSP adapters (Boost.Beast, header-only): one request per
// connection, one deadline for connect + write + read. It blocks the calling thread, so adapters
// call it only from database pool threads (payment_operations), never from an actor.
// What matters for money is WHEN it failed:
//   not_sent   — nothing reached the PSP (bad URL, DNS failure, connection refused, connect
//                timeout): a definite failure, safe to report as GATEWAY_UNAVAILABLE;
//   no_answer  — connected and (maybe) sent, but no complete answer before the deadline: the
//                outcome is unknown, the caller must re-send with the same Idempotency-Key;
//   answered   — an HTTP status and body.
// https:// (the real api.stripe.com) runs over TLS 1.2+ with the peer's certificate chain verified
// against the system's CA store (or `ca_file`) and its name checked against the URL's host; a
// failed handshake is not_sent (no request byte left this process).
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace mercato::payment {

using form_fields = std::vector<std::pair<std::string, std::string>>;

struct psp_request {
  std::string method = "POST";  // POST | GET
  std::string base_url;         // http://host[:port][/prefix]
  std::string target;           // /v1/payment_intents
  form_fields form;             // POST: application/x-www-form-urlencoded body; GET: the query
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10000};
  std::string ca_file;  // https: PEM file of trusted CAs instead of the system store (tests, private PSPs)
};

struct psp_response {
  enum class stage { not_sent, no_answer, answered } result = stage::not_sent;
  int status = 0;
  std::string body;
  std::string error;  // why not_sent / no_answer
};

psp_response psp_call(const psp_request& request);

// application/x-www-form-urlencoded (RFC 3986 unreserved kept, space as %20; brackets kept in keys).
std::string form_encode(const form_fields& fields);

}  // namespace mercato::payment
