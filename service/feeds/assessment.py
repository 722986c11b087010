"""Re-assess the customers a change touched: the credit engine's loader, timed and counted.

``service.reassess.reassess_customers(session, customer_ids, as_of, policy)`` (the engine's
bulk loader and writer) does the work inside the caller's transaction; this wrapper is one call
that returns how many customers were assessed (the worker's event handlers and daily roll use
it). Feeds and the import no longer re-assess in their own transaction: they queue the customers
(``service.assessment_queue``). A minimal stand-in lived here until the engine landed; it is
gone so that only one set of rules decides a status.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session


def reassess(session: Session, customer_ids: Iterable[int], as_of: date, policy: Any = None) -> int:
    """Re-assess and store; returns how many customers were assessed. Does not commit."""
    from service.reassess import reassess_customers

    ids = sorted(set(customer_ids))
    if ids:
        reassess_customers(session, ids, as_of, policy)
    return len(ids)


def load_policy_file(path: str | None):
    """The credit policy the web app and the import use (``CREDIT_POLICY_FILE``, else default)."""
    from service.credit import PolicyError
    from service.errors import ConfigError
    from service.reassess import read_policy

    try:
        return read_policy(path)
    except (OSError, ValueError, PolicyError) as exc:
        detail = getattr(exc, "errors", None) or type(exc).__name__
        raise ConfigError(
            "CREDIT_POLICY_FILE", f"a readable, valid JSON credit policy ({detail})"
        ) from None
