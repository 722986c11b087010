"""Receivable__c keys name the feed source: two ERPs with the same item id never collide."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from service import outbox
from service.db import transaction
from service.models import Receivable
from service.salesforce.client import build_client
from service.salesforce.keys import ITEM_ID_LENGTH, receivable_item_id
from service.salesforce.push import Pusher
from tests.salesforce.sync_helpers import create_accounts, make_customer


def test_item_id__is_source_colon_id_when_it_fits():
    assert receivable_item_id("erp-main", "INV-1001") == "erp-main:INV-1001"
    assert receivable_item_id("erp-eu", "INV-1001") == "erp-eu:INV-1001"
    assert receivable_item_id("erp", "a:b") == "erp:a:b"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(("erp-main", "X" * 80), ("erp-main", "X" * 79 + "Y"), id="long ids"),
        pytest.param(("a:b", "c"), ("a", "b:c"), id="colon in the source"),
        pytest.param(("erp", "~" + "0" * 64), ("~erp", "x"), id="source looking hashed"),
        pytest.param(("s" * 60, "INV-1"), ("s" * 60, "INV-2"), id="longest source"),
    ],
)
def test_item_id__distinct_pairs_get_distinct_keys_that_fit_the_field(first, second):
    keys = {receivable_item_id(*first), receivable_item_id(*second)}

    assert len(keys) == 2
    assert all(len(key) <= ITEM_ID_LENGTH for key in keys)
    # The same pair always gets the same key: an upsert finds the record it wrote before.
    assert receivable_item_id(*first) == receivable_item_id(*first)


def test_push__same_item_id_from_two_sources_is_two_receivable_records(
    devorg, factory, sync_settings
):
    pusher = Pusher(factory, build_client(sync_settings), sync_settings)
    accounts = create_accounts(pusher.client, ["TWO-1"])
    with transaction(factory) as s:
        customer = make_customer(s, "TWO-1", account_id=accounts["TWO-1"])
        items = [
            Receivable(
                source=source,
                external_id="INV-1001",
                customer_id=customer.id,
                kind="invoice",
                number="INV-1001",
                issue_date=date(2026, 9, 1),
                due_date=date(2026, 10, 1),
                currency="EUR",
                amount=amount,
                open_amount=amount,
                source_updated_at=datetime.now(UTC),
            )
            for source, amount in (("erp-main", Decimal("100.00")), ("erp-eu", Decimal("250.00")))
        ]
        s.add_all(items)
        s.flush()
        outbox.queue_for_salesforce(s, [], [item.id for item in items])

    report = pusher.run_once()

    assert report.receivables_sent == 2
    records = pusher.client.query_all(
        "SELECT ERP_Item_Id__c, Amount__c, Account__c FROM Receivable__c ORDER BY ERP_Item_Id__c"
    )
    assert [(r["ERP_Item_Id__c"], r["Amount__c"]) for r in records] == [
        ("erp-eu:INV-1001", 250),
        ("erp-main:INV-1001", 100),
    ]
    assert {r["Account__c"][:15] for r in records} == {accounts["TWO-1"][:15]}
