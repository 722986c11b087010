"""Shadow mode: what every account would get today and what would change, writing nothing.

The comparison is with what Salesforce last acknowledged (``assessments.pushed_fields``), in
the Account-field form the caller passes in (``service.salesforce.fields``): this package
knows no Salesforce names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from service.assessments.loading import DEFAULT_CHUNK, id_ranges, load_inputs
from service.assessments.storing import assess_inputs
from service.credit import (
    AssessmentError,
    Policy,
    assessment_document,
    default_policy,
)
from service.models import Assessment as AssessmentRow


class AccountFields(Protocol):
    """How an assessment shows in Salesforce: ``service.salesforce.fields.ACCOUNT_FIELD_MAP``."""

    def of(self, document: dict[str, Any]) -> dict[str, Any]:
        """An assessment document as canonical Account field values."""
        ...

    def status(self, fields: dict[str, Any]) -> str | None:
        """The credit status among such field values."""
        ...


@dataclass(frozen=True)
class ShadowLine:
    """One account in shadow mode: the status it would get and the fields that would change."""

    customer: str
    status: str | None
    previous_status: str | None
    changes: dict[str, tuple[Any, Any]]
    error: str | None = None


def shadow(
    session: Session,
    as_of: date,
    policy: Policy | None,
    account: AccountFields,
    *,
    chunk: int = DEFAULT_CHUNK,
) -> Iterator[ShadowLine]:
    """Assess every customer and compare with what Salesforce last acknowledged; write nothing."""
    policy = policy or default_policy()
    for lo, hi in id_ranges(session, chunk):
        inputs = load_inputs(session, as_of, policy, lo=lo, hi=hi)
        pushed = dict(
            session.execute(
                select(AssessmentRow.customer_id, AssessmentRow.pushed_fields).where(
                    AssessmentRow.customer_id >= lo, AssessmentRow.customer_id <= hi
                )
            ).all()
        )
        for cid, result in assess_inputs(inputs, as_of, policy):
            before = pushed.get(cid) or {}
            was = account.status(before)
            if isinstance(result, AssessmentError):
                yield ShadowLine(result.customer, None, was, {}, result.message)
                continue
            after = account.of(assessment_document(result))
            changes = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
            yield ShadowLine(result.customer, result.status.value, was, changes)
