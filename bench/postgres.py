"""The PostgreSQL the benchmarks use: this machine's (and CI's) shared server, database ``test``."""

from __future__ import annotations

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_reachable() -> str | None:
    """None when the server answers, else why not (a benchmark then skips it, with that line)."""
    try:
        import psycopg

        psycopg.connect(PG_SERVER, connect_timeout=3).close()
    except Exception as exc:
        return str(exc).splitlines()[0]
    return None
