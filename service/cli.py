"""``credit-control``: the service's command line. Each command is a thin wrapper over a function.

Every command is listed here, by name, with the module that owns it (``COMMANDS``); a module is
imported only when its command runs or ``--help`` lists it, because the import command's helper
processes load this module again and each module it pulled in would cost every one of them
memory. The demo and the local org (``credit-control demo``, ``credit-control devorg``) are
listed only where the local org is installed (``pip install -e ./devorg``, as ``make`` does): a
production install has neither.

A configuration problem ends the command with one line (``Error: DATABASE_URL is malformed:
expected ...``) and exit status 1; no traceback.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from service.errors import ConfigError

# name -> "module:attribute"; the attribute is a click command, or a function that builds one.
COMMANDS = {
    "assess": "service.cli:assess_with_account_fields",
    "customer": "service.erasure:customer_command",
    "db": "service.migrations.commands:db_command",
    "dunning": "service.dunning.commands:dunning_command",
    "events": "service.salesforce.cli:events_command",
    "export": "service.cash_application.commands:export_command",
    "import": "service.cli:import_with_bank",
    "outbox": "service.salesforce.cli:outbox_command",
    "stream": "service.salesforce.cli:stream_command",
    "sync": "service.connectors.commands:sync_command",
    "web": "service.web:web_command",
    "worker": "service.worker:worker_command",
}
# The demo also runs the local Stripe (``devstripe``) and the local SAP (``deverp``), installed
# beside the local org.
LOCAL_ORG_INSTALLED = all(
    importlib.util.find_spec(n) is not None for n in ("devorg", "devstripe", "deverp")
)
if LOCAL_ORG_INSTALLED:  # development and demo only; see the module's docstring
    COMMANDS["demo"] = "service.demo.commands:demo_command"
    COMMANDS["devorg"] = "service.demo.commands:devorg_command"


def assess_with_account_fields() -> click.Command:
    """``assess``, its dry run speaking in the Salesforce Account fields (the one map)."""
    # Imported here, like every command's module (see the module's docstring).
    from service.assessments.commands import assess_command
    from service.salesforce.fields import ACCOUNT_FIELD_MAP

    return assess_command(ACCOUNT_FIELD_MAP)


def import_with_bank() -> click.Command:
    """``import``: ERP files (``import erp``) and bank statement files (``import bank``)."""
    from service.bank.commands import import_bank
    from service.feeds.commands import import_command

    import_command.add_command(import_bank)
    return import_command


class ServiceGroup(click.Group):
    """Loads the command a user names from ``COMMANDS``; turns ``ConfigError`` into one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name].split(":")
        found = getattr(importlib.import_module(module), attribute)
        return found if isinstance(found, click.Command) else found()

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=ServiceGroup)
def main() -> None:
    """Credit Control for Salesforce: ERP feeds in, credit status out."""


if __name__ == "__main__":  # ``python -m service.cli`` (the benchmark runs the import this way)
    main()
