"""The credit engine: pure functions from one customer's book to a credit assessment.

No I/O here (no database, no clock, no network): the caller passes the inputs, the policy and
the as-of date, so the same call always gives the same answer and any past date can be replayed.

    from service.credit import assess, default_policy, CustomerInputs
    assessment = assess(inputs, default_policy(), as_of=date(2026, 11, 23))
    document = assessment_document(assessment)   # plain figures, JSON-ready
"""

from service.credit.assessment import Aging, Assessment, Reason, RiskFactor, Status
from service.credit.engine import assess, release_payment
from service.credit.errors import (
    AmountOutOfRange,
    AssessmentError,
    CreditError,
    MissingFxRate,
    PolicyError,
)
from service.credit.inputs import (
    CREDIT_NOTE,
    DISPUTE_OPEN,
    DISPUTE_RESOLVED_INVALID,
    DISPUTE_RESOLVED_VALID,
    INVOICE,
    Allocation,
    CustomerInputs,
    Dispute,
    Item,
    Payment,
    Promise,
)
from service.credit.policy import DEFAULT_POLICY_DOCUMENT, Policy, default_policy, load_policy
from service.credit.portfolio import PortfolioFigures, portfolio_figures
from service.credit.serialize import assessment_document, document_json

__all__ = [
    "CREDIT_NOTE",
    "DEFAULT_POLICY_DOCUMENT",
    "DISPUTE_OPEN",
    "DISPUTE_RESOLVED_INVALID",
    "DISPUTE_RESOLVED_VALID",
    "INVOICE",
    "Aging",
    "Allocation",
    "AmountOutOfRange",
    "Assessment",
    "AssessmentError",
    "CreditError",
    "CustomerInputs",
    "Dispute",
    "Item",
    "MissingFxRate",
    "Payment",
    "Policy",
    "PolicyError",
    "PortfolioFigures",
    "Promise",
    "Reason",
    "RiskFactor",
    "Status",
    "assess",
    "assessment_document",
    "default_policy",
    "document_json",
    "load_policy",
    "portfolio_figures",
    "release_payment",
]
