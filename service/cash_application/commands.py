"""``credit-control export cash-applications [--since INSTANT] [--output FILE]``: the CSV.

The same lines as ``GET /api/v1/cash-applications`` (``export``), one row each, every
application since the instant (all of them without one). Writing to a file replaces it whole
only once everything is written, so an interrupted export never leaves half a file.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from service.cash_application import export
from service.cash_application.views import parse_since
from service.config import load_config
from service.db import make_engine, make_session_factory

PAGE = 5000


@click.group("export")
def export_command() -> None:
    """Export what the ERP should post."""


@export_command.command("cash-applications")
@click.option("--since", help="only applications changed at or after this ISO 8601 instant")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="write to this file instead of standard output",
)
def cash_applications_command(since: str | None, output: Path | None) -> None:
    """Applied bank credits per customer and invoice, as CSV with stable line ids."""
    try:
        start = parse_since(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    config = load_config(require=())
    engine = make_engine(config.database_url)
    try:
        docs = _all(make_session_factory(engine), start)
    finally:
        engine.dispose()
    if output is None:
        rows = export.write_csv(sys.stdout, docs)
    else:
        fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
        try:
            with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
                rows = export.write_csv(out, docs)
            os.replace(tmp, output)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    click.echo(f"exported {rows} line(s) of {len(docs)} cash application(s)", err=True)


def _all(factory, since):
    docs: list[dict] = []
    seen: set[str] = set()
    while True:
        with factory() as session:
            page = export.documents(session, since, PAGE)
        new = [d for d in page if d["id"] not in seen]
        docs += new
        seen.update(d["id"] for d in new)
        if len(page) < PAGE or not new:
            return docs
        since = parse_since(page[-1]["updated_at"])
