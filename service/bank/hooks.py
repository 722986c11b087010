"""Where cash application plugs into statement import: the one place both entry points ask.

The command line (``credit-control import bank``) and the endpoint (``POST /api/v1/feeds/bank``)
take their ``on_credits`` / ``on_reversal`` from ``cash_application_hooks()``, so wiring the
matcher in is one edit here: return ``service.cash_application``'s two functions instead of the
no-ops. Both are called inside the import's database transaction (``service.bank.importing``);
lines ``on_credits`` returns (what it matched, what waits for review) end up in the report.
"""

from __future__ import annotations

from service.bank.importing import OnCredits, OnReversal, no_credits, no_reversal


def cash_application_hooks() -> tuple[OnCredits, OnReversal]:
    """``(on_credits, on_reversal)`` for a statement import; until cash application is wired
    in, credits are stored and wait for it."""
    return no_credits, no_reversal
