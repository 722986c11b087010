"""Checklist items 9, 16, 17: fault switches, revocation, limits (wire facts §1.3, §1.6)."""

from __future__ import annotations

import threading
import time

import requests
from devorg.streaming_server import StreamingConfig

from tests.devorg.streaming.streaming_harness import PE, Bayeux, data_of, meta_of

BUSY = "503::Server is too busy.  Please try your request again later."


# -- item 9: faults ---------------------------------------------------------------------------


def test_fault__drop_clients_gives_unknown_client_and_a_fresh_start_works(org, bayeux):
    bayeux.start()
    assert org.streaming.drop_clients() == 1
    (reply,) = bayeux.connect(id="83")
    assert reply == {
        "advice": {"interval": 0, "reconnect": "handshake"},
        "channel": "/meta/connect",
        "id": "83",
        "error": "403::Unknown client",
        "successful": False,
    }
    bayeux.start()
    org.publish(Reason__c="after")
    assert len(data_of(bayeux.connect())) == 1


def test_fault__drop_clients_releases_a_held_connect_with_unknown_client(org, bayeux):
    org.streaming.configure(hold_seconds=30.0)
    bayeux.start()
    threading.Timer(0.3, org.streaming.drop_clients).start()
    started = time.monotonic()
    (reply,) = bayeux.connect()
    assert time.monotonic() - started < 10.0
    assert reply["error"] == "403::Unknown client"


def test_fault__server_sent_disconnect_arrives_on_the_held_connect(org, bayeux: Bayeux):
    org.streaming.configure(hold_seconds=10.0)
    bayeux.start()
    threading.Timer(0.3, org.streaming.send_disconnect).start()
    replies = bayeux.connect(id="12")
    assert replies == [
        {"clientId": bayeux.client_id, "channel": "/meta/disconnect", "successful": True},
        {
            "clientId": bayeux.client_id,
            "advice": {"reconnect": "none", "interval": 0},
            "channel": "/meta/connect",
            "id": "12",
            "successful": True,
        },
    ]
    # The session is gone: the client must handshake again.
    assert bayeux.connect()[0]["error"] == "403::Unknown client"


def test_fault__busy_handshake_is_denied_with_503_reason(org, bayeux: Bayeux):
    org.streaming.faults.busy_handshakes = 1
    reply = bayeux.handshake(id="2x")
    assert reply == {
        "ext": {"sfdc": {"failureReason": BUSY}, "replay": True, "payload.format": True},
        "advice": {"reconnect": "none"},
        "channel": "/meta/handshake",
        "id": "2x",
        "error": "403::Handshake denied",
        "successful": False,
    }
    assert bayeux.handshake()["successful"] is True  # one-shot


def test_fault__busy_connect_is_authentication_invalid_with_503_reason(org, bayeux):
    bayeux.start()
    org.streaming.faults.busy_connects = 1
    (reply,) = bayeux.connect(id=7)
    assert reply == {
        "clientId": bayeux.client_id,
        "advice": {"reconnect": "none", "interval": 0},
        "channel": "/meta/connect",
        "id": 7,
        "error": "401::Authentication invalid",
        "ext": {"sfdc": {"failureReason": BUSY}},
        "successful": False,
    }


def test_fault__too_many_connections_per_server_text_has_two_spaces(org, bayeux):
    org.streaming.faults.too_many_connections = 1
    reason = bayeux.handshake()["ext"]["sfdc"]["failureReason"]
    assert reason == (
        "403::To protect all customers from excessive use and Denial of Service attacks, we "
        "limit the number of simultaneous connections per server.  Your request has been "
        "denied because this limit has been exceeded.  Please try your request again later."
    )


def test_fault__hung_connect_never_answers_events_then_the_client_is_gone(org, bayeux):
    org.streaming.configure(hang_seconds=1.0)
    bayeux.start()
    org.streaming.faults.hang_connects = 1
    org.publish(Reason__c="stuck behind the hung connect")
    started = time.monotonic()
    (reply,) = bayeux.connect()
    assert time.monotonic() - started >= 0.9
    assert reply["error"] == "403::Unknown client"


def test_fault__hung_connect_cut_by_client_timeout(org, bayeux: Bayeux):
    # What a real client sees: its own read timeout fires, as against a stuck org.
    org.streaming.configure(hang_seconds=5.0)
    bayeux.start()
    org.streaming.faults.hang_connects = 1
    msg = bayeux.msg("/meta/connect", connectionType="long-polling")
    started = time.monotonic()
    try:
        bayeux.http.post(bayeux.url, json=[msg], timeout=0.5)
    except requests.exceptions.ReadTimeout:
        pass
    else:  # pragma: no cover - the point of the test
        raise AssertionError("the hung connect answered")
    assert time.monotonic() - started < 4.5  # the hang lasts 5 s
    org.streaming.reset_faults()


def test_fault__admin_routes_switch_faults_over_http(org, bayeux: Bayeux):
    admin = requests.Session()
    base = f"{org.base_url}/_devorg/streaming"
    assert admin.post(f"{base}/faults", json={"busy_handshakes": 1}).json() == {
        "busy_handshakes": 1
    }
    assert bayeux.handshake()["ext"]["sfdc"]["failureReason"] == BUSY
    bayeux.start()
    assert admin.get(base).json()["clients"][0]["clientId"] == bayeux.client_id
    assert admin.post(f"{base}/drop-clients").json() == {"dropped": 1}
    assert bayeux.connect()[0]["error"] == "403::Unknown client"
    bayeux.start()
    assert admin.post(f"{base}/config", json={"hold_seconds": 0.5}).status_code == 200
    assert admin.post(f"{base}/config", json={"nope": 1}).status_code == 400
    assert admin.post(f"{base}/disconnect", json={}).json() == {"disconnected": 1}
    assert meta_of(bayeux.connect(), "/meta/disconnect")["successful"] is True
    assert admin.post(f"{base}/reset").json() == {"reset": True}


