// db::batch_queue: alone when idle, together when busy, never more than the limits, nothing lost.
#include <catch2/catch.hpp>

#include <numeric>
#include <vector>

#include "db/batch_queue.hpp"

using mercato::db::batch_queue;

TEST_CASE("batch_queue sends a request alone and at once when nothing is running") {
  batch_queue<int> q{8, 1};
  CHECK(q.push(1) == std::vector<int>{1});
  CHECK(q.in_flight() == 1);
  CHECK(q.finished().empty());
  CHECK(q.in_flight() == 0);
  CHECK(q.push(2) == std::vector<int>{2});
}

TEST_CASE("batch_queue holds requests while a batch runs and sends them together, in order") {
  batch_queue<int> q{8, 1};
  REQUIRE(q.push(1) == std::vector<int>{1});
  CHECK(q.push(2).empty());
  CHECK(q.push(3).empty());
  CHECK(q.push(4).empty());
  CHECK(q.waiting() == 3);
  CHECK(q.finished() == std::vector<int>{2, 3, 4});
  CHECK(q.in_flight() == 1);
  CHECK(q.waiting() == 0);
  CHECK(q.finished().empty());
  CHECK(q.in_flight() == 0);
}

TEST_CASE("batch_queue caps a batch at max_batch and keeps the rest for the next one") {
  batch_queue<int> q{3, 1};
  REQUIRE(q.push(0).size() == 1);
  for (int i = 1; i <= 7; ++i) CHECK(q.push(i).empty());
  CHECK(q.finished() == std::vector<int>{1, 2, 3});
  CHECK(q.finished() == std::vector<int>{4, 5, 6});
  CHECK(q.finished() == std::vector<int>{7});
  CHECK(q.finished().empty());
  CHECK(q.in_flight() == 0);
  // The counters /health shows: 4 batches carried the 8 requests, the largest 3.
  CHECK(q.batches() == 4);
  CHECK(q.items() == 8);
  CHECK(q.largest() == 3);
  CHECK(q.health_json() == R"({"batches":4,"items":8,"largest":3,"waiting":0,"in_flight":0})");
}

TEST_CASE("batch_queue starts a further batch only for a backlog of half a batch, up to max_in_flight") {
  batch_queue<int> q{4, 2};
  CHECK(q.push(1) == std::vector<int>{1});
  // One request waiting is less than half a batch: it waits for the running batch.
  CHECK(q.push(2).empty());
  CHECK(q.in_flight() == 1);
  // Two are half a batch of four: they go out beside the running one.
  CHECK(q.push(3) == std::vector<int>{2, 3});
  CHECK(q.in_flight() == 2);
  // The limit is reached: everything else waits, whatever the backlog.
  for (int i = 4; i <= 7; ++i) CHECK(q.push(i).empty());
  CHECK(q.finished() == std::vector<int>{4, 5, 6, 7});
  CHECK(q.in_flight() == 2);
  CHECK(q.push(8).empty());
  // A batch finishes while another runs: one waiting request still waits for it...
  CHECK(q.finished().empty());
  CHECK(q.in_flight() == 1);
  // ...and leaves when nothing runs any more.
  CHECK(q.finished() == std::vector<int>{8});
  CHECK(q.finished().empty());
  CHECK(q.in_flight() == 0);
}

TEST_CASE("batch_queue without batching (max_batch 1) runs max_in_flight single requests at once") {
  batch_queue<int> q{1, 2};
  CHECK(q.push(1) == std::vector<int>{1});
  CHECK(q.push(2) == std::vector<int>{2});
  CHECK(q.in_flight() == 2);
  CHECK(q.push(3).empty());
  CHECK(q.finished() == std::vector<int>{3});
  CHECK(q.in_flight() == 2);
}

TEST_CASE("batch_queue delivers every request exactly once under an interleaving of pushes and completions") {
  batch_queue<int> q{5, 2};
  std::vector<std::vector<int>> running;
  std::vector<int> sent;
  int next = 0;
  // A fixed interleaving: pushes in bursts, completions of the oldest running batch in between.
  for (int round = 0; round < 40; ++round) {
    for (int k = 0; k < round % 7; ++k) {
      auto b = q.push(next++);
      if (!b.empty()) running.push_back(std::move(b));
    }
    if (!running.empty() && round % 2 == 0) {
      sent.insert(sent.end(), running.front().begin(), running.front().end());
      running.erase(running.begin());
      auto b = q.finished();
      if (!b.empty()) running.push_back(std::move(b));
    }
    CHECK(q.in_flight() == running.size());
    CHECK(q.in_flight() <= 2);
    for (const auto& b : running) CHECK(b.size() <= 5);
  }
  while (!running.empty()) {
    sent.insert(sent.end(), running.front().begin(), running.front().end());
    running.erase(running.begin());
    auto b = q.finished();
    if (!b.empty()) running.push_back(std::move(b));
  }
  std::vector<int> expected(next);
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(sent == expected);
  CHECK(q.waiting() == 0);
}

TEST_CASE("batch_queue's finished(send) hands the next batch to send, and calls nothing when none waits") {
  batch_queue<int> q{4, 1};
  REQUIRE(q.push(1) == std::vector<int>{1});
  CHECK(q.push(2).empty());
  CHECK(q.push(3).empty());
  std::vector<std::vector<int>> sent;
  auto send = [&sent](std::vector<int> batch) { sent.push_back(std::move(batch)); };
  q.finished(send);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0] == std::vector<int>{2, 3});
  CHECK(q.in_flight() == 1);
  q.finished(send);
  CHECK(sent.size() == 1);
  CHECK(q.in_flight() == 0);
}
