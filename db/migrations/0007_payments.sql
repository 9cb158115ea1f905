-- payment agent (agents/8004-payment.md): gateways, stored methods (tokens only), one FSM row per
-- payment attempt, one row per gateway operation, refunds, webhooks and an append-only audit log.
-- Invariants live here too: amounts ordered by CHECK, one live payment per order, one gateway
-- operation in flight per payment, idempotency keys unique per payment.

CREATE TABLE payments.payment_gateways (
  gateway_id              serial PRIMARY KEY,
  gateway_name            text NOT NULL UNIQUE,
  gateway_type            text NOT NULL,
  adapter                 text NOT NULL CHECK (adapter IN ('test', 'stripe', 'external')),
  is_active               boolean NOT NULL DEFAULT true,
  is_test_mode            boolean NOT NULL DEFAULT false,
  supported_currencies    text[] NOT NULL DEFAULT ARRAY['USD'],
  transaction_fee_percent numeric(5,2) NOT NULL DEFAULT 0 CHECK (transaction_fee_percent >= 0),
  transaction_fee_fixed   numeric(12,2) NOT NULL DEFAULT 0 CHECK (transaction_fee_fixed >= 0),
  min_transaction_amount  numeric(12,2) NOT NULL DEFAULT 0.01 CHECK (min_transaction_amount > 0),
  max_transaction_amount  numeric(12,2) NOT NULL DEFAULT 999999.99,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  CHECK (max_transaction_amount >= min_transaction_amount)
);

-- Reference rows: only gateways that have an adapter. Stripe is listed active but answers
-- "not configured" (503) until an API key is set; the agent reports `configured` per row.
INSERT INTO payments.payment_gateways
  (gateway_id, gateway_name, gateway_type, adapter, is_active, is_test_mode, supported_currencies,
   transaction_fee_percent, transaction_fee_fixed, min_transaction_amount, max_transaction_amount)
VALUES
  (1, 'Test Gateway', 'test', 'test', true, true, ARRAY['USD', 'EUR', 'GBP'], 2.90, 0.30, 0.01, 999999.99),
  (2, 'Stripe', 'stripe', 'stripe', true, false, ARRAY['USD', 'EUR', 'GBP'], 2.90, 0.30, 0.50, 999999.99),
  (3, 'External', 'external', 'external', true, false, ARRAY['USD', 'EUR', 'GBP'], 0, 0, 0.01, 9999999999.99);
SELECT setval('payments.payment_gateways_gateway_id_seq', 3);

