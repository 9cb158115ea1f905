// The fixture itself: pointing DATABASE_URL at a per-test database (both libpq URL forms), and
// that the database really is fresh, connectable and dropped afterwards.
#include <optional>
#include <string>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "support/db_fixture.hpp"

using mercato::test::url_with_dbname;

TEST_CASE("url_with_dbname points either URL form at another database", "[db][fixture]") {
  CHECK(url_with_dbname("host=/tmp port=5432 dbname=mercato user=postgres", "t1") ==
        "host=/tmp port=5432 dbname=mercato user=postgres dbname=t1");
  CHECK(url_with_dbname("host=/tmp", "t1") == "host=/tmp dbname=t1");
  CHECK(url_with_dbname("postgresql://u:p@db.example:5432/mercato", "t1") ==
        "postgresql://u:p@db.example:5432/t1");
  CHECK(url_with_dbname("postgresql://u@db.example/mercato?sslmode=require&connect_timeout=5", "t1") ==
        "postgresql://u@db.example/t1?sslmode=require&connect_timeout=5");
  CHECK(url_with_dbname("postgres://db.example", "t1") == "postgres://db.example/t1");
  CHECK(url_with_dbname("postgresql://db.example?sslmode=disable", "t1") ==
        "postgresql://db.example/t1?sslmode=disable");
  CHECK(url_with_dbname("postgresql:///mercato?host=/var/run/postgresql", "t1") ==
        "postgresql:///t1?host=/var/run/postgresql");
  CHECK(url_with_dbname("postgresql://h/mercato?dbname=mercato&user=u", "t1") == "postgresql://h/t1?user=u");
}

TEST_CASE("each fixture creates a fresh database and drops it", "[db][fixture]") {
  std::optional<mercato::test::fresh_database> first{std::in_place};
  const auto name = first->name();
  CHECK(name.rfind("mercato_test_", 0) == 0);
  CHECK(first->value<std::string>("SELECT current_database()") == name);
  CHECK(first->value<int>("SELECT count(*) FROM pg_namespace WHERE nspname = 'orders'") == 0);
  {
    mercato::test::migrated_database second;
    CHECK(second.name() != name);
    CHECK(second.value<int>("SELECT count(*) FROM pg_namespace WHERE nspname = 'orders'") == 1);
  }
  first.reset();
  pqxx::connection admin{mercato::test::database_url()};
  pqxx::nontransaction tx{admin};
  CHECK(tx.exec_params1("SELECT count(*) FROM pg_database WHERE datname = $1", name)[0].as<int>() == 0);
}
