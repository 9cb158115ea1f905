-- The customer agent's daily jobs (agents/8007-customer.md "Background work": points expiry and
-- tier review, daily at 02:00 UTC and at start if missed). One row per job: the date of the latest
-- 02:00 UTC slot a completed run covers. A run locks its job's row and records itself in the
-- transaction of its work, so a missed night survives restarts and two incarnations of the agent
-- never both run one slot.
CREATE TABLE customers.job_runs (
  job         text PRIMARY KEY CHECK (job <> ''),
  last_slot   date,         -- null: never completed
  last_run_at timestamptz,  -- when that run committed its work
  last_count  bigint,       -- what it did (lots expired, tiers reviewed)
  CHECK ((last_slot IS NULL) = (last_run_at IS NULL))
);
