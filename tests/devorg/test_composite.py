"""Checklist 23: sObject Collections and Composite, raw and through simple-salesforce's restful."""

import json

from tests.devorg.devorg_helpers import API, new_account

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}


def acct(name, **kw):
    return dict({"attributes": {"type": "Account"}, "Name": name}, **kw)


def test_collections_create__per_record_results_in_input_order(api):
    response = api.post(
        "composite/sobjects",
        json={
            "allOrNone": False,
            "records": [acct("A"), acct("B", Credit_Status__c="NOPE"), acct("C")],
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert (
        body[0]["success"] is True and body[0]["errors"] == [] and body[0]["id"].startswith("001")
    )
    assert body[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "message": "Credit Status: bad value for restricted picklist field: NOPE",
                "fields": ["Credit_Status__c"],
            }
        ],
    }
    assert body[2]["success"] is True
    assert api.get("query", params={"q": "SELECT COUNT() FROM Account"}).json()["totalSize"] == 2


def test_collections_create__all_or_none_rolls_back(api):
    response = api.post(
        "composite/sobjects",
        json={"allOrNone": True, "records": [acct("A"), {"attributes": {"type": "Account"}}]},
    )
    assert response.status_code == 200
    assert response.json() == [
        {"success": False, "errors": [ROLLED_BACK]},
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "REQUIRED_FIELD_MISSING",
                    "message": "Required fields are missing: [Name]",
                    "fields": ["Name"],
                }
            ],
        },
    ]
    assert api.get("query", params={"q": "SELECT COUNT() FROM Account"}).json()["totalSize"] == 0


def test_collections__200_cap(api):
    response = api.post("composite/sobjects", json={"records": [acct(f"A{i}") for i in range(201)]})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    ok = api.post("composite/sobjects", json={"records": [acct(f"A{i}") for i in range(200)]})
    assert ok.status_code == 200 and all(r["success"] for r in ok.json())


def test_collections_update__row_lock_fault_is_per_record(org, api):
    a, b = new_account(api, Name="A"), new_account(api, Name="B")
    org.faults.lock_records([b], times=1)
    records = [
        {"attributes": {"type": "Account"}, "id": a, "Risk_Score__c": 10},
        {"attributes": {"type": "Account"}, "id": b, "Risk_Score__c": 20},
    ]
    body = api.patch("composite/sobjects", json={"allOrNone": False, "records": records}).json()
    assert body[0] == {"id": a, "success": True, "errors": []}
    assert body[1]["success"] is False
    assert body[1]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert body[1]["errors"][0]["message"].startswith(
        "unable to obtain exclusive access to this record"
    )
    # the lock was for one attempt: a retry succeeds
    retry = api.patch("composite/sobjects", json={"records": records[1:]}).json()
    assert retry == [{"id": b, "success": True, "errors": []}]


def test_collections_update__all_or_none_keeps_ids_of_rolled_back(api):
    a = new_account(api, Name="A")
    records = [
        {"attributes": {"type": "Account"}, "id": a, "Name": "A2"},
        {"attributes": {"type": "Account"}, "id": a[:3] + "Dv0000099999", "Name": "x"},
    ]
    body = api.patch("composite/sobjects", json={"allOrNone": True, "records": records}).json()
    assert body[0]["errors"] == [ROLLED_BACK] and body[0]["success"] is False
    assert body[1]["success"] is False
    assert api.get(f"sobjects/Account/{a}").json()["Name"] == "A"


def test_collections_upsert_by_external_id(api):
    existing = new_account(api, ERP_Customer_Number__c="C1")
    records = [
        acct("Updated", ERP_Customer_Number__c="C1"),
        acct("New", ERP_Customer_Number__c="C2"),
    ]
    body = api.patch(
        "composite/sobjects/Account/ERP_Customer_Number__c",
        json={"allOrNone": False, "records": records},
    ).json()
    assert body[0] == {"id": existing, "success": True, "errors": [], "created": False}
    assert body[1]["created"] is True and body[1]["success"] is True
    bad = api.patch("composite/sobjects/Account/Name", json={"records": records})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"


def test_collections_delete(api):
    a, b = new_account(api, Name="A"), new_account(api, Name="B")
    body = api.delete("composite/sobjects", params={"ids": f"{a},{b}", "allOrNone": "false"}).json()
    assert body == [
        {"id": a, "success": True, "errors": []},
        {"id": b, "success": True, "errors": []},
    ]
    again = api.delete("composite/sobjects", params={"ids": a}).json()
    assert (
        again[0]["success"] is False and again[0]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    )


