# remud-gen: `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
WORK ?= out
INPUT ?=
CONFIG ?=
DEMO_WORK ?= demo-work

.PHONY: help setup demo test lint format bench run clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

setup: $(VENV)/.installed ## create .venv and install remud-gen with its dev extras

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -U pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

demo: setup ## run extract -> synthesize -> filter on a generated atlas against the stand-in endpoint
	$(PY) scripts/demo.py --work $(DEMO_WORK)

test: setup ## run the test suite
	$(BIN)/pytest

lint: setup ## ruff (lint + format check) and mypy
	$(BIN)/ruff check remud_gen tests scripts bench
	$(BIN)/ruff format --check remud_gen tests scripts bench
	$(BIN)/mypy

format: setup ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix remud_gen tests scripts bench
	$(BIN)/ruff format remud_gen tests scripts bench

bench: setup ## benchmarks against the stand-in endpoint (writes bench/results.json)
	$(PY) bench/run.py

run: setup ## run every stage on a folder of books: make run INPUT=books/ CONFIG=configs/my.yaml WORK=out/
	@test -n "$(INPUT)" || { echo "give INPUT=books/ (PDF files or folders)"; exit 2; }
	$(BIN)/remud-gen run $(INPUT) -o $(WORK) $(if $(CONFIG),-c $(CONFIG))

clean: ## remove the demo output and caches (keeps .venv)
	rm -rf $(DEMO_WORK) .pytest_cache .ruff_cache .mypy_cache
