-- wrk script: plain GETs of the target URL (no per-response Lua, so wrk stays fast); prints
-- requests/s and p50/p90/p99 in ms. wrk itself reports "Non-2xx or 3xx responses" when any.
function done(summary, latency, requests)
  io.write(string.format("requests_per_s %.1f\nerrors %d\n", summary.requests / (summary.duration / 1e6),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
  for _, p in ipairs({50, 90, 99}) do
    io.write(string.format("p%d_ms %.2f\n", p, latency:percentile(p) / 1000))
  end
end
