"""HourlyPublishedPlatformEvents enforced (LIMIT_EXCEEDED) and admin fault errors answered 400.

Salesforce documents ``LIMIT_EXCEEDED`` as the status code of a publish refused because "the
number of published platform event messages exceeded the hourly publishing limit"; the message
wording is devorg's [inf]. In sObject Collections it is a per-record SaveResult error (the
record has no ``id``; the others still publish unless allOrNone); a single
``POST /sobjects/X__e`` answers 400 with REST's error array, as every failed insert does.
"""

from __future__ import annotations

import pytest
from devorg.events import PUBLISH_LIMIT_MESSAGE
from devorg.org import DevOrg
from devorg.server import create_devorg_app

EVENT = "Credit_Status_Change__e"
CHANNEL = f"/event/{EVENT}"
LIMIT_ERROR = {"statusCode": "LIMIT_EXCEEDED", "message": PUBLISH_LIMIT_MESSAGE, "fields": []}


def _event(i: int) -> dict:
    return {"Account_Id__c": f"001{i}", "New_Status__c": "HOLD"}


def _hourly(api) -> dict:
    return api.get("limits").json()["HourlyPublishedPlatformEvents"]


@pytest.fixture
def publish_max(org):
    """Lower the org's publish allowance for one test; the shared org gets its own back."""
    before = org.hourly_publish_max

    def lower(allowed_more: int) -> int:
        org.hourly_publish_max = org.bus.published_last_hour() + allowed_more
        return org.hourly_publish_max

    yield lower
    org.hourly_publish_max = before


def test_publish_limit__rest_publish_refused_when_spent_and_limits_count_down(
    org, api, publish_max
):
    limit = publish_max(2)
    assert _hourly(api) == {"Max": limit, "Remaining": 2}
    for i in range(2):
        ok = api.post(f"sobjects/{EVENT}", json=_event(i))
        assert ok.status_code == 201, ok.text
        assert ok.json()["errors"][0]["statusCode"] == "OPERATION_ENQUEUED"
        assert _hourly(api) == {"Max": limit, "Remaining": 1 - i}
    retained = org.bus.retained_count(CHANNEL)

    refused = api.post(f"sobjects/{EVENT}", json=_event(9))
    assert refused.status_code == 400
    assert refused.json() == [
        {"message": PUBLISH_LIMIT_MESSAGE, "errorCode": "LIMIT_EXCEEDED", "fields": []}
    ]
    assert org.bus.retained_count(CHANNEL) == retained  # nothing reached the bus
    assert _hourly(api) == {"Max": limit, "Remaining": 0}

    # The allowance is the bus's and the CometD server's alike: raising it lets events through.
    org.hourly_publish_max = limit + 1
    assert org.streaming.config.hourly_publish_limit == limit + 1
    assert api.post(f"sobjects/{EVENT}", json=_event(10)).status_code == 201


def test_publish_limit__collections_fail_per_record_and_all_or_none_rolls_back(
    org, api, publish_max
):
    publish_max(1)
    records = [{"attributes": {"type": EVENT}, **_event(i)} for i in range(2)]
    body = api.post("composite/sobjects", json={"allOrNone": False, "records": records}).json()
    assert body[0]["success"] is True
    assert body[0]["errors"][0]["statusCode"] == "OPERATION_ENQUEUED"
    assert body[1] == {"success": False, "errors": [LIMIT_ERROR]}
    assert _hourly(api)["Remaining"] == 0

    publish_max(1)
    rolled = api.post("composite/sobjects", json={"allOrNone": True, "records": records}).json()
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert rolled[1] == {"success": False, "errors": [LIMIT_ERROR]}
    assert _hourly(api)["Remaining"] == 1  # the rolled-back event was not published


def test_publish_limit__composite_subrequest_gets_the_rest_error(org, api, publish_max):
    publish_max(0)
    body = {
        "allOrNone": False,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"/services/data/v62.0/sobjects/{EVENT}",
                "referenceId": "e0",
                "body": _event(0),
            }
        ],
    }
    sub = api.post("composite", json=body).json()["compositeResponse"][0]
    assert sub["httpStatusCode"] == 400
    assert sub["body"][0]["errorCode"] == "LIMIT_EXCEEDED"


def test_publish_limit__configured_on_devorg():
    org = DevOrg(hourly_publish_max=1)
    try:
        client = create_devorg_app(org).test_client()
        headers = {"Authorization": f"Bearer {org.token_for()}"}
        url = "/services/data/v62.0"
        hourly = client.get(f"{url}/limits", headers=headers).get_json()
        assert hourly["HourlyPublishedPlatformEvents"] == {"Max": 1, "Remaining": 1}
        first = client.post(f"{url}/sobjects/{EVENT}", json=_event(0), headers=headers)
        assert first.status_code == 201
        second = client.post(f"{url}/sobjects/{EVENT}", json=_event(1), headers=headers)
        assert second.status_code == 400
        assert second.get_json()[0]["errorCode"] == "LIMIT_EXCEEDED"
        hourly = client.get(f"{url}/limits", headers=headers).get_json()
        assert hourly["HourlyPublishedPlatformEvents"] == {"Max": 1, "Remaining": 0}
    finally:
        org.stop()


# -- POST /_devorg/faults: the caller's mistakes are 400s with a JSON message ------------------


def test_admin_faults__unknown_stream_fault_is_400_not_500(org, api):
    response = api.admin("POST", "/_devorg/faults", json={"stream": {"drop_everything": True}})
    assert response.status_code == 400
    assert response.headers["X-Devorg"] == "admin"
    body = response.json()
    assert body["devorg"] is True
    assert body["error"] == "unknown streaming faults: ['drop_everything']"


def test_admin_faults__bad_values_are_400_and_report_what_was_applied(org, api):
    bad_setting = api.admin(
        "POST", "/_devorg/faults", json={"latency_ms": 0, "stream": {"config": {"bogus": 1}}}
    )
    assert bad_setting.status_code == 400
    assert "bogus" in bad_setting.json()["error"]
    assert bad_setting.json()["applied"] == {"latency_ms": 0.0}

    for body in ({"lock_records": ["x"], "lock_times": "often"}, {"stream": ["reset"]}, [1]):
        response = api.admin("POST", "/_devorg/faults", json=body)
        assert response.status_code == 400, body
        assert response.json()["devorg"] is True and response.json()["error"]
    org.faults.clear()
