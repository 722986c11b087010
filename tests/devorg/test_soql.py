"""Checklist 22 and devorg's SOQL subset: parser, evaluator, errors, paging."""

import datetime as dt

import pytest

from tests.devorg.devorg_helpers import API, new_account


def bulk_accounts(org, count: int, **fields) -> list[str]:
    """Arrange many rows in-process (the wire is what the test asserts, not the setup)."""
    obj = org.schema.objects["Account"]
    created = []
    with org.store.lock:
        tx = org.store.begin()
        for i in range(count):
            body = {"Name": f"Bulk {i:05d}", "ERP_Customer_Number__c": f"B{i:05d}"}
            body.update(fields)
            created.append(org.records.create(tx, obj, body, org.context())["Id"])
        org.commit(tx, user_id=org.integration_user.id, change_origin="test")
    return created


def q(api, text, **kw):
    return api.get("query", params={"q": text}, **kw)


def test_query__shape_with_parent_relationship(api):
    account = new_account(api, ERP_Customer_Number__c="C1", Credit_Limit__c=100)
    rec = api.post(
        "sobjects/Receivable__c",
        json={
            "Name": "INV-1",
            "Type__c": "Invoice",
            "ERP_Item_Id__c": "I1",
            "Account__c": account,
            "Amount__c": 40,
        },
    )
    body = q(
        api,
        "SELECT Name, Account__r.Name, Account__r.Credit_Available__c, amount__c FROM Receivable__c",
    ).json()
    rid = rec.json()["id"]
    assert body == {
        "totalSize": 1,
        "done": True,
        "records": [
            {
                "attributes": {
                    "type": "Receivable__c",
                    "url": f"/services/data/v{API}/sobjects/Receivable__c/{rid}",
                },
                "Name": "INV-1",
                "Account__r": {
                    "attributes": {
                        "type": "Account",
                        "url": f"/services/data/v{API}/sobjects/Account/{account}",
                    },
                    "Name": "Acme",
                    "Credit_Available__c": 100.0,
                },
                "Amount__c": 40.0,
            }
        ],
    }


def test_query__where_operators(api):
    ids = {}
    for name, limit, status, erp in [
        ("Alpha", 100, "OK", "A1"),
        ("Beta", 200, "WATCH", "B1"),
        ("Gamma", None, "HOLD", "G1"),
        ("delta's", 50, None, "D1"),
    ]:
        ids[name] = new_account(
            api,
            Name=name,
            Credit_Limit__c=limit,
            Credit_Status__c=status,
            ERP_Customer_Number__c=erp,
        )

    def names(where, order="Name"):
        body = q(api, f"SELECT Name FROM Account WHERE {where} ORDER BY {order}").json()
        assert "records" in body, body
        return [r["Name"] for r in body["records"]]

    assert names("Credit_Limit__c > 90") == ["Alpha", "Beta"]
    assert names("Credit_Limit__c <= 100") == ["Alpha", "delta's"]
    assert names("Credit_Limit__c = null") == ["Gamma"]
    assert names("Credit_Limit__c != null") == ["Alpha", "Beta", "delta's"]
    assert names("Credit_Status__c IN ('ok', 'HOLD')") == ["Alpha", "Gamma"]
    assert names("Credit_Status__c NOT IN ('OK')") == ["Beta", "delta's", "Gamma"]
    assert names("Credit_Status__c <> 'OK'") == ["Beta", "delta's", "Gamma"]
    assert names("Name LIKE '%a'") == ["Alpha", "Beta", "Gamma"]
    assert names("Name LIKE 'delta\\'s'") == ["delta's"]
    assert names("name = 'ALPHA'") == ["Alpha"]
    assert names("(Credit_Limit__c > 150 OR Credit_Status__c = 'HOLD') AND NOT Name = 'Beta'") == [
        "Gamma"
    ]
    assert names("NOT (Credit_Limit__c < 150) AND Credit_Limit__c != null") == ["Beta"]
    assert names(f"Id = '{ids['Beta'][:15]}'") == ["Beta"]
    assert names("Credit_Limit__c > -1 AND IsDeleted = false", "Credit_Limit__c DESC") == [
        "Beta",
        "Alpha",
        "delta's",
    ]
    assert names("Name != null", "Credit_Limit__c DESC NULLS FIRST") == [
        "Gamma",
        "Beta",
        "Alpha",
        "delta's",
    ]
    assert names("Name != null", "Credit_Limit__c ASC") == ["Gamma", "delta's", "Alpha", "Beta"]
    assert names("Name != null", "Credit_Limit__c ASC NULLS LAST") == [
        "delta's",
        "Alpha",
        "Beta",
        "Gamma",
    ]


