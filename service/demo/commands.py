"""``credit-control demo`` and ``credit-control devorg``: the product on the embedded default.

Both need the local org (the ``devorg`` package, installed for development only); the command
line registers them only where it is installed.
"""

from __future__ import annotations

import click
from devorg.cli import devorg_command

from service.demo.run import run_demo

__all__ = ["demo_command", "devorg_command"]


@click.command("demo")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=int,
    help="Port for the web app (another is picked if busy).",
)
@click.option("--no-serve", is_flag=True, help="Load the demo and print the summary, then exit.")
def demo_command(port: int, no_serve: bool) -> None:
    """The product on the embedded default: SQLite under var/, a demo book, the web app."""
    run_demo(port=port, serve=not no_serve, echo=click.echo)
