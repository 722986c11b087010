"""Limits (checklist 20's Sforce-Limit-Info, /limits), faults on demand and the admin API."""

import time

from tests.devorg.devorg_helpers import new_account


def test_limits__daily_api_requests_count_down(org, api):
    first = api.get("limits")
    body = first.json()
    assert body["DailyApiRequests"]["Max"] == 15000
    remaining = body["DailyApiRequests"]["Remaining"]
    assert first.headers["Sforce-Limit-Info"] == f"api-usage={15000 - remaining}/15000"
    api.get("sobjects")
    again = api.get("limits").json()["DailyApiRequests"]["Remaining"]
    assert again == remaining - 2
    assert "DailyBulkV2QueryJobs" in body and "HourlyPublishedPlatformEvents" in body


def test_limits__spent_allowance_is_request_limit_exceeded(org, api, sf):
    org.limits.reset(daily_max=3)
    assert api.get("limits").status_code == 200
    assert api.get("limits").status_code == 200
    assert api.get("limits").status_code == 200
    refused = api.get("sobjects")
    assert refused.status_code == 403
    assert refused.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=3/3"
    org.limits.reset(daily_max=15000)


def test_faults__next_requests_503_then_limit_exceeded(org, api):
    response = api.admin("POST", "/_devorg/faults", json={"fail_next": 1, "kind": "503"})
    assert response.status_code == 200 and response.headers["X-Devorg"] == "admin"
    api.admin("POST", "/_devorg/faults", json={"fail_next": 1, "kind": "REQUEST_LIMIT_EXCEEDED"})
    first = api.get("sobjects")
    assert first.status_code == 503 and first.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    second = api.get("sobjects")
    assert second.status_code == 403 and second.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert api.get("sobjects").status_code == 200


def test_faults__expire_and_revoke_sessions(org, api):
    assert (
        api.admin("POST", "/_devorg/faults", json={"expire_sessions": True}).json()["applied"][
            "expired"
        ]
        >= 1
    )
    assert api.get("limits").status_code == 401
    fresh = org.token_for()
    api.admin("POST", "/_devorg/faults", json={"revoke_token": fresh})
    response = api.get("limits", token=fresh)
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_faults__row_lock_on_single_record_update(org, api):
    rid = new_account(api)
    api.admin("POST", "/_devorg/faults", json={"lock_records": [rid[:15]]})
    locked = api.patch(f"sobjects/Account/{rid}", json={"Risk_Score__c": 5})
    assert locked.status_code == 400
    assert locked.json() == [
        {
            "message": f"unable to obtain exclusive access to this record or 1 records: {rid}",
            "errorCode": "UNABLE_TO_LOCK_ROW",
            "fields": [],
        }
    ]
    api.admin("DELETE", "/_devorg/faults")
    assert api.patch(f"sobjects/Account/{rid}", json={"Risk_Score__c": 5}).status_code == 204


def test_faults__latency(org, api):
    org.faults.latency_ms = 150
    started = time.perf_counter()
    api.get("limits")
    assert time.perf_counter() - started >= 0.15
    org.faults.latency_ms = 0


def test_admin__guarded_and_not_a_salesforce_api(org, api):
    no_token = api.session.get(org.url + "/_devorg/stats", timeout=10)
    assert no_token.status_code == 403 and no_token.json()["devorg"] is True
    session_token = api.session.get(
        org.url + "/_devorg/stats", headers={"Authorization": f"Bearer {api.token}"}, timeout=10
    )
    assert session_token.status_code == 403
    assert "Sforce-Limit-Info" not in no_token.headers
    # and the admin token is no Salesforce session
    assert api.get("limits", token=org.admin_token).status_code == 401


def test_stats__counts_by_route_writes_per_record_and_records_by_object(org, api):
    api.admin("POST", "/_devorg/stats/reset")
    rid = new_account(api)
    api.patch(f"sobjects/Account/{rid}", json={"Risk_Score__c": 1})
    api.patch(
        "composite/sobjects",
        json={"records": [{"attributes": {"type": "Account"}, "id": rid, "Risk_Score__c": 2}]},
    )
    stats = api.admin("GET", "/_devorg/stats").json()
    assert stats["requests"]["POST /services/data/vXX.X/sobjects/<sobject>"] == 1
    assert stats["requests"]["PATCH /services/data/vXX.X/sobjects/<sobject>/<record_id>"] == 1
    assert stats["requests"]["PATCH /services/data/vXX.X/composite/sobjects"] == 1
    assert stats["writes_per_record"][rid] == 3
    assert stats["records_by_object"]["Account"] == 1
    assert api.admin("POST", "/_devorg/reset").status_code == 200
    assert api.admin("GET", "/_devorg/stats").json()["records_by_object"].get("Account") is None


def test_platform_event_publish__201_operation_enqueued(org, api):
    response = api.post(
        "sobjects/Credit_Status_Change__e", json={"Account_Id__c": "001", "New_Status__c": "HOLD"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True and body["id"].startswith(
        org.schema.objects["Credit_Status_Change__e"].key_prefix
    )
    (error,) = body["errors"]
    assert error["statusCode"] == "OPERATION_ENQUEUED" and error["fields"] == []
    assert len(error["message"]) == 36 and error["message"].count("-") == 4
    bad = api.post("sobjects/Credit_Status_Change__e", json={"Nope__c": 1})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"
