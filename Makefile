# mmsearch: `make run` and `make test` work on a fresh machine (Python 3.11+ and a C compiler).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
MODELS := build/models

.PHONY: install run test lint typecheck bench eval clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[build,dev]'
	touch $(STAMP)

# The recipe is idempotent: it returns at once when the bundled model is up to date.
install: $(STAMP)
	$(PY) -m models.bundled.build --out $(MODELS)

run: install
	$(VENV)/bin/mmsearch prompt $(if $(PHOTOS),--add "$(PHOTOS)")

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: install lint typecheck
	$(VENV)/bin/pytest

bench: install
	$(VENV)/bin/mmsearch bench

eval: install
	$(VENV)/bin/mmsearch eval --captions ../shared/evalset/flickr8k/captions.jsonl

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
