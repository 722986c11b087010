"""``credit-control web``: the web app under gunicorn, after checking the settings and policy."""

from __future__ import annotations

import os
import sys

import click

from service.assessments import load_policy_file
from service.config import load_config


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def web_command(host: str, port: int, workers: int) -> None:
    """Run the web app under gunicorn (checks the configuration and the policy first)."""
    load_policy_file(load_config().credit_policy_file)
    # Replace this process with gunicorn (same interpreter), so signals reach it directly.
    command = [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}"]
    command += ["--workers", str(workers), "service.app:create_app()"]
    os.execv(sys.executable, command)  # noqa: S606 - fixed arguments, no shell
