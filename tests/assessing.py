"""Test helper: do the worker's assessor's job in-process (drain the assessment queue)."""

from __future__ import annotations

from service.app import EXTENSION
from tests.conftest import NOW


def drain_queue(app) -> int:
    """Re-assess every queued customer as the worker would, with the app's policy; how many."""
    from service.assessment_queue import drain

    svc = app.extensions[EXTENSION]
    return drain(svc.sessions, NOW.date(), svc.policy)
