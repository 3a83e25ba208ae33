# make run: serve the API with the bundled example thread stored (URLs printed); make run PORT=8001 HOST=0.0.0.0
# for another port or interface.  make test: the whole suite (browser and PostgreSQL tests skip with the reason
# when Chromium or a server is missing; .ci/run installs and starts both, then runs make test).
# Both build .venv from nothing when it is missing (torch's small CPU build first).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TORCH_SPEC ?= torch==2.13.0
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1

.PHONY: install run test lint train evaluate serve clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,train,bench,fast,scale]'
	touch $(STAMP)

# Silent: a taken port is one line from serve (and make's own), before anything loads or a key is made.
run: $(STAMP)
	@$(BIN)/moderation serve --load examples/japantoday_lavrov.txt --open-reads --demo-key --host $(HOST) --port $(PORT)

# The suite runs on TEST_WORKERS processes (pytest-xdist), each test file on one of them, so a module's server
# starts once: on 2 cores, 2 workers took 14 minutes where one took 21 (most tests wait on servers, subprocesses
# and sockets as much as they compute); 3 took 16. make test TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/ruff check moderation service tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

train: $(STAMP)
	$(BIN)/moderation train --cache-dir .cache/features

evaluate: $(STAMP)
	$(BIN)/moderation evaluate

serve: $(STAMP)
	$(BIN)/moderation serve

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
