"""``python -m deverp.sap``: the local SAP in a process of its own (the demo, benchmarks).

Prints ``ready <base url>`` once it answers; ``POST /_deverp/sap/changes`` with
``{"documents": n, "on": "YYYY-MM-DD"}`` changes n open invoices (half cleared by payments).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from deverp.sap.book import SapBook
from deverp.sap.server import DevSap


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deverp.sap")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--open-items", type=int, default=0)
    parser.add_argument("--customers", type=int, default=1_000)
    args = parser.parse_args(argv)
    book = SapBook()
    if args.open_items:
        book.generate(args.open_items, args.customers)
        book.items.build()
    server = DevSap(book, port=args.port).start()
    print(f"ready {server.base_url}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
