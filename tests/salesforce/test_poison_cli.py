"""``credit-control events parked`` and ``events replay`` on a real database (SQLite and PG).

The parked rows are written as the subscriber parks them (the event's ``data`` as payload,
status ``parked``, the error); the replay runs the real handlers and the real re-assessment.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal

from click.testing import CliRunner
from sqlalchemy import select

from service.cli import main
from service.db import transaction
from service.inbox import record_once
from service.models import Assessment, InboxMessage, Payment
from tests.conftest import FIXTURES
from tests.salesforce.sync_helpers import make_customer

ACCOUNT = "001Dv0000000001IAA"


def _fixture(name: str) -> tuple[str, dict]:
    msg = json.loads((FIXTURES / "salesforce" / f"{name}.json").read_text())
    return msg["channel"], copy.deepcopy(msg["data"])


def _park(session, key: str, channel: str, data: dict, error: str) -> None:
    record_once(session, "salesforce", key, channel, data, status="parked")
    row = session.scalars(select(InboxMessage).where(InboxMessage.external_id == key)).one()
    row.error = error


def test_events_parked_lists_them_and_replay_applies_them(db):
    engine, factory = db
    payment_channel, payment = _fixture("pe_payment_received")
    gap_channel, gap = _fixture("cdc_collection_action_create")
    gap["payload"]["ChangeEventHeader"]["changeType"] = "GAP_CREATE"  # needs a re-read
    with transaction(factory) as s:
        cid = make_customer(s, "C1", account_id=ACCOUNT).id
        _park(s, "pe:pay", payment_channel, payment, "OverflowError: date value out of range")
        _park(s, "cdc:gap", gap_channel, gap, "RuntimeError: a bug")
    env = {"DATABASE_URL": str(engine.url)}
    runner = CliRunner()

    listed = runner.invoke(main, ["events", "parked"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "OverflowError: date value out of range" in listed.output
    assert "2 parked event(s)" in listed.output

    replayed = runner.invoke(main, ["events", "replay"], env=env)
    # The payment is applied; the gap event needs the org, which is not configured here.
    assert replayed.exit_code == 1, replayed.output
    assert "1 replayed, 1 still parked" in replayed.output
    assert "Salesforce settings are not set" in replayed.output
    with factory() as s:
        assert s.scalars(select(Payment.amount)).one() == Decimal("250.0")
        statuses = dict(s.execute(select(InboxMessage.external_id, InboxMessage.status)).all())
        assert s.get(Assessment, cid).balance_outstanding == Decimal("-250.00")
    assert statuses == {"pe:pay": "processed", "cdc:gap": "parked"}

    listed = runner.invoke(main, ["events", "parked"], env=env)
    assert "1 parked event(s)" in listed.output and "settings are not set" in listed.output


def test_events_replay_by_id_and_nothing_parked(db):
    engine, factory = db
    channel, payment = _fixture("pe_payment_received")
    with transaction(factory) as s:
        make_customer(s, "C1", account_id=ACCOUNT)
        _park(s, "pe:pay", channel, payment, "OverflowError")
        inbox_id = s.scalars(select(InboxMessage.id)).one()
    env = {"DATABASE_URL": str(engine.url)}
    runner = CliRunner()
    assert "0 replayed" in runner.invoke(main, ["events", "replay", "999"], env=env).output
    result = runner.invoke(main, ["events", "replay", str(inbox_id)], env=env)
    assert result.exit_code == 0 and "1 replayed, 0 still parked" in result.output
    assert "none parked" in runner.invoke(main, ["events", "parked"], env=env).output
