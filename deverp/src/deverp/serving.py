"""What every local ERP shares: a server of its own in a thread, JSON answers, and the faults
tests inject.

``Served`` runs a Flask app on ``127.0.0.1`` (a free port unless one is given), over HTTPS when
given an SSL context, in a daemon thread: ``with DevX(...) as x:``. ``Faults`` keeps the bearer
tokens issued and the faults a real ERP produces: ``throttle(n, retry_after)`` answers the next
n API requests 429, with ``Retry-After`` unless it is None (Business Central's documents promise
none, only a 429 to back off from; nor do the NetSuite descriptions found), ``expire_tokens()`` makes every token issued so far
answer 401 as an expired one does, ``delay`` slows every API answer. Each stand-in keeps its
vendor's own error bodies and decides where the checks apply.
"""

from __future__ import annotations

import secrets
import ssl
import threading
import time
from typing import Any, Self

import orjson
from flask import Flask, Response
from werkzeug.serving import WSGIRequestHandler, make_server


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers or {}, mimetype="application/json")


class Faults:
    """Bearer tokens issued, and the faults to answer with."""

    def __init__(self, token_ttl: int = 3600) -> None:
        self.token_ttl = token_ttl
        self.tokens: dict[str, float] = {}  # token -> when it expires (epoch seconds)
        self.token_requests = 0
        self.throttled = 0  # API requests still to answer 429
        self.retry_after: str | None = "1"
        self.delay = 0.0  # seconds each API request waits before it is answered
        self.lock = threading.Lock()

    def throttle(self, requests: int = 1, retry_after: str | None = "1") -> None:
        with self.lock:
            self.throttled, self.retry_after = requests, retry_after

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def issue_token(self) -> str:
        value = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[value] = time.time() + self.token_ttl
            self.token_requests += 1
        return value

    def token_alive(self, value: str) -> bool:
        expires = self.tokens.get(value)
        return expires is not None and expires > time.time()

    def slow_down(self) -> None:
        if self.delay:
            time.sleep(self.delay)

    def throttled_now(self) -> dict[str, str] | None:
        """The headers to answer this request's 429 with, or None to answer it."""
        with self.lock:
            if self.throttled <= 0:
                return None
            self.throttled -= 1
            return {"Retry-After": self.retry_after} if self.retry_after is not None else {}


class Served:
    """A stand-in's server: ``_serve`` in ``__init__``, then ``start``/``stop`` or ``with``."""

    base_url: str

    def _serve(
        self,
        app: Flask,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._server = make_server(
            host, port, app, threaded=True, ssl_context=ssl_context, request_handler=_QuietHandler
        )
        scheme = "https" if ssl_context is not None else "http"
        self.base_url = f"{scheme}://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass
