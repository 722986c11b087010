"""ERP connectors against the local SAP (``deverp``, a process of its own, over HTTP).

1. Full reconciliation of 1,000,000 open items (``credit-control sync sap --full`` in a
   subprocess, on an empty database): every item read over OData V2 in keyset pages, mapped,
   validated and stored with its customer, its re-assessment request and its Receivable__c
   push. Timed, with the peak RSS of the command's processes sampled by psutil and their CPU
   time (the machine's load is printed: on a shared box the CPU time is the steadier figure).
   Target: < 2 min. Shared by two processes where there are two cores (``--processes``).
   The re-assessment of the customers is the worker's (queued, not drained here).
2. Incremental pull of 1,000 changed documents (half cleared by a new payment each, half with a
   new due date) from the cursor the reconciliation left, in this process. Target: < 5 s.

    python -m bench.connectors [--open-items 1000000] [--customers 20000] [--changes 1000]
                               [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psutil
import requests

from bench.postgres import postgres_reachable, scratch_schema
from service.config import sap_settings
from service.connectors.run import run_connector
from service.connectors.sap.connector import SapConnector
from service.db import make_engine, make_session_factory
from service.migrations import upgrade

TARGET_FULL_S = 120
TARGET_INCREMENTAL_S = 5
PAGE_SIZE = "10000"
USER, PASSWORD = "CC_COMM_USER", "dev-sap-password-0123456789"


@contextmanager
def local_sap(open_items: int, customers: int):
    process = subprocess.Popen(
        [sys.executable, "-m", "deverp.sap", "--open-items", str(open_items),
         "--customers", str(customers)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = process.stdout.readline().strip()
        if not line.startswith("ready "):
            raise RuntimeError(f"the local SAP did not start: {line!r}")
        yield line.split(" ", 1)[1]
    finally:
        process.terminate()
        process.wait(30)


@contextmanager
def database(backend: str, workdir: Path):
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'bench-connectors.sqlite3'}"
        upgrade(url)
        yield url
        return
    with scratch_schema(prefix="bench_erp") as url:
        upgrade(url)
        yield url


def sample_peak_rss(process: subprocess.Popen) -> tuple[float, int]:
    """Wait for ``process``; returns (seconds, peak RSS in bytes of it and its children)."""
    started = time.perf_counter()
    peak = 0
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            rss = watched.memory_info().rss + sum(
                child.memory_info().rss for child in watched.children(recursive=True)
            )
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.1)
    return time.perf_counter() - started, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.connectors", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--open-items", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--changes", type=int, default=1_000)
    parser.add_argument("--backends", default="sqlite")
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    if "postgresql" in backends and (reason := postgres_reachable()):
        print(f"connectors: PostgreSQL skipped ({reason})")
        backends.remove("postgresql")

    missed = 0
    print(f"connectors: starting the local SAP with {args.open_items:,} open items...", flush=True)
    with (
        local_sap(args.open_items, args.customers) as base_url,
        tempfile.TemporaryDirectory(prefix="bench-connectors-") as tmp,
    ):
        env = {"SAP_BASE_URL": base_url, "SAP_USER": USER, "SAP_PASSWORD": PASSWORD,
               "SAP_PAGE_SIZE": PAGE_SIZE}  # fmt: skip
        for backend in backends:
            with database(backend, Path(tmp)) as url:
                child = subprocess.Popen(
                    [sys.executable, "-m", "service.cli", "sync", "sap", "--full"],
                    env={**os.environ, **env, "DATABASE_URL": url},
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                )  # fmt: skip
                cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
                report: list[str] = []
                reader = threading.Thread(target=report.extend, args=(child.stdout,), daemon=True)
                reader.start()
                seconds, peak = sample_peak_rss(child)
                reader.join(10)
                cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
                    cpu_after.ru_stime - cpu_before.ru_stime
                )
                ok = child.returncode == 0 and seconds < TARGET_FULL_S
                missed += not ok
                print(
                    f"connectors [{backend}] full reconciliation of {args.open_items:,} open "
                    f"items: {seconds:.1f} s (target < {TARGET_FULL_S} s), "
                    f"{args.open_items / seconds:,.0f} items/s, peak RSS "
                    f"{peak / 2**20:.0f} MB, {cpu:.0f} s of CPU (load average "
                    f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores), exit {child.returncode} "
                    f"{'ok' if ok else 'MISSED'}",
                    flush=True,
                )
                for line in report:
                    print(f"    {line.rstrip()}")

                today = datetime.now(UTC).date().isoformat()
                changed = requests.post(
                    f"{base_url}/_deverp/sap/changes",
                    json={"documents": args.changes, "on": today},
                    timeout=600,
                ).json()["items"]
                engine = make_engine(url)
                connector = SapConnector(sap_settings({**env}))
                started = time.perf_counter()
                cpu_started = time.process_time()
                run = run_connector(make_session_factory(engine), connector)
                seconds = time.perf_counter() - started
                cpu = time.process_time() - cpu_started
                engine.dispose()
                ok = seconds < TARGET_INCREMENTAL_S and not run.sync.counts.problems
                missed += not ok
                print(
                    f"connectors [{backend}] incremental pull of {args.changes:,} changed "
                    f"documents ({changed:,} items changed or posted): {seconds:.2f} s, "
                    f"{cpu:.2f} s of CPU "
                    f"(target < {TARGET_INCREMENTAL_S} s) {'ok' if ok else 'MISSED'}",
                    flush=True,
                )
                for line in run.lines():
                    print(f"    {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
