"""The contract with the event bus: one record_transaction call per committed transaction,
with Change(entity_name, change_type, record_id, before, after) for every record touched."""

import time

import pytest

from tests.devorg.devorg_helpers import API


@pytest.fixture
def calls(org):
    seen = []
    original = org.bus.record_transaction

    def spy(changes, *, user_id, change_origin):
        seen.append((list(changes), user_id, change_origin))
        return original(changes, user_id=user_id, change_origin=change_origin)

    org.bus.record_transaction = spy
    yield seen
    del org.bus.record_transaction


def test_rest_create_update_delete__one_call_each(org, api, calls):
    rid = api.post(
        "sobjects/Account", json={"Name": "A"}, headers={"Sforce-Call-Options": "client=push"}
    ).json()["id"]
    api.patch(f"sobjects/Account/{rid}", json={"Credit_Status__c": "HOLD"})
    api.delete(f"sobjects/Account/{rid}")
    assert [[c.change_type for c in changes] for changes, _, _ in calls] == [
        ["CREATE"],
        ["UPDATE"],
        ["DELETE"],
    ]
    (create,), user_id, origin = calls[0]
    assert create.entity_name == "Account" and create.record_id == rid and create.before is None
    assert create.after["Name"] == "A" and "Credit_Available__c" not in create.after
    assert (
        user_id == org.integration_user.id
        and origin == f"com/salesforce/api/rest/{API};client=push"
    )
    (update,) = calls[1][0]
    assert update.before["Credit_Status__c"] is None and update.after["Credit_Status__c"] == "HOLD"
    (delete,) = calls[2][0]
    assert delete.after is None and delete.before["Id"] == rid


def test_collections_and_composite__one_call_per_transaction(api, calls):
    records = [{"attributes": {"type": "Account"}, "Name": f"A{i}"} for i in range(3)]
    api.post("composite/sobjects", json={"records": records})
    assert len(calls) == 1 and [c.change_type for c in calls[0][0]] == ["CREATE"] * 3
    calls.clear()
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"/services/data/v{API}/sobjects/Account",
                "referenceId": "a",
                "body": {"Name": "P"},
            },
            {
                "method": "PATCH",
                "url": f"/services/data/v{API}/sobjects/Account/@{{a.id}}",
                "referenceId": "b",
                "body": {"Risk_Score__c": 3},
            },
        ],
    }
    api.post("composite", json=body)
    assert len(calls) == 1 and [c.change_type for c in calls[0][0]] == ["CREATE", "UPDATE"]
    calls.clear()
    failed = api.post(
        "composite/sobjects",
        json={"allOrNone": True, "records": [records[0], {"attributes": {"type": "Account"}}]},
    )
    assert (
        failed.status_code == 200 and calls == []
    )  # rolled back: nothing committed, nothing published


def test_bulk__one_call_per_200_row_chunk(api, calls):
    job = api.post("jobs/ingest", json={"object": "Account", "operation": "insert"}).json()
    api.put(
        f"jobs/ingest/{job['id']}/batches",
        data="Name\n" + "".join(f"B{i}\n" for i in range(450)),
        headers={"Content-Type": "text/csv"},
    )
    api.patch(f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    deadline = time.time() + 20
    while (
        api.get(f"jobs/ingest/{job['id']}").json()["state"] != "JobComplete"
        and time.time() < deadline
    ):
        time.sleep(0.02)
    assert [len(changes) for changes, _, _ in calls] == [200, 200, 50]
    assert all(origin == f"com/salesforce/api/bulkapi/{API}" for _, _, origin in calls)
