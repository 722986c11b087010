"""The User Interface API subset behind lightning/uiRecordApi and lightning/uiObjectInfoApi: the
shapes Lightning Data Service reads, the writes going through the org's own validation and change
events, and hostile requests answered with the UI API's errors and nothing changed."""

from __future__ import annotations

import pytest

from tests.devorg.devorg_helpers import new_account

MASTER = "012000000000000AAA"


@pytest.fixture
def account(api) -> str:
    return new_account(
        api,
        Name="Harbour Tools Ltd",
        ERP_Customer_Number__c="C-200",
        Credit_Status__c="HOLD",
        Overdue_Amount__c=1234.5,
        Credit_Limit__c=1000,
    )


def test_get_record__fields_values_and_picklist_labels(api, account):
    response = api.get(
        f"ui-api/records/{account}",
        params={"fields": "Account.Name,Account.Credit_Status__c,Account.Overdue_Amount__c"},
    )
    assert response.status_code == 200
    record = response.json()
    assert record["apiName"] == "Account"
    assert record["id"] == account
    assert record["recordTypeId"] == MASTER
    assert record["fields"]["Name"] == {"displayValue": None, "value": "Harbour Tools Ltd"}
    assert record["fields"]["Credit_Status__c"] == {"displayValue": "Credit Hold", "value": "HOLD"}
    assert record["fields"]["Overdue_Amount__c"]["value"] == 1234.5
    assert set(record["fields"]) == {"Name", "Credit_Status__c", "Overdue_Amount__c"}


def test_get_record__formula_and_parent_fields(api, account):
    response = api.get(
        f"ui-api/records/{account}",
        params={
            "fields": "Account.Name",
            "optionalFields": "Account.Credit_Available__c,Account.Owner.Name",
        },
    )
    fields = response.json()["fields"]
    rest = api.get(f"sobjects/Account/{account}").json()
    assert fields["Credit_Available__c"]["value"] == rest["Credit_Available__c"] is not None
    owner = fields["Owner"]
    assert owner["value"]["apiName"] == "User"
    assert owner["value"]["fields"]["Name"]["value"] == owner["displayValue"]


def test_get_record__unknown_optional_field_is_left_out_required_one_refused(api, account):
    optional = api.get(
        f"ui-api/records/{account}",
        params={
            "fields": "Account.Name",
            "optionalFields": "Account.No_Such__c,Opportunity.AccountId",
        },
    )
    assert optional.status_code == 200
    assert set(optional.json()["fields"]) == {"Name"}
    required = api.get(f"ui-api/records/{account}", params={"fields": "Account.No_Such__c"})
    assert required.status_code == 400
    assert required.json()[0]["errorCode"] == "INVALID_FIELD"


@pytest.mark.parametrize(
    "record_id", ["001000000000000AAA", "not-an-id", "'; DROP TABLE", "0" * 400]
)
def test_get_record__missing_or_malformed_id_is_not_found(api, record_id):
    response = api.get(f"ui-api/records/{record_id}", params={"fields": "Account.Name"})
    assert response.status_code == 404
    assert response.json() == [
        {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
    ]


def test_get_record__needs_fields_and_a_session(api, account):
    assert api.get(f"ui-api/records/{account}").status_code == 400
    too_many = ",".join(f"Account.F{i}__c" for i in range(501))
    assert (
        api.get(f"ui-api/records/{account}", params={"optionalFields": too_many}).status_code == 400
    )
    assert (
        api.get(
            f"ui-api/records/{account}", params={"fields": "Account.Name"}, token="x"
        ).status_code
        == 401
    )


def test_create_record__saved_with_change_event_and_shown_back(api, org, account):
    response = api.post(
        "ui-api/records",
        json={
            "apiName": "Collection_Action__c",
            "fields": {
                "Account__c": account,
                "Type__c": "Promise to Pay",
                "Promised_Amount__c": 500,
                "Promised_Date__c": "2030-01-31",
            },
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["apiName"] == "Collection_Action__c"
    assert created["fields"]["Promised_Amount__c"]["value"] == 500
    stored = api.get(f"sobjects/Collection_Action__c/{created['id']}").json()
    assert stored["Type__c"] == "Promise to Pay"
    assert stored["Account__c"] == account


def test_create_record__invalid_value_is_a_record_error_and_nothing_saved(api, account):
    response = api.post(
        "ui-api/records",
        json={
            "apiName": "Collection_Action__c",
            "fields": {"Account__c": account, "Type__c": "Bogus"},
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["enhancedErrorType"] == "RecordError"
    [error] = body["output"]["fieldErrors"]["Type__c"]
    assert error["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    count = api.get("query", params={"q": "SELECT COUNT() FROM Collection_Action__c"}).json()
    assert count["totalSize"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"apiName": "Nope__c", "fields": {}},
        {"apiName": "Credit_Status_Change__e", "fields": {}},
        {"apiName": "Account"},
        {"apiName": "Account", "fields": ["Name"]},
        [],
    ],
)
def test_create_record__hostile_bodies_refused(api, body):
    response = api.post("ui-api/records", json=body)
    assert response.status_code == 400
    assert api.get("query", params={"q": "SELECT COUNT() FROM Account"}).json()["totalSize"] == 0


def test_create_record__not_json_refused(api):
    response = api.post(
        "ui-api/records", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_update_and_delete_record(api, account):
    response = api.patch(
        f"ui-api/records/{account}", json={"fields": {"Id": account, "Credit_Limit__c": 5000}}
    )
    assert response.status_code == 200
    assert response.json()["fields"]["Credit_Limit__c"]["value"] == 5000
    refused = api.patch(f"ui-api/records/{account}", json={"fields": {"Credit_Status__c": "MAYBE"}})
    assert refused.status_code == 400
    assert "Credit_Status__c" in refused.json()["output"]["fieldErrors"]
    assert api.get(f"sobjects/Account/{account}").json()["Credit_Status__c"] == "HOLD"
    assert api.delete(f"ui-api/records/{account}").status_code == 204
    assert (
        api.get(f"ui-api/records/{account}", params={"fields": "Account.Name"}).status_code == 404
    )


def test_object_info_and_picklist_values(api):
    info = api.get("ui-api/object-info/Collection_Action__c").json()
    assert info["apiName"] == "Collection_Action__c"
    assert info["defaultRecordTypeId"] == MASTER
    assert info["createable"] is True
    assert info["fields"]["Promised_Amount__c"]["dataType"] == "Currency"
    picklists = api.get(f"ui-api/object-info/Collection_Action__c/picklist-values/{MASTER}").json()
    types = [v["value"] for v in picklists["picklistFieldValues"]["Type__c"]["values"]]
    assert "Promise to Pay" in types
    assert api.get("ui-api/object-info/Nope__c").status_code == 404
    assert (
        api.get("ui-api/object-info/Account/picklist-values/012000000000001AAA").status_code == 404
    )
