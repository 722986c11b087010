"""Receive one ERP batch: validate it whole, store it in one transaction, report.

The view has already checked the signature; this is the plain function behind it, also used by
tests and the benchmark. A batch is recorded in the inbox under the SHA-256 of its body, so the
same batch delivered twice is answered from the inbox and changes nothing, even if rows in it
have since been superseded.

The customers the batch touched are not re-assessed here: in the same transaction as the rows,
they are queued for re-assessment (``service.assessments.queue``) and their Receivable__c
pushes are queued in the outbox. The worker's assessor re-assesses them within moments; a read
of one customer's credit re-assesses it on the spot if it is still waiting. Re-assessing inside
the request would be most of its time, and nothing in the response needs it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from service.assessments import queue as assessment_queue
from service.db import transaction
from service.errors import PayloadTooLarge, ValidationFailed
from service.feeds.ingest import ApplyResult, apply_batch, reference_errors
from service.feeds.schemas import load_batch, row_count
from service.inbox import record_once
from service.outbox import queue_for_salesforce

FEED = "erp"


@dataclass
class BatchOutcome:
    source: str
    duplicate: bool
    applied: ApplyResult = field(default_factory=ApplyResult)
    # Customers queued for re-assessment (the worker assesses them after the commit).
    queued_for_assessment: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "duplicate": self.duplicate,
            **self.applied.counts(),
            "queued_for_assessment": self.queued_for_assessment,
        }


def body_digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def validate_document(doc: Any, max_rows: int) -> dict[str, Any]:
    """Every check that needs no database; raises ``PayloadTooLarge`` or ``ValidationFailed``."""
    rows = row_count(doc)
    if rows > max_rows:
        raise PayloadTooLarge(f"A batch holds at most {max_rows} rows; this one has {rows}.")
    batch, errors = load_batch(doc)
    if errors:
        raise ValidationFailed(errors)
    return batch


def receive_erp_batch(
    sessions: sessionmaker[Session],
    doc: Any,
    *,
    digest: str,
    now: datetime,
    max_rows: int,
) -> BatchOutcome:
    batch = validate_document(doc, max_rows)
    with transaction(sessions) as session:
        stored_customers: dict[str, int] = {}
        errors = reference_errors(session, batch, stored_customers)
        if errors:
            raise ValidationFailed(errors)
        outcome = BatchOutcome(source=batch["source"], duplicate=False)
        counts = {kind: len(batch[kind]) for kind in ("customers", "receivables", "payments")}
        if not record_once(session, f"{FEED}:{batch['source']}", digest, "erp_batch", counts):
            outcome.duplicate = True
            outcome.applied.customers.ignored = counts["customers"]
            outcome.applied.receivables.ignored = counts["receivables"]
            outcome.applied.payments.ignored = counts["payments"]
            return outcome
        outcome.applied = apply_batch(session, batch, now, stored_customers)
        # In the same transaction: what changed here is re-assessed and reaches Salesforce, or
        # nothing changed. Accounts are queued for Salesforce by whoever re-assesses them.
        outcome.queued_for_assessment = assessment_queue.request(
            session, outcome.applied.customer_ids, now
        )
        applied = outcome.applied
        queue_for_salesforce(
            session,
            (),
            sorted(applied.receivable_ids),
            new_receivables=applied.new_receivable_ids,
        )
    return outcome
