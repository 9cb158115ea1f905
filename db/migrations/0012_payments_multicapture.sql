-- Multicapture (agents/8004-payment.md "capture in parts"): whether the PSP takes several partial
-- captures of a payment's authorization. Stripe says so per authorization (the card and account
-- must have it; the charge's payment_method_details.card.multicapture.status); without it a
-- partial capture closes the authorization and releases the rest, so the payment must not keep
-- claiming a capturable remainder. Written when the authorization is answered.
ALTER TABLE payments.payments
  ADD COLUMN multicapture boolean NOT NULL DEFAULT false;

-- Payments from before: the built-in test gateway always took several captures; Stripe intents
-- were created without asking for multicapture, so they never had it (the default).
UPDATE payments.payments p SET multicapture = true
  FROM payments.payment_gateways g
 WHERE g.gateway_id = p.gateway_id AND g.adapter <> 'stripe';
