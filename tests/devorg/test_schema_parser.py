"""Parser details on a tiny test-only SFDX tree (not the product schema): master-detail,
auto-number names, defaults, case-sensitive external ids, inactive rules, events, CDC members."""

from pathlib import Path

import pytest
from devorg.org import DevOrg
from devorg.schema import load_schema

MINI = Path(__file__).parent / "fixtures" / "sfdx-mini"


@pytest.fixture(scope="module")
def schema():
    return load_schema(MINI)


def test_master_detail_has_no_owner_and_cascades(schema):
    widget = schema.objects["Widget__c"]
    master = widget.field("Account__c")
    assert master.required and master.cascade_delete and master.relationship_name == "Account__r"
    assert master.child_relationship_name == "Widgets"
    assert widget.field("OwnerId") is None
    assert widget.cdc_enabled and widget.key_prefix == "a01"


def test_defaults_and_autonumber(schema):
    widget = schema.objects["Widget__c"]
    assert widget.field("Active__c").default_value is True
    assert widget.field("Size__c").default_value == 3.0
    assert (
        widget.field("Color__c").default_value == "Blue"
        and not widget.field("Color__c").restricted_picklist
    )
    name = widget.field("Name")
    assert name.auto_number and not name.createable
    code = widget.field("Code__c")
    assert code.case_sensitive and code.unique and code.external_id and code.length == 10
    assert [r.active for r in widget.validation_rules] == [False]


def test_events(schema):
    ping = schema.objects["Ping__e"]
    assert ping.is_platform_event and ping.key_prefix == "e01"
    assert ping.field("Note__c").required
    assert not ping.field("ReplayId").createable and ping.field("EventUuid") is not None


def test_org_on_mini_tree__defaults_cascade_and_case_sensitive_unique():
    org = DevOrg(sfdx_root=MINI)
    ctx = org.context()
    with org.store.lock:
        tx = org.store.begin()
        account = org.records.create(tx, org.schema.objects["Account"], {"Name": "A"}, ctx)
        widget = org.records.create(
            tx, org.schema.objects["Widget__c"], {"Account__c": account["Id"], "Code__c": "ab"}, ctx
        )
        other = org.records.create(
            tx, org.schema.objects["Widget__c"], {"Account__c": account["Id"], "Code__c": "AB"}, ctx
        )
        assert (
            widget["Active__c"] is True
            and widget["Size__c"] == 3.0
            and widget["Color__c"] == "Blue"
        )
        assert widget["Name"] == "W-0001" and other["Name"] == "W-0002"
        org.records.delete(tx, org.schema.objects["Account"], account["Id"], ctx)
        assert org.store.get(widget["Id"])["IsDeleted"] is True
        tx.commit()
