# voxguard: `make demo` sets up .venv and runs the whole story; `make test` sets up and
# runs the test suite. Both need only Python 3.11+ and the package registry.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.voxguard-installed

.PHONY: setup demo test bench protos lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,eval]"
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

lint: $(STAMP)
	$(VENV)/bin/ruff check server tenants tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