CREATE TABLE payments.payment_methods (
  method_id           uuid PRIMARY KEY,
  customer_id         text NOT NULL CHECK (customer_id <> ''),
  gateway_id          integer NOT NULL REFERENCES payments.payment_gateways (gateway_id),
  method_type         text NOT NULL CHECK (method_type IN ('credit_card', 'debit_card', 'paypal',
                                                           'bank_account', 'crypto_wallet')),
  card_brand          text,
  card_last_four      text CHECK (card_last_four ~ '^[0-9]{4}$'),
  card_expiry_month   integer CHECK (card_expiry_month BETWEEN 1 AND 12),
  card_expiry_year    integer CHECK (card_expiry_year BETWEEN 2000 AND 2200),
  card_holder_name    text,
  card_fingerprint    text,
  gateway_token       text NOT NULL,
  gateway_customer_id text,
  is_default          boolean NOT NULL DEFAULT false,
  is_verified         boolean NOT NULL DEFAULT false,
  deleted_at          timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX payment_methods_one_default ON payments.payment_methods (customer_id)
  WHERE is_default AND deleted_at IS NULL;
CREATE INDEX payment_methods_customer ON payments.payment_methods (customer_id, created_at);

CREATE TABLE payments.payments (
  payment_id         uuid PRIMARY KEY,
  order_id           text,
  customer_id        text NOT NULL,
  gateway_id         integer NOT NULL REFERENCES payments.payment_gateways (gateway_id),
  method_id          uuid REFERENCES payments.payment_methods (method_id),
  instrument_token   text NOT NULL DEFAULT '',  -- the PSP token used (never a card number)
  currency           text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status             text NOT NULL CHECK (status IN ('pending', 'authorized', 'partially_captured',
                        'captured', 'partially_refunded', 'refunded', 'voided', 'failed', 'expired')),
  amount             numeric(12,2) NOT NULL CHECK (amount > 0),  -- requested
  authorized_amount  numeric(12,2) NOT NULL DEFAULT 0,
  captured_amount    numeric(12,2) NOT NULL DEFAULT 0,
  refunded_amount    numeric(12,2) NOT NULL DEFAULT 0,
  fee_amount         numeric(12,2) NOT NULL DEFAULT 0 CHECK (fee_amount >= 0),
  authorization_code text,
  gateway_reference  text,
  risk_score         integer,
  risk_level         text,
  source             text,  -- external payments: marketplace:<id> | d2c:<id>
  expires_at         timestamptz,
  authorized_at      timestamptz,
  capture_final      boolean NOT NULL DEFAULT false,
  version            integer NOT NULL DEFAULT 1,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (0 <= refunded_amount AND refunded_amount <= captured_amount
         AND captured_amount <= authorized_amount)
);
-- At most one live payment per order.
CREATE UNIQUE INDEX payments_one_live_per_order ON payments.payments (order_id)
  WHERE status IN ('pending', 'authorized', 'partially_captured', 'captured', 'partially_refunded');
CREATE INDEX payments_order ON payments.payments (order_id);
CREATE INDEX payments_customer ON payments.payments (customer_id, created_at);
CREATE INDEX payments_expiring ON payments.payments (expires_at)
  WHERE status IN ('authorized', 'partially_captured');

CREATE TABLE payments.payment_transactions (
  transaction_id         uuid PRIMARY KEY,
  payment_id             uuid NOT NULL REFERENCES payments.payments (payment_id),
  order_id               text,
  customer_id            text NOT NULL,
  gateway_id             integer NOT NULL REFERENCES payments.payment_gateways (gateway_id),
  payment_method_id      uuid,
  transaction_type       text NOT NULL CHECK (transaction_type IN ('authorize', 'capture', 'sale',
                                                                   'void', 'refund')),
  transaction_status     text NOT NULL CHECK (transaction_status IN ('pending', 'processing',
                                                'completed', 'failed', 'cancelled')),
  amount                 numeric(12,2) NOT NULL CHECK (amount >= 0),
  currency               text NOT NULL,
  fee_amount             numeric(12,2) NOT NULL DEFAULT 0,
  net_amount             numeric(12,2) NOT NULL DEFAULT 0,
  capture_final          boolean NOT NULL DEFAULT false,  -- capture: release the remainder
  gateway_transaction_id text,
  authorization_code     text,
  error_code             text,
  error_message          text,
  idempotency_key        text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
  risk_score             integer,
  risk_level             text,
  initiated_at           timestamptz NOT NULL DEFAULT now(),
  completed_at           timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  UNIQUE (payment_id, idempotency_key)
);
-- One gateway operation in flight per payment: a second one fails here (409).
CREATE UNIQUE INDEX payment_transactions_one_in_flight ON payments.payment_transactions (payment_id)
  WHERE transaction_status IN ('pending', 'processing');
CREATE INDEX payment_transactions_key ON payments.payment_transactions (idempotency_key);
CREATE INDEX payment_transactions_pending ON payments.payment_transactions (initiated_at)
  WHERE transaction_status IN ('pending', 'processing');
CREATE INDEX payment_transactions_created ON payments.payment_transactions (created_at);

CREATE TABLE payments.payment_refunds (
  refund_id         uuid PRIMARY KEY,
  transaction_id    uuid NOT NULL UNIQUE REFERENCES payments.payment_transactions (transaction_id),
  payment_id        uuid NOT NULL REFERENCES payments.payments (payment_id),
  order_id          text,
  customer_id       text NOT NULL,
  refund_type       text NOT NULL CHECK (refund_type IN ('full', 'partial', 'chargeback')),
  refund_reason     text NOT NULL CHECK (refund_reason IN ('customer_request', 'order_cancelled',
                       'item_returned', 'damaged', 'fraud', 'other')),
  refund_amount     numeric(12,2) NOT NULL CHECK (refund_amount > 0),
  currency          text NOT NULL,
  refund_status     text NOT NULL CHECK (refund_status IN ('pending', 'processing', 'completed',
                                                           'failed', 'cancelled')),
  gateway_refund_id text,
  error_code        text,
  error_message     text,
  notes             text,
  requested_by      text,
  requested_at      timestamptz NOT NULL DEFAULT now(),
  completed_at      timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_refunds_payment ON payments.payment_refunds (payment_id);
CREATE INDEX payment_refunds_requested ON payments.payment_refunds (requested_at);

CREATE TABLE payments.payment_webhooks (
  webhook_id         bigserial PRIMARY KEY,
  gateway_id         integer NOT NULL REFERENCES payments.payment_gateways (gateway_id),
  event_id           text NOT NULL,
  event_type         text NOT NULL,
  payload            jsonb NOT NULL,
  signature_verified boolean NOT NULL DEFAULT false,
  processed          boolean NOT NULL DEFAULT false,
  processing_error   text,
  retry_count        integer NOT NULL DEFAULT 0,
  received_at        timestamptz NOT NULL DEFAULT now(),
  processed_at       timestamptz,
  UNIQUE (gateway_id, event_id)
);

CREATE TABLE payments.payment_audit_log (
  audit_id   bigserial PRIMARY KEY,
  payment_id uuid NOT NULL,
  action     text NOT NULL,
  actor      text NOT NULL DEFAULT 'payment',
  old_status text,
  new_status text,
  amount     numeric(12,2),
  at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_audit_log_payment ON payments.payment_audit_log (payment_id, audit_id);

-- Added and removed methods per customer (fraud's count_method_changes).
CREATE TABLE payments.payment_method_changes (
  change_id   bigserial PRIMARY KEY,
  customer_id text NOT NULL,
  method_id   uuid NOT NULL,
  change      text NOT NULL CHECK (change IN ('added', 'removed')),
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_method_changes_customer ON payments.payment_method_changes (customer_id, at);

-- The audit log is append-only.
CREATE FUNCTION payments.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'payment_audit_log is append-only';
END
$$;
CREATE TRIGGER payment_audit_log_no_change BEFORE UPDATE OR DELETE ON payments.payment_audit_log
  FOR EACH ROW EXECUTE FUNCTION payments.audit_log_append_only();
