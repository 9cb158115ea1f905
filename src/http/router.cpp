// Route matching, dispatch and OpenAPI rendering for an agent's REST table.
#include "http/router.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "domain/markup_escape.hpp"
#include "http/problem.hpp"
#include "http/url.hpp"

namespace mercato::http {
namespace {

bool is_placeholder(std::string_view seg) {
  return seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
}

}  // namespace

const std::string& path_params::get(std::string_view name) const {
  static const std::string empty;
  for (const auto& [k, v] : items_)
    if (k == name) return v;
  return empty;
}

bool split_path(std::string_view path, std::vector<std::string_view>& out) {
  out.clear();
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  while (!path.empty()) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  // A trailing slash ("/orders/") matches "/orders", as FastAPI's redirect would end up doing.
  if (!out.empty() && out.back().empty()) out.pop_back();
  return true;
}

router& router::add(std::string method, std::string pattern, std::string summary,
                    route_handler h) {
  compiled c;
  std::vector<std::string_view> parts;
  split_path(pattern, parts);
  for (auto p : parts) {
    c.segments.emplace_back(p);
    if (!is_placeholder(p)) ++c.literal_count;
  }
  routes_.push_back(route{std::move(method), std::move(pattern), std::move(summary), std::move(h)});
  compiled_.push_back(std::move(c));
  return *this;
}

router::match_result router::match(std::string_view method, std::string_view path) const {
  match_result res;
  std::vector<std::string_view> parts;
  if (!split_path(path, parts)) {
    res.result = outcome::bad_path;
    return res;
  }
  // Best path match per specificity: for each route whose shape fits, prefer more literals.
  const route* best = nullptr;
  const compiled* best_c = nullptr;
  size_t best_literals = 0;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const auto& c = compiled_[i];
    if (c.segments.size() != parts.size()) continue;
    bool fits = true;
    for (size_t s = 0; s < parts.size() && fits; ++s)
      fits = is_placeholder(c.segments[s]) || c.segments[s] == parts[s];
    if (!fits) continue;
    // HEAD runs the GET route (RFC 9110 §9.3.2); the gateway sends its headers without the body.
    const bool same = routes_[i].method == method || (method == "HEAD" && routes_[i].method == "GET");
    if (!same) {
      if (std::find(res.allowed.begin(), res.allowed.end(), routes_[i].method) ==
          res.allowed.end())
        res.allowed.push_back(routes_[i].method);
      continue;
    }
    if (!best || c.literal_count > best_literals) {
      best = &routes_[i];
      best_c = &c;
      best_literals = c.literal_count;
    }
  }
  if (!best) {
    if (std::find(res.allowed.begin(), res.allowed.end(), "GET") != res.allowed.end()) res.allowed.push_back("HEAD");
    res.result = res.allowed.empty() ? outcome::not_found : outcome::method_not_allowed;
    return res;
  }
  for (size_t s = 0; s < parts.size(); ++s) {
    const auto& seg = best_c->segments[s];
    if (!is_placeholder(seg)) continue;
    std::string value;
    if (!percent_decode(parts[s], value, false)) {
      res.result = outcome::bad_path;
      return res;
    }
    res.params.add(std::string_view{seg}.substr(1, seg.size() - 2), std::move(value));
  }
  res.result = outcome::matched;
  res.matched = best;
  return res;
}

void router::dispatch(http_request request, reply_channel reply) const {
  auto m = match(request.method, request.path);
  switch (m.result) {
    case outcome::matched: {
      request_context ctx{std::move(request), std::move(m.params), std::move(reply)};
      m.matched->handler(ctx);
      return;
    }
    case outcome::method_not_allowed:
      reply->deliver(method_not_allowed(m.allowed));
      return;
    case outcome::bad_path:
      reply->deliver(error(400, "Malformed request path"));
      return;
    case outcome::not_found:
      reply->deliver(not_found());
      return;
  }
}

std::string router::openapi(std::string_view title, std::string_view version,
                            std::string_view path_prefix) const {
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& r : routes_) {
    std::string method = r.method;
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    nlohmann::json op = {{"summary", r.summary},
                         {"responses", {{"200", {{"description", "Successful Response"}}}}}};
    nlohmann::json params = nlohmann::json::array();
    std::vector<std::string_view> parts;
    split_path(r.pattern, parts);
    for (auto p : parts)
      if (is_placeholder(p))
        params.push_back({{"name", std::string(p.substr(1, p.size() - 2))},
                          {"in", "path"},
                          {"required", true},
                          {"schema", {{"type", "string"}}}});
    if (!params.empty()) op["parameters"] = std::move(params);
    if (method == "post" || method == "put" || method == "patch")
      op["requestBody"] = {{"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
    paths[std::string(path_prefix) + r.pattern][method] = std::move(op);
  }
  nlohmann::json doc = {{"openapi", "3.0.2"},
                        {"info", {{"title", title}, {"version", version}}},
                        {"paths", std::move(paths)}};
  return doc.dump();
}

std::string docs_page(std::string_view title, const std::vector<route>& routes,
                      std::string_view openapi_url) {
  std::string html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>";
  html += markup_escape(title);
  html += " - docs</title><style>body{font-family:sans-serif;margin:2em}"
          "td{padding:.2em 1em}code{font-weight:bold}</style></head><body><h1>";
  html += markup_escape(title);
  html += "</h1><p>Machine-readable: <a href=\"";
  html += markup_escape(openapi_url);
  html += "\">openapi.json</a></p><table>";
  for (const auto& r : routes) {
    html += "<tr><td><code>" + markup_escape(r.method) + "</code></td><td>" +
            markup_escape(r.pattern) + "</td><td>" + markup_escape(r.summary) + "</td></tr>";
  }
  html += "</table></body></html>";
  return html;
}

}  // namespace mercato::http
