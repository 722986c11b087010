# The service's container image: the Procfile's three processes from one image.
#
#   docker build -t credit-control .
#   docker run credit-control                          # web (gunicorn, gunicorn.conf.py)
#   docker run credit-control credit-control worker    # worker
#   docker run credit-control credit-control db upgrade  # release: migrations, before each deploy
#
# compose.yaml runs all three with PostgreSQL on one machine; docs/operations.md says more.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: the pinned runtime dependencies and the service, in a virtual environment -----------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src
# The dependencies first (requirements.txt less its last line, "." the service itself), so a
# change to the code alone rebuilds only the layer below.
COPY requirements.txt ./
RUN grep -vx '\.' requirements.txt > /tmp/dependencies.txt \
    && pip install --requirement /tmp/dependencies.txt
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip install --no-deps .

# -- run: slim, no compilers, no sources, a user without privileges ----------------------------
FROM ${PYTHON_IMAGE}
# Pango and HarfBuzz's font subsetter for the statement PDFs (WeasyPrint). Debian's package
# versions are not pinned: a security update replaces the pinned version in the archive and the
# build would fail.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin \
        credit-control
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY gunicorn.conf.py Procfile ./
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8000
# Numeric, so a platform can tell it is not root without reading /etc/passwd (runAsNonRoot).
USER 10001:10001
EXPOSE 8000
# /healthz answers without a token or the database: "the web process is up". For the worker
# and release containers compose.yaml turns it off (they serve no HTTP); watch /readyz and the
# worker_heartbeat_age_seconds metric for the worker instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]
# gunicorn stops gracefully on SIGTERM (docker stop), within graceful_timeout (25 s); give
# `docker stop --time 30` or compose's stop_grace_period room for it.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "service.app:create_app()"]
