"""JSON log lines, each carrying the id of the request (or job) it belongs to.

The request id lives in a context variable rather than on ``flask.g`` so that code outside a
request (the worker, the import command) can set its own and every log line still has one.
We log what happened and to what (method, path, status, counts), never headers or bodies: feeds
carry customer data and requests carry tokens.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# A caller-supplied id is echoed only if it is short and harmless in a log line or header.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# gunicorn.conf.py names its root handler the same, so the app finds it and adds none.
HANDLER_NAME = "credit-control-json"


def new_request_id(supplied: str | None = None) -> str:
    """Keep the caller's ``X-Request-Id`` when it is safe, so logs join up across systems."""
    if supplied and _SAFE_REQUEST_ID.match(supplied):
        return supplied
    return uuid.uuid4().hex


class OnceFilter(logging.Filter):
    """Let a repeated library notice through the first time only.

    WeasyPrint warns on every PDF it renders when the machine lacks the HarfBuzz subsetter
    (``libharfbuzz-subset0``; the container image has it): the notice is worth one line, not one
    per statement attached to a reminder.
    """

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix
        self.seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self.prefix):
            return True
        if self.seen:
            return False
        self.seen = True
        return True


_WEASYPRINT_NOTICE = OnceFilter("Using fontTools instead of HarfBuzz-Subset")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def json_formatter() -> JsonFormatter:
    """The one JSON line format: ``time``, ``level``, ``logger``, ``message``, ``request_id``.

    Shared with ``gunicorn.conf.py``, so gunicorn's own lines read like the app's.
    """
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}{request_id}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )


def configure_logging(level: str = "INFO") -> None:
    """Send the root logger's records to stderr as JSON. Safe to call once per app.

    Under gunicorn, ``gunicorn.conf.py`` has already installed this handler (same name) on the
    root logger, so it is kept rather than doubled.
    """
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == HANDLER_NAME), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(HANDLER_NAME)
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(json_formatter())
        root.addHandler(handler)
    root.setLevel(level)
    weasyprint = logging.getLogger("weasyprint")
    if _WEASYPRINT_NOTICE not in weasyprint.filters:
        weasyprint.addFilter(_WEASYPRINT_NOTICE)
