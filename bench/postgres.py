"""The PostgreSQL the benchmarks use: this machine's (and CI's) shared server, database ``test``."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_reachable(url: str = PG_SERVER) -> str | None:
    """None when the server answers, else why not (a benchmark then skips it, with that line)."""
    try:
        # Imported here, not at the top: bench.engine imports this module in the process of its
        # in-memory phase, whose peak RSS it reports (psycopg is ~15 MB), and SQLite runs need none.
        import psycopg

        plain = url.replace("postgresql+psycopg://", "postgresql://")
        psycopg.connect(plain, connect_timeout=3).close()
    except Exception as exc:
        return str(exc).splitlines()[0]
    return None


@contextmanager
def scratch_schema(url: str = PG_URL, prefix: str = "bench") -> Iterator[str]:
    """A schema of our own on the shared server (others run tests there), dropped afterwards.

    Yields ``url`` with its ``search_path`` set to that schema; the caller migrates it.
    """
    import psycopg  # here, not at the top: see postgres_reachable

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    schema = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(plain, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            sep = "&" if "?" in url else "?"
            yield f"{url}{sep}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
