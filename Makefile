# Everything a fresh machine with Python 3.11 and make needs: `make demo`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO_OUT := demo-out

.PHONY: setup demo test lint bench clean stress

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)  ## clean the bundled fixtures into demo-out/ and show what was removed
	rm -rf $(DEMO_OUT)
	$(BIN)/cleaner clean fixtures/demo $(DEMO_OUT); status=$$?; \
	echo "--- $(DEMO_OUT)/.cleaner/removed.jsonl (reason: source#paragraph -> kept copy)"; \
	$(BIN)/python -c "import json,sys; [print(f\"{r['reason']}: {r['source']}#{r.get('paragraph')} -> {(r['duplicate_of'] or {}).get('source')}#{(r['duplicate_of'] or {}).get('paragraph')}\") for r in map(json.loads, open(sys.argv[1]))]" $(DEMO_OUT)/.cleaner/removed.jsonl; \
	exit $$status

test: $(STAMP)  ## lint, then the whole suite (pytest's "no tests ran" exits 5 and fails)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

stress: $(STAMP)  ## heavy robustness tests: huge inputs, floods, kill -9 + resume loop on the BBC corpus
	CLEANER_STRESS=1 $(BIN)/python -m pytest -m stress tests/test_stress.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .hypothesis *.egg-info

.PHONY: test-slow
test-slow: $(STAMP)  ## the slow tests: the whole Reuters file through a real pipe (needs ../shared)
	CLEANER_SLOW=1 $(BIN)/python -m pytest -m slow
