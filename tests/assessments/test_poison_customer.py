"""A customer the engine cannot assess is stored as ERROR with a reason and delays no one.

"Poison" here is any exception on one customer's data, not only ``AssessmentError``: the
engine's ``assess`` is wrapped so that it raises ``OverflowError`` for customer ``POISON`` only
(a mock below the database, standing in for a bug or an overflow on one customer's data; the
rest of the path — loading, storing, the queue, the daily roll — is the real one on SQLite and
PostgreSQL).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from service.assessments import Reassessor, reassess, storing
from service.assessments import queue as assessment_queue
from service.assessments.book import reassess_all
from service.assessments.daily import DailyRoll
from service.config import SyncSettings
from service.credit import assess as real_assess
from service.credit import default_policy
from service.db import transaction
from service.models import Assessment, OutboxMessage
from tests.salesforce.sync_helpers import make_customer

TODAY = datetime.now(UTC).date()  # the daily roll judges as of the real today
POISON = "POISON"


@pytest.fixture
def poison(monkeypatch):
    """The engine raises OverflowError for customer POISON and works for everyone else."""

    def assess(inputs, policy, as_of):
        if inputs.number == POISON:
            raise OverflowError("date value out of range")
        return real_assess(inputs, policy, as_of)

    monkeypatch.setattr(storing, "assess", assess)


def _book(factory, numbers=("A1", POISON, "B2")) -> dict[str, int]:
    with transaction(factory) as s:
        return {n: make_customer(s, n).id for n in numbers}


def _rows(factory) -> dict[int, Assessment]:
    with factory() as s:
        rows = {a.customer_id: a for a in s.scalars(select(Assessment))}
        s.expunge_all()
    return rows


def test_reassess__poison_customer_stored_with_its_error_the_others_assessed(
    factory, poison, caplog
):
    ids = _book(factory)
    caplog.set_level(logging.ERROR, logger="service.assessments.storing")
    with transaction(factory) as s:
        report = reassess(s, ids.values(), TODAY)
    rows = _rows(factory)
    assert report.assessed == 2
    assert "OverflowError" in report.errors[POISON]
    for number in ("A1", "B2"):
        assert rows[ids[number]].as_of == TODAY and rows[ids[number]].error is None
    bad = rows[ids[POISON]]
    assert bad.as_of == TODAY
    assert "OverflowError: date value out of range" in bad.error
    assert bad.status == "OK"  # it had good figures before: they are kept, with the error set
    assert any(POISON in r.getMessage() for r in caplog.records)


def test_reassess__never_assessed_poison_customer_is_status_error(factory, poison):
    with transaction(factory) as s:
        ok = make_customer(s, "A1").id
        bad = make_customer(s, POISON).id
        s.delete(s.get(Assessment, bad))  # never assessed successfully
    with transaction(factory) as s:
        reassess(s, [ok, bad], TODAY)
    rows = _rows(factory)
    assert rows[bad].status == "ERROR" and "OverflowError" in rows[bad].error
    assert rows[ok].status in ("OK", "WATCH", "HOLD") and rows[ok].error is None


def test_queue_drain__one_batch_assesses_everyone_but_the_poison_customer(factory, poison):
    ids = _book(factory)
    with transaction(factory) as s:
        assessment_queue.request(s, ids.values())
    assessed = assessment_queue.drain_once(factory, TODAY, default_policy())
    assert sorted(assessed) == sorted(ids.values())  # one batch: no halving, no quarantine
    rows = _rows(factory)
    assert {rows[i].as_of for i in ids.values()} == {TODAY}
    assert "OverflowError" in rows[ids[POISON]].error
    with factory() as s:
        assert assessment_queue.depth(s).requests == 0
        targets = set(s.scalars(select(OutboxMessage.target)))
    assert {f"Account:{ids['A1']}", f"Account:{ids['B2']}"} <= targets


def test_daily_roll__re_ages_everyone_else(factory, poison):
    ids = _book(factory, ("A1", POISON, "B2", "C3"))
    with transaction(factory) as s:
        for a in s.scalars(select(Assessment)):
            a.as_of = TODAY - timedelta(days=1)
    settings = SyncSettings()
    roll = DailyRoll(factory, settings, Reassessor(zone=settings.zone), threading.Event())
    assert roll.run_due(TODAY) == 4
    rows = _rows(factory)
    assert {rows[i].as_of for i in ids.values()} == {TODAY}
    assert [rows[i].error is not None for i in ids.values()] == [False, True, False, False]


def test_whole_book__poison_customer_does_not_stop_the_run(factory, poison):
    ids = _book(factory)
    with factory() as s:
        report = reassess_all(s, TODAY, chunk=2)
        s.commit()
    assert report.assessed == 2 and list(report.errors) == [POISON]
    rows = _rows(factory)
    assert rows[ids["B2"]].balance_outstanding == Decimal("0")
    assert rows[ids["B2"]].as_of == TODAY


def test_serialising_fails_for_one_customer__only_that_one_is_an_error(factory, monkeypatch):
    ids = _book(factory, ("A1", POISON))
    real_json = storing.document_json

    def document_json(result):
        if result.customer == POISON:
            raise ValueError("cannot serialise")
        return real_json(result)

    monkeypatch.setattr(storing, "document_json", document_json)
    with transaction(factory) as s:
        report = reassess(s, ids.values(), TODAY)
    assert report.assessed == 1
    assert "ValueError: cannot serialise" in _rows(factory)[ids[POISON]].error
