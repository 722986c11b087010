"""Cash application: bank credits matched to the open items they pay, applied as in-flight cash.

* ``references``: RF (ISO 11649) and QRR check digits, invoice-number keys (pure).
* ``matching``: a credit's candidates ranked by evidence, with a confidence (pure).
* ``applying``: ``apply_credits`` and ``reverse_credit``, inside the caller's transaction: a
  match becomes a provisional payment, exactly like a card payment
  (``service.card_payments.in_flight``), superseded when the ERP posts it.
* ``export``: ``GET /api/v1/cash-applications`` and ``credit-control export cash-applications``.
* ``reviews``: credits waiting for a person, as ``Bank_Credit_Review__c`` in Salesforce.
"""
