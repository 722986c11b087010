"""A credit controller's choice in Salesforce, applied: ``decide`` (the subscriber calls it).

``Bank_Credit_Review__c.Apply_Candidate__c`` names a candidate of a credit waiting for review;
the worker hears the change and calls ``decide`` in the subscriber's transaction. The candidate
is applied as in-flight cash (``applying.apply_candidate``), the record's status and outcome are
queued back to Salesforce, and the customers moved are returned for the subscriber's batch to
re-assess and push (once per batch). A choice that cannot be applied (the credit is applied or
reversed already, the number names no candidate) changes no money; a missing candidate is
said in the record's outcome.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from service import outbox
from service.cash_application import applying
from service.models import IN_REVIEW, CashApplication

log = logging.getLogger(__name__)


def decide(session: Session, application_id: int, number: int) -> tuple[str, set[int], set[int]]:
    """Apply candidate ``number`` of cash application ``application_id``; (outcome, customers,
    receivables). The caller re-assesses the customers and queues their Accounts."""
    app = session.get(CashApplication, application_id, with_for_update=True)
    if app is None:
        return "unknown cash application", set(), set()
    if app.status != IN_REVIEW:
        return f"already {app.status}", set(), set()
    try:
        customers, receivables = applying.apply_candidate(session, app, number, reassess_now=False)
    except applying.NotApplicable as exc:
        count = len(app.candidates or [])
        app.reason = (
            f"Candidate {number} does not exist: choose 1 to {count}."
            if count
            else "There is no candidate to apply."
        )
        outbox.enqueue(session, applying.REVIEW_KIND, applying.review_target(app.id))
        log.info("cash application %s: %s", app.id, exc)
        return "no such candidate", set(), set()
    return "applied", customers, receivables
