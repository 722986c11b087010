"""The status decision: each rule of the policy that fires gives a reason; the gravest wins.

Rules come in three families — days past due, the credit limit, broken promises — and each
family reports only its gravest level, so a HOLD for days past due is not repeated as a WATCH.
Notes (a promise holding off HOLD, an override, the amount to release) carry no level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from service.credit.assessment import Reason, Status
from service.credit.figures import Figures, OpenInvoice
from service.credit.money import fmt_money, percent_ceiling, percent_floor
from service.credit.policy import Policy
from service.credit.promises import PromiseState

DPD_HOLD = "DAYS_PAST_DUE_HOLD"
DPD_WATCH = "DAYS_PAST_DUE_WATCH"
OVER_LIMIT = "OVER_CREDIT_LIMIT"
UTILISATION_WATCH = "HIGH_UTILISATION"
PROMISES_BROKEN_HOLD = "PROMISES_BROKEN_HOLD"
PROMISE_BROKEN_WATCH = "PROMISE_BROKEN_WATCH"
PROMISE_HOLDS_OFF = "PROMISE_HOLDS_OFF_HOLD"
OVERRIDE_ACTIVE = "HOLD_OVERRIDE_ACTIVE"
AMOUNT_TO_RELEASE = "AMOUNT_TO_RELEASE"


@dataclass(frozen=True, slots=True)
class Decision:
    status: Status  # after the override
    policy_status: Status  # what the rules alone say
    reasons: tuple[Reason, ...]
    promise_holds_off: bool
    override_active: bool


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _past_due(code: str, level: Status, over: list[OpenInvoice], days: int, cur: str) -> Reason:
    amount = sum((i.undisputed for i in over), Decimal(0))
    return Reason(
        code,
        level,
        f"{_plural(len(over), 'invoice')} over {days} days past due ({fmt_money(cur, amount)})",
        MappingProxyType({"invoices": len(over), "days": days, "amount": amount, "currency": cur}),
    )


def _broken(code: str, level: Status, n: int, window: int) -> Reason:
    return Reason(
        code,
        level,
        f"{_plural(n, 'promise')} to pay broken in the last {window} days",
        MappingProxyType({"broken_promises": n, "window_days": window}),
    )


def decide(
    fig: Figures,
    promises: PromiseState,
    policy: Policy,
    currency: str,
    override_until: date | None,
    as_of: date,
) -> Decision:
    hold: list[Reason] = []
    watch: list[Reason] = []
    notes: list[Reason] = []

    # Days past due: only the undisputed part of an invoice can be overdue.
    late = [i for i in fig.invoices if i.days_past_due > 0 and i.open > i.disputed]
    over_hold = [i for i in late if i.days_past_due > policy.hold_days_past_due]
    holds_off = bool(over_hold) and promises.covers(fig.overdue)
    if over_hold and not holds_off:
        hold.append(
            _past_due(DPD_HOLD, Status.HOLD, over_hold, policy.hold_days_past_due, currency)
        )
    else:
        over_watch = [i for i in late if i.days_past_due > policy.watch_days_past_due]
        if over_watch:
            watch.append(
                _past_due(DPD_WATCH, Status.WATCH, over_watch, policy.watch_days_past_due, currency)
            )
    if holds_off:
        notes.append(
            Reason(
                PROMISE_HOLDS_OFF,
                None,
                f"promise to pay {fmt_money(currency, promises.standing_amount)} "
                f"(until {promises.standing_until.isoformat()}) holds off HOLD",
                MappingProxyType(
                    {
                        "amount": promises.standing_amount,
                        "until": promises.standing_until,
                        "currency": currency,
                    }
                ),
            )
        )

    # Credit limit.
    limit = fig.credit_limit
    if limit is not None:
        params = MappingProxyType(
            {
                "exposure": fig.exposure,
                "credit_limit": limit,
                "utilisation": fig.utilisation,
                "currency": currency,
            }
        )
        if policy.hold_over_limit and fig.exposure > limit:
            if limit > 0:
                text = f"exposure {percent_ceiling(fig.utilisation)}% of limit"
            else:
                text = f"exposure {fmt_money(currency, fig.exposure)} with a credit limit of 0"
            hold.append(Reason(OVER_LIMIT, Status.HOLD, text, params))
        elif fig.utilisation is not None and fig.utilisation >= policy.watch_utilisation:
            text = f"utilisation {percent_floor(fig.utilisation)}% of limit"
            watch.append(Reason(UTILISATION_WATCH, Status.WATCH, text, params))

    # Broken promises.
    n = len(promises.broken_recently)
    window = policy.broken_promise_window_days
    if n >= policy.hold_broken_promises:
        hold.append(_broken(PROMISES_BROKEN_HOLD, Status.HOLD, n, window))
    elif n >= policy.watch_broken_promises:
        watch.append(_broken(PROMISE_BROKEN_WATCH, Status.WATCH, n, window))

    policy_status = Status.HOLD if hold else Status.WATCH if watch else Status.OK
    status = policy_status
    override_active = override_until is not None and override_until >= as_of
    if override_active and policy_status.rank > policy.override_cap.rank:
        status = policy.override_cap
        notes.append(
            Reason(
                OVERRIDE_ACTIVE,
                None,
                f"hold override until {override_until.isoformat()}",
                MappingProxyType({"until": override_until}),
            )
        )
    return Decision(status, policy_status, tuple(hold + watch + notes), holds_off, override_active)


def release_reason(amount: Decimal, currency: str) -> Reason:
    return Reason(
        AMOUNT_TO_RELEASE,
        None,
        f"paying {fmt_money(currency, amount)} (oldest overdue first) releases the hold",
        MappingProxyType({"amount": amount, "currency": currency}),
    )