# -- item 16: revocation -----------------------------------------------------------------------


def test_revocation__connect_gets_401_with_reconnect_none_then_handshake_is_denied(org, bayeux):
    bayeux.start()
    org.auth.revoke(org.token)
    (reply,) = bayeux.connect(id=7)
    assert reply == {
        "clientId": bayeux.client_id,
        "advice": {"reconnect": "none", "interval": 0},
        "channel": "/meta/connect",
        "id": 7,
        "error": "401::Authentication invalid",
        "successful": False,
    }
    assert bayeux.handshake(id="2x") == {
        "ext": {
            "sfdc": {"failureReason": "401::Authentication invalid"},
            "replay": True,
            "payload.format": True,
        },
        "advice": {"reconnect": "none"},
        "channel": "/meta/handshake",
        "id": "2x",
        "error": "403::Handshake denied",
        "successful": False,
    }


def test_revocation__releases_a_held_connect(org, bayeux: Bayeux):
    org.streaming.configure(hold_seconds=30.0)
    bayeux.start()
    threading.Timer(0.3, org.auth.revoke, args=(org.token,)).start()
    started = time.monotonic()
    (reply,) = bayeux.connect()
    assert time.monotonic() - started < 10.0
    assert reply["error"] == "401::Authentication invalid"


def test_revocation__a_new_token_works_after_reauthentication(org, bayeux: Bayeux):
    bayeux.start()
    org.auth.revoke(org.token)
    assert bayeux.connect()[0]["error"] == "401::Authentication invalid"
    fresh = org.auth.issue(org.auth.user("integration@devorg.local")).token
    bayeux.http.headers["Authorization"] = f"Bearer {fresh}"
    bayeux.start()
    org.publish()
    assert len(data_of(bayeux.connect())) == 1


# -- item 17: limits ---------------------------------------------------------------------------


def test_limit__concurrent_clients_exceeded_on_subscribe_with_exact_text(org):
    org.streaming.configure(max_clients=2)
    clients = [Bayeux(org.base_url, org.token) for _ in range(3)]
    for client in clients[:2]:
        client.start()
    assert org.streaming.limits()["StreamingApiConcurrentClients"] == {"Max": 2, "Remaining": 0}
    third = clients[2]
    third.handshake()
    reply = third.subscribe(PE, id="3")
    assert reply == {
        "clientId": third.client_id,
        "channel": "/meta/subscribe",
        "id": "3",
        "subscription": PE,
        "error": "403::Organization concurrent user limit exceeded",
        "successful": False,
    }
    # An existing subscriber may still add channels.
    assert clients[0].subscribe("/event/Payment_Received__e")["successful"] is True
    # A client that goes away frees its slot.
    clients[0].send(clients[0].msg("/meta/disconnect"))
    assert third.subscribe(PE)["successful"] is True


def test_limit__daily_delivery_allowance_stops_delivery_with_exact_text(org, bayeux):
    org.streaming.configure(daily_delivery_limit=3)
    bayeux.start()
    for n in range(5):
        org.publish(Reason__c=f"e{n}")
    assert len(data_of(bayeux.connect())) == 3  # delivered up to the allowance
    assert org.streaming.limits()["DailyDeliveredPlatformEvents"] == {"Max": 3, "Remaining": 0}
    (reply,) = bayeux.connect(id="9")
    assert reply == {
        "clientId": bayeux.client_id,
        "channel": "/meta/connect",
        "id": "9",
        "error": "403::Organization total events daily limit exceeded",
        "successful": False,
    }
    other = Bayeux(org.base_url, org.token)
    other.handshake()
    assert other.subscribe(PE)["error"] == "403::Organization total events daily limit exceeded"


def test_limit__deliveries_are_counted_per_subscriber(org):
    clients = [Bayeux(org.base_url, org.token) for _ in range(2)]
    for client in clients:
        client.start()
    org.publish()
    for client in clients:
        client.connect()
    limits = org.streaming.limits()
    assert limits["DailyDeliveredPlatformEvents"] == {"Max": 50_000, "Remaining": 49_998}
    assert (
        limits["HourlyPublishedPlatformEvents"]["Max"] - 1
        == (limits["HourlyPublishedPlatformEvents"]["Remaining"])
    )


def test_defaults__are_salesforce_figures():
    config = StreamingConfig()
    assert (config.hold_seconds, config.reconnect_deadline) == (110.0, 40.0)
    assert (config.max_clients, config.daily_delivery_limit) == (2000, 50_000)
    assert config.require_browser_cookie is True


def test_fault__client_that_gives_up_on_a_hung_connect_and_reconnects_keeps_its_session(
    org, bayeux: Bayeux
):
    org.streaming.configure(hang_seconds=1.5)
    bayeux.start()
    org.streaming.faults.hang_connects = 1
    msg = bayeux.msg("/meta/connect", connectionType="long-polling")
    try:
        bayeux.http.post(bayeux.url, json=[msg], timeout=0.3)
    except requests.exceptions.ReadTimeout:
        pass
    org.publish(Reason__c="after the stuck request")
    assert len(data_of(bayeux.connect())) == 1
    time.sleep(1.5)  # the stuck request ends on the server side
    assert meta_of(bayeux.connect(), "/meta/connect")["successful"] is True
