"""Checklist items 1-5: the endpoint, auth, handshake, cookies, ids (wire facts §1.1-§1.3)."""

from __future__ import annotations

import json
import time

import requests

from tests.devorg.streaming.streaming_harness import Bayeux

HANDSHAKE = {
    "channel": "/meta/handshake",
    "version": "1.0",
    "minimumVersion": "1.0",
    "supportedConnectionTypes": ["long-polling"],
    "id": "1",
}


# -- item 1: endpoint -------------------------------------------------------------------------


def test_endpoint__missing_version_is_400_with_exact_text(org, bayeux: Bayeux):
    resp = bayeux.post(HANDSHAKE, url=f"{org.base_url}/cometd")
    assert resp.status_code == 400
    assert resp.json() == [
        {
            "channel": "/meta/handshake",
            "id": "1",
            "error": "400::API version in the URI is mandatory. URI format: '/cometd/66.0'",
            "successful": False,
        }
    ]


def test_endpoint__version_below_37_is_400_with_exact_text(org, bayeux: Bayeux):
    resp = bayeux.post(HANDSHAKE, url=f"{org.base_url}/cometd/36.0")
    assert resp.status_code == 400
    assert resp.json()[0]["error"] == (
        "400::Unsupported API version. Only API versions '37.0' and later are supported. "
        "URI format: '/cometd/66.0'"
    )


def test_endpoint__version_37_is_accepted(org):
    assert Bayeux(org.base_url, org.token, version="37.0").handshake()["successful"] is True


