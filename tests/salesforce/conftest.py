"""Fixtures for the Salesforce sync tests: a live devorg (the database is ``db``, from the
shared fixtures: migrated, on SQLite and PostgreSQL).

Everything Salesforce-side is the in-process devorg over real HTTPS (trustme CA) with the real
client libraries: simple-salesforce, requests, our Bayeux client. No Salesforce mocks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from devorg.cometd import streaming_for
from devorg.org import DevOrg

from service.config import salesforce_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "salesforce"


@pytest.fixture
def captured_logs(caplog) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


# -- devorg ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def org(tmp_path_factory):
    """One devorg for the session (HTTPS on localhost, trustme CA); tests reset it."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is noise here
    instance = DevOrg(key_dir=tmp_path_factory.mktemp("devorg")).start()
    # Short long-polls keep the suite quick; events still flush a held connect at once.
    streaming_for(instance).configure(hold_seconds=2.0)
    yield instance
    instance.stop()


@pytest.fixture
def devorg(org):
    org.reset()
    streaming_for(org).reset_faults()
    streaming_for(org).drop_clients()
    yield org
    org.faults.clear()
    streaming_for(org).reset_faults()


@pytest.fixture
def sync_settings(devorg):
    """SyncSettings for the devorg (JWT bearer by default) with test-sized timings."""
    return salesforce_settings(devorg.env_settings()).with_(
        retry_base_seconds=0.05,
        retry_max_seconds=0.5,
        push_idle_seconds=0.02,
        cometd_backoff_max=0.5,
        lease_seconds=3.0,
        claim_lease_seconds=5.0,
    )
