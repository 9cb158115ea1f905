// Money parsing and rounding: exact cents from numbers, numeric strings and NUMERIC text.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "domain/money.hpp"

using namespace mercato;

TEST_CASE("money parses decimal text exactly, rounding half-up to the cent") {
  CHECK(money::parse_decimal("12.30") == 1230);
  CHECK(money::parse_decimal("12.3") == 1230);
  CHECK(money::parse_decimal("12") == 1200);
  CHECK(money::parse_decimal("0.005") == 1);
  CHECK(money::parse_decimal("0.004") == 0);
  CHECK(money::parse_decimal("-4.10") == -410);
  CHECK(money::parse_decimal(" 7.5 ") == 750);
  CHECK(money::parse_decimal(".5") == 50);
  CHECK_FALSE(money::parse_decimal(""));
  CHECK_FALSE(money::parse_decimal("abc"));
  CHECK_FALSE(money::parse_decimal("1e3"));
  CHECK_FALSE(money::parse_decimal("1.2.3"));
  CHECK_FALSE(money::parse_decimal("10000000000.00"));  // beyond NUMERIC(12,2)
  CHECK(money::parse_decimal("9999999999.99") == money::max_amount);
}

TEST_CASE("money reads JSON numbers and numeric strings but nothing else") {
  using nlohmann::json;
  CHECK(money::from_json(json(19.9)) == 1990);
  CHECK(money::from_json(json(0.1 + 0.2)) == 30);  // binary noise does not leak into cents
  CHECK(money::from_json(json(5)) == 500);
  CHECK(money::from_json(json("19.90")) == 1990);
  CHECK_FALSE(money::from_json(json(true)));
  CHECK_FALSE(money::from_json(json(nullptr)));
  CHECK_FALSE(money::from_json(json("12,50")));
  CHECK_FALSE(money::from_json(json(1e300)));
}

TEST_CASE("money formats and renders amounts") {
  CHECK(money::format(1230) == "12.30");
  CHECK(money::format(5) == "0.05");
  CHECK(money::format(-5) == "-0.05");
  CHECK(money::format(0) == "0.00");
  CHECK(money::to_json(1230).dump() == "12.3");
  CHECK(money::to_json(1200).get<double>() == 12.0);
}

TEST_CASE("money applies rates with half-up rounding") {
  // 8.25 % of 19.99 = 1.649175 → 1.65; of 10.00 = 0.825 → 0.83 (half-up, not banker's).
  CHECK(money::apply_rate_e4(1999, 825) == 165);
  CHECK(money::apply_rate_e4(1000, 825) == 83);
  CHECK(money::apply_rate_e4(0, 825) == 0);
  // Fee 2.90 % of 100.00 = 2.90.
  CHECK(money::percent_of(10000, 290) == 290);
  CHECK(money::parse_rate_e4("0.0825") == 825);
  CHECK(money::parse_rate_e4("0.08875") == std::nullopt);  // more than four decimals
  CHECK(money::format_rate_e4(825) == "0.0825");
}
