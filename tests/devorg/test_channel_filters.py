"""Custom change-event channels and their members' filter expressions (devorg.channel_filters).

Salesforce documents the filter language (a SOQL subset over the entity's fields and
``ChangeEventHeader`` fields) in "Filter Your Stream of Change Events with Channels"; devorg
reads the package's ``platformEventChannels`` and ``platformEventChannelMembers`` and delivers
on ``/data/<Name>__chn`` only the change events that pass.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from devorg.channel_filters import ChannelMember, FilterError, parse
from devorg.org import DevOrg
from devorg.schema import load_schema

from tests.devorg.devorg_helpers import API, Api

SFDX = Path(__file__).resolve().parents[2] / "sfdx"
WORKER = "/data/CreditControlSync__chn"
OWN = {"Sforce-Call-Options": "client=credit-control"}


def _passes(expression: str, header=None, record=None) -> bool:
    member = ChannelMember.build("X__chn", "Account", expression)
    values = record or {}
    return member.matches(header or {}, values.get)


# -- the expression language ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "record", "expected"),
    [
        ("Industry = 'Agriculture'", {"Industry": "agriculture"}, True),  # case-insensitive
        ("Industry = 'Agriculture'", {"Industry": "Banking"}, False),
        ("Industry != 'Agriculture'", {}, True),  # a null differs
        ("Industry LIKE 'Agri%'", {"Industry": "Agriculture"}, True),
        ("Industry LIKE 'A_ri%'", {"Industry": "Banking"}, False),
        ("NumberOfEmployees > 1000", {"NumberOfEmployees": 1500}, True),
        ("NumberOfEmployees > 1000", {"NumberOfEmployees": None}, False),
        ("NumberOfEmployees >= 1000", {"NumberOfEmployees": 1000}, True),
        ("Industry IN ('Banking', 'Energy')", {"Industry": "energy"}, True),
        ("Industry NOT IN ('Banking', 'Energy')", {"Industry": "Energy"}, False),
        ("Industry NOT IN ('Banking')", {}, True),
        ("IsActive__c = false", {}, True),  # a null checkbox is false
        ("Due__c < 2026-12-01", {"Due__c": "2026-11-30"}, True),
        (
            "NumberOfEmployees > 1000 AND (Industry = 'Agriculture' OR Industry = 'Banking')",
            {"NumberOfEmployees": 2000, "Industry": "Banking"},
            True,
        ),
        (
            "Industry = 'Banking' OR Industry = 'Energy' AND NumberOfEmployees > 10",
            {"Industry": "Banking", "NumberOfEmployees": 1},
            True,  # AND binds tighter than OR
        ),
        ("Name = 'O\\'Brien'", {"Name": "O'Brien"}, True),
    ],
)
def test_entity_field_expressions(expression, record, expected):
    assert _passes(expression, record=record) is expected


def test_header_fields_compare_by_name_case_insensitively():
    header = {"changeType": "UPDATE", "changeOrigin": "com/salesforce/api/rest/62.0;client=x"}
    assert _passes("ChangeEventHeader.changeType = 'UPDATE'", header)
    assert not _passes("ChangeEventHeader.changetype = 'CREATE'", header)
    assert _passes("ChangeEventHeader.changeOrigin LIKE '%client=x'", header)
    assert not _passes(
        "ChangeEventHeader.changeOrigin NOT IN ('com/salesforce/api/rest/62.0;client=x')", header
    )


@pytest.mark.parametrize(
    "expression",
    [
        "ChangeEventHeader.recordIds = 'x'",  # array header fields cannot be filtered
        "ChangeEventHeader.changedFields = 'x'",
        "NOT Industry = 'x'",  # no NOT operator of its own
        "Industry NOT LIKE 'x%'",
        "Industry = 'unterminated",
        "Industry = ",
        "Industry 'x'",
        "= 'x'",
        "Owner.Name = 'x'",  # relationship paths are not fields of the event
        "(Industry = 'x'",
        "Industry = 'x' AND",
        "Industry IN ()",
        "Industry = 'x'; DROP",
    ],
)
def test_malformed_expressions_are_refused(expression):
    with pytest.raises(FilterError):
        parse(expression)


def test_a_bad_filter_in_the_package_stops_loading_and_names_the_file(tmp_path):
    sfdx = _package_copy(tmp_path, "Industry NOT LIKE 'x%'")
    with pytest.raises(ValueError, match=r"Hot_chn_AccountChangeEvent.*filterExpression"):
        load_schema(sfdx)


def test_a_member_of_an_undefined_channel_stops_loading(tmp_path):
    sfdx = _package_copy(tmp_path, None)
    (sfdx / "main/default/platformEventChannels/Hot__chn.platformEventChannel-meta.xml").unlink()
    with pytest.raises(ValueError, match="Hot__chn is not defined"):
        load_schema(sfdx)


# -- the package's channel in a running org -----------------------------------------------------


def test_the_package_defines_the_worker_channel(org):
    assert org.bus.channel_exists(WORKER)
    assert not org.bus.channel_exists("/data/Unknown__chn")


def _account(api: Api, headers=None, **fields) -> str:
    body = {"Name": "Filtered", **fields}
    response = api.post("sobjects/Account", json=body, headers=dict(headers or {}))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _ids(org, channel: str, mark: int) -> list[str]:
    return [
        rid
        for e in org.bus.events_after(channel, mark)
        for rid in e.data["payload"]["ChangeEventHeader"]["recordIds"]
    ]


def test_the_services_own_rest_writes_stay_off_the_worker_channel(org, api):
    mark = org.bus.last_replay_id()
    own = _account(api, OWN)
    api.patch(f"sobjects/Account/{own}", json={"Credit_Status__c": "HOLD"}, headers=OWN)
    person = _account(api)
    api.patch(f"sobjects/Account/{person}", json={"Credit_Limit__c": 5000})
    assert _ids(org, "/data/AccountChangeEvent", mark) == [own, own, person, person]
    assert _ids(org, WORKER, mark) == [person, person]
    # /data/ChangeEvents carries the standard channel's events once, not the custom copies.
    assert len(org.bus.events_after("/data/ChangeEvents", mark)) == 4
    delivered = org.bus.events_after(WORKER, mark)[-1].data
    assert delivered["payload"]["Credit_Limit__c"] == 5000
    assert (
        delivered["payload"]["ChangeEventHeader"]["changeOrigin"]
        == f"com/salesforce/api/rest/{API}"
    )


def test_another_client_name_is_not_filtered(org, api):
    mark = org.bus.last_replay_id()
    other = _account(api, {"Sforce-Call-Options": "client=data-loader"})
    assert _ids(org, WORKER, mark) == [other]


def test_the_services_own_bulk_job_stays_off_the_worker_channel(org, api):
    mark = org.bus.last_replay_id()
    job = api.post(
        "jobs/ingest",
        json={"object": "Account", "operation": "insert", "contentType": "CSV"},
        headers=OWN,
    ).json()
    put = api.put(
        f"jobs/ingest/{job['id']}/batches",
        data="Name,ERP_Customer_Number__c\nB1,B1\nB2,B2\n",
        headers={"Content-Type": "text/csv"},
    )
    assert put.status_code == 201
    api.patch(f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    deadline = time.monotonic() + 10
    while api.get(f"jobs/ingest/{job['id']}").json()["state"] != "JobComplete":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert len(_ids(org, "/data/AccountChangeEvent", mark)) == 2
    assert _ids(org, WORKER, mark) == []


def test_entity_field_filters_enrich_the_event(tmp_path):
    """A field named in the filter travels with every event on that channel (auto-enrichment)."""
    org = DevOrg(_package_copy(tmp_path, "Credit_Status__c = 'HOLD'"), key_dir=tmp_path / "keys")
    org.start()
    try:
        api = Api(org, org.token_for())
        held = _account(api, Credit_Status__c="HOLD")
        fine = _account(api, Credit_Status__c="OK")
        mark = org.bus.last_replay_id()
        api.patch(f"sobjects/Account/{held}", json={"Name": "Held renamed"})
        api.patch(f"sobjects/Account/{fine}", json={"Name": "Fine renamed"})
        hot = org.bus.events_after("/data/Hot__chn", mark)
        assert [e.data["payload"]["ChangeEventHeader"]["recordIds"] for e in hot] == [[held]]
        assert hot[0].data["payload"]["Credit_Status__c"] == "HOLD"  # unchanged, yet enriched
        standard = org.bus.events_after("/data/AccountChangeEvent", mark)
        assert len(standard) == 2
        assert all("Credit_Status__c" not in e.data["payload"] for e in standard)
    finally:
        org.stop()


def _package_copy(tmp_path: Path, expression: str | None) -> Path:
    """The package's sfdx/ plus a channel Hot__chn with one Account member and this filter."""
    sfdx = tmp_path / "sfdx"
    shutil.copytree(SFDX, sfdx)
    default = sfdx / "main" / "default"
    (default / "platformEventChannels" / "Hot__chn.platformEventChannel-meta.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<PlatformEventChannel xmlns="http://soap.sforce.com/2006/04/metadata">'
        "<channelType>data</channelType><label>Hot</label></PlatformEventChannel>\n"
    )
    filter_xml = f"<filterExpression>{expression}</filterExpression>" if expression else ""
    (
        default
        / "platformEventChannelMembers"
        / "Hot_chn_AccountChangeEvent.platformEventChannelMember-meta.xml"
    ).write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<PlatformEventChannelMember xmlns="http://soap.sforce.com/2006/04/metadata">'
        f"<eventChannel>Hot__chn</eventChannel>{filter_xml}"
        "<selectedEntity>AccountChangeEvent</selectedEntity></PlatformEventChannelMember>\n"
    )
    return sfdx
