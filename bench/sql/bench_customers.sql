-- Bench customers BENCH-00001 .. BENCH-<:customers>, for commerce_bench.sh's BENCH_CUSTOMERS:
-- the same shape as the demo's CUST-001 (an active, verified account registered 400 days ago,
-- bronze loyalty, a default verified address and a default test card), so that an order from any
-- of them takes the same path through fraud, payment and the customer agent as the demo's.
-- Run by psql with -v customers=N on the bench database after migrate and seed.
INSERT INTO customers.customer_profiles
  (customer_id, email, phone, first_name, last_name, account_status, email_verified, source,
   registration_date, created_at, updated_at)
SELECT format('BENCH-%s', lpad(i::text, 5, '0')), format('bench.%s@example.com', i),
       format('+1512555%s', lpad(i::text, 4, '0')), 'Bench', format('Customer %s', i), 'active', true,
       'seed', now() - interval '400 days', now() - interval '400 days', now() - interval '400 days'
FROM generate_series(1, :customers) AS i;

INSERT INTO customers.customer_loyalty
  (loyalty_id, customer_id, loyalty_tier, points_balance, points_lifetime, qualifying_points,
   tier_start_date, tier_expiry_date, referral_code)
SELECT gen_random_uuid(), format('BENCH-%s', lpad(i::text, 5, '0')), 'bronze', 0, 0, 0,
       current_date - 35, current_date + 330, 'BN' || translate(lpad(i::text, 6, '0'), '0123456789', 'ABCDEFGHJK')
FROM generate_series(1, :customers) AS i;

INSERT INTO customers.customer_addresses
  (address_id, customer_id, address_type, address_label, first_name, last_name, street_address_1,
   city, state_province, postal_code, country_code, phone, is_default, is_verified)
SELECT gen_random_uuid(), format('BENCH-%s', lpad(i::text, 5, '0')), 'both', 'Home', 'Bench',
       format('Customer %s', i), '1100 Congress Ave', 'Austin', 'TX', '78701', 'US',
       format('+1512555%s', lpad(i::text, 4, '0')), true, true
FROM generate_series(1, :customers) AS i;

INSERT INTO payments.payment_methods
  (method_id, customer_id, gateway_id, method_type, card_brand, card_last_four, card_expiry_month,
   card_expiry_year, card_holder_name, card_fingerprint, gateway_token, is_default, is_verified)
SELECT gen_random_uuid(), format('BENCH-%s', lpad(i::text, 5, '0')), 1, 'credit_card', 'visa', '4242',
       12, 2034, format('Bench Customer %s', i), NULL, 'tok_visa', true, true
FROM generate_series(1, :customers) AS i;

ANALYZE customers.customer_profiles, customers.customer_loyalty, customers.customer_addresses,
        payments.payment_methods;
