"""record_once: a duplicate is refused by the database without poisoning the transaction."""

from __future__ import annotations

from sqlalchemy import func, select

from service.db import make_engine, make_session_factory, transaction
from service.inbox import record_once
from service.models import InboxMessage


def test_record_once__second_delivery_returns_false_and_the_transaction_goes_on(db_url):
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)

    with transaction(sessions) as session:
        first = record_once(session, "stripe", "evt_1", "invoice.paid")
        again = record_once(session, "stripe", "evt_1", "invoice.paid")
        other = record_once(session, "stripe", "evt_2", "invoice.paid")  # still usable
    with transaction(sessions) as session:
        later = record_once(session, "stripe", "evt_1", "invoice.paid")
        count = session.scalar(select(func.count()).select_from(InboxMessage))
    engine.dispose()

    assert (first, again, other, later) == (True, False, True, False)
    assert count == 2
