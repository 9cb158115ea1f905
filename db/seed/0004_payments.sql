-- payment demo rows: a default test-card method (visa 4242, token tok_visa on the Test Gateway)
-- for CUST-001, CUST-002, CUST-003 and CUST-006. CUST-004 has none on purpose: an order from it
-- without payment data waits for payment.
INSERT INTO payments.payment_methods
  (method_id, customer_id, gateway_id, method_type, card_brand, card_last_four, card_expiry_month,
   card_expiry_year, card_holder_name, card_fingerprint, gateway_token, is_default, is_verified)
VALUES
  ('40000000-0000-4000-8000-000000000001', 'CUST-001', 1, 'credit_card', 'visa', '4242', 12, 2034, 'Demo Customer 1', NULL, 'tok_visa', true, true),
  ('40000000-0000-4000-8000-000000000002', 'CUST-002', 1, 'credit_card', 'visa', '4242', 12, 2034, 'Demo Customer 2', NULL, 'tok_visa', true, true),
  ('40000000-0000-4000-8000-000000000003', 'CUST-003', 1, 'credit_card', 'visa', '4242', 12, 2034, 'Demo Customer 3', NULL, 'tok_visa', true, true),
  ('40000000-0000-4000-8000-000000000006', 'CUST-006', 1, 'credit_card', 'visa', '4242', 12, 2034, 'Demo Customer 6', NULL, 'tok_visa', true, true)
ON CONFLICT DO NOTHING;
