"""The sync fixtures (a live devorg, test-sized settings) and an in-process worker."""

from __future__ import annotations

import pytest

from service.db import make_session_factory
from service.salesforce.client import build_client
from service.worker import Worker
from tests.salesforce.conftest import devorg, org, sync_settings  # noqa: F401  (fixtures)


@pytest.fixture
def sf(sync_settings):  # noqa: F811  (the fixture above, by name)
    """A Salesforce client of the test's own (the org's user logging actions, payments)."""
    return build_client(sync_settings)


@pytest.fixture
def worker(db, sync_settings):  # noqa: F811
    """``worker(engine=None, settings=None)`` starts a real Worker in threads; stopped after."""
    running: list[Worker] = []

    def start(engine=None, settings=None) -> Worker:
        engine = engine or db[0]
        w = Worker(engine, make_session_factory(engine), settings or sync_settings, schedule=False)
        running.append(w.start())
        return w

    yield start
    for w in running:
        w.shutdown(timeout=5)