def test_query__limit_offset_count(api):
    for i in range(5):
        new_account(api, Name=f"N{i}")
    body = q(api, "SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 1").json()
    assert [r["Name"] for r in body["records"]] == ["N1", "N2"] and body["totalSize"] == 2
    assert q(api, "SELECT COUNT() FROM Account").json() == {
        "totalSize": 5,
        "done": True,
        "records": [],
    }
    assert q(api, "select count() from account where Name in ('N1','N3')").json()["totalSize"] == 2


def test_query__date_literals_and_datetimes(api):
    today = dt.datetime.now(dt.UTC).date()
    for name, delta in [("past", -40), ("recent", -3), ("today", 0), ("soon", 5)]:
        new_account(
            api, Name=name, Promise_To_Pay_Date__c=(today + dt.timedelta(days=delta)).isoformat()
        )

    def names(where):
        return sorted(
            r["Name"] for r in q(api, f"SELECT Name FROM Account WHERE {where}").json()["records"]
        )

    assert names("Promise_To_Pay_Date__c = TODAY") == ["today"]
    assert names("Promise_To_Pay_Date__c = LAST_N_DAYS:7") == ["recent", "today"]
    assert names("Promise_To_Pay_Date__c = NEXT_N_DAYS:7") == ["soon"]
    assert names("Promise_To_Pay_Date__c < LAST_N_DAYS:30") == ["past"]
    assert names("Promise_To_Pay_Date__c > TODAY") == ["soon"]
    assert names(f"Promise_To_Pay_Date__c >= {today.isoformat()}") == ["soon", "today"]
    assert names("CreatedDate = TODAY") == ["past", "recent", "soon", "today"]
    assert names("CreatedDate > 2000-01-01T00:00:00Z") == ["past", "recent", "soon", "today"]
    assert names("CreatedDate < 2000-01-01T00:00:00+01:00") == []
    assert names(
        "Promise_To_Pay_Date__c = THIS_YEAR OR Promise_To_Pay_Date__c = LAST_YEAR OR Promise_To_Pay_Date__c = NEXT_YEAR"
    ) == ["past", "recent", "soon", "today"]


@pytest.mark.parametrize(
    ("soql", "code", "column", "text"),
    [
        (
            "SELECT Nme FROM Account",
            "INVALID_FIELD",
            8,
            "No such column 'Nme' on entity 'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
        ),
        (
            "SELECT Id FROM Acount",
            "INVALID_TYPE",
            16,
            "sObject type 'Acount' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
        ),
        ("SELECT Id FRM Account", "MALFORMED_QUERY", 11, "unexpected token: FRM"),
        (
            "SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
            "MALFORMED_QUERY",
            56,
            "unexpected token: OR",
        ),
        (
            "SELECT Id FROM Account WHERE Credit_Limit__c = '5'",
            "INVALID_FIELD",
            48,
            "value of filter criterion for field 'Credit_Limit__c' must be of type double and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE Name = 5",
            "INVALID_FIELD",
            37,
            "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE Promise_To_Pay_Date__c = '2024-01-01'",
            "INVALID_FIELD",
            55,
            "value of filter criterion for field 'Promise_To_Pay_Date__c' must be of type date and should not be enclosed in quotes",
        ),
        (
            "SELECT Id, Foo__r.Name FROM Receivable__c",
            "INVALID_FIELD",
            12,
            "Didn't understand relationship 'Foo__r' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
        ),
        (
            "SELECT Id, Name, name FROM Account",
            "MALFORMED_QUERY",
            18,
            "duplicate field selected: name",
        ),
        ("SELECT Id FROM Account LIMIT", "MALFORMED_QUERY", 29, "unexpected token: <EOF>"),
    ],
)
def test_query__errors_with_row_and_column(api, soql, code, column, text):
    response = q(api, soql)
    assert response.status_code == 400
    caret = " " * (column - 1) + "^"
    expected = f"\n{soql}\n{caret}\nERROR at Row:1:Column:{column}\n{text}"
    assert response.json() == [{"message": expected, "errorCode": code}]


