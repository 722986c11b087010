"""The schema comes from the package's sfdx/ tree, merged with built-in standard objects."""

from pathlib import Path

import pytest
from devorg.schema import load_schema

SFDX = Path(__file__).resolve().parents[2] / "sfdx"


@pytest.fixture(scope="module")
def schema():
    return load_schema(SFDX)


def test_load_schema__reads_account_contract_fields(schema):
    account = schema.object("account")
    assert account.name == "Account" and account.key_prefix == "001"
    erp = account.field("erp_customer_number__c")
    assert erp.name == "ERP_Customer_Number__c"
    assert erp.external_id and erp.unique and erp.type == "string"
    status = account.field("Credit_Status__c")
    assert status.type == "picklist" and status.restricted_picklist
    assert [v.value for v in status.picklist_values] == ["OK", "WATCH", "HOLD"]
    assert [v.label for v in status.picklist_values] == ["Good Standing", "Watch", "Credit Hold"]
    assert account.field("Credit_Limit__c").type == "currency"
    assert account.field("Credit_Status_Updated__c").type == "datetime"


def test_load_schema__formula_fields_are_calculated_and_read_only(schema):
    available = schema.objects["Account"].field("Credit_Available__c")
    assert available.calculated and not available.createable and not available.updateable
    assert "Credit_Limit__c" in available.formula
    assert schema.objects["Account"].field("Credit_Utilization__c").type == "percent"


def test_load_schema__custom_objects_lookups_and_required(schema):
    receivable = schema.object("Receivable__c")
    assert receivable.custom and receivable.key_prefix.startswith("a")
    account_ref = receivable.field("Account__c")
    assert account_ref.type == "reference" and account_ref.reference_to == ["Account"]
    assert account_ref.relationship_name == "Account__r"
    assert receivable.relationship("account__r") is account_ref
    assert receivable.field("ERP_Item_Id__c").external_id
    action = schema.object("Collection_Action__c")
    assert action.field("Type__c").required and action.field("Type__c").restricted_picklist


def test_load_schema__platform_events_and_cdc(schema):
    events = {o.name for o in schema.platform_events}
    assert events == {"Credit_Status_Change__e", "Credit_Review_Request__e", "Payment_Received__e"}
    assert all(schema.objects[e].key_prefix.startswith("e") for e in events)
    assert {o.name for o in schema.cdc_objects} == {
        "Account",
        "Collection_Action__c",
        "Bank_Credit_Review__c",
        "Contact",
    }


def test_load_schema__validation_rules_from_package(schema):
    rules = {r.name for r in schema.objects["Opportunity"].validation_rules}
    assert "Credit_Hold_Blocks_Closed_Won" in rules
    assert {r.name for r in schema.objects["Order"].validation_rules} == {
        "Credit_Hold_Blocks_Activation"
    }


def test_load_schema__standard_objects_have_system_fields(schema):
    for name, prefix in [
        ("Contact", "003"),
        ("Opportunity", "006"),
        ("Order", "801"),
        ("Task", "00T"),
        ("User", "005"),
    ]:
        obj = schema.objects[name]
        assert obj.key_prefix == prefix
        for system in (
            "Id",
            "CreatedDate",
            "CreatedById",
            "LastModifiedDate",
            "SystemModstamp",
            "IsDeleted",
        ):
            assert obj.field(system) is not None and not obj.field(system).createable
    assert schema.objects["User"].field("OwnerId") is None
    assert schema.objects["Account"].field("OwnerId").createable


def test_load_schema__missing_tree_gives_standard_objects_only(tmp_path):
    schema = load_schema(tmp_path)
    assert set(schema.objects) == {"Account", "Contact", "Opportunity", "Order", "Task", "User"}
