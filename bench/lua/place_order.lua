-- wrk script: POST /orders with a unique Idempotency-Key per request (thread id + counter), one
-- in-stock line, rotating over the customers and the first four products. The customers are the
-- demo's four with a default card, or with BENCH_CUSTOMERS=N > 4 the bench customers
-- BENCH-00001..N that commerce_bench.sh creates. Counts confirmed orders from the response bodies
-- (201 + "status":"confirmed").
local counter = 0
local thread_id = 0
local threads = {}
local customers = {"CUST-001", "CUST-002", "CUST-003", "CUST-006"}
local bench_customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "4")
if bench_customers > 4 then
  customers = {}
  for i = 1, bench_customers do customers[i] = string.format("BENCH-%05d", i) end
end
local products = {"PROD-001", "PROD-002", "PROD-003", "PROD-004"}
local run = os.time()

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

-- BENCH_ANNOUNCED_DIR: each thread writes there the order_id of every 201 it got, one per line
-- (announced-<thread>), so that the orders written but never announced can be named.
-- Each thread also writes there (refused-<thread>) the status and body of every answer that is
-- not a 201, to say why a fault run's requests failed.
local announced_dir = os.getenv("BENCH_ANNOUNCED_DIR")
local announced = nil
local refused = nil

function init(args)
  if announced_dir and announced_dir ~= "" then
    announced = assert(io.open(string.format("%s/announced-%d", announced_dir, tid), "w"))
    announced:setvbuf("line")
    refused = assert(io.open(string.format("%s/refused-%d", announced_dir, tid), "w"))
    refused:setvbuf("line")
  end
  confirmed = 0
  other = 0
  -- the other answers by class: 201 not confirmed (e.g. waiting for review), 4xx, 5xx (503 while
  -- the database or an agent is down)
  other_201 = 0
  other_4xx = 0
  other_5xx = 0
end

function request()
  counter = counter + 1
  local c = customers[(counter % #customers) + 1]
  local p = products[(counter % #products) + 1]
  local body = string.format(
    '{"customer_id":"%s","items":[{"product_id":"%s","quantity":1}],"payment_token":"tok_visa"}', c, p)
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = string.format("bench-%d-%d-%d", run, tid, counter)
  return wrk.format("POST", "/orders", headers, body)
end

function response(status, headers, body)
  if announced and status == 201 then
    announced:write((string.match(body, '"order_id":"([^"]+)"') or "?"), "\n")
  elseif refused and status ~= 201 then
    refused:write(os.date("!%H:%M:%S"), " ", status, " ", string.sub(body, 1, 300), "\n")
  end
  if status == 201 and string.find(body, '"status":"confirmed"', 1, true) then
    confirmed = confirmed + 1
  else
    other = other + 1
    if status == 201 then
      other_201 = other_201 + 1
    elseif status >= 400 and status < 500 then
      other_4xx = other_4xx + 1
    elseif status >= 500 then
      other_5xx = other_5xx + 1
    end
  end
end

function done(summary, latency, requests)
  local c, o, o201, o4, o5 = 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("confirmed")
    o = o + t:get("other")
    o201 = o201 + t:get("other_201")
    o4 = o4 + t:get("other_4xx")
    o5 = o5 + t:get("other_5xx")
  end
  io.write(string.format("confirmed %d\nother %d\nother_by_class 201:%d 4xx:%d 5xx:%d\nseconds %.3f\n",
                         c, o, o201, o4, o5, summary.duration / 1e6))
  io.write(string.format("confirmed_per_s %.1f\n", c / (summary.duration / 1e6)))
  for _, p in ipairs({50, 90, 99}) do
    io.write(string.format("p%d_ms %.2f\n", p, latency:percentile(p) / 1000))
  end
end
