// FastAPI-shaped input validation: every problem reported with its location and pydantic type.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "domain/json_input.hpp"

using namespace mercato;
using nlohmann::json;

namespace {
json issues_of(const input::body_reader& in) { return json::parse(in.error_response().body)["detail"]; }
}  // namespace

TEST_CASE("body_reader reads typed fields and reports all problems at once") {
  input::body_reader in{R"({"name":"Widget","quantity":"3","price":"19.90","active":"true","tags":["a"]})"};
  CHECK(in.string("name", input::required, 1, 100) == "Widget");
  CHECK(in.integer("quantity", input::required, 1, 10) == 3);
  CHECK(in.amount("price", input::required) == 1990);
  CHECK(in.boolean("active", input::required) == true);
  CHECK(in.strings("tags", input::optional)->size() == 1);
  CHECK_FALSE(in.string("missing", input::optional));
  CHECK(in.ok());

  input::body_reader bad{R"({"quantity":0,"price":-1,"kind":"x","items":{}})"};
  bad.string("name", input::required);
  bad.integer("quantity", input::required, 1);
  bad.amount("price", input::required);
  bad.choice("kind", input::required, {"a", "b"});
  bad.array("items", input::required);
  REQUIRE_FALSE(bad.ok());
  const auto detail = issues_of(bad);
  REQUIRE(detail.size() == 5);
  CHECK(detail[0]["loc"] == json::array({"body", "name"}));
  CHECK(detail[0]["type"] == "value_error.missing");
  CHECK(detail[1]["type"] == "value_error.number.not_ge");
  CHECK(detail[2]["type"] == "value_error.number.not_ge");
  CHECK(detail[3]["type"] == "type_error.enum");
  CHECK(detail[4]["type"] == "type_error.list");
  CHECK(bad.error_response().status == 422);
}

TEST_CASE("body_reader rejects malformed JSON and non-objects") {
  input::body_reader broken{"{not json"};
  CHECK_FALSE(broken.ok());
  CHECK(issues_of(broken)[0]["type"] == "value_error.jsondecode");
  input::body_reader list{"[1,2]"};
  CHECK(issues_of(list)[0]["type"] == "type_error.dict");
  input::body_reader empty{""};
  CHECK_FALSE(empty.ok());
  input::body_reader empty_ok{"", true};
  CHECK(empty_ok.ok());
}

TEST_CASE("nested readers report locations below their parent") {
  input::body_reader in{R"({"items":[{"quantity":2},{"quantity":"x"}]})"};
  const auto* items = in.array("items", input::required, 1);
  REQUIRE(items);
  for (size_t i = 0; i < items->size(); ++i) {
    auto where = in.loc("items");
    where.push_back(std::to_string(i));
    input::object_reader line{(*items)[i], where, in.sink()};
    line.integer("quantity", input::required, 1);
  }
  REQUIRE(in.issues().size() == 1);
  CHECK(in.issues()[0].type == "type_error.integer");
  CHECK(in.issues()[0].loc == std::vector<std::string>{"body", "items", "1", "quantity"});
}

TEST_CASE("query_reader validates query parameters") {
  http_request r;
  r.query = "skip=5&limit=2000&flag=yes&name=a%20b";
  input::query_reader q{r};
  CHECK(q.string("name", input::optional) == "a b");
  CHECK(q.boolean("flag", input::optional) == true);
  auto w = input::read_window(q);
  CHECK(w.skip == 5);
  CHECK_FALSE(q.ok());  // limit above 1000
  CHECK(q.issues()[0].loc == std::vector<std::string>{"query", "limit"});
}
