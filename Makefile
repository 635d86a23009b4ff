# Every target bootstraps .venv on a fresh clone, so nothing else needs to be installed first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app portal
# Every install comes from the lock: exact versions, checked against their hashes.
LOCK := requirements.lock
LOCK_COMMAND := $(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 --generate-hashes --quiet -o $(LOCK)
# `make bench` adds the bench extra (Django, for the admin peer) from a second lock, resolved with
# the first as constraints so that every package both hold has the same pin.
BENCH_LOCK := requirements-bench.lock
BENCH_STAMP := $(VENV)/.installed-bench
BENCH_LOCK_COMMAND := $(BIN)/uv pip compile pyproject.toml --extra test --extra bench --universal --python-version 3.11 --generate-hashes --quiet -c $(LOCK) -o $(BENCH_LOCK)
# What CI runs: four workers on this 2-core machine, because much of the suite waits (on
# Chromium, gunicorn servers and PostgreSQL) rather than computes; with two, the cores sat idle
# for about half of the run. Work stealing: a worker that runs out takes tests queued for
# another (with a fixed share each, one core sat idle for the last minute). The ten slowest
# tests are listed at the end.
PYTEST_WORKERS ?= 4
PYTEST_DEFAULT_ARGS := -n $(PYTEST_WORKERS) --dist worksteal --durations=10

PO_FILES := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run test lint bench install clean translations lock upgrade audit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

# Re-resolve the locks after editing pyproject.toml (keeps every pin that still fits).
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$$(grep -o '"uv[^"]*"' pyproject.toml | tr -d '"')"
	$(LOCK_COMMAND)
	$(BENCH_LOCK_COMMAND)

# Move every pin to the newest release pyproject.toml allows, install it, and run the tests.
upgrade: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$$(grep -o '"uv[^"]*"' pyproject.toml | tr -d '"')"
	$(LOCK_COMMAND) --upgrade
	$(BENCH_LOCK_COMMAND) --upgrade
	$(MAKE) test

# Known vulnerabilities in the locked versions (skipped, with a notice, without a database).
audit: $(STAMP)
	$(BIN)/python scripts/audit_lock.py

# Compiled catalogues are built here, never committed.
%.mo: %.po | $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

install: $(STAMP) $(MO_FILES)

# Re-extract every translatable string and merge it into the catalogues (then translate them).
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k cached_gettext -k cached_ngettext:1,2 --no-location --sort-output -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching --ignore-obsolete

run: $(STAMP) $(MO_FILES)
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	MAIL_BACKEND=console $(FLASK) run --host 127.0.0.1 --port 5000

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

test: lint audit $(STAMP) $(MO_FILES)
	$(BIN)/bandit -q -r portal -lll
	$(BIN)/python -m pytest $(PYTEST_DEFAULT_ARGS) $(PYTEST_ARGS)

# The bench extra, on top of the main install (`make install` and `make test` never need it).
$(BENCH_STAMP): $(BENCH_LOCK) $(STAMP)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(BENCH_LOCK)
	$(BIN)/python -m pip check
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) $(MO_FILES)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
