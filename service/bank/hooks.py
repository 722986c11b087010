"""Where cash application plugs into statement import: the one place both entry points ask.

The command line (``credit-control import bank``) and the endpoint (``POST /api/v1/feeds/bank``)
take their ``on_credits`` / ``on_reversal`` from ``cash_application_hooks()``: each new credit is
matched and, when the match is sure enough, applied as in-flight cash; each reversal undoes what
its credit paid (``service.cash_application``). Both are called inside the import's database
transaction (``service.bank.importing``), so a statement and what it paid commit together; the
lines ``on_credits`` returns (what it applied, what waits for review) end up in the report.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy.orm import Session

from service.bank.importing import OnCredits, OnReversal
from service.cash_application.applying import apply_credits, reverse_credit
from service.cash_application.credit import BankCredit
from service.credit import Policy


def cash_application_hooks(
    threshold: int, as_of: date, policy: Policy | None
) -> tuple[OnCredits, OnReversal]:
    """``(on_credits, on_reversal)`` for a statement import read ``as_of`` under ``policy``."""

    def on_credits(session: Session, credits: list[BankCredit]) -> Iterable[str]:
        report = apply_credits(session, credits, threshold=threshold, as_of=as_of, policy=policy)
        return [
            f"cash application: {report.applied} applied, {report.review} waiting for review, "
            f"{report.unmatched} unmatched, {report.duplicate} applied before"
        ]

    def on_reversal(session: Session, transaction_id: int) -> None:
        reverse_credit(session, transaction_id, as_of=as_of, policy=policy)

    return on_credits, on_reversal
