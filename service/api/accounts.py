"""``GET /api/v1/accounts/<ERP customer number>/credit``: the current assessment.

Financial data, so a bearer token is required (deny by default, see ``service.api.auth``).
Money is served as decimal strings, exactly as stored. ``portfolio`` holds the customer's own
DSO (countback), best possible DSO, average days delinquent and CEI, computed on each request
from its current items (one customer's bulk read: four small queries).

A customer the engine could not assess at all (say, an item in a currency the policy has no
rate for) answers 200 with ``status`` ``ERROR`` and ``error`` saying why; one whose latest
re-assessment failed keeps its last good figures and status, with ``error`` set.

Never staler than the stored data: feeds queue re-assessments for the worker
(``service.assessments.queue``); if this customer is still waiting, it is assessed here and now,
in a short transaction of its own (lock, assess, queue the push, delete its requests), and the
fresh result is answered. The check costs one indexed lookup, folded into the read.
"""

from __future__ import annotations

import time

from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import func, select

from service.api.portfolio import CustomerPortfolioOut
from service.assessments import queue as assessment_queue
from service.assessments.portfolio import customer_document, customer_figures
from service.db import transaction
from service.errors import NotFound
from service.extensions import services
from service.models import Assessment, AssessmentRequest, Customer

blp = Blueprint("accounts", __name__, url_prefix="/api/v1/accounts", description="Credit status")

MONEY = {"metadata": {"description": "decimal string", "example": "1250.00"}, "allow_none": True}


class ReasonOut(Schema):
    code = fields.String()
    level = fields.String(allow_none=True)
    text = fields.String()
    params = fields.Dict(allow_none=True)


class AgingOut(Schema):
    current = fields.String(**MONEY)
    d1_30 = fields.String(data_key="1_30", attribute="1_30", **MONEY)
    d31_60 = fields.String(data_key="31_60", attribute="31_60", **MONEY)
    d61_90 = fields.String(data_key="61_90", attribute="61_90", **MONEY)
    d91_plus = fields.String(data_key="91_plus", attribute="91_plus", **MONEY)


class AccountCreditOut(Schema):
    number = fields.String()
    name = fields.String()
    status = fields.String(
        metadata={
            "enum": ["OK", "WATCH", "HOLD", "ERROR"],
            "description": "ERROR: never assessed successfully; see error",
        }
    )
    reason = fields.String(allow_none=True)
    reasons = fields.List(fields.Nested(ReasonOut))
    currency = fields.String()
    balance_outstanding = fields.String(**MONEY)
    overdue_amount = fields.String(**MONEY)
    disputed_amount = fields.String(**MONEY)
    aging = fields.Nested(AgingOut)
    days_past_due = fields.Integer()
    risk_score = fields.Integer()
    credit_limit = fields.String(**MONEY)
    as_of = fields.String(metadata={"format": "date"})
    # Present when the credit engine computes them.
    amount_to_release = fields.String(**MONEY)
    in_flight_amount = fields.String(
        allow_none=True,
        metadata={
            "description": "provisional payments (card, Salesforce) the ERP has not posted yet",
            "example": "1250.00",
        },
    )
    exposure = fields.String(**MONEY)
    utilisation = fields.String(allow_none=True)
    credit_available = fields.String(**MONEY)
    risk_factors = fields.List(fields.Dict())
    dunning_level = fields.Integer(allow_none=True)
    promise_to_pay_date = fields.String(allow_none=True)
    last_payment_date = fields.String(allow_none=True)
    last_payment_amount = fields.String(**MONEY)
    avg_days_to_pay = fields.Raw(allow_none=True)
    collection_priority = fields.Integer(allow_none=True)
    next_action_date = fields.String(allow_none=True)
    pay_link = fields.String(
        allow_none=True,
        metadata={"description": "the customer's signed pay page (null: PAY_LINK_SECRET not set)"},
    )
    override_active = fields.Boolean(allow_none=True)
    assessed_at = fields.String()
    error = fields.String(
        allow_none=True, metadata={"description": "why the last re-assessment failed"}
    )
    portfolio = fields.Nested(
        CustomerPortfolioOut,
        metadata={"description": "the customer's DSO, ADD and CEI as of today, own currency"},
    )


@blp.route("/<string:number>/credit", methods=["GET"])
@blp.response(200, AccountCreditOut)
@blp.alt_response(401, schema="Errors", description="No or wrong bearer token")
@blp.alt_response(404, schema="Errors", description="No such customer, or not assessed yet")
def account_credit(number: str):
    """The customer's credit status, reasons and figures, as last assessed."""
    return credit_view(number)


def _read(session, number: str):
    """The customer's ``id``, ``number``, ``name``, ``Assessment`` (or None) and ``pending``
    (its newest queued re-assessment request id, None when its assessment is up to date)."""
    pending = (
        select(func.max(AssessmentRequest.id))
        .where(AssessmentRequest.customer_id == Customer.id)
        .scalar_subquery()
        .label("pending")
    )
    return session.execute(
        select(Customer.id, Customer.number, Customer.name, Assessment, pending)
        .outerjoin(Assessment, Assessment.customer_id == Customer.id)
        .where(Customer.number == number)
    ).first()


def _assess_waiting(svc, customer_id: int) -> None:
    """Assess a customer whose requests are still queued, in its own transaction."""
    started = time.perf_counter()
    with transaction(svc.sessions) as session:
        assessed = assessment_queue.assess_now(session, customer_id, svc.clock().date(), svc.policy)
    if assessed:
        svc.metrics.observe_assessment([customer_id], time.perf_counter() - started)


def credit_view(number: str) -> dict:
    svc = services()
    with svc.sessions() as session:
        row = _read(session, number)
    waiting = row is not None and row.pending is not None
    if waiting:
        _assess_waiting(svc, row.id)
    with svc.sessions() as session:
        if waiting:
            row = _read(session, number)
        if row is None or row.Assessment is None:
            raise NotFound(f"No assessed customer with number {number!r}.")
        customer_number, name, assessment = row.number, row.name, row.Assessment
        figures = customer_figures(session, assessment.customer_id, svc.clock().date(), svc.policy)
    document = dict(assessment.document or {})
    document.update(
        number=customer_number,
        name=name,
        status=document.get("status", assessment.status),
        as_of=document.get("as_of", assessment.as_of.isoformat()),
        assessed_at=assessment.computed_at.isoformat(),
        error=assessment.error,
        portfolio=None if figures is None else customer_document(figures),
        pay_link=svc.config.pay_links.url(customer_number) if svc.config.pay_links else None,
    )
    return document
