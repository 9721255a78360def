# voxguard: `make demo` sets up .venv and runs the whole story; `make test` sets up and
# runs the test suite. Both need only Python 3.11+ and the package registry.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# requirements.lock pins every package of the install (extras dev and eval included) with
# hashes; docs/dependencies.md says how `make lock` refreshes it.
LOCK := requirements.lock
LOCKED := $(VENV)/.voxguard-locked
STAMP := $(VENV)/.voxguard-installed

.PHONY: setup demo test bench protos lint lock clean

setup: $(STAMP)

# A changed lock rebuilds the environment from scratch, so it holds exactly what the lock
# names. The lock's pins without their hashes also constrain the isolated builds of the few
# source-only packages (PIP_CONSTRAINT reaches those), so their build back ends (setuptools,
# wheel, numpy) are the locked releases; pip cannot check hashes there.
BUILD_CONSTRAINTS := $(VENV)/build-constraints.txt
$(LOCKED): $(LOCK)
	$(PYTHON) -m venv --clear $(VENV)
	sed -n 's/^\([A-Za-z0-9._-]*==[^ ;\\]*\).*/\1/p' $(LOCK) > $(BUILD_CONSTRAINTS)
	PIP_CONSTRAINT=$(CURDIR)/$(BUILD_CONSTRAINTS) $(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	touch $(LOCKED)

$(STAMP): $(LOCKED) pyproject.toml
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) tools/check_lock.py
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/voxguard demo

test: $(STAMP)
	$(PY) -m pytest

# Benchmarks need real speech (default: the team corpus beside the checkout); see docs/benchmarks.md.
CORPUS ?= ../shared/corpus
bench: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) benchmarks/voice_quality.py --corpus $(CORPUS) --engine embedded-neural
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) benchmarks/voice_quality.py --corpus $(CORPUS) --engine embedded-neural --language cmn
	$(PY) benchmarks/synthesis_load.py --corpus $(CORPUS) --engine embedded-neural
	$(PY) benchmarks/watermark_robustness.py --corpus $(CORPUS)

protos: $(STAMP)
	$(PY) -m server.api.generate

# Style (ruff), the layer contracts (import-linter, [tool.importlinter] in pyproject.toml) and
# types (mypy: the whole package, the synthesis path, engine interface and domain strictly).
lint: $(STAMP)
	$(VENV)/bin/ruff check server tenants tests benchmarks tools
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

# Re-resolve after a change to pyproject.toml's dependencies, keeping every other pin;
# `make lock LOCK_ARGS=--upgrade` moves everything to the newest allowed releases.
LOCK_ARGS ?=
lock: $(LOCKED)
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --generate-hashes \
	    --allow-unsafe --strip-extras --extra dev --extra eval --no-emit-index-url \
	    --no-emit-find-links $(LOCK_ARGS) --output-file $(LOCK) pyproject.toml

clean:
	rm -rf $(VENV) build *.egg-info
