"""Checklist 19, 20, 21 and Salesforce's validation errors, asserted on the raw wire."""

import re

from devorg import ids
from tests.devorg.devorg_helpers import API, new_account

JSON = "application/json;charset=UTF-8"
LIMIT_INFO = re.compile(r"^api-usage=\d+/15000$")


def test_versions__no_auth_and_labels(org, api):
    response = api.get("/services/data/", token="")
    assert response.status_code == 200
    versions = response.json()
    assert versions[0] == {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    # The newest version the wire facts use, as an org of this era lists it last.
    assert versions[-1] == {
        "label": "Spring '26",
        "url": "/services/data/v66.0",
        "version": "66.0",
    }
    assert api.get("/services/data/v66.0/sobjects").status_code == 200


def test_retired_and_unknown_versions(api):
    gone = api.get("/services/data/v30.0/sobjects")
    assert gone.status_code == 410
    missing = api.get("/services/data/v99.0/sobjects")
    assert missing.status_code == 404
    assert missing.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]


def test_create__201_location_content_type_and_limit_info(api):
    response = api.post("sobjects/Account", json={"Name": "Acme", "ERP_Customer_Number__c": "C1"})
    assert response.status_code == 201
    body = response.json()
    assert list(body) == ["id", "success", "errors"]
    assert body["success"] is True and body["errors"] == []
    assert re.fullmatch(r"001[A-Za-z0-9]{12}[A-Z0-5]{3}", body["id"])
    assert response.headers["Location"] == f"/services/data/v{API}/sobjects/Account/{body['id']}"
    assert response.headers["Content-Type"] == JSON
    assert LIMIT_INFO.match(response.headers["Sforce-Limit-Info"])


def test_read__attributes_fields_and_formulas(api):
    rid = new_account(api, Credit_Limit__c=1000, Balance_Outstanding__c=250.5)
    record = api.get(f"sobjects/Account/{rid}").json()
    assert record["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v{API}/sobjects/Account/{rid}",
    }
    assert record["Id"] == rid and record["Name"] == "Acme" and record["IsDeleted"] is False
    assert record["Credit_Available__c"] == 749.5
    assert (
        record["Credit_Utilization__c"] == 25.1
    )  # a percent formula's API value is the percentage
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", record["CreatedDate"])
    assert record["Credit_Status__c"] is None
    subset = api.get(f"sobjects/Account/{rid}", params={"fields": "Name,credit_limit__c"}).json()
    assert list(subset) == ["attributes", "Name", "Credit_Limit__c"]
    # a 15-character id reaches the same record
    assert api.get(f"sobjects/Account/{rid[:15]}").json()["Id"] == rid


def test_update_and_delete__204_no_body_then_entity_is_deleted(api):
    rid = new_account(api)
    updated = api.patch(
        f"sobjects/Account/{rid}", json={"Credit_Status__c": "HOLD", "Days_Past_Due__c": 61}
    )
    assert updated.status_code == 204 and updated.content == b""
    assert LIMIT_INFO.match(updated.headers["Sforce-Limit-Info"])
    assert api.get(f"sobjects/Account/{rid}").json()["Credit_Status__c"] == "HOLD"
    deleted = api.delete(f"sobjects/Account/{rid}")
    assert deleted.status_code == 204 and deleted.content == b""
    gone = api.get(f"sobjects/Account/{rid}")
    assert gone.status_code == 404
    assert gone.json() == [
        {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}
    ]
    again = api.patch(f"sobjects/Account/{rid}", json={"Name": "x"})
    assert again.status_code == 404 and again.json()[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_not_found_and_malformed_ids(api):
    missing = api.get(f"sobjects/Account/{ids.to18('001Dv0000099999')}")
    assert missing.status_code == 404
    assert missing.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]
    contact_id = api.post("sobjects/Contact", json={"LastName": "Doe"}).json()["id"]
    wrong_type = api.patch(f"sobjects/Account/{contact_id}", json={"Name": "x"})
    assert wrong_type.status_code == 400
    assert wrong_type.json() == [
        {
            "message": f"Account ID: id value of incorrect type: {contact_id}",
            "errorCode": "MALFORMED_ID",
            "fields": ["Id"],
        }
    ]
    unknown_object = api.get("sobjects/Nope__c")
    assert (
        unknown_object.status_code == 404 and unknown_object.json()[0]["errorCode"] == "NOT_FOUND"
    )


