"""Rate limits on the public endpoints: the signed feeds, the Stripe webhook, the pay page.

These are the endpoints anyone on the internet can reach without a bearer token (a signature or
a signed link is checked inside), so each is limited per client address with Flask-Limiter,
one budget per group, applied to the whole blueprint (a feed added later is limited too):

- ``RATE_LIMIT_FEEDS`` (default ``6000 per minute``): ``/api/v1/feeds/...``. A full-speed ERP
  import sends 5,000-row batches, about 10 a second; the limit stops a flood of forged or
  replayed bodies from taking every web worker.
- ``RATE_LIMIT_WEBHOOKS`` (default ``6000 per minute``): ``/api/v1/webhooks/...``; Stripe
  retries and bursts, and a refused delivery is retried later by Stripe, so nothing is lost.
- ``RATE_LIMIT_PAY_PAGE`` (default ``120 per minute``): ``/pay/...``. A customer opens a few
  pages; guessing links by the thousand is what this stops.

Values are in the ``limits`` notation (``"100 per minute"``, ``"10/second;1000/hour"``). Over
a limit the answer is ``429`` with ``Retry-After`` (seconds) and ``X-RateLimit-*`` headers: the
API's JSON error envelope on the feeds and the webhook, one plain sentence on the pay page.

Counts live in ``RATE_LIMIT_STORAGE_URL``: ``memory://`` (default) counts per web process, so
with gunicorn's N workers a client may get up to N times the limit before all refuse;
``redis://host:6379`` shares the counts across workers and dynos (install the ``redis`` extra).
If the storage cannot be reached, requests are let through (and it is logged): a limit must not
turn a Redis outage into lost feeds.

Behind a proxy or router (Heroku, Render, nginx) every request comes from the proxy's address;
``TRUSTED_PROXY_HOPS`` (default 0) says how many proxies in front append to
``X-Forwarded-For``, so the client's own address is counted (werkzeug's ``ProxyFix``). Never set
it higher than the proxies really there: a client could then choose its own address.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Blueprint, Flask, Response, jsonify, request
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from service.config import Config
from service.errors import ServiceError

log = logging.getLogger(__name__)


class TooManyRequests(ServiceError):
    status = 429
    code = "rate_limited"
    public_message = "Too many requests from this address; try again after Retry-After seconds."


def init_app(app: Flask, config: Config, groups: dict[str, Blueprint]) -> Limiter:
    """Limit each blueprint of ``groups`` (``feeds``, ``webhooks``, ``pay_page``) per client."""
    if config.trusted_proxy_hops:
        hops = config.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=config.rate_limit_storage_url,
        strategy="moving-window",
        headers_enabled=True,
        swallow_errors=True,  # storage down: let requests through rather than fail them
        key_prefix="credit-control",
        on_breach=_breached,
    )
    limits = {
        "feeds": config.rate_limit_feeds,
        "webhooks": config.rate_limit_webhooks,
        "pay_page": config.rate_limit_pay_page,
    }
    for name, blueprint in groups.items():
        limiter.limit(limits[name], scope=name)(blueprint)
    # More specific than the app's HTTPException handler, which would drop the answer built here.
    app.register_error_handler(RateLimitExceeded, lambda exceeded: exceeded.get_response())
    return limiter


def _breached(limit: RequestLimit) -> Response:
    """The 429 answer, with Retry-After in whole seconds (never 0)."""
    retry_after = max(1, math.ceil(limit.reset_at - time.time()))
    log.warning(
        "rate limit reached",
        extra={"limit": str(limit.limit), "endpoint": request.endpoint, "client": limit.key},
    )
    if request.blueprint == "portal":
        response = Response(
            "Too many requests. Please wait a minute and try again.\n",
            status=429,
            mimetype="text/plain",
        )
    else:
        error = TooManyRequests()
        response = jsonify(error.body())
        response.status_code = error.status
    response.headers["Retry-After"] = str(retry_after)
    return response
