"""``POST /api/v1/feeds/erp``: the signed ERP feed (design.md, HTTP contract v1).

Order of checks, cheapest and least revealing first: the signature header and its age (401),
the declared size (413), the signature over the raw body (401), the media type (415), then the
JSON and its rows (400/413). Nothing is parsed before the signature holds, nothing is stored
unless every row is valid.
"""

from __future__ import annotations

import json
from collections import Counter

from flask import request
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

from service.api.auth import public
from service.errors import (
    Conflict,
    FieldError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from service.extensions import services
from service.feeds.erp import FEED, body_digest, receive_erp_batch
from service.feeds.schemas import KINDS, ErpBatchOut
from service.security import SIGNATURE_HEADER, check_body, check_fresh, parse_signature

blp = Blueprint("feeds", __name__, url_prefix="/api/v1/feeds", description="Signed inbound feeds")


@blp.route("/erp", methods=["POST"])
@blp.doc(
    security=[{"feedSignature": []}],
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErpBatchIn"}}},
    },
)
@blp.response(200, ErpBatchOut)
@blp.alt_response(400, schema="Errors", description="Invalid rows; nothing stored")
@blp.alt_response(401, schema="Errors", description="Missing, wrong or stale signature")
@blp.alt_response(409, schema="Errors", description="A concurrent batch wrote the same rows; retry")
@blp.alt_response(413, schema="Errors", description="More than 5,000 rows or too many bytes")
@blp.alt_response(415, schema="Errors", description="Not JSON")
@public
def erp_feed():
    """Upsert customers, receivables and payments from an ERP; queue who they touch.

    The touched customers are queued for re-assessment in the same transaction; the worker
    re-assesses them within moments, and a credit read of a waiting customer assesses it first.
    """
    svc = services()
    config = svc.config
    timestamp, candidates = parse_signature(request.headers.get(SIGNATURE_HEADER))
    check_fresh(timestamp, config.signature_tolerance_seconds, svc.clock().timestamp())
    if request.content_length is not None and request.content_length > config.feed_max_bytes:
        raise PayloadTooLarge(f"A batch body holds at most {config.feed_max_bytes} bytes.")
    body = request.get_data(cache=False)
    check_body(config.feed_signing_secret, timestamp, candidates, body)
    if request.mimetype != "application/json":
        raise UnsupportedMediaType()
    try:
        doc = json.loads(body)
    except ValueError:
        raise ValidationFailed([FieldError("", "The body is not valid JSON.")]) from None
    except RecursionError:
        # json's parser recurses once per nesting level; a batch is five levels deep.
        raise ValidationFailed(
            [FieldError("", "The body is nested too deeply to be a feed batch.")]
        ) from None

    try:
        outcome = receive_erp_batch(
            svc.sessions,
            doc,
            digest=body_digest(body),
            now=svc.clock(),
            max_rows=config.feed_max_rows,
        )
    except ValidationFailed as failed:
        _count_rejected(svc, failed.errors)
        raise
    except IntegrityError:
        # Two batches inserting the same new rows at once: the loser's transaction rolled back
        # whole; replays are harmless, so the ERP just sends it again.
        raise Conflict() from None
    for kind in KINDS:
        counts = getattr(outcome.applied, kind)
        svc.metrics.feed_rows.labels(FEED, kind, "accepted").inc(counts.accepted)
        svc.metrics.feed_rows.labels(FEED, kind, "ignored").inc(counts.ignored)
    return outcome.as_dict()


def _count_rejected(svc, errors: list[FieldError]) -> None:
    """Count each bad row once, by kind (``receivables[3].due_date`` -> one receivable)."""
    rows = {e.path.split(".")[0] for e in errors if "[" in e.path.split(".")[0]}
    for kind, n in Counter(row.split("[")[0] for row in rows).items():
        if kind in KINDS:
            svc.metrics.feed_rows.labels(FEED, kind, "rejected").inc(n)
