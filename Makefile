# Everything a fresh machine with Python 3.11 and make needs: `make demo`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO_OUT := demo-out
BENCH_VENV := bench/.venv
BENCH_STAMP := $(BENCH_VENV)/.installed-$(shell cksum bench/requirements.txt | cut -d' ' -f1)
BENCH_ARGS ?=
SCALE_ARGS ?=
# pytest runs its tests on this many processes (pytest-xdist); 2 fits the CI machine's 2 cores
TEST_JOBS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(TEST_JOBS)

.PHONY: setup demo test lint bench bench-scale clean stress

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)  ## clean the bundled fixtures into demo-out/ and show what was removed
	rm -rf $(DEMO_OUT)
	$(BIN)/cleaner clean fixtures/demo $(DEMO_OUT); status=$$?; \
	echo "--- what was removed, and the kept copy it repeated (cleaner show $(DEMO_OUT)):"; \
	$(BIN)/cleaner show $(DEMO_OUT) || exit 3; \
	echo "--- the report, to open in a browser: $(CURDIR)/$(DEMO_OUT)/.cleaner/report.html"; exit $$status

test: $(STAMP)  ## lint, then the whole suite (pytest's "no tests ran" exits 5 and fails)
	$(BIN)/ruff check .
	$(PYTEST)

stress: $(STAMP)  ## heavy robustness tests: huge inputs, floods, kill -9 + resume loop on the BBC corpus
	CLEANER_STRESS=1 $(PYTEST) -m stress tests/test_stress.py

bench: $(STAMP) $(BENCH_STAMP)  ## cleaner vs the naive script and datatrove -> bench/RESULTS.md (BENCH_ARGS="--repeat 3")
	$(BIN)/python bench/run.py --anchor-python $(BENCH_VENV)/bin/python $(BENCH_ARGS)

bench-scale: $(STAMP) $(BENCH_STAMP)  ## generated 200 MB corpus (made if missing): cleaner --workers 1/2, previous release, anchors -> bench/RESULTS.md (SCALE_ARGS="--size 500MB --repeat 5")
	$(BIN)/python bench/scale.py --anchor-python $(BENCH_VENV)/bin/python $(SCALE_ARGS)

$(BENCH_STAMP): bench/requirements.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r bench/requirements.txt
	rm -f $(BENCH_VENV)/.installed-* && touch $@

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(BENCH_VENV) bench/work $(DEMO_OUT) .pytest_cache .hypothesis *.egg-info

.PHONY: test-slow
test-slow: $(STAMP)  ## the slow tests: the whole Reuters file through a real pipe (needs ../shared)
	CLEANER_SLOW=1 $(PYTEST) -m slow

.PHONY: test-heavy
test-heavy: $(STAMP)  ## test-slow and stress in one pytest session, so the long tests share the cores (what .ci/run calls)
	CLEANER_SLOW=1 CLEANER_STRESS=1 $(PYTEST) --dist worksteal -m "slow or stress"

.PHONY: test-browser
test-browser: $(STAMP)  ## report.html in headless Chromium (Debian's, installed if missing) via Playwright; writes docs/report.png
	command -v chromium-headless-shell >/dev/null || command -v chromium >/dev/null || { \
	  apt-get update && (apt-get install -y chromium-headless-shell || apt-get install -y chromium); }
	$(BIN)/python -c "import playwright" 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[dev,browser]'
	CLEANER_BROWSER=1 $(BIN)/python -m pytest -m browser tests/run/test_report_browser.py

.PHONY: test-redis
test-redis: $(STAMP)  ## the Redis index tests against a real redis-server (installed if missing; started on 127.0.0.1 by the tests)
	command -v redis-server || (apt-get update && apt-get install -y redis-server)
	$(BIN)/python -m pip install --quiet -e '.[dev,redis]'
	CLEANER_REDIS=1 $(BIN)/python -m pytest -m redis

.PHONY: test-ray
test-ray: $(STAMP)  ## --executor ray on a real two-node local Ray cluster (127.0.0.1 only): BBC and Reuters byte for byte, kills
	$(BIN)/python -c 'import ray' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[dev,ray]'
	CLEANER_RAY=1 $(BIN)/python -m pytest -m ray tests/run/test_ray_executor.py
