"""``credit-control dunning preview|run``: today's reminders, shown or sent.

``preview`` prints what would be sent today (customer, level, invoices, amount, recipient) and
who gets nothing for want of a recipient; it writes nothing. ``run`` stores today's reminders
and sends what is queued (with ``SMTP_URL``); both can be repeated: a reminder is stored once
per customer, currency, level and day, and sent once.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import click

from service.assessments.policy_file import load_policy_file
from service.config import Config, load_config
from service.db import make_engine, make_session_factory
from service.dunning.render import Company
from service.dunning.run import RunReport, Settings, check_policy, run, run_book
from service.dunning.sender import Sender
from service.dunning.smtp import Mailer
from service.progress import progress


def _setup(as_of: datetime | None) -> tuple[Config, Settings, date]:
    config = load_config(require=())
    policy = load_policy_file(config.credit_policy_file)
    check_policy(policy)
    settings = Settings(
        policy,
        Company(config.company_name, config.company_address, config.company_logo_url),
        config.mail.domain if config.mail else "localhost",
        config.pay_links,
    )
    zone = config.salesforce.zone if config.salesforce else ZoneInfo("UTC")
    day = as_of.date() if as_of else datetime.now(zone).date()
    return config, settings, day


def _print(report: RunReport) -> None:
    if report.planned:
        click.echo(f"{'CUSTOMER':<10} {'LEVEL':<14} {'AMOUNT':>16}  INVOICES  RECIPIENT")
    for p in report.planned:
        r = p.reminder
        invoices = ", ".join(f"{line.number} ({line.days_overdue}d)" for line in r.lines)
        click.echo(
            f"{p.number:<10} {f'{r.level.number} {r.level.template}':<14} "
            f"{r.currency} {r.total:>12,.2f}  {invoices}  {', '.join(p.recipients)}"
        )
    if report.no_recipient:
        click.echo(f"no recipient (no message): {', '.join(report.no_recipient)}")
    for line in report.bad_addresses:
        click.echo(f"address ignored: {line}")
    for error in report.errors:
        click.echo(f"not planned: {error}")
    click.echo(report.summary())


_AS_OF = click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The day to plan for (default: today).",
)


@click.group("dunning")
def dunning_command() -> None:
    """Payment reminders: preview today's, or run (store and send) them."""


@dunning_command.command("preview")
@_AS_OF
def preview_command(as_of: datetime | None) -> None:
    """Print what would be sent today, without storing or sending anything."""
    config, settings, day = _setup(as_of)
    engine = make_engine(config.database_url)
    try:
        _print(run(make_session_factory(engine), day, settings, write=False))
    finally:
        engine.dispose()


@dunning_command.command("run")
@_AS_OF
@click.option(
    "--no-send", is_flag=True, help="Store today's reminders; leave sending to the worker."
)
def run_command(as_of: datetime | None, no_send: bool) -> None:
    """Store today's reminders and send what is queued (idempotent)."""
    config, settings, day = _setup(as_of)
    engine = make_engine(config.database_url)
    try:
        factory = make_session_factory(engine)
        with progress("planning reminders", unit="batches of customers") as bar:

            def advanced() -> bool:
                bar.advance(1)
                return True

            report = run_book(config.database_url, day, settings, on_chunk=advanced)
        _print(report)
        if no_send:
            return
        if config.mail is None:
            click.echo("SMTP_URL is not set: reminders are stored, not sent")
            return
        sent = Sender(factory, Mailer(config.mail), company=settings.company).drain()
        click.echo(
            f"sent {sent.sent}, to retry {sent.retried}, parked {sent.parked}"
            + (f" (last error: {sent.errors[-1]})" if sent.errors else "")
        )
    finally:
        engine.dispose()
