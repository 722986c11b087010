"""The credit policy: a versioned, validated document with design.md's defaults.

An admin writes a JSON document; anything left out takes the default below, so ``{}`` is the
default policy and a document only says what it changes. ``version`` is the document format
(1); ``revision`` is the admin's own counter, recorded on every assessment so a status can be
traced to the policy that produced it. Per-segment policies change some thresholds for customers
whose attributes match (``{"segment": "enterprise"}``); the first matching segment wins.

Loading validates everything up front (marshmallow) and builds frozen dataclasses, so the
engine's hot path never touches the schema.
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from service.credit.assessment import Status
from service.credit.errors import PolicyError

DOCUMENT_VERSION = 1

#: design.md "Defaults the engine starts from", and the documented risk/priority weights.
DEFAULT_POLICY_DOCUMENT: Mapping[str, Any] = MappingProxyType(
    {
        "version": DOCUMENT_VERSION,
        "name": "default",
        "revision": 1,
        # Rates say what one unit of a currency is worth in base_currency.
        "base_currency": None,
        "fx_rates": {},
        "aging": {"bucket_edges": [30, 60, 90]},
        "hold": {
            "days_past_due_over": 60,
            "exposure_over_limit": True,
            "broken_promises": 2,
        },
        "watch": {
            "days_past_due_over": 15,
            "utilisation_at_least": "0.80",
            "broken_promises": 1,
        },
        "promises": {"grace_days": 3, "broken_window_days": 90},
        "override": {"caps_status_at": "WATCH"},
        # ``level_days_past_due`` drives the worklist (next action date); the rest is the
        # reminders the service sends (service.dunning, docs/dunning.md explains the defaults).
        "dunning": {
            "level_days_past_due": [1, 15, 30, 60],
            "levels": [
                {"days_past_due": 3, "template": "friendly", "attach_statement": False},
                {"days_past_due": 15, "template": "reminder", "attach_statement": False},
                {"days_past_due": 30, "template": "final", "attach_statement": True},
            ],
            "pre_hold_warning": {
                "days_before_hold": 10,
                "template": "pre_hold",
                "attach_statement": True,
            },
            "min_amount": "10.00",
            "min_days_between": 5,
            "business_days": {"country": "DE", "subdivision": None},
            "default_language": "en",
        },
        "risk": {
            "lookback_days": 365,
            "half_life_days": 90,
            "late_days_full": 60,
            "trend_days_full": 30,
            "recent_days": 90,
            "broken_promises_full": 2,
            "utilisation_from": "0.50",
            "utilisation_full": "1.20",
            "oldest_days_full": 120,
            "weights": {
                "days_late": 20,
                "late_share": 10,
                "trend": 5,
                "broken_promises": 15,
                "utilisation": 15,
                "overdue_share": 15,
                "oldest_overdue": 20,
            },
        },
        "priority": {
            "amount_reference": "1000000",
            "days_full": 90,
            "promise_factor": "0.5",
            "weights": {"amount": 45, "days": 20, "status": 15, "broken_promise": 10, "risk": 10},
        },
        "segments": [],
    }
)


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    lookback_days: int
    half_life_days: int
    late_days_full: int
    trend_days_full: int
    recent_days: int
    broken_promises_full: int
    utilisation_from: Decimal
    utilisation_full: Decimal
    oldest_days_full: int
    weights: Mapping[str, Decimal]


@dataclass(frozen=True, slots=True)
class PriorityPolicy:
    amount_reference: Decimal
    days_full: int
    promise_factor: Decimal
    weights: Mapping[str, Decimal]


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    when: Mapping[str, str]
    policy: Policy


@dataclass(frozen=True, slots=True)
class Policy:
    """A loaded policy. Build it with :func:`load_policy` or :func:`default_policy`."""

    version: int
    name: str
    revision: int
    base_currency: str | None
    fx_rates: Mapping[str, Decimal]
    bucket_edges: tuple[int, int, int]
    hold_days_past_due: int
    hold_over_limit: bool
    hold_broken_promises: int
    watch_days_past_due: int
    watch_utilisation: Decimal
    watch_broken_promises: int
    promise_grace_days: int
    broken_promise_window_days: int
    override_cap: Status
    dunning_days: tuple[int, ...]
    risk: RiskPolicy
    priority: PriorityPolicy
    segments: tuple[Segment, ...]
    document: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.name} r{self.revision}"

    def portable_document(self) -> dict[str, Any]:
        """The document as plain dicts and lists, for another process's ``load_policy``.

        A policy holds read-only mappings, which do not pickle; its document rebuilds it.
        """
        return _plain(self.document)

    def for_customer(self, attributes: Mapping[str, str]) -> tuple[Policy, str | None]:
        """The policy that applies to a customer with these attributes, and its segment name."""
        for segment in self.segments:  # a loop, not all(<generator>): runs once per customer
            for key, value in segment.when.items():
                if attributes.get(key) != value:
                    break
            else:
                return segment.policy, segment.name
        return self, None


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# --- schema ------------------------------------------------------------------------------------

_CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="must be a 3-letter ISO currency code")
_DAYS = validate.Range(min=0, max=3650)
_POSITIVE_DAYS = validate.Range(min=1, max=3650)
_COUNT = validate.Range(min=1, max=100)
_WEIGHT = validate.Range(min=0, max=100)


def _int(v=_DAYS):
    return fields.Integer(required=True, strict=True, validate=v)


def _dec(**range_kw):
    return fields.Decimal(required=True, allow_nan=False, validate=validate.Range(**range_kw))


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class AgingSchema(_Strict):
    bucket_edges = fields.List(
        _int(_POSITIVE_DAYS), required=True, validate=validate.Length(equal=3)
    )

    @validates_schema
    def _ascending(self, data, **_):
        edges = data["bucket_edges"]
        if not edges[0] < edges[1] < edges[2]:
            raise ValidationError("must be strictly ascending", "bucket_edges")


class HoldSchema(_Strict):
    days_past_due_over = _int()
    exposure_over_limit = fields.Boolean(required=True)
    broken_promises = _int(_COUNT)


class WatchSchema(_Strict):
    days_past_due_over = _int()
    utilisation_at_least = _dec(min=0, max=10, min_inclusive=False)
    broken_promises = _int(_COUNT)


class PromisesSchema(_Strict):
    grace_days = _int(validate.Range(min=0, max=60))
    broken_window_days = _int(_POSITIVE_DAYS)


class OverrideSchema(_Strict):
    caps_status_at = fields.String(required=True, validate=validate.OneOf(["OK", "WATCH"]))


_TEMPLATE = validate.Regexp(
    r"^[a-z][a-z0-9_]{0,39}$", error="must be a template name (a-z, 0-9, _)"
)


class DunningLevelSchema(_Strict):
    days_past_due = _int(_POSITIVE_DAYS)
    template = fields.String(required=True, validate=_TEMPLATE)
    attach_statement = fields.Boolean(required=True)


class PreHoldWarningSchema(_Strict):
    days_before_hold = _int(_POSITIVE_DAYS)
    template = fields.String(required=True, validate=_TEMPLATE)
    attach_statement = fields.Boolean(required=True)


class BusinessDaysSchema(_Strict):
    country = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Z]{2}$", error="must be a 2-letter ISO country code"),
    )
    subdivision = fields.String(
        required=True, allow_none=True, validate=validate.Length(min=1, max=10)
    )


class DunningSchema(_Strict):
    level_days_past_due = fields.List(
        _int(_POSITIVE_DAYS), required=True, validate=validate.Length(min=1, max=10)
    )
    levels = fields.List(
        fields.Nested(DunningLevelSchema), required=True, validate=validate.Length(min=1, max=9)
    )
    pre_hold_warning = fields.Nested(PreHoldWarningSchema, required=True, allow_none=True)
    min_amount = _dec(min=0)
    min_days_between = _int(validate.Range(min=0, max=365))
    business_days = fields.Nested(BusinessDaysSchema, required=True)
    default_language = fields.String(
        required=True, validate=validate.Regexp(r"^[a-z]{2}$", error="must be a language code")
    )

    @validates_schema
    def _ascending(self, data, **_):
        days = data["level_days_past_due"]
        if any(a >= b for a, b in itertools.pairwise(days)):
            raise ValidationError("must be strictly ascending", "level_days_past_due")
        reminder_days = [level["days_past_due"] for level in data["levels"]]
        if any(a >= b for a, b in itertools.pairwise(reminder_days)):
            raise ValidationError("days_past_due must be strictly ascending", "levels")


def _weights_schema(names: list[str]) -> type[Schema]:
    return _Strict.from_dict(
        {n: fields.Decimal(required=True, allow_nan=False, validate=_WEIGHT) for n in names}
    )


RiskWeightsSchema = _weights_schema(
    [
        "days_late",
        "late_share",
        "trend",
        "broken_promises",
        "utilisation",
        "overdue_share",
        "oldest_overdue",
    ]
)
PriorityWeightsSchema = _weights_schema(["amount", "days", "status", "broken_promise", "risk"])


def _sum_at_most_100(data: Mapping[str, Any], field_name: str) -> None:
    if sum(data["weights"].values()) > 100:
        raise ValidationError("weights must add up to 100 or less", field_name)


class RiskSchema(_Strict):
    lookback_days = _int(_POSITIVE_DAYS)
    half_life_days = _int(_POSITIVE_DAYS)
    late_days_full = _int(_POSITIVE_DAYS)
    trend_days_full = _int(_POSITIVE_DAYS)
    recent_days = _int(_POSITIVE_DAYS)
    broken_promises_full = _int(_COUNT)
    utilisation_from = _dec(min=0, max=10)
    utilisation_full = _dec(min=0, max=10, min_inclusive=False)
    oldest_days_full = _int(_POSITIVE_DAYS)
    weights = fields.Nested(RiskWeightsSchema, required=True)

    @validates_schema
    def _checks(self, data, **_):
        _sum_at_most_100(data, "weights")
        if data["utilisation_full"] <= data["utilisation_from"]:
            raise ValidationError("must be above utilisation_from", "utilisation_full")
        if data["recent_days"] >= data["lookback_days"]:
            raise ValidationError("must be shorter than lookback_days", "recent_days")


class PrioritySchema(_Strict):
    amount_reference = _dec(min=1)
    days_full = _int(_POSITIVE_DAYS)
    promise_factor = _dec(min=0, max=1)
    weights = fields.Nested(PriorityWeightsSchema, required=True)

    @validates_schema
    def _checks(self, data, **_):
        _sum_at_most_100(data, "weights")


class SegmentSchema(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    when = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1)),
        values=fields.String(),
        required=True,
        validate=validate.Length(min=1),
    )
    policy = fields.Dict(required=True)


class PolicySchema(_Strict):
    """The whole document, every field required (defaults are merged in before loading)."""

    version = fields.Integer(required=True, strict=True, validate=validate.Equal(DOCUMENT_VERSION))
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    revision = _int(validate.Range(min=1))
    base_currency = fields.String(required=True, allow_none=True, validate=_CURRENCY)
    fx_rates = fields.Dict(
        keys=fields.String(validate=_CURRENCY),
        values=fields.Decimal(allow_nan=False, validate=validate.Range(min=0, min_inclusive=False)),
        required=True,
    )
    aging = fields.Nested(AgingSchema, required=True)
    hold = fields.Nested(HoldSchema, required=True)
    watch = fields.Nested(WatchSchema, required=True)
    promises = fields.Nested(PromisesSchema, required=True)
    override = fields.Nested(OverrideSchema, required=True)
    dunning = fields.Nested(DunningSchema, required=True)
    risk = fields.Nested(RiskSchema, required=True)
    priority = fields.Nested(PrioritySchema, required=True)
    segments = fields.List(fields.Nested(SegmentSchema), required=True)

    @validates_schema
    def _checks(self, data, **_):
        if data["fx_rates"] and not data["base_currency"]:
            raise ValidationError(
                "base_currency is required when fx_rates are given", "base_currency"
            )
        warning = data["dunning"]["pre_hold_warning"]
        if warning is not None:
            day = data["hold"]["days_past_due_over"] - warning["days_before_hold"]
            if day < 1:
                raise ValidationError(
                    "dunning.pre_hold_warning.days_before_hold must be less than "
                    "hold.days_past_due_over",
                    "dunning",
                )
            if day in {level["days_past_due"] for level in data["dunning"]["levels"]}:
                raise ValidationError(
                    f"dunning.pre_hold_warning falls on day {day}, the day of another level",
                    "dunning",
                )
        if data["watch"]["days_past_due_over"] > data["hold"]["days_past_due_over"]:
            raise ValidationError(
                "watch.days_past_due_over must not exceed hold.days_past_due_over", "watch"
            )
        names = [s["name"] for s in data["segments"]]
        if len(names) != len(set(names)):
            raise ValidationError("segment names must be unique", "segments")


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``; nested objects merge, everything else (lists too) replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _flatten(messages: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(messages, Mapping):
        return {prefix or "_schema": messages}
    out: dict[str, Any] = {}
    for key, value in messages.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(_flatten(value, path))
        else:
            out[path] = value
    return out


def _validate(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    try:
        return PolicySchema().load(document)
    except ValidationError as exc:
        raise PolicyError(_flatten(exc.messages, prefix)) from exc


def _build(data: Mapping[str, Any], document: Mapping[str, Any], segments: tuple[Segment, ...]):
    risk, prio = data["risk"], data["priority"]
    return Policy(
        version=data["version"],
        name=data["name"],
        revision=data["revision"],
        base_currency=data["base_currency"],
        fx_rates=MappingProxyType(dict(data["fx_rates"])),
        bucket_edges=tuple(data["aging"]["bucket_edges"]),
        hold_days_past_due=data["hold"]["days_past_due_over"],
        hold_over_limit=data["hold"]["exposure_over_limit"],
        hold_broken_promises=data["hold"]["broken_promises"],
        watch_days_past_due=data["watch"]["days_past_due_over"],
        watch_utilisation=data["watch"]["utilisation_at_least"],
        watch_broken_promises=data["watch"]["broken_promises"],
        promise_grace_days=data["promises"]["grace_days"],
        broken_promise_window_days=data["promises"]["broken_window_days"],
        override_cap=Status(data["override"]["caps_status_at"]),
        dunning_days=tuple(data["dunning"]["level_days_past_due"]),
        risk=RiskPolicy(
            **{k: v for k, v in risk.items() if k != "weights"},
            weights=MappingProxyType(dict(risk["weights"])),
        ),
        priority=PriorityPolicy(
            **{k: v for k, v in prio.items() if k != "weights"},
            weights=MappingProxyType(dict(prio["weights"])),
        ),
        segments=segments,
        document=MappingProxyType(document),
    )


def load_policy(document: Mapping[str, Any] | None = None) -> Policy:
    """Validate a policy document (missing parts take the defaults) and build the policy.

    Raises :class:`PolicyError` with every problem at once, keyed by field path
    (``watch.utilisation_at_least``, ``segments.0.policy.hold.broken_promises``).
    """
    merged = _deep_merge(DEFAULT_POLICY_DOCUMENT, document or {})
    data = _validate(merged)
    segments = []
    base_without_segments = {k: v for k, v in merged.items() if k != "segments"}
    for i, seg in enumerate(data["segments"]):
        if "segments" in seg["policy"]:
            raise PolicyError({f"segments.{i}.policy.segments": ["segments do not nest"]})
        seg_doc = _deep_merge(base_without_segments, seg["policy"])
        seg_doc["segments"] = []
        seg_data = _validate(seg_doc, prefix=f"segments.{i}.policy")
        segments.append(
            Segment(
                name=seg["name"],
                when=MappingProxyType(dict(seg["when"])),
                policy=_build(seg_data, seg_doc, ()),
            )
        )
    return _build(data, merged, tuple(segments))


@functools.cache
def default_policy() -> Policy:
    """The policy of design.md, exactly (cached: policies are immutable)."""
    return load_policy({})
