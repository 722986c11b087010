"""Checklist items 10-12: subscribe with replay, invalid replay ids, unknown channels."""

from __future__ import annotations

import pytest

from tests.devorg.streaming.streaming_harness import PE, Bayeux, data_of

INVALID_REPLAY = (
    "400::The replayId {{{n}}} you provided was invalid.  Please provide a valid ID, "
    "-2 to replay all events, or -1 to replay only new events."
)


def _reasons(replies) -> list[str]:
    return [e["data"]["payload"]["Reason__c"] for e in data_of(replies)]


def test_subscribe__success_has_exact_shape(bayeux: Bayeux):
    bayeux.handshake()
    reply = bayeux.subscribe(PE, id="15")
    assert reply == {
        "clientId": bayeux.client_id,
        "channel": "/meta/subscribe",
        "id": "15",
        "subscription": PE,
        "successful": True,
    }
    assert list(reply) == ["clientId", "channel", "id", "subscription", "successful"]


# -- item 10: replay -----------------------------------------------------------------------------


def test_replay__minus_one_delivers_only_new_events(org, bayeux: Bayeux):
    org.publish(Reason__c="before")
    bayeux.start(replay=-1)
    org.publish(Reason__c="after")
    assert _reasons(bayeux.connect()) == ["after"]


def test_replay__no_entry_for_the_subscription_means_minus_one(org, bayeux: Bayeux):
    org.publish(Reason__c="before")
    bayeux.handshake()
    # EMP-Connector sends its whole map; only the entry keyed by `subscription` counts.
    reply = bayeux.subscribe(PE, ext={"replay": {"/event/Payment_Received__e": -2}})
    assert reply["successful"]
    bayeux.connect()
    org.publish(Reason__c="after")
    assert _reasons(bayeux.connect()) == ["after"]


def test_replay__no_ext_at_all_means_minus_one(org, bayeux: Bayeux):
    org.publish(Reason__c="before")
    bayeux.start(replay=None)
    org.publish(Reason__c="after")
    assert _reasons(bayeux.connect()) == ["after"]


def test_replay__minus_two_delivers_every_retained_event_then_new_ones(org, bayeux: Bayeux):
    for n in range(3):
        org.publish(Reason__c=f"old {n}")
    bayeux.handshake()
    assert bayeux.subscribe(PE, replay=-2)["successful"]
    assert _reasons(bayeux.connect()) == ["old 0", "old 1", "old 2"]
    org.publish(Reason__c="new")
    assert _reasons(bayeux.connect()) == ["new"]


def test_replay__after_n_delivers_events_after_n_only(org, bayeux: Bayeux):
    for n in range(4):
        org.publish(Reason__c=f"e{n}")
    bayeux.handshake()
    bayeux.subscribe(PE, replay=-2)
    ids = [e["data"]["event"]["replayId"] for e in data_of(bayeux.connect())]
    late = Bayeux(org.base_url, org.token)
    late.handshake()
    assert late.subscribe(PE, replay=ids[1])["successful"]
    assert _reasons(late.connect()) == ["e2", "e3"]


def test_replay__after_the_latest_id_delivers_nothing_old(org, bayeux: Bayeux):
    org.publish(Reason__c="only")
    probe = Bayeux(org.base_url, org.token)
    probe.handshake()
    probe.subscribe(PE, replay=-2)
    (last,) = [e["data"]["event"]["replayId"] for e in data_of(probe.connect())]
    bayeux.handshake()
    assert bayeux.subscribe(PE, replay=last)["successful"]
    assert data_of(bayeux.connect()) == []


# -- item 11: invalid replay id ------------------------------------------------------------------


def test_replay__id_newer_than_anything_issued_is_invalid_with_exact_text(org, bayeux):
    org.publish()
    bayeux.handshake()
    reply = bayeux.subscribe(PE, replay=10**12, id="4")
    assert reply == {
        "clientId": bayeux.client_id,
        "channel": "/meta/subscribe",
        "id": "4",
        "subscription": PE,
        "error": INVALID_REPLAY.format(n=10**12),
        "successful": False,
    }