def test_endpoint__body_over_32768_bytes_is_413(org, bayeux: Bayeux):
    body = json.dumps([{**HANDSHAKE, "ext": {"pad": "x" * 32_768}}])
    resp = bayeux.http.post(
        bayeux.url, data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert resp.status_code == 413
    assert resp.reason == "Maximum Request Size Exceeded"


def test_endpoint__body_of_exactly_32768_bytes_is_served(bayeux: Bayeux):
    head = json.dumps([{**HANDSHAKE, "ext": {"pad": ""}}])
    body = head.replace('"pad": ""', '"pad": "' + "x" * (32_768 - len(head)) + '"')
    assert len(body.encode()) == 32_768
    resp = bayeux.http.post(
        bayeux.url, data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert resp.status_code == 200
    assert resp.json()[0]["successful"] is True


def test_endpoint__url_suffixes_are_tolerated(bayeux: Bayeux):
    # CometD clients append the message type unless appendMessageTypeToURL is false.
    resp = bayeux.post(HANDSHAKE, url=bayeux.url + "/handshake")
    assert resp.status_code == 200
    assert resp.json()[0]["successful"] is True


# -- item 2: auth ------------------------------------------------------------------------------


def test_auth__oauth_scheme_is_accepted_like_bearer(org):
    client = Bayeux(org.base_url, None)
    client.http.headers["Authorization"] = f"OAuth {org.token}"  # what jsforce sends
    assert client.handshake()["successful"] is True


def test_auth__missing_token_is_handshake_denied_requires_authentication(org):
    client = Bayeux(org.base_url, None)
    assert client.send(HANDSHAKE) == [
        {
            "ext": {
                "sfdc": {"failureReason": "401::Request requires authentication"},
                "replay": True,
                "payload.format": True,
            },
            "advice": {"reconnect": "none"},
            "channel": "/meta/handshake",
            "id": "1",
            "error": "403::Handshake denied",
            "successful": False,
        }
    ]


def test_auth__unknown_token_is_handshake_denied_authentication_invalid(org):
    reply = Bayeux(org.base_url, "00D000000000001!ARnope").send(HANDSHAKE)[0]
    assert reply["error"] == "403::Handshake denied"
    assert reply["ext"]["sfdc"] == {"failureReason": "401::Authentication invalid"}
    assert reply["advice"] == {"reconnect": "none"}


# -- item 3: handshake ------------------------------------------------------------------------


def test_handshake__success_has_exact_shape_and_no_advice(bayeux: Bayeux):
    (reply,) = bayeux.send(HANDSHAKE)
    client_id = reply["clientId"]
    assert reply == {
        "ext": {"replay": True, "payload.format": True},
        "minimumVersion": "1.0",
        "clientId": client_id,
        "supportedConnectionTypes": ["long-polling"],
        "channel": "/meta/handshake",
        "id": "1",
        "version": "1.0",
        "successful": True,
    }
    assert list(reply) == [
        *("ext", "minimumVersion", "clientId", "supportedConnectionTypes"),
        *("channel", "id", "version", "successful"),
    ]
    assert client_id.isalnum() and client_id == client_id.lower() and len(client_id) >= 20


def test_handshake__each_handshake_gets_a_new_client_id(bayeux: Bayeux):
    assert bayeux.handshake()["clientId"] != bayeux.handshake()["clientId"]


# -- item 4: cookies ---------------------------------------------------------------------------


def _set_cookies(resp: requests.Response) -> dict[str, str]:
    headers = resp.raw.headers.getlist("Set-Cookie")
    return {h.split("=", 1)[0]: h for h in headers}


def test_cookies__handshake_sets_host_only_non_secure_salesforce_cookies(bayeux: Bayeux):
    cookies = _set_cookies(bayeux.post(HANDSHAKE))
    assert set(cookies) == {"BrowserId", "force-stream", "t", "BAYEUX_BROWSER"}
    assert "Path=/cometd/" in cookies["BAYEUX_BROWSER"]
    assert "Path=/cometd/" in cookies["t"]
    assert "Path=/;" in cookies["BrowserId"] + ";"
    assert "Path=/;" in cookies["force-stream"] + ";"
    for header in cookies.values():
        assert "domain=" not in header.lower()  # host-only: tough-cookie/aiohttp keep it
        assert "secure" not in header.lower()  # never Secure over plain http
    # The jar of a real client (requests) kept all of them for localhost.
    assert {c.name for c in bayeux.http.cookies} == set(cookies)


def test_cookies__connect_without_bayeux_browser_cookie_is_400(bayeux: Bayeux):
    bayeux.handshake()
    bayeux.http.cookies.clear()
    reply = bayeux.connect(id="7")[0]
    assert reply == {
        "clientId": bayeux.client_id,
        "channel": "/meta/connect",
        "id": "7",
        "error": (
            f"400::Client {bayeux.client_id} has established a session, "
            "but no BAYEUX_BROWSER cookie present"
        ),
        "successful": False,
    }


# -- item 5: ids --------------------------------------------------------------------------------


def test_ids__echoed_with_their_json_type_in_every_reply(bayeux: Bayeux):
    assert bayeux.handshake(id=1)["id"] == 1
    assert bayeux.subscribe("/event/Credit_Status_Change__e", id=2)["id"] == 2
    (connect,) = bayeux.connect(id="3")
    assert connect["id"] == "3" and isinstance(connect["id"], str)
    (connect,) = bayeux.connect(id=4)
    assert connect["id"] == 4 and isinstance(connect["id"], int)
    assert bayeux.subscribe("/event/Nope__e", id="5p")["id"] == "5p"  # faye's base-36 ids


def test_ids__message_without_id_gets_reply_without_id(bayeux: Bayeux):
    bayeux.handshake()
    (reply,) = bayeux.send(
        {"channel": "/meta/connect", "clientId": bayeux.client_id, "connectionType": "long-polling"}
    )
    assert "id" not in reply
    assert reply["successful"] is True


def test_batch__subscribe_and_connect_in_one_post_are_both_answered(bayeux: Bayeux, org):
    bayeux.handshake()
    org.publish(New_Status__c="HOLD")
    replies = bayeux.send(
        bayeux.msg(
            "/meta/subscribe",
            subscription="/event/Credit_Status_Change__e",
            ext={"replay": {"/event/Credit_Status_Change__e": -2}},
        ),
        bayeux.msg("/meta/connect", connectionType="long-polling"),
    )
    assert [r["channel"] for r in replies] == [
        "/meta/subscribe",
        "/event/Credit_Status_Change__e",
        "/meta/connect",
    ]
    assert all(r.get("successful", True) for r in replies)


def test_batch__subscribe_after_connect_in_one_post_counts_for_that_connect(bayeux, org):
    org.bus.publish_platform_event(
        "Payment_Received__e", {"Amount__c": 5}, created_by_id="005000000000001AAA"
    )
    org.streaming.configure(hold_seconds=30.0)
    bayeux.start()  # subscribed to Credit_Status_Change__e only; nothing pending there
    started = time.monotonic()
    replies = bayeux.send(
        bayeux.msg("/meta/connect", connectionType="long-polling"),
        bayeux.msg(
            "/meta/subscribe",
            subscription="/event/Payment_Received__e",
            ext={"replay": {"/event/Payment_Received__e": -2}},
        ),
    )
    # As in CometD, the connect is held after the rest of the batch: the replayed event
    # answers it at once.  Replies keep the request order.
    assert time.monotonic() - started < 10.0
    assert [r["channel"] for r in replies] == [
        "/event/Payment_Received__e",
        "/meta/connect",
        "/meta/subscribe",
    ]
