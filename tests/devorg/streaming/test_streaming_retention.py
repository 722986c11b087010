"""Checklist item 15: 72-hour retention per channel, durable across restarts with --state."""

from __future__ import annotations

import time

from devorg.changes import Change
from devorg.events import EventBus

from tests.devorg.streaming.streaming_harness import PE, USER_ID, Bayeux, data_of

HOURS_72 = 72 * 3600


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _publish(bus: EventBus, reason: str) -> str:
    return bus.publish_platform_event(
        "Credit_Status_Change__e", {"Reason__c": reason}, created_by_id=USER_ID
    )


def test_retention__events_older_than_72_hours_are_not_replayed(org, bayeux: Bayeux):
    start = time.time()
    org.bus.clock = lambda: start
    org.publish(Reason__c="old")
    org.bus.clock = lambda: start + HOURS_72 - 60
    org.publish(Reason__c="recent")
    org.bus.clock = lambda: start + HOURS_72 + 1
    bayeux.handshake()
    assert bayeux.subscribe(PE, replay=-2)["successful"]
    assert [m["data"]["payload"]["Reason__c"] for m in data_of(bayeux.connect())] == ["recent"]


def test_retention__a_replay_id_that_has_expired_becomes_invalid(org, bayeux: Bayeux):
    start = time.time()
    org.bus.clock = lambda: start
    org.publish(Reason__c="old")
    probe = Bayeux(org.base_url, org.token)
    probe.handshake()
    probe.subscribe(PE, replay=-2)
    (old,) = [m["data"]["event"]["replayId"] for m in data_of(probe.connect())]
    bayeux.handshake()
    assert bayeux.subscribe(PE, replay=old)["successful"]  # still retained
    org.bus.clock = lambda: start + HOURS_72 + 1
    reply = bayeux.subscribe(PE, replay=old)
    assert reply["error"].startswith(f"400::The replayId {{{old}}} you provided was invalid.  ")


def test_retention__is_per_channel(schema):
    clock = Clock()
    bus = EventBus(schema, clock=clock)
    _publish(bus, "pe")
    clock.now += HOURS_72 - 10
    bus.record_transaction(
        [Change("Account", "CREATE", "001000000000001AAA", None, {"Name": "A"})],
        user_id=USER_ID,
        change_origin="",
    )
    clock.now += 20
    assert bus.events_after("/event/Credit_Status_Change__e", 0) == []
    assert len(bus.events_after("/data/AccountChangeEvent", 0)) == 1
    assert len(bus.events_after("/data/ChangeEvents", 0)) == 1


def test_durable__retained_events_and_replay_ids_survive_a_restart(schema, tmp_path):
    state = tmp_path / "devorg.sqlite"
    first = EventBus(schema, state_path=state)
    uuids = [_publish(first, f"e{n}") for n in range(3)]
    first.record_transaction(
        [Change("Account", "CREATE", "001000000000001AAA", None, {"Name": "A"})],
        user_id=USER_ID,
        change_origin="",
    )
    last_before = first.last_replay_id()
    first.close()

    second = EventBus(schema, state_path=state)
    replayed = second.events_after("/event/Credit_Status_Change__e", second.replay_start(PE, -2))
    assert [e.data["event"]["EventUuid"] for e in replayed] == uuids
    assert len(second.events_after("/data/ChangeEvents", 0)) == 1
    # A replay id handed out before the restart is still a valid starting point...
    middle = replayed[1].data["event"]["replayId"]
    assert second.replay_start(PE, middle) == middle
    # ...and the sequence carries on upwards instead of starting over.
    _publish(second, "after restart")
    assert second.last_replay_id() > last_before
    second.close()


def test_durable__expired_events_are_dropped_from_the_state_file(schema, tmp_path):
    state = tmp_path / "devorg.sqlite"
    clock = Clock()
    first = EventBus(schema, state_path=state, clock=clock)
    _publish(first, "old")
    first.close()
    clock.now += HOURS_72 + 1
    second = EventBus(schema, state_path=state, clock=clock)
    assert second.retained_count() == 0
    assert second.replay_start(PE, second.last_replay_id()) is None
    second.close()


def test_retention__events_expiring_unread_do_not_wake_the_client(org, bayeux: Bayeux):
    start = time.time()
    org.bus.clock = lambda: start
    bayeux.handshake()
    bayeux.subscribe(PE, replay=-1)
    bayeux.connect()
    org.publish(Reason__c="expires before the next connect")
    org.bus.clock = lambda: start + HOURS_72 + 1
    started = time.monotonic()
    assert data_of(bayeux.connect()) == []
    assert time.monotonic() - started >= 0.9  # held for the hold time, not answered at once


def test_retention__expired_events_are_swept_even_on_channels_nobody_reads(schema, tmp_path):
    clock = Clock()
    bus = EventBus(schema, state_path=tmp_path / "s.sqlite", clock=clock)
    _publish(bus, "forgotten")
    clock.now += HOURS_72 + 1
    for n in range(1_000):
        bus.record_transaction(
            [Change("Account", "DELETE", f"001{n:015d}", {"Name": "x"}, None)],
            user_id=USER_ID,
            change_origin="",
        )
    assert bus.retained_count("/event/Credit_Status_Change__e") == 0
    bus.close()
