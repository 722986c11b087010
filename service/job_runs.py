"""Scheduled jobs run once per cluster: each run is claimed by inserting its ``job_runs`` row.

Every worker runs the scheduler (the daily roll at 02:00, and once at start-up); the database
elects one per run. ``start`` inserts ``(job, run_key)`` with ``ON CONFLICT DO NOTHING``: the
first worker to insert runs the job, the others see the row and skip it — on PostgreSQL a second
insert waits for the first to commit, on SQLite the write lock serialises them. A run whose
holder died mid-way (no ``beat`` for ``STALE_AFTER``) is taken over by the next worker to try;
the jobs are written to resume (the daily roll re-assesses only customers not assessed today).

Helpers here never commit; the caller's transaction decides.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.db import utcnow
from service.models import JobRun

STALE_AFTER = timedelta(minutes=10)


def start(
    session: Session, job: str, run_key: str, holder: str, now: datetime | None = None
) -> bool:
    """Claim run ``run_key`` of ``job`` for ``holder``; False when another worker has it."""
    now = now or utcnow()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = JobRun.__table__
    inserted = session.scalars(
        insert(table)
        .values(job=job, run_key=run_key, holder=holder, started_at=now, heartbeat_at=now)
        .on_conflict_do_nothing(index_elements=["job", "run_key"])
        .returning(table.c.job)
    ).first()
    if inserted is not None:
        return True
    taken_over = session.execute(
        update(JobRun)
        .where(
            JobRun.job == job,
            JobRun.run_key == run_key,
            JobRun.finished_at.is_(None),
            JobRun.heartbeat_at < now - STALE_AFTER,
        )
        .values(holder=holder, heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(taken_over.rowcount)


def beat(session: Session, job: str, run_key: str, holder: str) -> bool:
    """Say the run is alive; False when another worker took it over (stop then)."""
    result = session.execute(
        update(JobRun)
        .where(JobRun.job == job, JobRun.run_key == run_key, JobRun.holder == holder)
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def finish(session: Session, job: str, run_key: str, holder: str) -> None:
    session.execute(
        update(JobRun)
        .where(JobRun.job == job, JobRun.run_key == run_key, JobRun.holder == holder)
        .values(finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
