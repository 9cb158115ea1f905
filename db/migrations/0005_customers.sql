-- customer agent (agents/8007-customer.md): profiles, addresses, preferences, the loyalty ledger,
-- store credit, interactions, and the agent's projection of order events (stats, open orders,
-- points earned per order). Invariants sit in CHECKs; cross-row rules (one default address per
-- purpose, FIFO point lots) are kept by the write transactions, which lock the profile row first.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE customers.customer_profiles (
  customer_id        text PRIMARY KEY CHECK (customer_id ~ '^[A-Za-z0-9_.:@-]{1,100}$'),
  email              text NOT NULL CHECK (email = lower(email) AND char_length(email) BETWEEN 3 AND 254),
  phone              text CHECK (phone ~ '^\+?[0-9]{7,15}$'),
  first_name         text,
  last_name          text,
  date_of_birth      date,
  gender             text,
  customer_type      text NOT NULL DEFAULT 'individual' CHECK (customer_type IN ('individual', 'business')),
  company_name       text,
  account_status     text NOT NULL DEFAULT 'active'
                       CHECK (account_status IN ('active', 'inactive', 'suspended', 'blocked')),
  email_verified     boolean NOT NULL DEFAULT false,
  phone_verified     boolean NOT NULL DEFAULT false,
  kyc_status         text NOT NULL DEFAULT 'pending' CHECK (kyc_status IN ('pending', 'verified', 'failed')),
  referred_by        text REFERENCES customers.customer_profiles (customer_id),
  preferred_language text NOT NULL DEFAULT 'en',
  source             text NOT NULL DEFAULT 'api',
  registration_date  timestamptz NOT NULL DEFAULT now(),
  last_login_at      timestamptz,
  total_orders       integer NOT NULL DEFAULT 0 CHECK (total_orders >= 0),
  total_spent        numeric(12,2) NOT NULL DEFAULT 0 CHECK (total_spent >= 0),
  last_order_at      timestamptz,
  metadata           jsonb NOT NULL DEFAULT '{}'::jsonb,
  deleted_at         timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
-- Unique among live profiles; an erased profile's address is deleted+<id>@invalid anyway.
CREATE UNIQUE INDEX customer_profiles_email ON customers.customer_profiles (email) WHERE deleted_at IS NULL;
CREATE INDEX customer_profiles_status ON customers.customer_profiles (account_status);
CREATE INDEX customer_profiles_registered ON customers.customer_profiles (registration_date DESC, customer_id);
CREATE INDEX customer_profiles_search ON customers.customer_profiles
  USING gin ((coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || email) gin_trgm_ops);

CREATE TABLE customers.customer_addresses (
  address_id            uuid PRIMARY KEY,
  customer_id           text NOT NULL REFERENCES customers.customer_profiles (customer_id) ON DELETE CASCADE,
  address_type          text NOT NULL CHECK (address_type IN ('shipping', 'billing', 'both')),
  address_label         text,
  first_name            text,
  last_name             text,
  company_name          text,
  street_address_1      text NOT NULL CHECK (char_length(street_address_1) BETWEEN 1 AND 255),
  street_address_2      text,
  city                  text NOT NULL CHECK (char_length(city) BETWEEN 1 AND 100),
  state_province        text,
  postal_code           text NOT NULL CHECK (char_length(postal_code) BETWEEN 1 AND 20),
  country_code          text NOT NULL CHECK (country_code ~ '^[A-Z]{2}$'),
  phone                 text,
  is_default            boolean NOT NULL DEFAULT false,
  is_verified           boolean NOT NULL DEFAULT false,
  delivery_instructions text,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_addresses_customer ON customers.customer_addresses (customer_id, created_at);

CREATE TABLE customers.customer_preferences (
  customer_id         text NOT NULL REFERENCES customers.customer_profiles (customer_id) ON DELETE CASCADE,
  preference_category text NOT NULL
                        CHECK (preference_category IN ('communication', 'privacy', 'shopping', 'notifications')),
  preference_key      text NOT NULL CHECK (char_length(preference_key) BETWEEN 1 AND 100),
  preference_value    jsonb NOT NULL,
  updated_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (customer_id, preference_category, preference_key)
);

CREATE TABLE customers.customer_loyalty (
  loyalty_id        uuid PRIMARY KEY,
  customer_id       text NOT NULL UNIQUE REFERENCES customers.customer_profiles (customer_id) ON DELETE CASCADE,
  loyalty_tier      text NOT NULL DEFAULT 'bronze'
                      CHECK (loyalty_tier IN ('bronze', 'silver', 'gold', 'platinum', 'diamond')),
  points_balance    bigint NOT NULL DEFAULT 0 CHECK (points_balance >= 0),
  points_lifetime   bigint NOT NULL DEFAULT 0 CHECK (points_lifetime >= 0),
  qualifying_points bigint NOT NULL DEFAULT 0 CHECK (qualifying_points >= 0),
  tier_start_date   date NOT NULL DEFAULT current_date,
  tier_expiry_date  date NOT NULL DEFAULT (current_date + 365),
  referral_code     text NOT NULL UNIQUE CHECK (referral_code ~ '^[A-Z2-9]{8}$'),
  referrals_count   integer NOT NULL DEFAULT 0 CHECK (referrals_count >= 0),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_loyalty_tier_expiry ON customers.customer_loyalty (tier_expiry_date);

-- The points ledger. Rows that add spendable points (earn, bonus, restore, positive adjustment)
-- are lots: points_remaining falls as redemptions, reversals and expiry consume them (FIFO by
-- expires_at), so points_balance = Σ points_remaining. source_transaction_id links a restore or
-- expire row to the lot it concerns (restores keep the consumed lot's expiry date).
CREATE TABLE customers.loyalty_transactions (
  transaction_id        uuid PRIMARY KEY,
  customer_id           text NOT NULL REFERENCES customers.customer_profiles (customer_id) ON DELETE CASCADE,
  transaction_type      text NOT NULL
                          CHECK (transaction_type IN ('earn', 'redeem', 'restore', 'reverse', 'expire', 'adjustment', 'bonus')),
  points_amount         bigint NOT NULL,
  points_balance_after  bigint NOT NULL CHECK (points_balance_after >= 0),
  points_remaining      bigint CHECK (points_remaining >= 0 AND points_remaining <= points_amount),
  reference_type        text CHECK (reference_type IN ('order', 'refund', 'referral', 'admin', 'expiry')),
  reference_id          text,
  source_transaction_id uuid REFERENCES customers.loyalty_transactions (transaction_id),
  merchandise_amount    numeric(12,2),
  restored_at           timestamptz,
  description           text,
  expires_at            timestamptz,
  created_at            timestamptz NOT NULL DEFAULT now()
);
-- Idempotency of every referenced movement (an order's redemption, a refund's reversal, the expiry
-- of a lot, a referral bonus); restores are one row per consumed lot.
CREATE UNIQUE INDEX loyalty_transactions_reference ON customers.loyalty_transactions
  (transaction_type, reference_type, reference_id, source_transaction_id) NULLS NOT DISTINCT
  WHERE reference_id IS NOT NULL;
CREATE INDEX loyalty_transactions_customer ON customers.loyalty_transactions (customer_id, created_at DESC);
CREATE INDEX loyalty_transactions_lots ON customers.loyalty_transactions (customer_id, expires_at)
  WHERE points_remaining > 0;
CREATE INDEX loyalty_transactions_expiring ON customers.loyalty_transactions (expires_at)
  WHERE points_remaining > 0;

-- Which lots a redemption consumed (restore_points gives exactly these back).
CREATE TABLE customers.loyalty_redemption_lots (
  redeem_transaction_id uuid NOT NULL REFERENCES customers.loyalty_transactions (transaction_id),
  lot_transaction_id    uuid NOT NULL REFERENCES customers.loyalty_transactions (transaction_id),
  points                bigint NOT NULL CHECK (points > 0),
  expires_at            timestamptz,
  PRIMARY KEY (redeem_transaction_id, lot_transaction_id)
);

CREATE TABLE customers.store_credit (
  customer_id text PRIMARY KEY REFERENCES customers.customer_profiles (customer_id) ON DELETE CASCADE,
  balance     numeric(12,2) NOT NULL DEFAULT 0 CHECK (balance >= 0),
  currency    text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customers.store_credit_transactions (
  transaction_id uuid PRIMARY KEY,
  customer_id    text NOT NULL REFERENCES customers.customer_profiles (customer_id) ON DELETE CASCADE,
  type           text NOT NULL CHECK (type IN ('credit', 'redeem', 'restore', 'adjustment')),
  amount         numeric(12,2) NOT NULL CHECK (amount <> 0),
  balance_after  numeric(12,2) NOT NULL CHECK (balance_after >= 0),
  reference      text,
  order_id       text,
  reason         text,
  created_by     text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (type, reference)
);
CREATE INDEX store_credit_transactions_customer ON customers.store_credit_transactions (customer_id, created_at DESC);

CREATE TABLE customers.customer_interactions (
  interaction_id      uuid PRIMARY KEY,
  customer_id         text NOT NULL REFERENCES customers.customer_profiles (customer_id) ON DELETE CASCADE,
  interaction_type    text NOT NULL
                        CHECK (interaction_type IN ('support_ticket', 'chat', 'email', 'phone', 'review', 'feedback')),
  interaction_channel text,
  subject             text,
  description         text,
  status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
  priority            text NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
  assigned_to         text,
  resolution          text,
  reference           text,
  metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_interactions_customer ON customers.customer_interactions (customer_id, created_at DESC);

-- The customer's view of its orders, built from order events (de-duplicated by event id): stats,
-- the open-order guard of DELETE, and what an order earned / had reversed.
CREATE TABLE customers.customer_orders (
  order_id          text PRIMARY KEY,
  customer_id       text NOT NULL,
  open              boolean NOT NULL DEFAULT true,
  confirmed         boolean NOT NULL DEFAULT false,
  cancelled         boolean NOT NULL DEFAULT false,
  total_amount      numeric(12,2) NOT NULL DEFAULT 0,
  eligible_amount   numeric(12,2),
  points_earned     bigint NOT NULL DEFAULT 0 CHECK (points_earned >= 0),
  eligible_refunded numeric(12,2) NOT NULL DEFAULT 0,
  points_reversed   bigint NOT NULL DEFAULT 0 CHECK (points_reversed >= 0 AND points_reversed <= points_earned),
  delivered_at      timestamptz,
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_orders_open ON customers.customer_orders (customer_id) WHERE open;
