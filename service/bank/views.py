"""``POST /api/v1/feeds/bank``: a statement file as the raw body, signed like the ERP feed.

Order of checks, as for the ERP feed: the signature header and its age (401), the declared size
(413), the signature over the raw body (401); then the file is read whole before anything is
stored. A body that is not a statement is a 400 naming what was expected; a file with bad
transactions is stored without them and the 200 report lists each with its position.
"""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

from service.api.auth import public
from service.bank.hooks import cash_application_hooks
from service.bank.importing import import_statement
from service.bank.statement import NotAStatement
from service.errors import Conflict, FieldError, PayloadTooLarge, ValidationFailed
from service.extensions import services
from service.security import SIGNATURE_HEADER, check_body, check_fresh, parse_signature

FEED = "bank"

blp = Blueprint(
    "bank_feed", __name__, url_prefix="/api/v1/feeds", description="Signed bank statement files"
)


@blp.route("/bank", methods=["POST"])
@blp.doc(
    security=[{"feedSignature": []}],
    requestBody={
        "required": True,
        "description": "The statement file as it came from the bank: camt.052/053/054 XML, "
        "MT940/MT942 or BAI2 (detected).",
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "application/xml": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    },
)
@blp.response(200, description="What was read, stored, skipped, rejected and checked")
@blp.alt_response(400, schema="Errors", description="Not a statement; nothing stored")
@blp.alt_response(401, schema="Errors", description="Missing, wrong or stale signature")
@blp.alt_response(409, schema="Errors", description="Concurrent imports kept colliding; retry")
@blp.alt_response(413, schema="Errors", description="Larger than the feed's byte limit")
@public
def bank_feed():
    """Store a statement file's new transactions; hand new credits to cash application."""
    svc = services()
    config = svc.config
    timestamp, candidates = parse_signature(request.headers.get(SIGNATURE_HEADER))
    check_fresh(timestamp, config.signature_tolerance_seconds, svc.clock().timestamp())
    if request.content_length is not None and request.content_length > config.feed_max_bytes:
        raise PayloadTooLarge(f"A statement body holds at most {config.feed_max_bytes} bytes.")
    body = request.get_data(cache=False)
    check_body(config.feed_signing_secret, timestamp, candidates, body)
    on_credits, on_reversal = cash_application_hooks(
        config.cash_application_threshold, svc.clock().date(), svc.policy
    )
    try:
        report = import_statement(
            svc.sessions,
            body,
            name=request.headers.get("X-File-Name", "body")[:200],
            now=svc.clock(),
            on_credits=on_credits,
            on_reversal=on_reversal,
        )
    except NotAStatement as error:
        raise ValidationFailed(
            [FieldError("", f"The body is not a bank statement: {error}.")]
        ) from None
    except IntegrityError:
        raise Conflict() from None
    svc.metrics.feed_rows.labels(FEED, "credits", "accepted").inc(report.credits)
    svc.metrics.feed_rows.labels(FEED, "debits", "accepted").inc(report.debits)
    svc.metrics.feed_rows.labels(FEED, "transactions", "ignored").inc(report.duplicates)
    svc.metrics.feed_rows.labels(FEED, "transactions", "rejected").inc(len(report.rejected))
    return report.as_dict()
