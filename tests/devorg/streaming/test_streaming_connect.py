"""Checklist items 6-8: long-poll connects, flushing on events, the 40 s reconnect deadline."""

from __future__ import annotations

import threading
import time

from tests.devorg.streaming.streaming_harness import PE, Bayeux, data_of, meta_of


def _publish_later(org, delay: float, count: int = 1) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)
        for n in range(count):
            org.publish(Reason__c=f"event {n}")

    thread = threading.Thread(target=run)
    thread.start()
    return thread


# -- item 6 -------------------------------------------------------------------------------------


def test_connect__first_is_immediate_with_retry_advice_timeout_110000(org, bayeux: Bayeux):
    org.streaming.configure(hold_seconds=110.0)  # Salesforce's hold, as advertised
    bayeux.handshake()
    started = time.monotonic()
    replies = bayeux.connect(id="85")
    assert time.monotonic() - started < 10.0  # held would mean 110 s
    assert replies == [
        {
            "clientId": bayeux.client_id,
            "advice": {"interval": 0, "timeout": 110000, "reconnect": "retry"},
            "channel": "/meta/connect",
            "id": "85",
            "successful": True,
        }
    ]
    assert list(replies[0]) == ["clientId", "advice", "channel", "id", "successful"]


def test_connect__later_connect_is_held_for_the_hold_time_and_has_no_advice(org, bayeux):
    org.streaming.configure(hold_seconds=1.0)
    bayeux.start()
    started = time.monotonic()
    replies = bayeux.connect(id="86")
    held = time.monotonic() - started
    assert 0.9 <= held < 8.0
    assert replies == [
        {"clientId": bayeux.client_id, "channel": "/meta/connect", "id": "86", "successful": True}
    ]


# -- item 7 -------------------------------------------------------------------------------------


def test_connect__held_connect_is_flushed_when_an_event_is_queued(org, bayeux: Bayeux):
    org.streaming.configure(hold_seconds=30.0)
    bayeux.start()
    publisher = _publish_later(org, 0.3)
    started = time.monotonic()
    replies = bayeux.connect()
    publisher.join()
    assert time.monotonic() - started < 10.0
    # Data message and the connect reply arrive in the same JSON array.
    assert [r["channel"] for r in replies] == [PE, "/meta/connect"]
    assert meta_of(replies, "/meta/connect")["successful"] is True
    assert "advice" not in meta_of(replies, "/meta/connect")


def test_connect__several_events_arrive_in_one_response(org, bayeux: Bayeux):
    bayeux.start()
    for n in range(5):
        org.publish(Reason__c=f"event {n}")
    replies = bayeux.connect()
    events = data_of(replies)
    assert [e["data"]["payload"]["Reason__c"] for e in events] == [f"event {n}" for n in range(5)]
    assert replies[-1]["channel"] == "/meta/connect"


def test_connect__first_connect_carries_events_already_queued(org, bayeux: Bayeux):
    org.publish(Reason__c="retained")
    bayeux.handshake()
    assert bayeux.subscribe(PE, replay=-2)["successful"]
    replies = bayeux.connect()
    assert [e["data"]["payload"]["Reason__c"] for e in data_of(replies)] == ["retained"]
    assert "advice" in meta_of(replies, "/meta/connect")


def test_connect__a_newer_connect_releases_the_held_one(org, bayeux: Bayeux):
    # CometD semantics: one held connect per client; a second one answers the first at once.
    org.streaming.configure(hold_seconds=30.0)
    bayeux.start()
    first: list = []
    finished: list[float] = []

    def hold() -> None:
        first.extend(bayeux.connect(id="a"))
        finished.append(time.monotonic())

    waiter = threading.Thread(target=hold)
    waiter.start()
    time.sleep(0.3)
    second_started = time.monotonic()
    second = bayeux.connect(id="b", advice={"timeout": 500})  # short hold of its own
    waiter.join(5)
    assert finished[0] - second_started < 10.0
    assert first == [
        {"clientId": bayeux.client_id, "channel": "/meta/connect", "id": "a", "successful": True}
    ]
    assert second[-1]["id"] == "b" and second[-1]["successful"] is True


def test_connect__invalid_connection_type_is_400(bayeux: Bayeux):
    bayeux.handshake()
    (reply,) = bayeux.send(bayeux.msg("/meta/connect", connectionType="websocket", id="9"))
    assert reply == {
        "clientId": bayeux.client_id,
        "channel": "/meta/connect",
        "id": "9",
        "error": "400::Invalid connection type {websocket}",
        "successful": False,
    }


# -- item 8 -------------------------------------------------------------------------------------


UNKNOWN_CLIENT = {
    "advice": {"interval": 0, "reconnect": "handshake"},
    "channel": "/meta/connect",
    "id": "83",
    "error": "403::Unknown client",
    "successful": False,
}


def test_deadline__no_reconnect_within_40s_gives_unknown_client_without_client_id(org, bayeux):
    bayeux.start()
    org.clock.advance(40.5)
    replies = bayeux.connect(id="83")
    assert replies == [UNKNOWN_CLIENT]
    assert list(replies[0]) == ["advice", "channel", "id", "error", "successful"]


def test_deadline__reconnect_within_40s_keeps_the_client(org, bayeux: Bayeux):
    bayeux.start()
    org.clock.advance(39.0)
    org.publish(Reason__c="still here")
    replies = bayeux.connect()
    assert [e["data"]["payload"]["Reason__c"] for e in data_of(replies)] == ["still here"]


def test_deadline__counts_from_the_last_response_not_the_handshake(org, bayeux: Bayeux):
    bayeux.start()
    for _ in range(3):
        org.clock.advance(30.0)
        org.publish()
        assert meta_of(bayeux.connect(), "/meta/connect")["successful"] is True


def test_deadline__unknown_client_is_also_the_answer_for_a_made_up_client_id(bayeux: Bayeux):
    bayeux.handshake()
    bayeux.client_id = "nosuchclient0000000000000"
    assert bayeux.connect(id="83") == [UNKNOWN_CLIENT]


def test_deadline__expired_client_loses_its_subscriptions(org, bayeux: Bayeux):
    bayeux.start()
    org.clock.advance(41.0)
    assert bayeux.connect()[0]["error"] == "403::Unknown client"
    # A new handshake starts with no subscriptions: events are not delivered until the
    # client subscribes again.
    bayeux.handshake()
    bayeux.connect()
    org.publish(Reason__c="missed")
    assert data_of(bayeux.connect()) == []
    assert bayeux.subscribe(PE, replay=-2)["successful"]
    assert len(data_of(bayeux.connect())) == 1


def test_connect__client_advice_timeout_zero_is_answered_at_once(org, bayeux: Bayeux):
    org.streaming.configure(hold_seconds=30.0)
    bayeux.start()
    started = time.monotonic()
    (reply,) = bayeux.connect(advice={"timeout": 0})
    assert time.monotonic() - started < 10.0
    assert reply["successful"] is True and "advice" not in reply
