"""A local stand-in for the Stripe API (Checkout Sessions, PaymentIntents, refunds, signed webhooks)."""