def test_query__invalid_id_filter(api):
    response = q(api, "SELECT Id FROM Account WHERE Id = 'abc'")
    assert response.status_code == 400
    assert response.json() == [
        {"message": "invalid ID field: abc", "errorCode": "INVALID_QUERY_FILTER_OPERATOR"}
    ]


def test_query__string_escapes(api):
    new_account(api, Name="back\\slash", Description="line\nbreak")
    assert q(api, "SELECT Name FROM Account WHERE Name = 'back\\\\slash'").json()["totalSize"] == 1
    assert (
        q(api, "SELECT Name FROM Account WHERE Description = 'line\\nbreak'").json()["totalSize"]
        == 1
    )
    bad = q(api, "SELECT Name FROM Account WHERE Name = 'a\\qb'")
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_query_more__2000_pages_and_next_records_url(org, api, sf):
    bulk_accounts(org, 2300)
    first = q(api, "SELECT Id, Name FROM Account ORDER BY Name").json()
    assert first["totalSize"] == 2300 and first["done"] is False and len(first["records"]) == 2000
    assert list(first) == ["totalSize", "done", "nextRecordsUrl", "records"]
    url = first["nextRecordsUrl"]
    assert url.startswith(f"/services/data/v{API}/query/01g") and url.endswith("-2000")
    second = api.get(url).json()
    assert (
        second["done"] is True and "nextRecordsUrl" not in second and len(second["records"]) == 300
    )
    assert second["records"][-1]["Name"] == "Bulk 02299"
    # the real client pages through it unmodified
    everything = sf.query_all("SELECT Id FROM Account")
    assert everything["totalSize"] == 2300 and len(everything["records"]) == 2300


def test_query__batch_size_option(org, api):
    bulk_accounts(org, 450)
    body = q(
        api, "SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=200"}
    ).json()
    assert len(body["records"]) == 200 and body["nextRecordsUrl"].endswith("-200")
    nxt = api.get(body["nextRecordsUrl"]).json()
    assert len(nxt["records"]) == 200 and nxt["nextRecordsUrl"].endswith("-400")
    tiny = q(api, "SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=10"}).json()
    assert len(tiny["records"]) == 200  # 200 is the minimum


def test_query_all__includes_deleted(api, sf):
    keep = new_account(api, Name="keep")
    gone = new_account(api, Name="gone")
    assert api.delete(f"sobjects/Account/{gone}").status_code == 204
    assert [r["Id"] for r in q(api, "SELECT Id FROM Account").json()["records"]] == [keep]
    body = api.get(
        "queryAll", params={"q": "SELECT Id, IsDeleted FROM Account ORDER BY Name"}
    ).json()
    assert [(r["Id"], r["IsDeleted"]) for r in body["records"]] == [(gone, True), (keep, False)]
    assert sf.query_all("SELECT Id FROM Account", include_deleted=True)["totalSize"] == 2


def test_query__bad_locator(api):
    response = api.get("query/01gDv0000000001AAA-2000")
    assert (
        response.status_code == 400 and response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    )
