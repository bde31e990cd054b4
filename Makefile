# The two commands of the README: `make run` and `make test`. Everything else helps them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PORT ?= 8000
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test venv install lint format bench bench-opendata e2e clean

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

venv install: $(VENV)/.installed

run: $(VENV)/.installed
	PORT=$(PORT) bash scripts/run.sh

test:
	bash scripts/test.sh $(ARGS)

e2e:
	bash scripts/test.sh -m e2e $(ARGS)

bench: $(VENV)/.installed
	bash scripts/bench.sh

bench-opendata: $(VENV)/.installed
	bash scripts/bench-opendata.sh

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var test-output .pytest_cache
