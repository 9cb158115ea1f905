// shared_reads: a read goes out alone when idle, the reads that meet a running one share the next
// batch, and every read gets its own answer (or its batch's failure) exactly once.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "runtime/shared_reads.hpp"

using mercato::failure;
using mercato::failure_kind;
using reads = mercato::shared_reads<std::string, int>;

namespace {

// Stands in for the agent's pool helper: records each batch; the test finishes it.
struct fake_runner {
  struct started {
    std::vector<std::string> keys;
    reads::finish_fn finish;
  };
  std::vector<started>* batches;
  void operator()(std::vector<std::string> keys, reads::finish_fn finish) const {
    batches->push_back({std::move(keys), std::move(finish)});
  }
};

// What a read was answered: its value or its failure's code, and how many times.
struct answer {
  std::optional<int> value;
  std::string failed;
  int calls = 0;
};

reads::reply_fn into(answer& a) {
  return [&a](std::optional<failure> f, int v) {
    ++a.calls;
    if (f) a.failed = f->code;
    else a.value = v;
  };
}

// "a" runs alone; "b" and "c" wait for it.
struct three_reads {
  std::vector<fake_runner::started> batches;
  fake_runner run{&batches};
  reads r{32, 1};
  answer a, b, c;
  three_reads() {
    r.read("a", into(a), run);
    r.read("b", into(b), run);
    r.read("c", into(c), run);
  }
};

}  // namespace

TEST_CASE("shared_reads: alone when idle, together while one runs, each its own value") {
  std::vector<fake_runner::started> batches;
  fake_runner run{&batches};
  reads r{32, 1};
  answer a, b, c, d;
  r.read("a", into(a), run);
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].keys == std::vector<std::string>{"a"});
  r.read("b", into(b), run);
  r.read("c", into(c), run);
  r.read("b", into(d), run);  // a key may repeat
  CHECK(batches.size() == 1);  // they wait for the running read

  batches[0].finish({std::nullopt, {10}});
  CHECK(a.value == 10);
  REQUIRE(batches.size() == 2);
  CHECK(batches[1].keys == std::vector<std::string>{"b", "c", "b"});
  CHECK_FALSE(b.value);

  batches[1].finish({std::nullopt, {20, 30, 21}});
  CHECK(b.value == 20);
  CHECK(c.value == 30);
  CHECK(d.value == 21);
  for (const auto* x : {&a, &b, &c, &d}) CHECK(x->calls == 1);
  CHECK(r.batches() == 2);
  CHECK(r.items() == 4);
}

TEST_CASE_METHOD(three_reads, "shared_reads: a failed batch fails each of its reads once, the next batch still goes") {
  batches[0].finish({failure{failure_kind::unavailable, "database_unavailable", "down", {}}, {}});
  CHECK(a.failed == "database_unavailable");
  CHECK_FALSE(a.value);
  REQUIRE(batches.size() == 2);
  batches[1].finish({failure{failure_kind::unavailable, "database_unavailable", "down", {}}, {}});
  CHECK(b.failed == "database_unavailable");
  CHECK(c.failed == "database_unavailable");
  for (const auto* x : {&a, &b, &c}) CHECK(x->calls == 1);
  // Nothing is left running: the next read goes out at once.
  answer e;
  r.read("e", into(e), run);
  CHECK(batches.size() == 3);
}

TEST_CASE_METHOD(three_reads, "shared_reads: a batch answered with the wrong number of values fails, never misattributes") {
  batches[0].finish({std::nullopt, {1}});
  batches[1].finish({std::nullopt, {2}});  // two keys, one value
  CHECK(a.value == 1);
  CHECK(b.failed == "internal");
  CHECK(c.failed == "internal");
  CHECK_FALSE(b.value);
}

TEST_CASE("shared_reads: batches stay within max_batch") {
  std::vector<fake_runner::started> batches;
  fake_runner run{&batches};
  reads r{2, 1};
  std::vector<answer> answers(5);
  for (size_t i = 0; i < answers.size(); ++i) r.read(std::to_string(i), into(answers[i]), run);
  batches[0].finish({std::nullopt, {0}});
  REQUIRE(batches.size() == 2);
  CHECK(batches[1].keys == std::vector<std::string>{"1", "2"});
  batches[1].finish({std::nullopt, {1, 2}});
  REQUIRE(batches.size() == 3);
  CHECK(batches[2].keys == std::vector<std::string>{"3", "4"});
  batches[2].finish({std::nullopt, {3, 4}});
  for (size_t i = 0; i < answers.size(); ++i) CHECK(answers[i].value == static_cast<int>(i));
}
