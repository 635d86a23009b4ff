# Every target bootstraps .venv on a fresh clone, so nothing else needs to be installed first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app portal

PO_FILES := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run test lint bench install clean translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Compiled catalogues are built here, never committed.
%.mo: %.po | $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

install: $(STAMP) $(MO_FILES)

# Re-extract every translatable string and merge it into the catalogues (then translate them).
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching --ignore-obsolete

run: $(STAMP) $(MO_FILES)
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	MAIL_BACKEND=console $(FLASK) run --host 127.0.0.1 --port 5000

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

test: lint $(STAMP) $(MO_FILES)
	$(BIN)/bandit -q -r portal -lll
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP) $(MO_FILES)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
