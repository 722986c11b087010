"""``credit-control devorg``: run the local org and write the settings a client needs.

Prints the instance URL, the username and where the env file is — never a secret. The env file
(mode 0600) holds ``KEY=value`` lines: the SALESFORCE_* settings of design.md plus
``DEVORG_ADMIN_TOKEN`` for ``/_devorg/``. The JWT key pair is generated at first start and kept
in ``<dir of --state or --env-file>/devorg-keys/`` so the env file stays valid across restarts.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import click

from .org import DEFAULT_SFDX_ROOT, INTEGRATION_USERNAME, DevOrg


def write_env_file(org: DevOrg, path: Path) -> None:
    """Write the settings as ``KEY=value`` lines, readable by the owner only."""
    settings = dict(org.env_settings())
    settings["DEVORG_ADMIN_TOKEN"] = org.admin_token
    if org.http_url:
        settings["DEVORG_HTTP_URL"] = org.http_url
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("# written by `credit-control devorg`; contains secrets\n")
        for key, value in settings.items():
            handle.write(f"{key}={value}\n")
    path.chmod(0o600)


def start_devorg(
    *,
    port: int,
    http_port: int | None,
    state: Path | None,
    env_file: Path,
    sfdx_root: Path = DEFAULT_SFDX_ROOT,
    token_ttl: float = 7200.0,
    daily_api_max: int = 15000,
) -> DevOrg:
    key_dir = (state.parent if state else env_file.parent) / "devorg-keys"
    org = DevOrg(
        sfdx_root=sfdx_root,
        state_path=state,
        token_ttl=token_ttl,
        key_dir=key_dir,
        daily_api_max=daily_api_max,
    )
    org.start(https_port=port, http_port=http_port)
    write_env_file(org, env_file)
    return org


@click.command("devorg")
@click.option("--port", default=8443, show_default=True, type=int, help="HTTPS port on localhost.")
@click.option("--http-port", default=None, type=int, help="Also serve plain HTTP on this port.")
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file: records, sessions and retained events survive restarts.",
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("var/devorg.env"),
    show_default=True,
    help="Where to write the SALESFORCE_* settings (mode 0600).",
)
@click.option(
    "--sfdx",
    "sfdx_root",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_SFDX_ROOT,
    show_default=True,
    help="The SFDX project whose metadata defines the org's schema.",
)
@click.option(
    "--token-ttl",
    default=7200.0,
    show_default=True,
    type=float,
    help="Session idle timeout, seconds.",
)
@click.option(
    "--api-max", default=15000, show_default=True, type=int, help="DailyApiRequests allowance."
)
@click.option(
    "--run-for",
    default=None,
    type=float,
    hidden=True,
    help="Stop after this many seconds (smoke tests).",
)
def devorg_command(
    port, http_port, state, env_file, sfdx_root, token_ttl, api_max, run_for
) -> None:
    """Run devorg, a local Salesforce org, until interrupted."""
    org = start_devorg(
        port=port,
        http_port=http_port,
        state=state,
        env_file=env_file,
        sfdx_root=sfdx_root,
        token_ttl=token_ttl,
        daily_api_max=api_max,
    )
    click.echo(f"devorg instance URL : {org.url}")
    if org.http_url:
        click.echo(f"devorg plain HTTP   : {org.http_url}")
    click.echo(f"login URL (login host, refuses client_credentials): {org.login_url}")
    click.echo(f"username            : {INTEGRATION_USERNAME}")
    click.echo(f"CA bundle           : {org.ca_path}")
    click.echo(
        f"settings written to : {env_file} (contains secrets; `set -a; . {env_file}; set +a`)"
    )
    click.echo(f"state               : {state or 'in memory (lost on exit)'}")
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if run_for is not None:
        threading.Timer(run_for, stop.set).start()
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        org.stop()
        click.echo("devorg stopped")
