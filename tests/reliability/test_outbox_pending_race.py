"""A change that relies on an already pending outbox row must not lose the race to a pusher.

``queue_for_salesforce`` skips a target that has a due pending row: the pusher reads the latest
state anyway. On PostgreSQL a pusher could claim that row while the change was still
uncommitted, read the customer's old assessment, push it and mark the row sent; the change then
committed with no row left to carry it (seen as Accounts left on HOLD after a promise, with
token-revoked and Unknown-client faults in tests/reliability/test_faults_org.py).
"""

from __future__ import annotations

import pytest

from service import outbox
from service.db import transaction
from tests.salesforce.sync_helpers import make_customer


@pytest.mark.postgres
def test_pending_row_relied_on__not_claimed_before_the_change_commits(db):
    engine, factory = db
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): no pusher claims meanwhile")
    with transaction(factory) as s:
        cid = make_customer(s, "RACE1").id
        outbox.queue_for_salesforce(s, [cid])
    with factory() as change, change.begin():
        assert outbox.queue_for_salesforce(change, [cid]) == 0  # relies on the pending row
        with factory() as pusher, pusher.begin():
            claimed = outbox.claim(pusher)
        assert not claimed, "a pusher claimed the row before the change it carries committed"
    with factory() as pusher, pusher.begin():
        assert [r.target for r in outbox.claim(pusher).rows] == [outbox.account_target(cid)]
