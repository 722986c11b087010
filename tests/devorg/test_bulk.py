"""Checklist 24: Bulk API 2.0 ingest and query, raw and through simple-salesforce's bulk2."""

import csv
import io
import time

from tests.devorg.devorg_helpers import new_account


def wait_state(api, job_id, states=("JobComplete", "Failed", "Aborted"), kind="ingest"):
    deadline = time.time() + 20
    seen = []
    while time.time() < deadline:
        info = api.get(f"jobs/{kind}/{job_id}").json()
        if not seen or seen[-1] != info["state"]:
            seen.append(info["state"])
        if info["state"] in states:
            return info, seen
        time.sleep(0.02)
    raise AssertionError(f"job stuck: {seen}")


def test_ingest__states_upload_201_and_result_csvs(api):
    new_account(api, ERP_Customer_Number__c="C1")
    job = api.post(
        "jobs/ingest",
        json={
            "object": "Receivable__c",
            "operation": "insert",
            "contentType": "CSV",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        },
    ).json()
    assert (
        job["state"] == "Open" and job["object"] == "Receivable__c" and job["operation"] == "insert"
    )
    assert job["contentUrl"] == f"services/data/v62.0/jobs/ingest/{job['id']}/batches"
    assert job["id"].startswith("750") and job["apiVersion"] == 62.0
    data = (
        "Name,Type__c,ERP_Item_Id__c,Account__r.ERP_Customer_Number__c,Amount__c\n"
        "INV-1,Invoice,I1,C1,100.50\n"
        "INV-2,Invoice,I2,C9,5\n"
        "INV-3,Bogus,I3,C1,5\n"
        "INV-4,Invoice,I4,C1,abc\n"
    )
    # nothing happens before UploadComplete
    upload = api.put(
        f"{job['contentUrl'].removeprefix('services/data/v62.0/')}",
        data=data,
        headers={"Content-Type": "text/csv"},
    )
    assert upload.status_code == 201 and upload.content == b""
    time.sleep(0.1)
    assert api.get(f"jobs/ingest/{job['id']}").json()["state"] == "Open"
    closed = api.patch(f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    assert closed.status_code == 200 and closed.json()["state"] in (
        "UploadComplete",
        "InProgress",
        "JobComplete",
    )
    info, _ = wait_state(api, job["id"])
    assert info["state"] == "JobComplete" and info["jobType"] == "V2Ingest"
    assert info["numberRecordsProcessed"] == 4 and info["numberRecordsFailed"] == 3
    ok = api.get(f"jobs/ingest/{job['id']}/successfulResults/")
    assert ok.status_code == 200 and ok.headers["Content-Type"].startswith("text/csv")
    lines = ok.text.splitlines()
    assert (
        lines[0]
        == '"sf__Id","sf__Created","Name","Type__c","ERP_Item_Id__c","Account__r.ERP_Customer_Number__c","Amount__c"'
    )
    row = next(csv.reader(io.StringIO(lines[1])))
    assert row[0].startswith("a") and row[1] == "true" and row[2] == "INV-1"
    failed = list(csv.reader(io.StringIO(api.get(f"jobs/ingest/{job['id']}/failedResults/").text)))
    assert failed[0][:2] == ["sf__Id", "sf__Error"]
    errors = {r[2]: r[1] for r in failed[1:]}
    assert (
        errors["INV-2"]
        == "INVALID_FIELD:Foreign key external ID: C9 not found for field ERP_Customer_Number__c in entity Account: --"
    )
    assert errors["INV-3"].startswith(
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Type: bad value for restricted picklist field: Bogus:Type__c"
    )
    assert errors["INV-4"].startswith(
        "INVALID_TYPE_ON_FIELD_IN_RECORD:Amount: value not of required type: abc"
    )
    unprocessed = api.get(f"jobs/ingest/{job['id']}/unprocessedrecords/")
    assert unprocessed.text.splitlines() == [
        '"Name","Type__c","ERP_Item_Id__c","Account__r.ERP_Customer_Number__c","Amount__c"'
    ]


def test_ingest__abort_and_bad_state(api):
    job = api.post("jobs/ingest", json={"object": "Account", "operation": "insert"}).json()
    aborted = api.patch(f"jobs/ingest/{job['id']}", json={"state": "Aborted"}).json()
    assert aborted["state"] == "Aborted"
    late = api.put(
        f"jobs/ingest/{job['id']}/batches", data="Name\nA\n", headers={"Content-Type": "text/csv"}
    )
    assert late.status_code >= 400
    unknown = api.post("jobs/ingest", json={"object": "Nope__c", "operation": "insert"})
    assert unknown.status_code == 400


def test_bulk2_insert_and_upsert_with_simple_salesforce(sf, api, tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(
        "Name,ERP_Customer_Number__c,Credit_Limit__c\n"
        + "".join(f"A{i},C{i},{i * 10}\n" for i in range(300))
    )
    result = sf.bulk2.Account.insert(str(path), wait=0.05)
    assert result[0]["numberRecordsProcessed"] == 300 and result[0]["numberRecordsFailed"] == 0
    assert api.get("query", params={"q": "SELECT COUNT() FROM Account"}).json()["totalSize"] == 300
    path.write_text(
        "ERP_Customer_Number__c,Name,Credit_Status__c\nC1,,HOLD\nC999,New,OK\nC2,,NOPE\n"
    )
    upserted = sf.bulk2.Account.upsert(
        str(path), external_id_field="ERP_Customer_Number__c", wait=0.05
    )
    assert upserted[0]["numberRecordsProcessed"] == 3 and upserted[0]["numberRecordsFailed"] == 1
    successes = list(
        csv.DictReader(io.StringIO(sf.bulk2.Account.get_successful_records(upserted[0]["job_id"])))
    )
    assert sorted((r["ERP_Customer_Number__c"], r["sf__Created"]) for r in successes) == [
        ("C1", "false"),
        ("C999", "true"),
    ]
    status = api.get(
        "query",
        params={"q": "SELECT Credit_Status__c FROM Account WHERE ERP_Customer_Number__c = 'C1'"},
    ).json()
    assert status["records"][0]["Credit_Status__c"] == "HOLD"


def test_bulk2_query_pages_by_sforce_locator(org, api, sf):
    for i in range(5):
        new_account(api, Name=f"Q{i}")
    job = api.post(
        "jobs/query", json={"operation": "query", "query": "SELECT Name FROM Account ORDER BY Name"}
    ).json()
    wait_state(api, job["id"], kind="query")
    first = api.get(f"jobs/query/{job['id']}/results", params={"maxRecords": 3})
    assert first.headers["Sforce-Locator"] == "3" and first.headers["Sforce-NumberOfRecords"] == "3"
    assert first.text.splitlines() == ['"Name"', '"Q0"', '"Q1"', '"Q2"']
    rest = api.get(f"jobs/query/{job['id']}/results", params={"maxRecords": 3, "locator": "3"})
    assert rest.headers["Sforce-Locator"] == "null" and rest.text.splitlines()[1:] == [
        '"Q3"',
        '"Q4"',
    ]
    rows = [
        line
        for chunk in sf.bulk2.Account.query("SELECT Name FROM Account", wait=0.05)
        for line in chunk.splitlines()[1:]
    ]
    assert len(rows) == 5
