# mmsearch: `make run` and `make test` work on a fresh machine (Python 3.11+ and a C compiler).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
MODELS := build/models
QM := mmsearch/ui/i18n/mmsearch_zh_CN.qm

.PHONY: install run run-cli test lint typecheck bench bench-gui eval train train-members train-zh \
	screenshots clean \
	package package-test

# --no-compile: Python compiles what it imports, on first import; compiling every file of
# torch and its CUDA libraries up front took a third of the install (25 of 66 s for torch).
# That needs Python allowed to write its bytecode: where the environment forbids it
# (PYTHONDONTWRITEBYTECODE, set on some CI machines), every process would compile torch
# and the rest again from source, ~6 s a process, so make's commands allow it.
unexport PYTHONDONTWRITEBYTECODE
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile -e '.[build,dev]'
	touch $(STAMP)

# Compiled translations: built from the .ts sources, never committed.
$(QM): resources/translations/mmsearch_zh_CN.ts $(STAMP)
	mkdir -p $(dir $(QM))
	$(VENV)/bin/pyside6-lrelease -silent $< -qm $@

# The model recipe is idempotent: it returns at once when the bundled model is up to date.
install: $(STAMP) $(QM)
	$(PY) -m models.bundled.build --out $(MODELS)

# The window; `make run PHOTOS=DIR` adds DIR and indexes it in the background.
run: install
	$(VENV)/bin/mmsearch-gui $(if $(PHOTOS),--add "$(PHOTOS)")

# The terminal prompt instead of the window.
run-cli: install
	$(VENV)/bin/mmsearch prompt $(if $(PHOTOS),--add "$(PHOTOS)")

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: install lint typecheck
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/pytest

bench: install
	$(VENV)/bin/mmsearch bench

bench-gui: install
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/gui_stall.py

eval: install
	$(VENV)/bin/mmsearch eval --captions ../shared/evalset/flickr8k/captions.jsonl

# Retrain the default model's heads on ../shared/trainset (fixed seed; resumes if stopped).
# `install` never trains: it exports the committed weights. To ship a new training run:
#   cp build/train/matching/weights.safetensors models/matching/weights/effnetlite-minilm-matching.safetensors
train: $(STAMP)
	$(VENV)/bin/mmsearch train --captions ../shared/trainset/captions.jsonl --out build/train/matching

# The ensemble's two other members (docs/models.md, "One model from three"): the same
# recipe on the whole trainset, Lite0 with seed 1 and Lite2 with seed 0, no fusion head
# (~50 min on 2 cores). To ship them:
#   cp build/train/lite0-seed1/weights.safetensors models/matching/weights/effnetlite-minilm-matching.lite0-seed1.safetensors
#   cp build/train/lite2/weights.safetensors models/matching/weights/effnetlite-minilm-matching.lite2.safetensors
train-members: $(STAMP)
	$(VENV)/bin/mmsearch train --captions ../shared/trainset/captions.jsonl --out build/train/lite0-seed1 \
		--set seed=1 --set fusion_epochs=0
	$(VENV)/bin/mmsearch train --captions ../shared/trainset/captions.jsonl --out build/train/lite2 \
		--set backbone=efficientnet-lite2 --set fusion_epochs=0

# Teach the default model's text side Chinese (fixed seed; needs the built model's graphs):
#   cp build/train/cjk/weights.cjk.safetensors models/matching/weights/effnetlite-minilm-matching.cjk.safetensors
train-zh: install
	$(PY) -m models.matching.chinese --trainset ../shared/trainset --out build/train/cjk --threads 2

screenshots: install
	QT_QPA_PLATFORM=offscreen $(PY) -m mmsearch.ui.screenshots --out docs/screenshots

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache $(QM)

# -- the installable app (docs/packaging.md) ---------------------------------------------------
PACKAGE_STAMP := $(VENV)/.package-stamp

$(PACKAGE_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e '.[build,dev,package]'
	touch $@

# dist/mmsearch (one folder), its .tar.gz and .deb, and the size with the largest parts.
package: install $(PACKAGE_STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) packaging/build.py all

# The package as a user gets it: the .deb in a temporary root, --self-test from a clean
# environment, no torch; then start-up against .venv. Builds the package if there is none.
package-test: $(PACKAGE_STAMP)
	@test -e dist/mmsearch/mmsearch -a -n "$$(ls dist/mmsearch_*.deb 2>/dev/null)" || $(MAKE) package
	MMSEARCH_PACKAGE_TEST=require QT_QPA_PLATFORM=offscreen $(VENV)/bin/pytest -q tests/test_package.py
	$(PY) packaging/startup.py
