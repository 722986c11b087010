"""The measure itself: it must see a lost change and a doubled one, or every fault test's
"lost: 0, doubled: 0" would prove nothing."""

from __future__ import annotations

from decimal import Decimal

from tests.reliability import measure
from tests.reliability.scenario import measured, open_book, promise


def test_measure__counts_what_never_arrived_as_lost(db, devorg, sf, sync_settings):
    _engine, factory = db
    book = open_book(devorg, sf, factory, sync_settings.channels, 3)
    promise(sf, book, "R0000")  # no worker runs: never stored here
    tally = measured(devorg, sf, factory, book)
    # Three Accounts never pushed (their balance is missing too), one action never stored.
    assert (len(tally.lost), len(tally.doubled)) == (7, 0), str(tally)
    assert str(tally).startswith("lost: 7, doubled: 0")


def test_measure__counts_repeats_as_doubled(db, devorg, sf, sync_settings):
    _engine, factory = db
    book = open_book(devorg, sf, factory, sync_settings.channels, 2)
    account, paid = book.accounts["R0000"], book.accounts["R0001"]
    for risk in (1, 2):  # written twice where one change needs one write
        sf.rest("PATCH", f"sobjects/Account/{account}", {"Risk_Score__c": risk})
    for _ in range(2):  # the same status change announced twice
        sf.rest(
            "POST",
            "sobjects/Credit_Status_Change__e",
            {"Account_Id__c": account, "Previous_Status__c": "OK", "New_Status__c": "HOLD"},
        )
    # 1,000.00 owed, one payment of 100.00: a balance of 800.00 counted it twice.
    sf.rest("PATCH", f"sobjects/Account/{paid}", {"Balance_Outstanding__c": 800})
    tally = (
        measure.account_writes(devorg, book.mark)
        + measure.status_events(devorg, book.mark)
        + measure.balances(sf, {paid: Decimal("900.00")})
    )
    assert (len(tally.lost), len(tally.doubled)) == (0, 3), str(tally)
    assert str(tally).startswith("lost: 0, doubled: 3")
