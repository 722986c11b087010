"""Parked events and dead outbox rows, visible to an operator: the API, /metrics, the OpenAPI."""

from __future__ import annotations

from sqlalchemy import update

from service import outbox
from service.db import transaction
from service.extensions import EXTENSION
from service.inbox import record_many
from service.models import InboxMessage

PAYLOAD = {"payload": {"Account_Id__c": "001Dv0000000001IAA", "Amount__c": 250.0}, "event": {}}
ERROR = "OverflowError: date value out of range"


def _seed(app) -> None:
    """Two parked events, one processed; one dead and one unmatched outbox row, one pending."""
    factory = app.extensions[EXTENSION].sessions
    with transaction(factory) as s:
        parked = [("pe:1", "/event/Payment_Received__e", PAYLOAD), ("pe:2", "/event/X__e", {})]
        record_many(s, "salesforce", parked, status="parked")
        record_many(s, "salesforce", [("pe:3", "/event/X__e", {})])
        s.execute(update(InboxMessage).where(InboxMessage.status == "parked").values(error=ERROR))
        dead = outbox.enqueue(s, outbox.ACCOUNT, "Account:1")
        unmatched = outbox.enqueue(s, outbox.ACCOUNT, "Account:2")
        outbox.enqueue(s, outbox.ACCOUNT, "Account:3")
        s.flush()
        outbox.mark_failed(s, [dead], "Account 001x: entity is deleted", "ENTITY_IS_DELETED")
        outbox.mark_failed(s, [unmatched], "no Account has it", "UNMATCHED", status="unmatched")


def test_parked__events_with_their_error_and_payload_oldest_first(app, client, auth):
    _seed(app)
    response = client.get("/api/v1/operations/parked", headers=auth)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["count"] == 2
    first = body["events"][0]
    assert (first["external_id"], first["kind"], first["source"]) == (
        "pe:1",
        "/event/Payment_Received__e",
        "salesforce",
    )
    assert first["error"] == ERROR and first["payload"] == PAYLOAD
    assert isinstance(first["id"], int) and first["received_at"]
    limited = client.get("/api/v1/operations/parked?limit=1", headers=auth).json
    assert [e["external_id"] for e in limited["events"]] == ["pe:1"]


def test_dead__dead_and_unmatched_outbox_rows(app, client, auth):
    _seed(app)
    body = client.get("/api/v1/operations/dead", headers=auth).json
    assert body["count"] == 2
    assert {(r["status"], r["target"], r["error_code"]) for r in body["rows"]} == {
        ("dead", "Account:1", "ENTITY_IS_DELETED"),
        ("unmatched", "Account:2", "UNMATCHED"),
    }
    assert all(r["error"] and r["attempts"] == 0 for r in body["rows"])


def test_operations__token_required_and_limit_checked(app, client, auth):
    for path in ("/api/v1/operations/parked", "/api/v1/operations/dead"):
        assert client.get(path).status_code == 401
        for bad in ("0", "1001", "x", "-1", "²"):
            response = client.get(f"{path}?limit={bad}", headers=auth)
            assert response.status_code == 400, (path, bad)
            assert response.json["errors"][0]["path"] == "limit"


def test_metrics__parked_events_and_dead_rows(app, client, auth):
    _seed(app)
    text = client.get("/metrics", headers=auth).get_data(as_text=True)
    assert "\ninbox_parked_events 2.0\n" in text
    assert "\noutbox_dead_rows 1.0\n" in text
    assert "\noutbox_unmatched_rows 1.0\n" in text


def test_openapi__both_endpoints_documented_with_their_limit(client, auth):
    spec = client.get("/openapi.json", headers=auth).json
    for path in ("/api/v1/operations/parked", "/api/v1/operations/dead"):
        get = spec["paths"][path]["get"]
        assert {p["name"] for p in get["parameters"]} == {"limit"}
        assert {"200", "400", "401"} <= set(get["responses"])
    assert "ParkedEventOut" in spec["components"]["schemas"]
