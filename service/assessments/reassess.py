"""The one way to re-assess customers: ``reassess(session, customer_ids, as_of, policy)``.

Every change to a customer's data ends here, in the caller's transaction: the worker's assessor
draining the queue, a credit read of a customer still waiting, the Salesforce event handlers
and the daily roll. ``Reassessor`` binds it to the policy and to today's date in the configured
time zone; the worker builds one and injects it into each of its parts, so they all judge alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from service.assessments.loading import IN_LIST, load_inputs, lock_customers
from service.assessments.storing import ReassessReport, assess_inputs, store
from service.credit import Policy, default_policy


def _in_lists(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for i in range(0, len(ids), IN_LIST):
        yield ids[i : i + IN_LIST]


def reassess(
    session: Session,
    customer_ids: Iterable[int],
    as_of: date,
    policy: Policy | None = None,
) -> ReassessReport:
    """Lock, read, assess and store these customers, inside the caller's transaction.

    The customers are locked first (PostgreSQL, in id order, as every writer locks them), so two
    re-assessments of one customer run one after the other and the older never wins. Never
    commits.
    """
    policy = policy or default_policy()
    ids = sorted(set(customer_ids))
    report = ReassessReport()
    lock_customers(session, ids)
    for part in _in_lists(ids):
        inputs = load_inputs(session, as_of, policy, ids=part)
        report.items += sum(len(c.items) for c in inputs.values())
        report.add(store(session, assess_inputs(inputs, as_of, policy), as_of))
    return report


class Reassessor:
    """``reassess`` bound to a policy and to today's date in a time zone.

    A callable ``(session, customer_ids)`` for the event handlers and the daily roll; the
    assessor reads its ``policy`` and ``as_of()``.
    """

    def __init__(self, policy: Policy | None = None, zone: ZoneInfo | None = None) -> None:
        self.policy = policy or default_policy()
        self.zone = zone or ZoneInfo("UTC")

    def as_of(self) -> date:
        return datetime.now(self.zone).date()

    def __call__(self, session: Session, customer_ids: Iterable[int]) -> ReassessReport:
        return reassess(session, customer_ids, self.as_of(), self.policy)
