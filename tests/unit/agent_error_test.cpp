// Database errors as the failures an agent answers with: what a client may read of them.
#include <catch2/catch.hpp>

#include "db/db_error.hpp"
#include "runtime/agent_error.hpp"

using namespace mercato;

TEST_CASE("db_failure: a refused statement's client message is the server's primary message only") {
  const db::error check{db::errc::invalid,
                        "ERROR:  new row for relation \"customer_profiles\" violates check constraint \"c\"\n"
                        "DETAIL:  Failing row contains (CUST-1, secret-risk-score, 42).\n",
                        "23514"};
  auto f = db_failure(check);
  CHECK(f.kind == failure_kind::invalid);
  CHECK(f.message == "new row for relation \"customer_profiles\" violates check constraint \"c\"");
  CHECK(failure_response(f).status == 422);

  const db::error nul{db::errc::invalid,
                      "ERROR:  unsupported Unicode escape sequence\nDETAIL:  \\u0000 cannot be converted to text.\n"
                      "CONTEXT:  JSON data, line 1: {\"notes\":...\nunnamed portal parameter $2 = '...'\n",
                      "22P05"};
  CHECK(db_failure(nul).message == "unsupported Unicode escape sequence");

  const db::error duplicate{db::errc::conflict, "ERROR:  duplicate key value violates unique constraint \"k\"\nDETAIL:  x",
                            "23505"};
  CHECK(db_failure(duplicate).kind == failure_kind::conflict);
  CHECK(db_failure(duplicate).message == "duplicate key value violates unique constraint \"k\"");

  CHECK(db_failure({db::errc::invalid, "", "22000"}).message == "The database refused the request");
  // Internal errors and outages never show the server's text.
  CHECK(db_failure({db::errc::internal, "ERROR:  syntax error at or near \"SELEC\"", "42601"}).message ==
        "Internal error");
  CHECK(db_failure({db::errc::unavailable, "server closed the connection unexpectedly", ""}).kind ==
        failure_kind::unavailable);
}
