# The two commands that matter: `make run` and `make test`.
CARGO ?= cargo
# `make run RELEASE=1` serves an optimised build.
PROFILE := $(if $(RELEASE),--release,)

.PHONY: run migrate test lint fmt openapi bench lint-openapi

# The npm project that lints the document.
CLIENT := tests/contract/client
# Redocly CLI sends telemetry and checks for updates unless told not to.
export REDOCLY_TELEMETRY := off
export REDOCLY_SUPPRESS_UPDATE_NOTICE := true

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

## Lint (the code, then the OpenAPI document), then every test on SQLite, then again on
## PostgreSQL when TEST_DATABASE_URL is set.
test: lint lint-openapi
	env -u TEST_DATABASE_URL $(CARGO) test --workspace
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== the same tests on PostgreSQL ($$TEST_DATABASE_URL)"; \
		$(CARGO) test --workspace; \
	else \
		echo "== TEST_DATABASE_URL unset: PostgreSQL run skipped"; \
	fi

## Rewrite the committed OpenAPI document from the code.
openapi:
	$(CARGO) run --quiet --bin flatmates -- openapi > openapi/openapi.json

## The committed OpenAPI document against the Redocly ruleset in tests/contract/client/redocly.yaml.
lint-openapi: $(CLIENT)/node_modules/.package-lock.json
	npm --prefix $(CLIENT) run -s lint

# npm writes this file on every install, so it is newer than the lock file once installed.
$(CLIENT)/node_modules/.package-lock.json: $(CLIENT)/package-lock.json
	npm ci --prefix $(CLIENT) --no-audit --no-fund

## Release build on PostgreSQL under wrk, against pgbench's ceiling; writes bench/results.md.
bench:
	python3 bench/run.py
