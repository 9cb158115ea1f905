-- fraud_detection (agents/8010-fraud_detection.md): every risk check with its signals, reviews,
-- and the blocked entities that short-circuit scoring.
CREATE TABLE fraud.fraud_checks (
  check_id            uuid PRIMARY KEY,
  entity_type         text NOT NULL
                      CHECK (entity_type IN ('order', 'payment', 'customer', 'account', 'transaction')),
  entity_id           text NOT NULL CHECK (char_length(entity_id) BETWEEN 1 AND 255),
  customer_id         text CHECK (customer_id IS NULL OR char_length(customer_id) BETWEEN 1 AND 255),
  input_hash          text NOT NULL CHECK (input_hash ~ '^[0-9a-f]{64}$'),
  input_data          jsonb NOT NULL DEFAULT '{}'::jsonb,
  risk_score          integer NOT NULL CHECK (risk_score BETWEEN 0 AND 100),
  risk_level          text NOT NULL CHECK (risk_level IN ('low', 'medium', 'high', 'critical')),
  decision            text NOT NULL
                      CHECK (decision IN ('approved', 'flagged', 'manual_review', 'blocked')),
  triggered_rules     jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(triggered_rules) = 'array'),
  signals             jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(signals) = 'array'),
  unavailable_signals text[] NOT NULL DEFAULT '{}',
  recommendations     text[] NOT NULL DEFAULT '{}',
  ip_address          inet,
  email               text,
  review_outcome      text CHECK (review_outcome IN ('approved', 'rejected')),
  reviewed_by         text,
  reviewed_at         timestamptz,
  review_notes        text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (entity_type, entity_id, input_hash),
  -- A review is complete or absent, and only manual_review / flagged checks are reviewed.
  CHECK ((review_outcome IS NULL) = (reviewed_at IS NULL)),
  CHECK (review_outcome IS NULL OR decision IN ('manual_review', 'flagged'))
);
CREATE INDEX fraud_checks_customer ON fraud.fraud_checks (customer_id, created_at DESC);
CREATE INDEX fraud_checks_ip ON fraud.fraud_checks (ip_address, created_at DESC);
CREATE INDEX fraud_checks_decision ON fraud.fraud_checks (decision, created_at);
CREATE INDEX fraud_checks_created ON fraud.fraud_checks (created_at DESC, check_id DESC);
CREATE INDEX fraud_checks_entity ON fraud.fraud_checks (entity_type, entity_id, created_at DESC);

CREATE TABLE fraud.blocked_entities (
  block_id     uuid PRIMARY KEY,
  entity_type  text NOT NULL CHECK (entity_type IN ('email', 'ip', 'customer', 'phone', 'card_fingerprint')),
  entity_value text NOT NULL CHECK (char_length(entity_value) BETWEEN 1 AND 500),
  reason       text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
  blocked_by   text NOT NULL CHECK (char_length(blocked_by) BETWEEN 1 AND 255),
  blocked_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz CHECK (expires_at IS NULL OR expires_at > blocked_at),
  is_active    boolean NOT NULL DEFAULT true,
  unblocked_by text,
  unblocked_at timestamptz,
  CHECK (is_active = (unblocked_at IS NULL))
);
-- One active block per identifier; the scoring lookup is an index probe on it.
CREATE UNIQUE INDEX blocked_entities_active ON fraud.blocked_entities (entity_type, entity_value)
  WHERE is_active;
CREATE INDEX blocked_entities_expiry ON fraud.blocked_entities (expires_at)
  WHERE is_active AND expires_at IS NOT NULL;
CREATE INDEX blocked_entities_listing ON fraud.blocked_entities (blocked_at DESC, block_id DESC);
