# The two commands of the README: `make demo` (set up + one full sync cycle) and `make test`.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
PORT ?= 3000
# dlt sends anonymous telemetry to an outside host by default; this product talks only to its vendors.
export RUNTIME__DLTHUB_TELEMETRY ?= false

.PHONY: setup demo test ui lint sandbox bench clean scale-demo

setup: ## install the locked dependencies and prepare the dbt manifest
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet --compile-bytecode  # .pyc once: processes here run with PYTHONDONTWRITEBYTECODE
	@$(UV) run --frozen python -c "from cli.demo import ensure_dagster_home; ensure_dagster_home(); \
		from assets.dbt import prepare_manifest; prepare_manifest()"  # the instance from resources/dagster.yaml

demo: setup ## run the main job: one full sync cycle against the sandbox, with a summary
	@$(UV) run --frozen python -m cli demo $(ARGS)

# One pytest worker per core, each test file on one worker (module fixtures are built once);
# `make test TEST_WORKERS=0` runs in one process, `ARGS="-m 'not slow'"` skips the long end-to-end tests.
TEST_WORKERS ?= auto
test: setup ## run the whole test suite (needs PostgreSQL on 127.0.0.1:5432 for the scale-out tests)
	@$(UV) run --frozen pytest -n $(TEST_WORKERS) --dist loadfile $(ARGS)

scale-demo: setup ## one full cycle on the scale-out profile: Celery workers on RabbitMQ, PostgreSQL for all
	@$(UV) run --frozen python -m cli scale-demo $(ARGS)

ui: setup ## open the Dagster UI on http://127.0.0.1:$(PORT) (`make ui PORT=3001`; run `make demo` first for data)
	@$(UV) run --frozen dagster dev -w workspace.yaml -h 127.0.0.1 -p $(PORT)

# sqlfluff's dbt templater opens the warehouse: a scratch DuckDB file, so lint works on a fresh
# checkout (no data/ yet) and never holds the lock on data/warehouse.duckdb that `make demo` needs.
lint: setup ## ruff, sqlfluff
	@$(UV) run --frozen ruff check .
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
		PROJECTX_DUCKDB_PATH="$$scratch/lint.duckdb" $(UV) run --frozen sqlfluff lint dbt_project/models

sandbox: setup ## run the vendor sandbox in the foreground
	@$(UV) run --frozen python -m sandbox $(ARGS)

bench: setup ## print the benchmark figures
	@for b in benchmarks/bench_*.py; do $(UV) run --frozen python $$b; done

clean: ## forget local data, run history and the sandbox state
	rm -rf data .dagster_home dbt_project/target

.PHONY: receiver
receiver: setup ## serve the webhook receiver on http://127.0.0.1:8000 (ARGS="--host 0.0.0.0 --port 9000")
	@$(UV) run --frozen python -m webhooks $(ARGS)
