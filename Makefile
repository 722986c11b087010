# The two commands of the README: `make run` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test test-python test-js lint audit bench clean venv node preview

# The service with its development tools, and the local Salesforce org (devorg/, a distribution
# of its own that the production wheel never holds) for the demo, the tests and the benchmarks;
# likewise the local Stripe (devstripe/) and the local ERPs (deverp/).
$(VENV)/.installed: pyproject.toml devorg/pyproject.toml devstripe/pyproject.toml deverp/pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade 'pip>=25.3' 'setuptools>=78.1.1' wheel
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]' -e ./devorg -e ./devstripe -e ./deverp
	touch $@

# Not `npm ci`: npm 11 leaves the platform-specific optional packages of rollup (a peer of the
# LWC tooling) out of the lock file and `npm ci` then refuses the lock as out of sync. `npm install
# --no-save` installs the locked versions and leaves package-lock.json as it is.
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --no-save
	touch $@

# The Lightning preview (docs/preview.md): the package's components compiled with the LWC
# compiler into preview/dist, which devorg serves at /lightning/... Rebuilt when the preview or a
# file of the package's user interface changes, wherever the package directories put them.
PREVIEW_SOURCES := $(shell git ls-files -- preview/src preview/scripts preview/rollup.config.mjs '*/lwc/*' 'lwc/*' '*.flexipage-meta.xml' '*.labels-meta.xml' '*.tab-meta.xml' 2>/dev/null)
preview/dist/.built: node_modules/.installed $(PREVIEW_SOURCES)
	npm run --silent preview:build
	touch $@

venv: $(VENV)/.installed
node: node_modules/.installed
preview: preview/dist/.built

run: venv preview
	$(VENV)/bin/credit-control demo

test: test-python test-js

lint: venv node
	$(VENV)/bin/ruff check service devorg devstripe deverp tests bench
	$(VENV)/bin/ruff format --check service devorg devstripe deverp tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/hadolint Dockerfile
	npm run --silent lint
	npm run --silent prettier:verify

# node too: the jsforce and CometD conformance tests against devorg run from pytest.
test-python: venv node
	$(VENV)/bin/ruff check service devorg devstripe deverp tests bench
	$(VENV)/bin/ruff format --check service devorg devstripe deverp tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/hadolint Dockerfile
	@command -v chromium >/dev/null || echo "make test: no Chromium found, the pay page's browser tests are skipped (apt-get install chromium)"
	@command -v promtool >/dev/null || echo "make test: no promtool found, docs/alerts.yml is not checked (apt-get install prometheus)"
	$(PY) -m pytest

test-js: node
	npm run --silent lint
	npm run --silent prettier:verify
	npm run --silent test:unit
	npm run --silent validate:package

# Strict: fails when a pin has a known vulnerability and when PyPI's vulnerability data cannot be
# read for any pin. `make test` runs the same audit but skips it, saying so, when the data is
# unreachable (tests/test_dependencies.py; docs/reliability.md).
audit: venv
	$(VENV)/bin/pip-audit --requirement constraints.txt --no-deps --disable-pip --strict

bench: venv
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .ruff_cache .hypothesis preview/dist
