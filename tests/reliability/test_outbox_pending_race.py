"""A change that relies on an already pending outbox row must not lose the race to a pusher.

``queue_for_salesforce`` skips a target that has a due pending row: the pusher reads the latest
state anyway. On PostgreSQL a pusher could claim that row while the change was still
uncommitted, read the customer's old assessment, push it and mark the row sent; the change then
committed with no row left to carry it (seen as Accounts left on HOLD after a promise, with
token-revoked and Unknown-client faults in tests/reliability/test_faults_org.py).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service import outbox
from service.db import transaction
from service.models import OutboxMessage
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


@pytest.mark.postgres
def test_a_target_whose_dead_claim_another_pusher_holds_is_still_recovered(db):
    """A dead claimer's row of a target, locked by a second pusher that is about to skip the
    target, is not in the third pusher's hands: the target is recovered all the same.

    Seen as one Account's "None -> HOLD" announced twice after a worker was SIGKILLed mid-push
    (tests/reliability/test_faults_process.py): the restarted worker's two pushers split the
    dead claim's row and a new pending row of the same Account; the one left with the pending
    row alone pushed it as a first push, and announced the status the dead worker had announced.
    """
    engine, factory = db
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises claims (BEGIN IMMEDIATE): no claim holds a row meanwhile")
    with transaction(factory) as s:
        cid = make_customer(s, "DEAD1").id
        outbox.queue_for_salesforce(s, [cid])
    target = outbox.account_target(cid)
    with transaction(factory) as s:
        dead = outbox.claim(s, lease_seconds=0.0)  # its claimer died: the lease is over at once
        assert [r.target for r in dead.rows] == [target]
    with transaction(factory) as s:
        assert outbox.queue_for_salesforce(s, [cid]) == 1  # a new change of the same Account
    with factory() as other, other.begin():
        other.execute(
            select(OutboxMessage.id).where(OutboxMessage.id == dead.rows[0].id).with_for_update()
        ).all()
        with factory() as pusher, pusher.begin():
            claimed = outbox.claim(pusher)
            assert [r.target for r in claimed.rows] == [target]
            assert claimed.recovered == {target}
