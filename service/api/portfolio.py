"""``GET /api/v1/portfolio``: DSO (countback), best possible DSO, average days delinquent and CEI
for the whole book, in the policy's base currency.

Served from the app's ``PortfolioCache`` (see ``service.assessments.portfolio``): at most about a minute old,
and ``computed_at`` says when. Money, days and percentages are decimal strings.
"""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from service.extensions import services

blp = Blueprint("portfolio", __name__, url_prefix="/api/v1", description="Portfolio figures")

MONEY = {"metadata": {"description": "decimal string", "example": "125000.00"}, "allow_none": True}


def _days(description: str) -> fields.String:
    return fields.String(
        allow_none=True,
        metadata={
            "description": f"{description}; decimal string, null without sales in the period"
        },
    )


class PortfolioFiguresOut(Schema):
    """Figures over the ``months`` calendar months ending on ``as_of`` (see docs/engine.md)."""

    currency = fields.String(
        allow_none=True, metadata={"description": "the policy's base currency"}
    )
    as_of = fields.String(metadata={"format": "date"})
    period_start = fields.String(metadata={"format": "date"})
    months = fields.Integer()
    receivables = fields.String(**MONEY)
    current_receivables = fields.String(**MONEY)
    sales = fields.String(**MONEY)
    dso = _days("days sales outstanding, countback method")
    best_possible_dso = _days("the same countback on receivables not yet due")
    average_days_delinquent = _days("dso minus best_possible_dso")
    cei = fields.String(
        allow_none=True,
        metadata={"description": "collection effectiveness index, percent; decimal string"},
    )


class PortfolioOut(PortfolioFiguresOut):
    customers = fields.Integer(metadata={"description": "customers counted"})
    customers_left_out = fields.Integer(
        metadata={"description": "customers that could not be counted, e.g. no exchange rate"}
    )
    errors = fields.List(
        fields.String(), metadata={"description": "why, for the first 20 left out"}
    )
    computed_at = fields.String(metadata={"format": "date-time"})


class CustomerPortfolioOut(PortfolioFiguresOut):
    error = fields.String(
        allow_none=True, metadata={"description": "why the figures could not be computed"}
    )


@blp.route("/portfolio", methods=["GET"])
@blp.response(200, PortfolioOut)
@blp.alt_response(401, schema="Errors", description="No or wrong bearer token")
def portfolio():
    """DSO (countback), best possible DSO, average days delinquent and CEI for the whole book."""
    svc = services()
    return svc.portfolio.get(svc.clock().date()).document()
