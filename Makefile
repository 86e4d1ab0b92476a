# The two commands that matter: `make run` and `make test`.
CARGO ?= cargo
# `make run RELEASE=1` serves an optimised build.
PROFILE := $(if $(RELEASE),--release,)

.PHONY: run migrate test lint fmt openapi bench chaos

## Serve on http://127.0.0.1:8000 (Swagger UI at /docs); SQLite file ./flatmates.db by default.
run:
	$(CARGO) run $(PROFILE) --bin flatmates -- serve

## Apply migrations to DATABASE_URL and exit.
migrate:
	$(CARGO) run $(PROFILE) --bin flatmates -- migrate

## Formatting and clippy with warnings as errors.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Lint, then every test on SQLite, then again on PostgreSQL and the chaos suite when
## TEST_DATABASE_URL is set.
test: lint
	env -u TEST_DATABASE_URL $(CARGO) test --workspace
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== the same tests on PostgreSQL ($$TEST_DATABASE_URL)"; \
		$(CARGO) test --workspace && $(MAKE) --no-print-directory chaos; \
	else \
		echo "== TEST_DATABASE_URL unset: PostgreSQL run skipped"; \
	fi

## Rewrite the committed OpenAPI document from the code.
openapi:
	$(CARGO) run --quiet --bin flatmates -- openapi > openapi/openapi.json

## Release build on PostgreSQL under wrk, against pgbench's ceiling; writes bench/results.md.
bench:
	python3 bench/run.py

## The chaos suite: the binary through a fault proxy to a throwaway PostgreSQL cluster (initdb
## with the machine's binaries, its own port) under load; prints a summary table.
chaos:
	$(CARGO) test --test api chaos -- --ignored --nocapture