def test_replay__id_before_the_retained_window_is_invalid(org, bayeux: Bayeux):
    org.publish()
    bayeux.handshake()
    assert bayeux.subscribe(PE, replay=1)["error"] == INVALID_REPLAY.format(n=1)


def test_replay__any_id_on_an_empty_channel_is_invalid(bayeux: Bayeux):
    bayeux.handshake()
    assert bayeux.subscribe(PE, replay=5000)["error"] == INVALID_REPLAY.format(n=5000)


def test_replay__invalid_subscription_is_not_registered(org, bayeux: Bayeux):
    bayeux.handshake()
    bayeux.subscribe(PE, replay=10**12)
    bayeux.connect()
    org.publish()
    assert data_of(bayeux.connect()) == []


# -- item 12: channels ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "channel",
    [
        "/event/credit_status_change__e",  # channel names are case-sensitive
        "/event/Credit_Status_Change__c",
        "/event/Nope__e",
        "/topic/AccountUpdates",
        "/data/OpportunityChangeEvent",  # Opportunity is not enabled for CDC in the package
        "/data/accountchangeevent",
        "/data/Collection_Action__cChangeEvent",
        "/u/notifications",
    ],
)
def test_channel__unknown_channel_gets_exact_text(bayeux: Bayeux, channel: str):
    bayeux.handshake()
    reply = bayeux.subscribe(channel, id="9")
    assert reply == {
        "clientId": bayeux.client_id,
        "channel": "/meta/subscribe",
        "id": "9",
        "subscription": channel,
        "error": f"400::The channel you requested to subscribe to does not exist {{{channel}}}",
        "successful": False,
    }


@pytest.mark.parametrize(
    "channel",
    [
        "/event/Credit_Status_Change__e",
        "/event/Credit_Review_Request__e",
        "/event/Payment_Received__e",
        "/data/ChangeEvents",
        "/data/AccountChangeEvent",
        "/data/Collection_Action__ChangeEvent",
    ],
)
def test_channel__package_channels_exist(bayeux: Bayeux, channel: str):
    bayeux.handshake()
    assert bayeux.subscribe(channel)["successful"] is True


def test_channel__subscription_without_leading_slash_is_400(bayeux: Bayeux):
    bayeux.handshake()
    reply = bayeux.subscribe("event/Credit_Status_Change__e")
    assert reply["error"] == "400::Channel subscriptions must start with a leading '/'"


# -- unsubscribe / disconnect -------------------------------------------------------------------


def test_unsubscribe__stops_delivery(org, bayeux: Bayeux):
    bayeux.start()
    (reply,) = bayeux.send(bayeux.msg("/meta/unsubscribe", subscription=PE, id="u"))
    assert reply == {
        "clientId": bayeux.client_id,
        "channel": "/meta/unsubscribe",
        "id": "u",
        "subscription": PE,
        "successful": True,
    }
    org.publish()
    assert data_of(bayeux.connect()) == []


def test_disconnect__ends_the_session(bayeux: Bayeux):
    bayeux.start()
    (reply,) = bayeux.send(bayeux.msg("/meta/disconnect", id="d"))
    assert reply == {
        "clientId": bayeux.client_id,
        "channel": "/meta/disconnect",
        "id": "d",
        "successful": True,
    }
    assert bayeux.connect()[0]["error"] == "403::Unknown client"


def test_subscribe__with_unknown_client_asks_for_a_new_handshake(bayeux: Bayeux):
    bayeux.client_id = "nosuchclient0000000000000"
    reply = bayeux.subscribe(PE, id="s")
    assert reply["error"] == "403::Unknown client"
    assert reply["advice"] == {"interval": 0, "reconnect": "handshake"}
    assert "clientId" not in reply


def test_subscribe__without_any_client_id_is_client_has_not_completed_handshake(bayeux):
    (reply,) = bayeux.send({"channel": "/meta/subscribe", "subscription": PE, "id": "s"})
    assert reply == {
        "channel": "/meta/subscribe",
        "id": "s",
        "subscription": PE,
        "error": "403::Client has not completed handshake",
        "successful": False,
    }
