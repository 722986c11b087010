"""Dunning's Account fields: the level last sent and the next reminder's day, laid over the
assessment; the dry run of a policy change leaves them alone."""

from __future__ import annotations

from datetime import date

from service.credit import assess, assessment_document, default_policy
from service.salesforce.fields import ACCOUNT_FIELD_MAP, account_fields, dunning_document
from tests.dunning.books import MONDAY, customer, invoice


def test_account_fields__dunning_level_is_the_level_last_sent_not_the_engines_count():
    document = assessment_document(
        assess(customer(invoice(1, 40, "100.00")), default_policy(), MONDAY)
    )
    assert account_fields(document)["Dunning_Level__c"] == 3  # the engine's worklist count
    fields = account_fields({**document, **dunning_document(None, None)})
    assert (fields["Dunning_Level__c"], fields["Next_Reminder_Date__c"]) == (0, None)
    fields = account_fields({**document, **dunning_document(2, date(2026, 3, 23))})
    assert (fields["Dunning_Level__c"], fields["Next_Reminder_Date__c"]) == (2, date(2026, 3, 23))


def test_dry_run_map__leaves_the_dunning_fields_out():
    document = assessment_document(
        assess(customer(invoice(1, 40, "100.00")), default_policy(), MONDAY)
    )
    shown = ACCOUNT_FIELD_MAP.of(document)
    assert "Dunning_Level__c" not in shown and "Next_Reminder_Date__c" not in shown
