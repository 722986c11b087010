"""simple-salesforce 1.12.10, unmodified, against devorg over HTTPS."""

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)


def test_crud_round_trip(org, sf):
    created = sf.Account.create(
        {"Name": "Acme", "ERP_Customer_Number__c": "C1", "Credit_Limit__c": 5000}
    )
    assert created["success"] is True
    rid = created["id"]
    assert sf.Account.get(rid)["Credit_Available__c"] == 5000.0
    assert sf.Account.get_by_custom_id("ERP_Customer_Number__c", "C1")["Id"] == rid
    assert sf.Account.update(rid, {"Balance_Outstanding__c": 1250}) == 204
    assert sf.Account.get(rid)["Credit_Utilization__c"] == 25.0
    assert sf.Account.delete(rid) == 204
    with pytest.raises(SalesforceResourceNotFound) as deleted:
        sf.Account.get(rid)
    assert deleted.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    sf.query("SELECT COUNT() FROM Account")
    usage = sf.api_usage["api-usage"]
    assert usage.total == 15000 and usage.used == org.limits.used


def test_upsert_status_codes(sf):
    assert sf.Account.upsert("ERP_Customer_Number__c/C7", {"Name": "Seven"}) == 201
    assert sf.Account.upsert("ERP_Customer_Number__c/C7", {"Name": "Seven b"}) == 200
    raw = sf.Account.upsert("ERP_Customer_Number__c/C7", {"Name": "Seven c"}, raw_response=True)
    assert raw.json()["created"] is False


def test_errors_map_to_client_exceptions(org, sf):
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.Account.create({"Name": "A", "Credit_Status__c": "NOPE"})
    assert bad.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    with pytest.raises(SalesforceMalformedRequest):
        sf.query("SELECT Nope FROM Account")
    store = org.store
    a = sf.Account.create({"Name": "A", "ERP_Customer_Number__c": "D1"})["id"]
    b = sf.Account.create({"Name": "B", "ERP_Customer_Number__c": "D2"})["id"]
    with store.lock:
        store._put("Account", dict(store.get(b), ERP_Customer_Number__c="D1"))
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Account.upsert("ERP_Customer_Number__c/D1", {"Name": "x"})
    assert a
    org.limits.exhaust()
    with pytest.raises(SalesforceRefusedRequest):
        sf.Account.describe()
    org.limits.reset()
    org.expire_sessions()
    with pytest.raises(SalesforceExpiredSession):
        sf.Account.describe()


def test_describe_and_plain_http_port(org, sf, token):
    describe = sf.Receivable__c.describe()
    assert {f["name"] for f in describe["fields"]} >= {
        "Account__c",
        "ERP_Item_Id__c",
        "Open_Amount__c",
    }
    # the optional plain-HTTP port serves the same app (jsforce and aiohttp use it)
    response = requests.get(
        f"{org.http_url}/services/data/v62.0/sobjects/Account/describe",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200 and response.json()["name"] == "Account"


def test_salesforce_constructor_with_session_only(org, token):
    session = requests.Session()
    session.verify = str(org.ca_path)
    session.trust_env = False
    client = Salesforce(instance_url=org.url, session_id=token, session=session)
    assert client.sf_version == "59.0"
    assert client.query("SELECT COUNT() FROM Account")["totalSize"] == 0