def test_write_errors__exact_codes_and_messages(api):
    cases = [
        (
            {"Name": "A", "Foo__c": 1},
            [
                {
                    "message": "No such column 'Foo__c' on sobject of type Account",
                    "errorCode": "INVALID_FIELD",
                    "fields": [],
                }
            ],
        ),
        (
            {"Name": "A", "Credit_Status__c": "BAD"},
            [
                {
                    "message": "Credit Status: bad value for restricted picklist field: BAD",
                    "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    "fields": ["Credit_Status__c"],
                }
            ],
        ),
        (
            {"Credit_Limit__c": 5},
            [
                {
                    "message": "Required fields are missing: [Name]",
                    "errorCode": "REQUIRED_FIELD_MISSING",
                    "fields": ["Name"],
                }
            ],
        ),
        (
            {"Name": "A", "Credit_Available__c": 5},
            [
                {
                    "message": "Unable to create/update fields: Credit_Available__c. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                    "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
                    "fields": ["Credit_Available__c"],
                }
            ],
        ),
        ({"Name": "A", "CreatedDate": "2020-01-01T00:00:00Z"}, None),
        (
            {"Name": "A" * 256},
            [
                {
                    "message": f"Account Name: data value too large: {'A' * 256} (max length=255)",
                    "errorCode": "STRING_TOO_LONG",
                    "fields": ["Name"],
                }
            ],
        ),
    ]
    for body, expected in cases:
        response = api.post("sobjects/Account", json=body)
        assert response.status_code == 400, body
        if expected is not None:
            assert response.json() == expected, body
        else:
            assert response.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_write_errors__wrong_json_types(api):
    raw = '{"Name":"A","Credit_Limit__c":"lots"}'
    response = api.post("sobjects/Account", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == [
        {
            "message": "Cannot deserialize instance of currency from VALUE_STRING value lots or request may be missing a required field at [line:1, column:37]",
            "errorCode": "JSON_PARSER_ERROR",
        }
    ]
    not_json = api.post(
        "sobjects/Account", data="{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    # numeric strings are accepted for numbers, as Salesforce's reader does
    assert (
        api.post("sobjects/Account", json={"Name": "A", "Credit_Limit__c": "12.5"}).status_code
        == 201
    )


def test_duplicate_value_on_unique_external_id(api):
    first = new_account(api, ERP_Customer_Number__c="C-9")
    response = api.post("sobjects/Account", json={"Name": "B", "ERP_Customer_Number__c": "c-9"})
    assert response.status_code == 400
    assert response.json() == [
        {
            "message": f"duplicate value found: ERP_Customer_Number__c duplicates value on record with id: {first}",
            "errorCode": "DUPLICATE_VALUE",
            "fields": [],
        }
    ]


def test_upsert__201_200_204_300_404(api, org):
    created = api.patch("sobjects/Account/ERP_Customer_Number__c/C1", json={"Name": "Acme"})
    assert created.status_code == 201
    rid = created.json()["id"]
    assert created.json() == {"id": rid, "success": True, "errors": [], "created": True}
    assert created.headers["Location"] == f"/services/data/v{API}/sobjects/Account/{rid}"
    updated = api.patch("sobjects/Account/ERP_Customer_Number__c/C1", json={"Name": "Acme 2"})
    assert updated.status_code == 200
    assert updated.json() == {"id": rid, "success": True, "errors": [], "created": False}
    old_api = api.patch(
        "/services/data/v45.0/sobjects/Account/ERP_Customer_Number__c/C1", json={"Name": "Acme 3"}
    )
    assert old_api.status_code == 204 and old_api.content == b""
    assert api.get(f"sobjects/Account/{rid}").json()["Name"] == "Acme 3"
    bad_field = api.patch("sobjects/Account/Nope__c/C1", json={"Name": "x"})
    assert bad_field.status_code == 404
    assert bad_field.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]
    update_only = api.patch(
        "sobjects/Account/ERP_Customer_Number__c/NEW",
        params={"updateOnly": "true"},
        json={"Name": "x"},
    )
    assert update_only.status_code == 404
    assert api.get("query", params={"q": "SELECT COUNT() FROM Account"}).json()["totalSize"] == 1


def test_upsert__300_on_several_matches(api):
    # Receivable__c.ERP_Item_Id__c is unique, so use Contact-free path: two Accounts cannot share a
    # unique value; a non-unique external id is needed. Task has none, so build one via Id lookups.
    a = new_account(api, ERP_Customer_Number__c="X1")
    b = new_account(api, ERP_Customer_Number__c="X2")
    # Simulate a legacy duplicate (unique index created after data existed): written straight
    # into the org's store, past the unique check of the REST API.
    store = api.org.store
    with store.lock:
        rec = dict(store.get(b), ERP_Customer_Number__c="X1")
        store._put("Account", rec)
    response = api.patch("sobjects/Account/ERP_Customer_Number__c/X1", json={"Name": "x"})
    assert response.status_code == 300
    assert sorted(response.json()) == sorted(
        [
            f"/services/data/v{API}/sobjects/Account/{a}",
            f"/services/data/v{API}/sobjects/Account/{b}",
        ]
    )


def test_parent_by_external_id_in_body(api):
    account = new_account(api, ERP_Customer_Number__c="C1")
    created = api.post(
        "sobjects/Receivable__c",
        json={
            "Name": "INV-1",
            "Type__c": "Invoice",
            "ERP_Item_Id__c": "I-1",
            "Account__r": {"ERP_Customer_Number__c": "C1"},
        },
    )
    assert created.status_code == 201, created.text
    rec = api.get(f"sobjects/Receivable__c/{created.json()['id']}").json()
    assert rec["Account__c"] == account
    missing = api.post(
        "sobjects/Receivable__c",
        json={
            "Name": "INV-2",
            "Type__c": "Invoice",
            "ERP_Item_Id__c": "I-2",
            "Account__r": {"ERP_Customer_Number__c": "C9"},
        },
    )
    assert missing.status_code == 400
    assert missing.json() == [
        {
            "message": "Foreign key external ID: C9 not found for field ERP_Customer_Number__c in entity Account",
            "errorCode": "INVALID_FIELD",
            "fields": [],
        }
    ]


def test_validation_rule__credit_hold_blocks_closed_won(api, org):
    account = new_account(api, Credit_Status__c="HOLD")
    body = {
        "Name": "Deal",
        "AccountId": account,
        "StageName": "Closed Won",
        "CloseDate": "2026-12-01",
    }
    blocked = api.post("sobjects/Opportunity", json=body)
    assert blocked.status_code == 400
    error = blocked.json()[0]
    assert error["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert error["message"].startswith("This customer is on Credit Hold")
    opp = api.post("sobjects/Opportunity", json=dict(body, StageName="Prospecting"))
    assert opp.status_code == 201
    still = api.patch(f"sobjects/Opportunity/{opp.json()['id']}", json={"StageName": "Closed Won"})
    assert still.status_code == 400
    org.auth.grant_permission(org.integration_user.username, "Credit_Hold_Override")
    allowed = api.patch(
        f"sobjects/Opportunity/{opp.json()['id']}", json={"StageName": "Closed Won"}
    )
    assert allowed.status_code == 204


def test_validation_rule__order_activation_and_override_date(api):
    account = new_account(api, Credit_Status__c="HOLD")
    body = {"AccountId": account, "EffectiveDate": "2026-01-01", "Status": "Activated"}
    assert (
        api.post("sobjects/Order", json=body).json()[0]["errorCode"]
        == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    )
    api.patch(f"sobjects/Account/{account}", json={"Credit_Hold_Override_Until__c": "2999-01-01"})
    assert api.post("sobjects/Order", json=body).status_code == 201


def test_restrict_delete_of_parent_with_actions(api):
    account = new_account(api)
    action = api.post(
        "sobjects/Collection_Action__c", json={"Account__c": account, "Type__c": "Call"}
    )
    assert action.status_code == 201, action.text
    response = api.delete(f"sobjects/Account/{account}")
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "DELETE_FAILED"


def test_describe__fields_and_picklists(api):
    describe = api.get("sobjects/Account/describe").json()
    assert describe["name"] == "Account" and describe["keyPrefix"] == "001"
    fields = {f["name"]: f for f in describe["fields"]}
    status = fields["Credit_Status__c"]
    assert (
        status["type"] == "picklist"
        and status["restrictedPicklist"] is True
        and status["nillable"] is True
    )
    assert [p["value"] for p in status["picklistValues"]] == ["OK", "WATCH", "HOLD"]
    erp = fields["ERP_Customer_Number__c"]
    assert erp["externalId"] and erp["unique"] and erp["createable"] and erp["updateable"]
    avail = fields["Credit_Available__c"]
    assert avail["calculated"] and not avail["createable"] and not avail["updateable"]
    assert fields["Name"]["nillable"] is False and fields["Name"]["length"] == 255
    receivable = {f["name"]: f for f in api.get("sobjects/Receivable__c/describe").json()["fields"]}
    assert receivable["Account__c"]["referenceTo"] == ["Account"]
    assert receivable["Account__c"]["relationshipName"] == "Account__r"
    glob = api.get("sobjects").json()
    assert glob["encoding"] == "UTF-8" and glob["maxBatchSize"] == 200
    assert {"Account", "Receivable__c", "Credit_Status_Change__e"} <= {
        o["name"] for o in glob["sobjects"]
    }


def test_method_not_allowed_is_an_error_array(api):
    response = api.put("sobjects/Account")
    assert response.status_code == 405
    assert response.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_write_errors__array_for_scalar_field(api):
    raw = '{"Name":["A"]}'
    response = api.post("sobjects/Account", data=raw, headers={"Content-Type": "application/json"})
    assert response.json() == [
        {
            "message": "Cannot deserialize instance of string from START_ARRAY value [line:1, column:10]",
            "errorCode": "JSON_PARSER_ERROR",
        }
    ]


def test_write_errors__an_array_where_a_record_belongs(api):
    account_id = new_account(api)
    expected = [
        {
            "message": "Cannot deserialize instance of Account from START_ARRAY value [line:1, column:1]",
            "errorCode": "JSON_PARSER_ERROR",
        }
    ]
    for method, path in [
        ("post", "sobjects/Account"),
        ("post", "sobjects/Account/Id"),
        ("patch", f"sobjects/Account/{account_id}"),
        ("patch", "sobjects/Account/ERP_Customer_Number__c/C-1"),
    ]:
        response = getattr(api, method)(
            path, data='[{"Name": "A"}]', headers={"Content-Type": "application/json"}
        )
        assert (response.status_code, response.json()) == (400, expected), (method, path)


def test_dates_outside_1700_to_4000_are_refused_as_salesforce_does(api):
    """SAP's "no due date" 9999-12-31 and year 1 fail the write; the range's ends are kept."""
    for value in ("9999-12-31", "0001-01-01", "1699-12-31"):
        answer = api.post("sobjects/Account", json={"Name": "A", "Promise_To_Pay_Date__c": value})
        assert answer.status_code == 400, value
        [error] = answer.json()
        assert error["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
        assert error["fields"] == ["Promise_To_Pay_Date__c"] and value in error["message"]
    for value in ("1700-01-01", "4000-12-31"):
        created = api.post("sobjects/Account", json={"Name": "A", "Promise_To_Pay_Date__c": value})
        assert created.status_code == 201, created.text
