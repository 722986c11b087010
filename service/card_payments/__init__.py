"""Card payments through Stripe: Checkout for the pay page, signed webhooks, in-flight cash.

* ``checkout``: a Checkout Session for the chosen open items, amounts read at click time.
* ``webhooks``: ``POST /api/v1/webhooks/stripe``, verified, recorded once, applied.
* ``events``: what an event says about a payment, whatever API version rendered it.
* ``in_flight``: a paid PaymentIntent as a provisional payment, reversed by a refund or a lost
  dispute, superseded when the ERP posts it (``service.payment_matching``).
"""
