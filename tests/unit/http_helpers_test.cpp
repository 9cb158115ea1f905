// URL decoding, query look-up, FastAPI error bodies, the responder's exactly-once contract and
// CORS decisions.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "gateway/cors_policy.hpp"
#include "http/nul_screen.hpp"
#include "http/problem.hpp"
#include "http/url.hpp"
#include "mercato/http_message.hpp"

using namespace mercato;

TEST_CASE("percent decoding") {
  std::string out;
  CHECK(http::percent_decode("a%2Fb+c", out, true));
  CHECK(out == "a/b c");
  CHECK(http::percent_decode("a+b", out, false));
  CHECK(out == "a+b");
  CHECK_FALSE(http::percent_decode("bad%2", out, true));
  CHECK_FALSE(http::percent_decode("bad%", out, true));
  CHECK_FALSE(http::percent_decode("%G0", out, true));
}

TEST_CASE("query parameters") {
  http_request req;
  req.query = "limit=20&skip=&q=red+shoe&name=%C3%A9&limit=30";
  std::string v;
  REQUIRE(req.query_param("limit", v));
  CHECK(v == "20");  // first one wins
  REQUIRE(req.query_param("skip", v));
  CHECK(v.empty());
  REQUIRE(req.query_param("q", v));
  CHECK(v == "red shoe");
  REQUIRE(req.query_param("name", v));
  CHECK(v == "\xC3\xA9");
  CHECK_FALSE(req.query_param("missing", v));
  auto all = http::parse_query(req.query);
  CHECK(all.size() == 5);
}

TEST_CASE("error bodies have FastAPI's shape") {
  auto e = http::error(409, "Order \"A\" is shipped");
  CHECK(e.status == 409);
  CHECK(nlohmann::json::parse(e.body)["detail"] == "Order \"A\" is shipped");

  auto v = http::validation_error({{{"body", "items", "0", "quantity"}, "must be > 0", "value_error"}});
  CHECK(v.status == 422);
  auto j = nlohmann::json::parse(v.body);
  REQUIRE(j["detail"].size() == 1);
  CHECK(j["detail"][0]["loc"] == nlohmann::json::array({"body", "items", 0, "quantity"}));
  CHECK(j["detail"][0]["msg"] == "must be > 0");
  CHECK(j["detail"][0]["type"] == "value_error");

  auto u = http::unavailable("down", 3);
  CHECK(u.status == 503);
  REQUIRE(u.headers.size() == 1);
  CHECK(u.headers[0] == std::pair<std::string, std::string>{"Retry-After", "3"});
}

TEST_CASE("responder delivers exactly once") {
  int calls = 0;
  int status = 0;
  {
    auto ch = make_reply_channel([&](http_response&& r) {
      ++calls;
      status = r.status;
    });
    CHECK(ch->deliver(http_response::json(201, "{}")));
    CHECK_FALSE(ch->deliver(http_response::json(200, "{}")));
  }
  CHECK(calls == 1);
  CHECK(status == 201);
}

TEST_CASE("a responder dropped unanswered answers 503") {
  int status = 0;
  { auto ch = make_reply_channel([&](http_response&& r) { status = r.status; }); }
  CHECK(status == 503);
}

TEST_CASE("CORS with the wildcard") {
  cors_policy any{{"*"}};
  CHECK(any.allow_origin("https://shop.example") == "*");
  CHECK(any.allow_origin("").empty());
  auto pre = any.preflight("https://shop.example", "content-type");
  CHECK(pre.status == 204);
  bool has_allow_origin = false;
  for (auto& [k, v] : pre.headers)
    if (k == "Access-Control-Allow-Origin") has_allow_origin = v == "*";
  CHECK(has_allow_origin);
}

TEST_CASE("CORS with a list of origins") {
  cors_policy listed{{"https://a.example"}};
  CHECK(listed.allow_origin("https://a.example") == "https://a.example");
  CHECK(listed.allow_origin("https://b.example").empty());
  CHECK(listed.preflight("https://b.example", "").status == 403);
}

TEST_CASE("NUL screen: %00 in a target, an escaped U+0000 in a JSON body") {
  CHECK(http::target_has_nul("/customers/CUST-001%00x"));
  CHECK(http::target_has_nul("/products?category=a%00"));
  CHECK_FALSE(http::target_has_nul("/products?category=a%2500"));  // "%25" is '%': the text "%00"
  CHECK_FALSE(http::target_has_nul("/products?price=100%"));
  CHECK_FALSE(http::target_has_nul("/products?x=%0"));

  CHECK(http::json_has_nul_escape(R"({"a":"x\u0000"})"));
  CHECK(http::json_has_nul_escape(R"({"a":"\\\u0000"})"));  // an escaped backslash, then the escape
  CHECK_FALSE(http::json_has_nul_escape(R"({"a":"\\u0000"})"));  // a backslash, then the text u0000
  CHECK(http::json_has_nul_escape(R"({"a":"\u00001"})"));
  CHECK_FALSE(http::json_has_nul_escape(R"({"a":"\u0001"})"));
  CHECK_FALSE(http::json_has_nul_escape(""));
}
