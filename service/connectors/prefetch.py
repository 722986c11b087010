"""Read the ERP's next page while this one is mapped and stored.

A pull alternates between waiting for the ERP (its query, its JSON) and working on a page
(mapping, validating, writing). A thread that fetches the next page meanwhile overlaps the two:
the wait releases the GIL. At most ``depth`` pages wait, so memory stays bounded; an error in
the fetching thread is raised where the page would have been.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def prefetched(pages: Iterable[T], depth: int = 1) -> Iterator[T]:
    waiting: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(value, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for page in pages:
                if not put(page):
                    return
        except BaseException as error:  # handed to the consumer, raised there
            put(error)
            return
        put(_END)

    thread = threading.Thread(target=fetch, name="erp-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            value = waiting.get()
            if value is _END:
                return
            if isinstance(value, BaseException):
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(timeout=30)
