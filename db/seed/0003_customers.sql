-- Demo customers CUST-001..CUST-006 (customer agent, schema customers): profiles, loyalty
-- enrolment, default addresses, and Frank's points and store credit. Idempotent.
INSERT INTO customers.customer_profiles
  (customer_id, email, phone, first_name, last_name, account_status, email_verified, source,
   registration_date, created_at, updated_at)
VALUES
  ('CUST-001', 'alice.martin@example.com', '+15125550101', 'Alice', 'Martin', 'active', true, 'seed',
   now() - interval '400 days', now() - interval '400 days', now() - interval '400 days'),
  ('CUST-002', 'bob.chen@example.com', '+12125550102', 'Bob', 'Chen', 'active', true, 'seed',
   now() - interval '300 days', now() - interval '300 days', now() - interval '300 days'),
  ('CUST-003', 'carol.diaz@example.com', '+14085550103', 'Carol', 'Diaz', 'active', true, 'seed',
   now() - interval '200 days', now() - interval '200 days', now() - interval '200 days'),
  ('CUST-004', 'dave.kim@example.com', '+13125550104', 'Dave', 'Kim', 'active', false, 'seed',
   now() - interval '120 days', now() - interval '120 days', now() - interval '120 days'),
  ('CUST-005', 'eve.novak@example.com', '+16175550105', 'Eve', 'Novak', 'suspended', true, 'seed',
   now() - interval '90 days', now() - interval '90 days', now() - interval '90 days'),
  ('CUST-006', 'frank.osei@example.com', '+17205550106', 'Frank', 'Osei', 'active', true, 'seed',
   now() - interval '180 days', now() - interval '180 days', now() - interval '180 days')
ON CONFLICT DO NOTHING;

INSERT INTO customers.customer_loyalty
  (loyalty_id, customer_id, loyalty_tier, points_balance, points_lifetime, qualifying_points,
   tier_start_date, tier_expiry_date, referral_code)
VALUES
  ('71000000-0000-4000-8000-000000000001', 'CUST-001', 'bronze', 0, 0, 0, current_date - 35, current_date + 330, 'ALICE234'),
  ('71000000-0000-4000-8000-000000000002', 'CUST-002', 'bronze', 0, 0, 0, current_date - 35, current_date + 330, 'BOBCH345'),
  ('71000000-0000-4000-8000-000000000003', 'CUST-003', 'bronze', 0, 0, 0, current_date - 35, current_date + 330, 'CAROL456'),
  ('71000000-0000-4000-8000-000000000004', 'CUST-004', 'bronze', 0, 0, 0, current_date - 35, current_date + 330, 'DAVEK567'),
  ('71000000-0000-4000-8000-000000000005', 'CUST-005', 'bronze', 0, 0, 0, current_date - 35, current_date + 330, 'EVENO678'),
  ('71000000-0000-4000-8000-000000000006', 'CUST-006', 'silver', 2000, 2000, 2000, current_date - 60, current_date + 305, 'FRANK789')
ON CONFLICT DO NOTHING;

INSERT INTO customers.loyalty_transactions
  (transaction_id, customer_id, transaction_type, points_amount, points_balance_after, points_remaining,
   reference_type, reference_id, description, expires_at, created_at)
VALUES
  ('72000000-0000-4000-8000-000000000006', 'CUST-006', 'earn', 2000, 2000, 2000, 'admin', 'seed:CUST-006',
   'Welcome points (seed)', now() + interval '305 days', now() - interval '60 days')
ON CONFLICT DO NOTHING;

INSERT INTO customers.store_credit (customer_id, balance, currency)
VALUES ('CUST-006', 50.00, 'USD')
ON CONFLICT DO NOTHING;
INSERT INTO customers.store_credit_transactions
  (transaction_id, customer_id, type, amount, balance_after, reference, reason, created_by, created_at)
VALUES ('73000000-0000-4000-8000-000000000006', 'CUST-006', 'credit', 50.00, 50.00, 'seed:CUST-006',
        'Goodwill credit (seed)', 'seed', now() - interval '45 days')
ON CONFLICT DO NOTHING;

INSERT INTO customers.customer_addresses
  (address_id, customer_id, address_type, address_label, first_name, last_name, street_address_1,
   city, state_province, postal_code, country_code, phone, is_default, is_verified)
VALUES
  ('70000000-0000-4000-8000-000000000001', 'CUST-001', 'both', 'Home', 'Alice', 'Martin',
   '1100 Congress Ave', 'Austin', 'TX', '78701', 'US', '+15125550101', true, true),
  ('70000000-0000-4000-8000-000000000002', 'CUST-002', 'both', 'Home', 'Bob', 'Chen',
   '350 5th Ave', 'New York', 'NY', '10118', 'US', '+12125550102', true, true),
  ('70000000-0000-4000-8000-000000000003', 'CUST-003', 'both', 'Home', 'Carol', 'Diaz',
   '200 E Santa Clara St', 'San Jose', 'CA', '95113', 'US', '+14085550103', true, true),
  ('70000000-0000-4000-8000-000000000005', 'CUST-005', 'both', 'Home', 'Eve', 'Novak',
   '1 Beacon St', 'Boston', 'MA', '02108', 'US', '+16175550105', true, false),
  ('70000000-0000-4000-8000-000000000006', 'CUST-006', 'both', 'Home', 'Frank', 'Osei',
   '1437 Bannock St', 'Denver', 'CO', '80202', 'US', '+17205550106', true, true)
ON CONFLICT DO NOTHING;
