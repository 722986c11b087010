"""Test helpers for assessments: drain the queue as the worker would; rows the engine refuses."""

from __future__ import annotations

from service.assessments.queue import drain
from service.extensions import EXTENSION
from tests.conftest import NOW


def drain_queue(app) -> int:
    """Re-assess every queued customer as the worker would, with the app's policy; how many."""
    svc = app.extensions[EXTENSION]
    return drain(svc.sessions, NOW.date(), svc.policy)


def chf_invoice(customer: str) -> dict:
    """A feed receivable in CHF, a currency the default policy has no rate for (an error row)."""
    return {
        "id": f"CHF-{customer}",
        "customer": customer,
        "type": "invoice",
        "number": f"CHF-{customer}",
        "issue_date": "2026-03-01",
        "due_date": "2026-03-31",
        "currency": "CHF",
        "amount": "100.00",
        "open_amount": "100.00",
        "updated_at": "2026-03-10T08:00:00Z",
    }
