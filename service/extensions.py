"""What the web app's parts share, kept on the app: ``app.extensions["credit_control"]``.

``create_app`` builds one ``Services`` value; views, error handlers and metrics reach it through
``services()`` (Flask's ``current_app``), so no module imports the app to find its neighbours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.assessments.portfolio import PortfolioCache
from service.config import Config
from service.credit import Policy
from service.db import utcnow
from service.metrics import Metrics

EXTENSION = "credit_control"

# A readiness check returns {"status": "ok" | "failing" | "not configured", ...details}.
ReadinessCheck = Callable[[], dict[str, Any]]


@dataclass
class Services:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    metrics: Metrics
    policy: Policy
    clock: Callable[[], datetime] = utcnow
    # The book's portfolio figures, for the API and /metrics; set by create_app.
    portfolio: PortfolioCache | None = None
    # The sync adds "salesforce" and "subscriber" checks here (see service.api.health).
    readiness_checks: dict[str, ReadinessCheck] = field(default_factory=dict)


def services() -> Services:
    return current_app.extensions[EXTENSION]
