"""The Streaming API inside the whole devorg: events caused by REST and composite writes,
platform events published over REST, CometD over TLS, and /limits (items 13-15, 17, 25)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
from devorg.cometd import streaming_for
from devorg.org import DevOrg

from tests.devorg.streaming.streaming_harness import Bayeux, data_of

V = "v62.0"


@pytest.fixture(scope="module")
def devorg() -> Iterator[DevOrg]:
    org = DevOrg()
    org.start(http_port=0)
    streaming_for(org).configure(hold_seconds=1.0)
    yield org
    org.stop()


@pytest.fixture
def rest(devorg: DevOrg) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {devorg.token_for()}"
    http.verify = str(devorg.ca_path)
    return http


def _client(devorg: DevOrg, channel: str, *, tls: bool = False) -> Bayeux:
    base = devorg.url if tls else devorg.http_url
    client = Bayeux(base, devorg.token_for())
    if tls:
        # requests lets REQUESTS_CA_BUNDLE override Session.verify; ignore the environment.
        client.http.trust_env = False
        client.http.verify = str(devorg.ca_path)
    client.start(channel)
    return client


def test_devorg__rest_create_and_update_produce_change_events(devorg: DevOrg, rest):
    client = _client(devorg, "/data/AccountChangeEvent")
    base = f"{devorg.http_url}/services/data/{V}/sobjects/Account"
    created = rest.post(base, json={"Name": "Stream Co", "Credit_Status__c": "OK"})
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    assert rest.patch(f"{base}/{record_id}", json={"Credit_Status__c": "HOLD"}).status_code == 204
    events = data_of(client.connect())
    while len(events) < 2:
        events += data_of(client.connect())
    create, update = (e["data"]["payload"] for e in events)
    assert create["ChangeEventHeader"]["changeType"] == "CREATE"
    assert create["ChangeEventHeader"]["recordIds"] == [record_id]
    assert create["ChangeEventHeader"]["changedFields"] == []
    assert create["Name"] == "Stream Co" and create["Credit_Status__c"] == "OK"
    assert create["ChangeEventHeader"]["changeOrigin"].startswith("com/salesforce/api/rest/")
    header = update.pop("ChangeEventHeader")
    assert header["changeType"] == "UPDATE"
    assert sorted(header["changedFields"]) == ["Credit_Status__c", "LastModifiedDate"]
    assert set(update) == {"Credit_Status__c", "LastModifiedDate"}
    assert update["Credit_Status__c"] == "HOLD"
    assert update["LastModifiedDate"].endswith("Z")


def test_devorg__rest_delete_produces_a_delete_event_without_fields(devorg: DevOrg, rest):
    base = f"{devorg.http_url}/services/data/{V}/sobjects/Account"
    record_id = rest.post(base, json={"Name": "Short-lived"}).json()["id"]
    client = _client(devorg, "/data/AccountChangeEvent")
    assert rest.delete(f"{base}/{record_id}").status_code == 204
    (event,) = data_of(client.connect())
    assert event["data"]["payload"]["ChangeEventHeader"]["changeType"] == "DELETE"
    assert list(event["data"]["payload"]) == ["ChangeEventHeader"]


def test_devorg__composite_collection_is_one_transaction_of_events(devorg: DevOrg, rest):
    client = _client(devorg, "/data/ChangeEvents")
    body = {
        "allOrNone": True,
        "records": [{"attributes": {"type": "Account"}, "Name": f"Batch {n}"} for n in range(3)],
    }
    resp = rest.post(f"{devorg.http_url}/services/data/{V}/composite/sobjects", json=body)
    assert resp.status_code == 200, resp.text
    ids = [r["id"] for r in resp.json()]
    events = data_of(client.connect())
    headers = [e["data"]["payload"]["ChangeEventHeader"] for e in events]
    assert [h["recordIds"] for h in headers] == [[i] for i in ids]
    assert [h["sequenceNumber"] for h in headers] == [1, 2, 3]
    assert [h["isTransactionEnd"] for h in headers] == [False, False, True]
    assert len({h["transactionKey"] for h in headers}) == 1
    assert all(e["channel"] == "/data/ChangeEvents" for e in events)


def test_devorg__platform_event_published_over_rest_is_delivered_with_its_uuid(devorg, rest):
    client = _client(devorg, "/event/Credit_Status_Change__e")
    resp = rest.post(
        f"{devorg.http_url}/services/data/{V}/sobjects/Credit_Status_Change__e/",
        json={"New_Status__c": "HOLD", "Reason__c": "over REST"},
    )
    assert resp.status_code == 201
    body = resp.json()
    assert body["success"] is True
    (enqueued,) = body["errors"]
    assert enqueued["statusCode"] == "OPERATION_ENQUEUED"
    uuid.UUID(enqueued["message"])
    (event,) = data_of(client.connect())
    assert event["data"]["event"]["EventUuid"] == enqueued["message"]
    assert event["data"]["payload"]["Reason__c"] == "over REST"
    assert event["data"]["payload"]["CreatedById"] == devorg.integration_user.id


def test_devorg__cometd_over_tls_on_localhost(devorg: DevOrg):
    assert devorg.url.startswith("https://localhost:")
    client = _client(devorg, "/event/Payment_Received__e", tls=True)
    devorg.bus.publish_platform_event(
        "Payment_Received__e", {"Amount__c": 10}, created_by_id=devorg.integration_user.id
    )
    (event,) = data_of(client.connect())
    assert event["data"]["payload"]["Amount__c"] == 10
    # Cookies came back over https too (host-only, not Secure, so both doors share them).
    assert "BAYEUX_BROWSER" in {c.name for c in client.http.cookies}


def test_devorg__limits_mirror_streaming_counts(devorg: DevOrg, rest):
    _client(devorg, "/event/Credit_Status_Change__e")
    expected = streaming_for(devorg).limits()
    limits = rest.get(f"{devorg.http_url}/services/data/{V}/limits").json()
    for name in ("StreamingApiConcurrentClients", "DailyDeliveredPlatformEvents"):
        assert limits[name] == expected[name]
    assert (
        limits["StreamingApiConcurrentClients"]["Remaining"]
        < (limits["StreamingApiConcurrentClients"]["Max"])
    )


def test_devorg__durable_events_survive_a_devorg_restart(tmp_path):
    state = tmp_path / "devorg.sqlite"
    with DevOrg(state_path=state) as first:
        event_uuid = first.bus.publish_platform_event(
            "Credit_Review_Request__e", {"Reason__c": "durable"}, created_by_id="005000000000001AAA"
        )
    with DevOrg(state_path=state) as second:
        second.start(http_port=0)
        client = Bayeux(second.http_url, second.token_for())
        client.handshake()
        assert client.subscribe("/event/Credit_Review_Request__e", replay=-2)["successful"]
        (event,) = data_of(client.connect())
        assert event["data"]["event"]["EventUuid"] == event_uuid


def test_devorg__stream_faults_through_the_devorg_admin_api(devorg: DevOrg):
    client = _client(devorg, "/event/Credit_Status_Change__e")
    admin = requests.Session()
    admin.headers["X-Devorg-Admin"] = devorg.admin_token
    resp = admin.post(f"{devorg.http_url}/_devorg/faults", json={"stream": {"drop_clients": True}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["applied"]["stream"]["dropped"] >= 1
    assert client.connect()[0]["error"] == "403::Unknown client"


def test_devorg__streaming_admin_routes_need_the_admin_token(devorg: DevOrg):
    url = f"{devorg.http_url}/_devorg/streaming"
    assert requests.get(url, timeout=10).status_code == 403
    session = Bayeux(devorg.http_url, devorg.token_for()).http  # a Salesforce session: refused
    assert session.get(url, timeout=10).status_code == 403
    ok = requests.get(url, headers={"X-Devorg-Admin": devorg.admin_token}, timeout=10)
    assert ok.status_code == 200
    assert ok.headers["X-Devorg"] == "admin"
    assert "limits" in ok.json()


def test_devorg__bulk_ingest_produces_change_events(devorg: DevOrg, rest):
    client = _client(devorg, "/data/AccountChangeEvent")
    jobs = f"{devorg.http_url}/services/data/{V}/jobs/ingest"
    job = rest.post(jobs, json={"object": "Account", "operation": "insert", "lineEnding": "LF"})
    assert job.status_code == 200, job.text
    job_id = job.json()["id"]
    upload = rest.put(
        f"{jobs}/{job_id}/batches",
        data="Name,Credit_Status__c\nBulk One,OK\nBulk Two,WATCH\n",
        headers={"Content-Type": "text/csv"},
    )
    assert upload.status_code == 201
    assert rest.patch(f"{jobs}/{job_id}", json={"state": "UploadComplete"}).status_code == 200
    events: list[dict] = []
    for _ in range(10):
        events += data_of(client.connect())
        if len(events) >= 2:
            break
    headers = [e["data"]["payload"]["ChangeEventHeader"] for e in events]
    assert [h["changeType"] for h in headers] == ["CREATE", "CREATE"]
    assert all(h["changeOrigin"].startswith("com/salesforce/api/bulkapi/") for h in headers)
    assert sorted(e["data"]["payload"]["Name"] for e in events) == ["Bulk One", "Bulk Two"]
