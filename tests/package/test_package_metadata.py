"""The Salesforce package's metadata honours design.md's contract.

These tests read the source-format XML under sfdx/ the way devorg does: types, lengths,
precision/scale, picklist values, lookups, external ids, field-level security, events.
Salesforce's own conversion check lives in scripts/validate-package.mjs (npm run validate:package).
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

ROOT = Path(__file__).resolve().parents[2]
META = ROOT / "sfdx" / "main" / "default"  # the data-model package
UI = ROOT / "ui"  # the user-interface package
NS = {"m": "http://soap.sforce.com/2006/04/metadata"}

SERVICE_OWNED = {
    "Credit_Status__c": "Picklist",
    "Credit_Status_Reason__c": "Text",
    "Credit_Status_Updated__c": "DateTime",
    "Balance_Outstanding__c": "Currency",
    "Overdue_Amount__c": "Currency",
    "Disputed_Amount__c": "Currency",
    "Aging_Current__c": "Currency",
    "Aging_1_30__c": "Currency",
    "Aging_31_60__c": "Currency",
    "Aging_61_90__c": "Currency",
    "Aging_91_Plus__c": "Currency",
    "Days_Past_Due__c": "Number",
    "Risk_Score__c": "Number",
    "Dunning_Level__c": "Number",
    "Promise_To_Pay_Date__c": "Date",
    "Last_Payment_Date__c": "Date",
    "Last_Payment_Amount__c": "Currency",
    "Avg_Days_To_Pay__c": "Number",
    "Collection_Priority__c": "Number",
    "Next_Action_Date__c": "Date",
    "Amount_To_Release__c": "Currency",
    "In_Flight_Amount__c": "Currency",
    "Pay_Link__c": "Url",
    "Credit_Currency__c": "Text",
    "Next_Reminder_Date__c": "Date",
}
PEOPLE_OWNED = {
    "ERP_Customer_Number__c": "Text",
    "Credit_Limit__c": "Currency",
    "Credit_Hold_Override_Until__c": "Date",
    "Collector__c": "Lookup",
    "Dunning_Paused_Until__c": "Date",
}
FORMULAS = {"Credit_Available__c": "Currency", "Credit_Utilization__c": "Percent"}

RECEIVABLE = {
    "Account__c": "Lookup",
    "ERP_Item_Id__c": "Text",
    "Type__c": "Picklist",
    "Issue_Date__c": "Date",
    "Due_Date__c": "Date",
    "Amount__c": "Currency",
    "Open_Amount__c": "Currency",
    "Currency_Code__c": "Text",
    "Status__c": "Picklist",
    "Days_Past_Due__c": "Number",
    "Pay_Link__c": "Url",
}
COLLECTION_ACTION = {
    "Account__c": "Lookup",
    "Type__c": "Picklist",
    "Outcome__c": "Picklist",
    "Promised_Amount__c": "Currency",
    "Promised_Date__c": "Date",
    "Receivable__c": "Lookup",
    "Disputed_Amount__c": "Currency",
    "Dispute_Reason__c": "Picklist",
    "Dispute_Status__c": "Picklist",
    "Override_Until__c": "Date",
    "Follow_Up_Date__c": "Date",
    "Notes__c": "LongTextArea",
    "Source__c": "Picklist",
    "Service_Action_Id__c": "Text",
}
EVENTS = {
    "Credit_Status_Change__e": {
        "Account_Id__c",
        "Previous_Status__c",
        "New_Status__c",
        "Reason__c",
        "Overdue_Amount__c",
        "Days_Past_Due__c",
    },
    "Credit_Review_Request__e": {"Account_Id__c", "Requested_Limit__c", "Reason__c"},
    "Payment_Received__e": {
        "Account_Id__c",
        "ERP_Customer_Number__c",
        "Amount__c",
        "Currency_Code__c",
        "Reference__c",
        "Received_At__c",
    },
}


def _xml(path: Path) -> ElementTree.Element:
    return ElementTree.parse(path).getroot()


def _text(el: ElementTree.Element, tag: str) -> str | None:
    found = el.find(f"m:{tag}", NS)
    return None if found is None else found.text


def _field(obj: str, name: str) -> ElementTree.Element:
    return _xml(META / "objects" / obj / "fields" / f"{name}.field-meta.xml")


def _fields(obj: str) -> dict[str, ElementTree.Element]:
    folder = META / "objects" / obj / "fields"
    return {p.name.split(".")[0]: _xml(p) for p in sorted(folder.glob("*.field-meta.xml"))}


def _picklist(field: ElementTree.Element) -> tuple[bool, list[tuple[str, str]]]:
    restricted = _text(field.find("m:valueSet", NS), "restricted") == "true"
    values = [
        (_text(v, "fullName"), _text(v, "label"))
        for v in field.findall("m:valueSet/m:valueSetDefinition/m:value", NS)
    ]
    return restricted, values


def _field_permissions(permset: str) -> dict[str, tuple[bool, bool]]:
    root = _xml(META / "permissionsets" / f"{permset}.permissionset-meta.xml")
    return {
        _text(fp, "field"): (_text(fp, "readable") == "true", _text(fp, "editable") == "true")
        for fp in root.findall("m:fieldPermissions", NS)
    }


def _object_permissions(permset: str) -> dict[str, dict[str, bool]]:
    root = _xml(META / "permissionsets" / f"{permset}.permissionset-meta.xml")
    return {
        _text(op, "object"): {child.tag.split("}")[1]: child.text == "true" for child in op}
        for op in root.findall("m:objectPermissions", NS)
    }


def test_every_metadata_file_is_well_formed_xml():
    files = sorted([*META.rglob("*.xml"), *UI.glob("[!l]*/*.xml")])
    assert len(files) > 80
    for path in files:
        root = _xml(path)
        assert root.tag.startswith("{http://soap.sforce.com/2006/04/metadata}"), path


def test_no_apex_anywhere():
    for folder in (ROOT / "sfdx", UI):
        apex = [p for p in folder.rglob("*") if p.suffix in {".cls", ".trigger", ".page"}]
        assert apex == []


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ("Account", {**SERVICE_OWNED, **PEOPLE_OWNED, **FORMULAS}),
        ("Receivable__c", RECEIVABLE),
        ("Collection_Action__c", COLLECTION_ACTION),
    ],
)
def test_fields_match_the_contract(obj, expected):
    fields = _fields(obj)
    assert set(fields) == set(expected)
    for name, ftype in expected.items():
        assert _text(fields[name], "type") == ftype, name
        assert _text(fields[name], "fullName") == name


def test_account_fields__sizes_and_keys():
    for name, ftype in {**SERVICE_OWNED, **PEOPLE_OWNED}.items():
        if ftype == "Currency":
            f = _field("Account", name)
            assert (_text(f, "precision"), _text(f, "scale")) == ("16", "2"), name
    risk = _field("Account", "Risk_Score__c")
    assert (_text(risk, "precision"), _text(risk, "scale")) == ("3", "0")
    assert _text(_field("Account", "Credit_Status_Reason__c"), "length") == "255"
    erp = _field("Account", "ERP_Customer_Number__c")
    assert _text(erp, "externalId") == "true"
    assert _text(erp, "unique") == "true"


def test_credit_status__restricted_ok_watch_hold():
    restricted, values = _picklist(_field("Account", "Credit_Status__c"))
    assert restricted
    assert values == [("OK", "Good Standing"), ("WATCH", "Watch"), ("HOLD", "Credit Hold")]


def test_formulas():
    available = _field("Account", "Credit_Available__c")
    assert "Credit_Limit__c - BLANKVALUE(Balance_Outstanding__c, 0)" in _text(available, "formula")
    utilization = _field("Account", "Credit_Utilization__c")
    assert "/ Credit_Limit__c" in _text(utilization, "formula")


def test_receivable_days_past_due_is_a_formula_of_today():
    """Always current, so the Overdue Receivables list view finds an item the day it falls due."""
    days = _field("Receivable__c", "Days_Past_Due__c")
    assert "TODAY() - Due_Date__c" in _text(days, "formula")
    overdue = _xml(META / "objects/Receivable__c/listViews/Overdue_Receivables.listView-meta.xml")
    assert "Days_Past_Due__c" in [
        f.find("m:field", NS).text for f in overdue.findall("m:filters", NS)
    ]


def test_auditors_see_history_of_limit_and_override():
    for name in ("Credit_Limit__c", "Credit_Hold_Override_Until__c"):
        assert _text(_field("Account", name), "trackHistory") == "true", name


def test_collector_is_a_user_lookup_that_controllers_edit():
    collector = _field("Account", "Collector__c")
    assert _text(collector, "referenceTo") == "User"
    assert _text(collector, "deleteConstraint") == "SetNull"
    controller = _field_permissions("Credit_Controller")
    assert controller["Account.Collector__c"] == (True, True)


def test_erp_item_id_holds_what_the_service_stores():
    """models.Receivable.external_id is String(120); the field is as long."""
    item = _field("Receivable__c", "ERP_Item_Id__c")
    assert _text(item, "length") == "120"


@pytest.mark.parametrize(
    ("obj", "field", "values"),
    [
        ("Receivable__c", "Type__c", ["Invoice", "Credit Note"]),
        (
            "Receivable__c",
            "Status__c",
            ["Open", "Partially Paid", "Paid", "Disputed", "Written Off"],
        ),
        (
            "Collection_Action__c",
            "Type__c",
            [
                "Call",
                "Email",
                "Letter",
                "Meeting",
                "Note",
                "Promise to Pay",
                "Dispute",
                "Hold Override",
                "Reminder Sent",
                "Dunning Pause",
                "Reminder Requested",
            ],
        ),
        (
            "Collection_Action__c",
            "Dispute_Status__c",
            ["Open", "Resolved Valid", "Resolved Invalid"],
        ),
        ("Collection_Action__c", "Source__c", ["Salesforce", "Service", "Customer Portal"]),
    ],
)
def test_restricted_picklists(obj, field, values):
    restricted, found = _picklist(_field(obj, field))
    assert restricted
    assert [api for api, _ in found] == values


def test_lookups_and_external_ids():
    account = _field("Receivable__c", "Account__c")
    assert _text(account, "referenceTo") == "Account"
    assert _text(account, "relationshipName") == "Receivables"
    item = _field("Receivable__c", "ERP_Item_Id__c")
    assert (_text(item, "externalId"), _text(item, "unique")) == ("true", "true")
    action_account = _field("Collection_Action__c", "Account__c")
    assert _text(action_account, "referenceTo") == "Account"
    assert _text(action_account, "required") == "true"
    invoice = _field("Collection_Action__c", "Receivable__c")
    assert _text(invoice, "referenceTo") == "Receivable__c"
    service_id = _field("Collection_Action__c", "Service_Action_Id__c")
    assert (_text(service_id, "externalId"), _text(service_id, "unique")) == ("true", "true")
    name = _xml(META / "objects/Collection_Action__c/Collection_Action__c.object-meta.xml")
    assert name.find("m:nameField/m:type", NS).text == "AutoNumber"


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_platform_events(event):
    root = _xml(META / "objects" / event / f"{event}.object-meta.xml")
    assert _text(root, "eventType") == "HighVolume"
    assert _text(root, "publishBehavior") == "PublishAfterCommit"
    assert set(_fields(event)) == EVENTS[event]


def test_change_data_capture_members():
    folder = META / "platformEventChannelMembers"
    selected = {
        (_text(_xml(p), "selectedEntity"), _text(_xml(p), "eventChannel"))
        for p in folder.glob("*.platformEventChannelMember-meta.xml")
    }
    assert selected == {
        ("AccountChangeEvent", "ChangeEvents"),
        ("Collection_Action__ChangeEvent", "ChangeEvents"),
        ("AccountChangeEvent", "CreditControlSync__chn"),
        ("Bank_Credit_Review__ChangeEvent", "ChangeEvents"),
        ("Collection_Action__ChangeEvent", "CreditControlSync__chn"),
        ("Bank_Credit_Review__ChangeEvent", "CreditControlSync__chn"),
        ("ContactChangeEvent", "ChangeEvents"),  # dunning's billing contacts
    }


@pytest.mark.parametrize(
    "entity",
    ["AccountChangeEvent", "Collection_Action_ChangeEvent", "Bank_Credit_Review_ChangeEvent"],
)
def test_the_worker_channel_filters_out_the_services_own_writes(entity):
    """Every object the worker reads changes of is on the custom channel, each member with the
    filter that drops changes made by the service's client (Accounts pushed, actions logged,
    bank credit reviews upserted)."""
    channel = _xml(
        META / "platformEventChannels/CreditControlSync__chn.platformEventChannel-meta.xml"
    )
    assert _text(channel, "channelType") == "data"
    member = _xml(
        META
        / "platformEventChannelMembers"
        / f"CreditControlSync_chn_{entity}.platformEventChannelMember-meta.xml"
    )
    expression = _text(member, "filterExpression")
    assert expression.startswith("ChangeEventHeader.changeOrigin NOT IN (")
    assert "'com/salesforce/api/rest/62.0;client=credit-control'" in expression
    assert "'com/salesforce/api/bulkapi/62.0;client=credit-control'" in expression


@pytest.mark.parametrize("permset", ["Credit_Control_Viewer", "Credit_Controller"])
def test_service_owned_fields_are_read_only_to_people(permset):
    perms = _field_permissions(permset)
    for name in SERVICE_OWNED:
        assert perms[f"Account.{name}"] == (True, False), name
    for name in FORMULAS:
        assert perms[f"Account.{name}"] == (True, False), name


def test_integration_user_writes_service_owned_fields():
    perms = _field_permissions("Credit_Control_Integration")
    for name in SERVICE_OWNED:
        assert perms[f"Account.{name}"] == (True, True), name
    objects = _object_permissions("Credit_Control_Integration")
    assert objects["Receivable__c"]["allowCreate"]
    assert objects["Receivable__c"]["allowEdit"]
    assert objects["Collection_Action__c"]["allowCreate"]
    assert objects["Credit_Status_Change__e"]["allowCreate"]
    # change data capture needs View All on each object whose change events are received
    assert objects["Account"]["viewAllRecords"]
    assert objects["Collection_Action__c"]["viewAllRecords"]


def test_no_permission_set_grants_view_all_data_or_fls_on_required_fields():
    required = {
        f"{obj}.{name}"
        for obj in ("Account", "Receivable__c", "Collection_Action__c")
        for name, field in _fields(obj).items()
        if _text(field, "required") == "true"
    }
    for path in (META / "permissionsets").glob("*.xml"):
        text = path.read_text()
        assert "ViewAllData" not in text
        assert required.isdisjoint(_field_permissions(path.name.split(".")[0])), path.name


def test_only_the_approver_holds_the_override_permission():
    holders = [
        p.name.split(".")[0]
        for p in (META / "permissionsets").glob("*.xml")
        if "<name>Credit_Hold_Override</name>" in p.read_text()
    ]
    assert holders == ["Credit_Hold_Approver"]


@pytest.mark.parametrize(
    ("obj", "rule", "must_contain"),
    [
        (
            "Opportunity",
            "Credit_Hold_Blocks_Closed_Won",
            ["IsWon", "HOLD", "$Permission.Credit_Hold_Override"],
        ),
        (
            "Order",
            "Credit_Hold_Blocks_Activation",
            ['ISPICKVAL(StatusCode, "Activated")', "HOLD", "$Permission.Credit_Hold_Override"],
        ),
        (
            "Collection_Action__c",
            "Hold_Override_Requires_Permission",
            ["Hold Override", "$Permission.Credit_Hold_Override"],
        ),
        (
            "Collection_Action__c",
            "Promise_Requires_Date_And_Amount",
            ["Promised_Date__c", "Promised_Amount__c"],
        ),
        (
            "Collection_Action__c",
            "Dispute_Requires_Invoice_Amount_Reason",
            ["Receivable__c", "Disputed_Amount__c", "Dispute_Reason__c"],
        ),
    ],
)
def test_validation_rules(obj, rule, must_contain):
    root = _xml(META / "objects" / obj / "validationRules" / f"{rule}.validationRule-meta.xml")
    assert _text(root, "active") == "true"
    formula = _text(root, "errorConditionFormula")
    for token in must_contain:
        assert token in formula
    assert len(_text(root, "errorMessage")) > 40


def test_pages_place_the_components():
    record = (UI / "flexipages/Credit_Control_Account_Record_Page.flexipage-meta.xml").read_text()
    placed = set(re.findall(r"<componentName>\s*c:(\w+)\s*</componentName>", record))
    assert placed == {"creditStatusBanner", "agingChart", "openReceivables", "collectionActionLog"}
    worklist = (UI / "flexipages/Collections_Worklist.flexipage-meta.xml").read_text()
    assert "c:collectionsWorklist" in worklist
    app = _xml(UI / "applications/Credit_Control.app-meta.xml")
    assert [t.text for t in app.findall("m:tabs", NS)] == [
        "Collections_Worklist",
        "standard-Account",
        "Receivable__c",
        "Collection_Action__c",
        "Bank_Credit_Review__c",
    ]
    assert _text(app, "navType") == "Standard"
    assert _text(app, "uiType") == "Lightning"


def test_billing_contact_checkbox_controllers_tick_it_the_service_and_reps_read_it():
    field = _field("Contact", "Billing_Contact__c")
    assert (_text(field, "type"), _text(field, "defaultValue")) == ("Checkbox", "false")
    assert _field_permissions("Credit_Controller")["Contact.Billing_Contact__c"] == (True, True)
    for permset in ("Credit_Control_Integration", "Credit_Control_Viewer"):
        assert _field_permissions(permset)["Contact.Billing_Contact__c"] == (True, False), permset
    contact = _object_permissions("Credit_Control_Integration")["Contact"]
    # Contact change events reach only users with View All on Contact; the service never writes
    assert contact["allowRead"] and contact["viewAllRecords"]
    assert not (contact["allowCreate"] or contact["allowEdit"] or contact["allowDelete"])
