"""gunicorn's settings for the ``web`` process (Procfile: ``gunicorn -c gunicorn.conf.py ...``).

Command-line options win over these (``--bind``, ``--workers``), so tests and benchmarks still
choose their own port and worker count.

Logs. gunicorn's own lines (start, worker boot and exit, timeouts) are JSON with the app's fields
(``time``, ``level``, ``logger``, ``message``, ``request_id``) through the one handler the app
also uses (``service.logs``), on stderr. gunicorn's access log stays off: the app already writes
one JSON ``request`` line per request with its request id, status and duration.

Metrics. Each worker counts only the requests it answered, and a scrape of ``/metrics`` reaches
one worker. prometheus_client's multiprocess mode keeps every worker's counters in files under
``PROMETHEUS_MULTIPROC_DIR`` and sums them when scraped (``service.metrics``). The variable must
be set before a worker imports prometheus_client, so it is set here, in the master, before any
worker is forked: a fresh private directory unless the operator names one (then emptied when the
server starts, so counters restart from zero with the server, as Prometheus expects).
"""

import os
import tempfile
from pathlib import Path

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="credit-control-metrics-")

# After the variable is set: prometheus_client chooses its value storage at import time.
from prometheus_client import multiprocess

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# The Procfile's default of two workers per dyno; WEB_CONCURRENCY is the platforms' convention.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"

# A request may take this long before its worker is killed and replaced. The largest legitimate
# request is a full feed (5,000 rows: a quarter of a second or less at the measured rates) or
# a statement PDF; 60 s leaves room on a loaded machine and stays above the 30 s after which
# Heroku's router gives up on a request, so gunicorn never kills a request a client still
# waits for. A killed request rolls back its transaction; feeds are idempotent, the ERP resends.
timeout = 60
# On SIGTERM a worker stops accepting and finishes the requests in hand for up to this long.
# Heroku sends SIGKILL 30 s after SIGTERM; 25 s lets requests finish and workers exit first.
graceful_timeout = 25
# Sync workers answer one request per connection and close it (gunicorn's ``keepalive`` applies
# to the other worker classes only): a router or load balancer in front keeps the client's
# connections, and a slow client cannot hold a worker between requests.

# gunicorn's control socket (``gunicornc``) is not used here. Its default path is one per user
# ($XDG_RUNTIME_DIR/gunicorn.ctl), which two servers on one machine would contend for.
control_socket_disable = True

accesslog = None
errorlog = "-"
# The app's LOG_LEVEL; a value it refuses is left for it to report (one ConfigError line).
loglevel = os.environ.get("LOG_LEVEL", "info").strip().lower()
if loglevel not in ("debug", "info", "warning", "error"):
    loglevel = "info"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "service.logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "service.logs.json_formatter"}},
    "handlers": {
        # Named like the app's handler, so the app keeps this one instead of adding a second.
        "credit-control-json": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"level": loglevel.upper(), "handlers": ["credit-control-json"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
}


def on_starting(server):
    """Counters start from zero with the server: drop files a previous server left behind."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    for kind in ("counter", "gauge", "histogram", "summary"):  # prometheus_client's files only
        for stale in directory.glob(f"{kind}_*.db"):
            stale.unlink()


def child_exit(server, worker):
    """A worker is gone (exited, killed at its timeout): its live gauges stop counting.

    Its counters stay in the sum: the requests it answered still happened.
    """
    multiprocess.mark_process_dead(worker.pid)
