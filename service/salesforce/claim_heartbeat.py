"""The heartbeat of an outbox claim: its lease is renewed while its push runs.

A claim is a lease (``service/outbox.py``): rows whose lease ran out are taken for a dead
worker's and claimed again. A push may rightly outlive the lease (a slow org, API pacing, a
batch of status events), so while the pusher works on a claim this thread extends the lease of
the rows it still holds every third of the lease. Only a worker that really stopped (killed,
frozen, cut off from the database) lets its rows expire; the claim token fences what it might
still acknowledge after that.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from service import outbox
from service.db import transaction

log = logging.getLogger(__name__)


class ClaimHeartbeat:
    """Renews the lease of claim ``token`` every ``lease_seconds / 3`` until the block ends."""

    def __init__(self, factory: sessionmaker[Session], token: str, lease_seconds: float):
        self.factory = factory
        self.token = token
        self.lease_seconds = lease_seconds
        self.renewals = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="claim-heartbeat", daemon=True)

    def __enter__(self) -> ClaimHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self.lease_seconds / 3):
            try:
                with transaction(self.factory) as session:
                    still_held = outbox.renew(session, self.token, self.lease_seconds)
            except Exception:
                # The database is unreachable: try again at the next beat. If it stays away past
                # the lease, another pusher takes the rows and the token fences this claim.
                log.warning("claim lease renewal failed; trying again", exc_info=True)
                continue
            self.renewals += 1
            if not still_held:
                return  # every row was acknowledged (or taken over): nothing left to keep
