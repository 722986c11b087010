"""One active CometD subscriber per org, elected through the database.

Two subscribers on one org would handle every event twice (the inbox would drop the second
copy, but both would hold a Streaming API client slot and race on cursors), so workers elect one:

* PostgreSQL: ``pg_try_advisory_lock`` on a dedicated connection. The lock lives as long as
  that connection, so a worker killed with SIGKILL loses it the moment its socket closes.
* SQLite: a ``leases`` row with an expiry the holder renews; a dead holder's lease runs out.
"""

from __future__ import annotations

import logging
import os
import socket
import zlib
from datetime import timedelta

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from service.db import transaction, utcnow
from service.models import Lease

log = logging.getLogger(__name__)


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Leadership:
    """``acquire()`` / ``renew()`` / ``release()`` of a named singleton role."""

    def __init__(
        self,
        engine: Engine,
        factory: sessionmaker[Session],
        name: str = "salesforce-subscriber",
        holder: str | None = None,
        lease_seconds: float = 30.0,
    ):
        self.engine = engine
        self.factory = factory
        self.name = name
        self.holder = holder or default_holder()
        self.lease_seconds = lease_seconds
        self._conn = None
        self.is_leader = False

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def acquire(self) -> bool:
        if self.postgres:
            return self._pg_acquire()
        return self._lease(take=True)

    def renew(self) -> bool:
        if self.postgres:
            try:
                assert self._conn is not None
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:  # the connection died: so did the lock
                log.warning("lost the subscriber lock connection", exc_info=True)
                self.is_leader = False
                self._drop_connection()  # the next acquire opens a new one
                return False
        return self._lease(take=False)

    def release(self) -> None:
        if not self.is_leader:
            return
        self.is_leader = False
        if self.postgres:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                finally:
                    self._conn.close()
                    self._conn = None
            return
        with transaction(self.factory) as session:
            lease = session.get(Lease, self.name)
            if lease is not None and lease.holder == self.holder:
                lease.expires_at = utcnow()

    # -- PostgreSQL ---------------------------------------------------------------------------

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
            except Exception:  # already gone; nothing to give back
                log.debug("closing the lost lock connection failed", exc_info=True)
            self._conn = None

    def _pg_acquire(self) -> bool:
        if self._conn is None:
            self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            # Advisory locks are database-wide: the schema is part of the key, so installations
            # (or test sessions) in other schemas of one database never block each other.
            schema = self._conn.execute(text("SELECT current_schema()")).scalar()
            self._key = zlib.crc32(f"{schema}.{self.name}".encode()) & 0x7FFFFFFF
        got = bool(
            self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar()
        )
        self.is_leader = got
        if got:
            self._record_visible_lease()
        return got

    def _record_visible_lease(self) -> None:
        try:
            self._lease(take=True, force=True)
        except Exception:  # visibility only
            log.debug("could not write the lease row", exc_info=True)

    # -- SQLite lease ---------------------------------------------------------------------------

    def _lease(self, *, take: bool, force: bool = False) -> bool:
        now = utcnow()
        until = now + timedelta(seconds=self.lease_seconds)
        with transaction(self.factory) as session:
            lease = session.scalars(select(Lease).where(Lease.name == self.name)).first()
            if lease is None:
                if not take:
                    self.is_leader = False
                    return False
                session.add(Lease(name=self.name, holder=self.holder, expires_at=until))
                self.is_leader = True
                return True
            mine = lease.holder == self.holder
            if mine or force or (take and lease.expires_at <= now):
                if not mine and not force and not take:
                    self.is_leader = False
                    return False
                lease.holder = self.holder
                lease.expires_at = until
                self.is_leader = True
                return True
            self.is_leader = False
            return False
