"""Who a reminder goes to: the ERP's billing_email first, then the Account's billing contacts
from Salesforce (kept from Contact change events), nobody otherwise, never an invalid address."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.credit import default_policy
from service.db import transaction
from service.dunning.recipients import choose
from service.dunning.render import Company
from service.dunning.run import Settings, run
from service.models import BillingContact, DunningMessage
from service.salesforce.billing_contacts import CHANNEL
from service.salesforce.cometd import StreamEvent
from service.salesforce.handlers import EventRejected, Handlers
from service.salesforce_ids import to18
from tests.dunning.seed import TODAY, add_customer, add_invoice

SETTINGS = Settings(default_policy(), Company("Northwind Supplies"), "northwind.example")
ACCOUNT = to18("001000000000001")
OTHER_ACCOUNT = to18("001000000000002")
ANNA = to18("003000000000001")
BEN = to18("003000000000002")


# -- the rule ---------------------------------------------------------------------------------


def test_choose__the_erp_billing_email_comes_first_and_alone():
    chosen = choose("ap@customer.example", [(ANNA, "anna@customer.example")])
    assert chosen.to == ["ap@customer.example"] and chosen.problems == []


def test_choose__without_billing_email__every_billing_contact_in_a_stable_order_once():
    contacts = [(BEN, "ben@customer.example"), (ANNA, "Anna@Customer.example"),
                (to18("003000000000003"), "anna@customer.example")]  # fmt: skip
    first = choose(None, contacts)
    assert first.to == ["Anna@Customer.example", "ben@customer.example"]
    assert choose("", list(reversed(contacts))).to == first.to


@pytest.mark.parametrize(
    "email",
    ["not-an-address", "anna@localhost", "a@b.example, evil@x.example", "a@b.example\r\nBcc: x@y.z",
     "Anna <anna@customer.example>", "x" * 300 + "@customer.example"],
)  # fmt: skip
def test_choose__an_invalid_contact_address_is_ignored_and_reported(email):
    chosen = choose(None, [(ANNA, email), (BEN, "ben@customer.example")])
    assert chosen.to == ["ben@customer.example"]
    (problem,) = chosen.problems
    assert ANNA in problem and "not an e-mail address" in problem


def test_choose__nobody_without_an_address():
    assert choose(None, []).to == []
    only_bad = choose(None, [(ANNA, "anna(at)customer.example")])
    assert only_bad.to == [] and len(only_bad.problems) == 1


# -- a run --------------------------------------------------------------------------------


def _contact(session, contact_id, account, email):
    session.add(BillingContact(contact_id=contact_id, account_id=account, email=email))


def test_run__a_customer_without_billing_email__is_reminded_at_its_accounts_billing_contacts(
    factory,
):
    with transaction(factory) as session:
        c = add_customer(session, "C-1", email=None, salesforce_account_id=ACCOUNT)
        add_invoice(session, c, "1", 20, "500.00")
        _contact(session, BEN, ACCOUNT, "ben@customer.example")
        _contact(session, ANNA, ACCOUNT, "anna@customer.example")
        _contact(session, to18("003000000000009"), OTHER_ACCOUNT, "someone@else.example")
    report = run(factory, TODAY, SETTINGS)
    assert report.queued == 1 and report.no_recipient == []
    with factory() as session:
        (message,) = session.scalars(select(DunningMessage))
        assert message.recipients == ["anna@customer.example", "ben@customer.example"]


def test_run__billing_email_wins_over_the_contacts(factory):
    with transaction(factory) as session:
        c = add_customer(session, "C-1", email="ap@customer.example", salesforce_account_id=ACCOUNT)
        add_invoice(session, c, "1", 20, "500.00")
        _contact(session, ANNA, ACCOUNT, "anna@customer.example")
    report = run(factory, TODAY, SETTINGS, write=False)
    assert [p.recipients for p in report.planned] == [["ap@customer.example"]]


def test_run__an_invalid_contact_address__no_message_and_reported(factory):
    with transaction(factory) as session:
        c = add_customer(session, "C-1", email=None, salesforce_account_id=ACCOUNT)
        add_invoice(session, c, "1", 20, "500.00")
        _contact(session, ANNA, ACCOUNT, "anna at customer dot example")
    report = run(factory, TODAY, SETTINGS)
    assert report.queued == 0 and report.no_recipient == ["C-1"]
    (line,) = report.bad_addresses
    assert line.startswith("C-1: billing contact") and "anna at customer" in line
    assert "1 addresses ignored" in report.summary()
    with factory() as session:
        assert session.scalars(select(DunningMessage)).all() == []


# -- Contact change events ----------------------------------------------------------------


def _event(change, ids, **fields):
    header = {"entityName": "Contact", "changeType": change, "recordIds": ids}
    return StreamEvent(
        CHANNEL, 1, {"payload": {"ChangeEventHeader": header, **fields}, "event": {}}
    )


class _Org:
    """The Contacts as REST would return them (what a handler re-reads when an UPDATE says too
    little); the real REST path runs in test_billing_contacts_e2e."""

    def __init__(self):
        self.records: dict[str, dict] = {}
        self.reads = 0

    def read(self, sobject, record_id):
        assert sobject == "Contact"
        self.reads += 1
        return self.records.get(record_id)


@pytest.fixture
def handle(factory):
    org = _Org()
    handlers = Handlers(lambda session, ids: None, org.read)

    def apply(event):
        with transaction(factory) as session:
            return handlers.handle(session, event)

    apply.org = org
    return apply


def _rows(factory):
    with factory() as session:
        return sorted(
            (r.contact_id, r.account_id, r.email) for r in session.scalars(select(BillingContact))
        )


def test_contact_events__tick_change_untick_delete_undelete(factory, handle):
    created = _event("CREATE", [ANNA], AccountId=ACCOUNT, LastName="Weber",
                     Email="anna@customer.example", Billing_Contact__c=False)  # fmt: skip
    assert handle(created) == "ignored" and _rows(factory) == []
    handle.org.records[ANNA] = {"AccountId": ACCOUNT, "Email": "anna@customer.example",
                                "Billing_Contact__c": True}  # fmt: skip
    assert handle(_event("UPDATE", [ANNA], Billing_Contact__c=True)) == "processed"
    assert handle.org.reads == 1  # the UPDATE names only the box: the Contact is read
    assert _rows(factory) == [(ANNA, ACCOUNT, "anna@customer.example")]

    handle(_event("UPDATE", [ANNA], Email="anna.weber@customer.example"))
    assert _rows(factory) == [(ANNA, ACCOUNT, "anna.weber@customer.example")]
    assert handle(_event("UPDATE", [ANNA], Phone="+49 30 1234")) == "ignored"
    handle(_event("UPDATE", [ANNA], AccountId=OTHER_ACCOUNT))
    assert _rows(factory) == [(ANNA, OTHER_ACCOUNT, "anna.weber@customer.example")]

    handle(_event("UPDATE", [ANNA], Billing_Contact__c=False))
    assert _rows(factory) == []
    handle(_event("CREATE", [BEN], AccountId=ACCOUNT, Email="ben@customer.example",
                  Billing_Contact__c=True))  # fmt: skip
    handle(_event("UPDATE", [BEN], Email=None))
    assert _rows(factory) == []
    handle.org.records[BEN] = {"AccountId": ACCOUNT, "Email": "ben@customer.example",
                               "Billing_Contact__c": True}  # fmt: skip
    handle(_event("UPDATE", [BEN], Email="ben@customer.example"))
    assert _rows(factory) == [(BEN, ACCOUNT, "ben@customer.example")]

    assert handle(_event("DELETE", [BEN])) == "processed" and _rows(factory) == []
    handle(_event("UNDELETE", [BEN], AccountId=ACCOUNT, Email="ben@customer.example",
                  Billing_Contact__c=True, LastName="Ott"))  # fmt: skip
    assert _rows(factory) == [(BEN, ACCOUNT, "ben@customer.example")]


def test_contact_events__a_gap_reads_the_contacts_again(factory, handle):
    handle.org.records[ANNA] = {"AccountId": ACCOUNT, "Email": "anna@customer.example",
                                "Billing_Contact__c": True}  # fmt: skip
    handle(_event("CREATE", [BEN], AccountId=ACCOUNT, Email="ben@customer.example",
                  Billing_Contact__c=True))  # fmt: skip
    handle(_event("GAP_UPDATE", [ANNA, BEN]))  # BEN is gone from the org meanwhile
    assert _rows(factory) == [(ANNA, ACCOUNT, "anna@customer.example")]


def test_contact_events__an_invalid_address_is_kept_to_be_reported_not_sent(factory, handle):
    handle(_event("CREATE", [ANNA], AccountId=ACCOUNT, Email="anna@@customer",
                  Billing_Contact__c=True))  # fmt: skip
    handle(_event("CREATE", [BEN], AccountId=ACCOUNT, Email="b" * 400 + "@customer.example",
                  Billing_Contact__c=True))  # fmt: skip
    rows = _rows(factory)
    assert rows[0][2] == "anna@@customer"
    assert len(rows[1][2]) == 320 and rows[1][2].endswith("...")
    assert choose(None, [(r[0], r[2]) for r in rows]).to == []


@pytest.mark.parametrize(
    "event",
    [
        _event("CREATE", ["not-an-id"], AccountId=ACCOUNT, Email="a@b.example",
               Billing_Contact__c=True),
        _event("CREATE", [ANNA], AccountId="001XYZ", Email="a@b.example", Billing_Contact__c=True),
        _event("CREATE", [ANNA], AccountId=ACCOUNT, Email={"a": 1}, Billing_Contact__c=True),
        StreamEvent(CHANNEL, 1, {"payload": {"Email": "a@b.example"}, "event": {}}),
    ],
)  # fmt: skip
def test_contact_events__hostile_payloads_are_rejected_and_change_nothing(factory, handle, event):
    with pytest.raises(EventRejected):
        handle(event)
    assert _rows(factory) == []
