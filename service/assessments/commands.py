"""``credit-control assess``: re-assess the whole book now, or show what a policy would change.

``assess_command(account)`` builds the command; ``service/cli.py`` passes the Salesforce
Account-field map, so the dry run speaks in the fields an admin sees while this package knows
no Salesforce names.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy import func, select

from service import outbox
from service.assessments.book import reassess_all
from service.assessments.loading import DEFAULT_CHUNK
from service.assessments.policy_file import load_policy_file
from service.assessments.shadow import AccountFields, shadow
from service.config import load_config
from service.db import make_engine, make_session_factory
from service.models import Customer
from service.progress import progress


def _show(value: Any) -> str:
    return "-" if value is None else str(value)


def assess_command(account: AccountFields) -> click.Command:
    """The ``assess`` command, its dry run comparing ``account`` fields."""

    @click.command("assess")
    @click.option(
        "--dry-run", is_flag=True, help="Shadow mode: show what would change, write nothing."
    )
    @click.option(
        "--as-of",
        "as_of",
        type=click.DateTime(["%Y-%m-%d"]),
        help="Day to assess as of (default: today, UTC).",
    )
    @click.option(
        "--policy",
        "policy_file",
        type=click.Path(exists=True, dir_okay=False),
        envvar="CREDIT_POLICY_FILE",
        help="Policy JSON document (default: design.md's defaults).",
    )
    @click.option(
        "--chunk", default=DEFAULT_CHUNK, show_default=True, type=click.IntRange(1, 50_000)
    )
    @click.option(
        "--all", "show_all", is_flag=True, help="With --dry-run, list unchanged accounts too."
    )
    def command(dry_run: bool, as_of, policy_file: str | None, chunk: int, show_all: bool) -> None:
        """Re-assess every customer; with --dry-run, print each account's status and the
        Salesforce fields that would change, pushing and storing nothing."""
        policy = load_policy_file(policy_file)
        day = as_of.date() if as_of else datetime.now(UTC).date()
        engine = make_engine(load_config(require=()).database_url)
        factory = make_session_factory(engine)
        started = time.perf_counter()
        try:
            if dry_run:
                counts: dict[str, int] = defaultdict(int)
                changed = 0
                with factory() as session:
                    for line in shadow(session, day, policy, account, chunk=chunk):
                        counts[line.status or "ERROR"] += 1
                        if line.error:
                            click.echo(f"{line.customer}\tERROR\t{line.error}")
                            continue
                        if line.changes:
                            changed += 1
                        if line.changes or show_all:
                            moves = "; ".join(
                                f"{k}: {_show(a)} -> {_show(b)}"
                                for k, (a, b) in line.changes.items()
                            )
                            was = _show(line.previous_status)
                            click.echo(
                                f"{line.customer}\t{was} -> {line.status}\t{moves or 'no change'}"
                            )
                summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                click.echo(
                    f"dry run as of {day}: {summary}; {changed} accounts would change in "
                    "Salesforce; nothing written"
                )
                return
            with factory() as session:
                total = session.scalar(select(func.count()).select_from(Customer))
                with progress("re-assessing", total=total, unit="customers") as bar:
                    report = reassess_all(
                        session, day, policy, chunk=chunk, commit_each=True,
                        on_chunk=outbox.queue_for_salesforce,
                        progress=lambda done: bar.set(done.assessed + len(done.errors)),
                    )  # fmt: skip
            summary = ", ".join(f"{k} {v}" for k, v in sorted(report.statuses.items()))
            click.echo(
                f"re-assessed {report.assessed} customers as of {day} in "
                f"{time.perf_counter() - started:.1f}s: {summary}; {len(report.errors)} errors"
            )
            for number, message in sorted(report.errors.items())[:20]:
                click.echo(f"{number}: {message}", err=True)
        finally:
            engine.dispose()

    return command
