# opencram: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# two stamps: `make run` installs the runtime only; `make test` adds the test extras
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed-test

.PHONY: run test bench lint format clean
.PHONY: tak-server-venv tak-server-venv-if-possible
.PHONY: asterix-decoder-venv asterix-decoder-venv-if-possible

# taky, the TAK server that tests/test_against_taky.py talks to, pins an old Flask and
# imports pkg_resources, so it gets its own virtual environment (ignored by git).
TAKY_VENV := .venv-taky
TAKY_STAMP := $(TAKY_VENV)/.installed
# asterix-decoder, the independent ASTERIX decoder that tests/test_against_asterix_decoder.py
# checks our output with, imports as `asterix` like libasterix, so it lives apart.
ASTERIX_VENV := .venv-asterix
ASTERIX_STAMP := $(ASTERIX_VENV)/.installed

$(RUN_STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/opencram run green-zone --out runs/green-zone

# The suite runs on every core (pytest-xdist); each test file stays on one worker
# (--dist loadfile), so a file's module fixtures (a TAK server, a run folder) start once.
test: $(STAMP) tak-server-venv-if-possible asterix-decoder-venv-if-possible
	$(BIN)/python -m pytest -q -n auto --dist loadfile

# every figure of docs/benchmarks.md (hours); `make bench QUICK=1` is a smoke run of each
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(if $(QUICK),--quick)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .venv-taky .venv-asterix runs build *.egg-info src/*.egg-info .pytest_cache .ruff_cache

tak-server-venv: $(TAKY_STAMP)

# taky brings the cryptography package, with which tests/test_against_taky_tls.py makes its
# throwaway CA and certificates (tests/tak_certs.py) for taky's TLS port.
$(TAKY_STAMP):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 1; }
	rm -rf $(TAKY_VENV)
	$(PYTHON) -m venv $(TAKY_VENV)
	echo '*' > $(TAKY_VENV)/.gitignore
	$(TAKY_VENV)/bin/python -m pip install --quiet "setuptools<82" taky || { rm -rf $(TAKY_VENV); exit 1; }
	touch $(TAKY_STAMP)

# `make test` builds the taky environment; where that fails the taky tests skip, except
# in CI (CI set), where it is an error.
tak-server-venv-if-possible:
	@$(MAKE) --no-print-directory tak-server-venv || { \
	  if [ -n "$$CI" ] && [ "$$CI" != "false" ] && [ "$$CI" != "0" ]; then \
	    echo "error: could not build $(TAKY_VENV) (taky TAK server) in CI"; exit 1; \
	  else \
	    echo "warning: could not build $(TAKY_VENV); the taky tests will be skipped"; \
	  fi; }

asterix-decoder-venv: $(ASTERIX_STAMP)

$(ASTERIX_STAMP):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 1; }
	rm -rf $(ASTERIX_VENV)
	$(PYTHON) -m venv $(ASTERIX_VENV)
	echo '*' > $(ASTERIX_VENV)/.gitignore
	$(ASTERIX_VENV)/bin/python -m pip install --quiet "asterix-decoder>=0.7.11,<0.8" || { rm -rf $(ASTERIX_VENV); exit 1; }
	$(ASTERIX_VENV)/bin/python -c "import asterix; asterix.parse(bytes.fromhex('300006800001'))" || { rm -rf $(ASTERIX_VENV); exit 1; }
	touch $(ASTERIX_STAMP)

# Like the taky environment: where it cannot be built the decoder tests skip, except in CI.
asterix-decoder-venv-if-possible:
	@$(MAKE) --no-print-directory asterix-decoder-venv || { \
	  if [ -n "$$CI" ] && [ "$$CI" != "false" ] && [ "$$CI" != "0" ]; then \
	    echo "error: could not build $(ASTERIX_VENV) (asterix-decoder) in CI"; exit 1; \
	  else \
	    echo "warning: could not build $(ASTERIX_VENV); the asterix-decoder tests will be skipped"; \
	  fi; }
