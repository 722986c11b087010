"""The worker's connector loop: one worker per slot, a full reconciliation once a day."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import select

from service.config import load_config
from service.connectors import cursors
from service.connectors.schedule import ConnectorLoop, connector_loop
from service.models import JobRun, Receivable
from tests.connectors.conftest import connector


def test_loop__each_run_is_claimed_once_and_the_first_of_a_day_is_full(factory, sap):
    stop = threading.Event()
    one, two = (ConnectorLoop(factory, [(connector(sap), 15)], stop) for _ in range(2))
    now = datetime.now(UTC)

    # The first run reads everything: settled items too.
    assert one.run_due(one.connectors[0][0], 15, now) is True
    with factory() as session:
        [first] = session.scalars(select(JobRun)).all()
        assert first.job == "connector:sap"
        assert first.run_key.startswith(now.date().isoformat() + "T")
        assert first.finished_at is not None
        assert len(session.scalars(select(Receivable)).all()) == 4
        assert cursors.full_at(session, "sap") is None

    # Then the day's full reconciliation, run by one worker; the slot's pull is done already.
    assert two.run_due(two.connectors[0][0], 15, now) is True
    assert one.run_due(one.connectors[0][0], 15, now) is False
    assert two.run_due(two.connectors[0][0], 15, now) is False
    with factory() as session:
        keys = sorted(r.run_key for r in session.scalars(select(JobRun)))
        assert cursors.full_at(session, "sap") is not None
    assert keys[1] == f"full:{now.date().isoformat()}"


def test_loop__is_built_only_for_the_erps_configured(factory, sap):
    stop = threading.Event()

    nothing = load_config({"DATABASE_URL": "sqlite://"}, require=())
    assert connector_loop(factory, stop, nothing.erps) is None
    config = load_config(
        {"DATABASE_URL": "sqlite://", **sap.basic_env(), "SAP_SYNC_MINUTES": "5"}, require=()
    )
    loop = connector_loop(factory, stop, config.erps)
    assert loop is not None
    assert [(c.name, minutes) for c, minutes in loop.connectors] == [("sap", 5)]
