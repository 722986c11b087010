# The two commands of the README: `make run` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test test-python test-js lint bench clean venv node

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade 'pip>=24'
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

venv: $(VENV)/.installed
node: node_modules/.installed

run: venv
	$(VENV)/bin/credit-control demo

test: test-python test-js

lint: venv node
	$(VENV)/bin/ruff check service tests bench
	$(VENV)/bin/ruff format --check service tests bench
	npm run --silent lint
	npm run --silent prettier:verify

test-python: venv
	$(VENV)/bin/ruff check service tests bench
	$(VENV)/bin/ruff format --check service tests bench
	$(PY) -m pytest

test-js: node
	npm run --silent lint
	npm run --silent prettier:verify
	npm run --silent test:unit
	npm run --silent validate:package

bench: venv
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .ruff_cache .hypothesis
