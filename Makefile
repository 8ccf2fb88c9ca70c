# Two commands on a fresh machine: `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# kustomize renders k8s/ in the deployment tests; built from the Go module proxy, pinned.
KUSTOMIZE_VERSION := v5.7.1
Q2C_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/q2c
KUSTOMIZE := $(Q2C_CACHE)/kustomize-$(KUSTOMIZE_VERSION)/kustomize
# promtool parses the alert rules and dashboard queries of k8s/monitoring in the tests; built
# from the Go module proxy (Prometheus 3.x's module version), pinned.
PROMTOOL_VERSION := v0.316.0
PROMTOOL := $(Q2C_CACHE)/promtool-$(PROMTOOL_VERSION)/promtool

.PHONY: install run down test lint unit bench clean tools kustomize-path promtool-path protos

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# The console's browser test drives Debian's chromium (Playwright cannot download browsers here).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# Tryton on PostgreSQL (`q2c dev up --tryton-db postgresql`, Q2C_TEST_TRYTON_DB=postgresql) runs
# Debian's server in clusters of the stack's own (q2c/devstack/postgres.py): Debian's main
# cluster is neither created nor started. Guarded by dpkg's record of the installed package.
POSTGRESQL := /var/lib/dpkg/info/postgresql.list
$(POSTGRESQL):
	mkdir -p /etc/postgresql-common/createcluster.d
	echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/q2c.conf
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null

install: $(STAMP) $(CHROMIUM) $(POSTGRESQL)

$(KUSTOMIZE):
	GOBIN=$(dir $(KUSTOMIZE)) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

$(PROMTOOL):
	GOBIN=$(dir $(PROMTOOL)) go install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)

tools: $(KUSTOMIZE) $(PROMTOOL)

kustomize-path:
	@echo $(KUSTOMIZE)

promtool-path:
	@echo $(PROMTOOL)

## Start the local stack (Kafka, peers, workers) and print where everything listens.
run: install
	$(BIN)/q2c dev up

down: install
	$(BIN)/q2c dev down

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## Lint, type-check, check the schemas, run every test (integration tests start real servers).
# The tests run in TEST_PROCESSES pytest processes (pytest-xdist), a test module to a process;
# each process starts its own broker and peers. Most of an end-to-end test is waiting for
# polls and processes, so two processes use a 2-core machine better than one. Modules go out
# longest first (tests/conftest.py), so that no long module runs alone at the end.
TEST_PROCESSES ?= 2
# Lint runs beside the tests (it needs one core for about a minute); both must pass.
test: install tools
	$(BIN)/q2c schemas check
	@$(MAKE) --no-print-directory lint > $(VENV)/lint.log 2>&1 & lint=$$!; \
	$(BIN)/pytest -q -n $(TEST_PROCESSES) --dist loadfile --no-loadscope-reorder --durations=20; tests=$$?; \
	wait $$lint; linted=$$?; cat $(VENV)/lint.log; \
	if [ $$linted -ne 0 ]; then echo "make lint failed"; fi; \
	[ $$tests -eq 0 ] && [ $$linted -eq 0 ]

bench: install
	$(BIN)/python -m bench

## Regenerate the Salesforce Pub/Sub API modules (and their typed stubs) from pubsub_api.proto.
PUBSUB_PROTO := connectors/salesforce/pubsub/pubsub_api.proto
PROTOS_OUT ?= .
protos: $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -I . \
		--python_out=$(PROTOS_OUT) --grpc_python_out=$(PROTOS_OUT) \
		--plugin=protoc-gen-mypy=$(BIN)/protoc-gen-mypy --mypy_out=$(PROTOS_OUT) \
		--plugin=protoc-gen-mypy_grpc=$(BIN)/protoc-gen-mypy_grpc --mypy_grpc_out=$(PROTOS_OUT) \
		$(PUBSUB_PROTO)

## Re-resolve requirements.lock after changing dependencies in pyproject.toml.
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .q2c .mypy_cache .ruff_cache .pytest_cache
