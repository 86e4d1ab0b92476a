# The two commands that matter: `make run` and `make test`.
CARGO ?= cargo
# `make run RELEASE=1` serves an optimised build.
PROFILE := $(if $(RELEASE),--release,)

.PHONY: run migrate test lint fmt openapi bench conformance

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

## Lint, then every test on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set.
test: lint
	env -u TEST_DATABASE_URL $(CARGO) test --workspace
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== the same tests on PostgreSQL ($$TEST_DATABASE_URL)"; \
		$(CARGO) test --workspace; \
	else \
		echo "== TEST_DATABASE_URL unset: PostgreSQL run skipped"; \
	fi
	$(MAKE) conformance

SCHEMATHESIS_VERSION := 4.32.5
CONFORMANCE_VENV := target/conformance-venv
SCHEMATHESIS := $(CONFORMANCE_VENV)/bin/schemathesis

# A virtualenv of its own under target/, so a fresh clone needs nothing installed by hand;
# rebuilt when the pinned version changes.
$(CONFORMANCE_VENV)/.schemathesis-$(SCHEMATHESIS_VERSION):
	rm -rf $(CONFORMANCE_VENV)
	python3 -m venv $(CONFORMANCE_VENV)
	$(CONFORMANCE_VENV)/bin/pip install --quiet --disable-pip-version-check schemathesis==$(SCHEMATHESIS_VERSION)
	touch $@

## schemathesis against the live service, on PostgreSQL then SQLite: every check, fixed seed
## (tests/contract/schemathesis.toml). PostgreSQL from TEST_DATABASE_URL, else the local `test`.
conformance: $(CONFORMANCE_VENV)/.schemathesis-$(SCHEMATHESIS_VERSION)
	$(CARGO) build --bin flatmates
	for database in postgres sqlite; do \
		echo "== schemathesis on $$database"; \
		python3 tests/contract/live_service.py --database $$database -- \
			sh -c '$(SCHEMATHESIS) --config-file tests/contract/schemathesis.toml run --no-color "$$FLATMATES_URL/openapi.json"' \
			|| exit 1; \
	done

## Rewrite the committed OpenAPI document from the code.
openapi:
	$(CARGO) run --quiet --bin flatmates -- openapi > openapi/openapi.json

## Release build on PostgreSQL under wrk, against pgbench's ceiling; writes bench/results.md.
bench:
	python3 bench/run.py