def test_collections_through_simple_salesforce_restful(sf):
    payload = {"allOrNone": False, "records": [acct("Via restful")]}
    result = sf.restful("composite/sobjects", method="POST", data=json.dumps(payload))
    assert result[0]["success"] is True
    assert sf.query("SELECT Name FROM Account")["records"][0]["Name"] == "Via restful"


def test_composite__references_and_location(api):
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"/services/data/v{API}/sobjects/Account",
                "referenceId": "acct",
                "body": {"Name": "Parent", "ERP_Customer_Number__c": "P1"},
            },
            {
                "method": "POST",
                "url": f"/services/data/v{API}/sobjects/Receivable__c",
                "referenceId": "inv",
                "body": {
                    "Name": "INV",
                    "Type__c": "Invoice",
                    "ERP_Item_Id__c": "I1",
                    "Account__c": "@{acct.id}",
                },
            },
            {
                "method": "GET",
                "url": f"/services/data/v{API}/sobjects/Account/@{{acct.id}}?fields=Name",
                "referenceId": "read",
            },
            {
                "method": "GET",
                "url": f"/services/data/v{API}/query?q=SELECT+Id+FROM+Receivable__c",
                "referenceId": "q",
            },
            {
                "method": "PATCH",
                "url": f"/services/data/v{API}/sobjects/Receivable__c/@{{q.records[0].Id}}",
                "referenceId": "upd",
                "body": {"Amount__c": 5},
            },
        ],
    }
    response = api.post("composite", json=body)
    assert response.status_code == 200
    answers = response.json()["compositeResponse"]
    assert [a["referenceId"] for a in answers] == ["acct", "inv", "read", "q", "upd"]
    assert [a["httpStatusCode"] for a in answers] == [201, 201, 200, 200, 204]
    acct_id = answers[0]["body"]["id"]
    assert answers[0]["httpHeaders"] == {
        "Location": f"/services/data/v{API}/sobjects/Account/{acct_id}"
    }
    assert answers[2]["body"]["Name"] == "Parent"
    assert answers[4]["body"] is None and answers[4]["httpHeaders"] == {}
    inv = api.get(f"sobjects/Receivable__c/{answers[1]['body']['id']}").json()
    assert inv["Account__c"] == acct_id and inv["Amount__c"] == 5.0


def test_composite__all_or_none_failure_is_still_200_and_rolls_back(api):
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"/services/data/v{API}/sobjects/Account",
                "referenceId": "ok",
                "body": {"Name": "A"},
            },
            {
                "method": "POST",
                "url": f"/services/data/v{API}/sobjects/Account",
                "referenceId": "bad",
                "body": {"Nope__c": 1},
            },
            {
                "method": "POST",
                "url": f"/services/data/v{API}/sobjects/Account",
                "referenceId": "later",
                "body": {"Name": "C"},
            },
        ],
    }
    response = api.post("composite", json=body)
    assert response.status_code == 200
    answers = response.json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answers] == [400, 400, 400]
    assert answers[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert answers[1]["body"][0]["errorCode"] == "INVALID_FIELD"
    assert answers[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert api.get("query", params={"q": "SELECT COUNT() FROM Account"}).json()["totalSize"] == 0


def test_composite__25_cap_and_counts_as_one_call(org, api):
    too_many = {
        "compositeRequest": [
            {"method": "GET", "url": f"/services/data/v{API}/limits", "referenceId": f"r{i}"}
            for i in range(26)
        ]
    }
    assert api.post("composite", json=too_many).status_code == 400
    before = org.limits.used
    ok = {"compositeRequest": too_many["compositeRequest"][:25]}
    assert api.post("composite", json=ok).status_code == 200
    assert org.limits.used == before + 1


def test_collections_create__publishes_platform_events_after_commit(org, api):
    published = []
    original = org.bus.publish_platform_event

    def spy(name, payload, *, created_by_id):
        published.append((name, payload))
        return original(name, payload, created_by_id=created_by_id)

    org.bus.publish_platform_event = spy
    try:
        events = [
            {
                "attributes": {"type": "Credit_Status_Change__e"},
                "Account_Id__c": f"001{i}",
                "New_Status__c": "HOLD",
            }
            for i in range(3)
        ]
        body = api.post("composite/sobjects", json={"allOrNone": True, "records": events}).json()
        assert all(
            r["success"] and r["errors"][0]["statusCode"] == "OPERATION_ENQUEUED" for r in body
        )
        assert [p["Account_Id__c"] for _, p in published] == ["0010", "0011", "0012"]
        published.clear()
        mixed = [events[0], {"attributes": {"type": "Account"}}]
        rolled = api.post("composite/sobjects", json={"allOrNone": True, "records": mixed}).json()
        assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
        assert published == []
    finally:
        del org.bus.publish_platform_event
