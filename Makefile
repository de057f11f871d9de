# trainyard: `make demo` runs the main example end to end; `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export TRAINYARD_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: install system-deps bytecode demo test check unit bench clean

$(BIN)/trainyard: pyproject.toml examples/multistep-training/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,examples,s3]' -e examples/multistep-training
	@touch $@

install: system-deps $(BIN)/trainyard bytecode

# Bytecode for our sources, written even where PYTHONDONTWRITEBYTECODE is set (as on the CI
# machine): every `trainyard` subprocess would otherwise compile the package again at start.
bytecode: $(BIN)/trainyard
	@$(BIN)/python -m compileall -q src examples/multistep-training/src

system-deps:
	@scripts/system-deps.sh

# Steps run `python3`: the one of the virtual environment, which has torch and scikit-learn.
DEMO_ENV = PATH="$(CURDIR)/$(BIN):$$PATH" TRAINYARD_HOME="$${TRAINYARD_HOME:-$(CURDIR)/.trainyard}"
DEMO_NAME := multistep-training-$(shell date +%Y%m%d-%H%M%S)

demo: install
	$(DEMO_ENV) $(BIN)/trainyard run examples/multistep-training/workflow.yaml --name $(DEMO_NAME)
	$(DEMO_ENV) $(BIN)/trainyard results $(DEMO_NAME)

check: install
	$(BIN)/lint-imports
	$(BIN)/mypy src
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

unit: install
	$(BIN)/python -m pytest

# pytest runs in 4 pytest-xdist workers, one test file per worker at a time (pyproject.toml,
# tests/conftest.py); TRAINYARD_TEST_WORKERS=N changes the count, 0 runs in one process.
test: check
	@scripts/services.sh
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/engine_overhead.py

clean:
	rm -rf $(VENV) .trainyard .mypy_cache .ruff_cache .pytest_cache
