"""``make bench``: run every benchmark module present, each printing its figures beside targets.

A module that is missing is skipped with a line; one that fails is reported and the others
still run.
Each module exposes ``main(argv) -> int`` (0 when every target was met).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
import traceback

MODULES = [
    "bench.feeds",
    "bench.engine",
    "bench.devorg_rest",
    "bench.devorg_stream",
    "bench.sync",
    "bench.no_echo",
    "bench.card_payments",
    "bench.pay_page",
    "bench.bank_import",
    "bench.cash_application",
    "bench.dunning",
    "bench.connectors",
    "bench.soak",
]


def main() -> int:
    failed = []
    for name in MODULES:
        if importlib.util.find_spec(name) is None:
            print(f"== {name}: not present, skipped", flush=True)
            continue
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            status = importlib.import_module(name).main([])
        except Exception:
            traceback.print_exc()
            status = 1
        print(
            f"== {name}: {'ok' if not status else 'targets missed or failed'} ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
        if status:
            failed.append(name)
    if failed:
        print("bench: " + ", ".join(failed) + " missed a target or failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
