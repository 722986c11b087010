"""Business Central webhook subscriptions: one per collection, created and renewed.

Business Central ends a subscription three days after it was created or last renewed. After
each pull the connector makes sure every collection has one that lives at least ``RENEW_BEFORE``
longer: a missing one is created (``POST subscriptions``: Business Central first calls our
notification URL with a validation token, ``service.connectors.bc.webhook`` echoes it), one
close to its end is renewed (``PATCH subscriptions('<id>')`` with its ``@odata.etag``), one
Business Central no longer knows (404) is created again. Their ids, etags and ends are kept in
``connector_cursors`` (``bc:subscriptions``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from service.connectors import cursors
from service.connectors.http import ErpError
from service.db import transaction

NAME = "bc:subscriptions"
RENEW_BEFORE = timedelta(days=1)


def keep_subscribed(
    sessions: sessionmaker[Session], connector: Any, now: datetime
) -> dict[str, int]:
    """Create or renew what needs it; returns ``{"created": n, "renewed": n}``."""
    settings = connector.settings
    if not settings.webhook_url or not settings.webhook_client_state:
        return {"created": 0, "renewed": 0}
    with sessions() as session:
        state = cursors.position(session, NAME) or {}
    done = {"created": 0, "renewed": 0}
    for entity in connector.entities:
        held = state.get(entity)
        if held and datetime.fromisoformat(held["expires"]) - now > RENEW_BEFORE:
            continue
        answer = None
        if held:
            try:
                answer = connector.subscriptions("PATCH", held, entity)
                done["renewed"] += 1
            except ErpError as error:
                if error.status != 404:
                    raise
        if answer is None:
            answer = connector.subscriptions("POST", None, entity)
            done["created"] += 1
        state[entity] = {
            "id": answer["subscriptionId"],
            "etag": answer.get("@odata.etag", ""),
            "expires": datetime.fromisoformat(
                answer["expirationDateTime"].replace("Z", "+00:00")
            ).isoformat(),
        }
        with transaction(sessions) as session:
            cursors.save(session, NAME, state, now)
    return done
