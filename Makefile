# Bulwark: `make demo` to see it work, `make test` to prove it does.
# Prerequisites: Rust (cargo) and Python 3. Everything else is installed on demand into .venv.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV        ?= $(CURDIR)/.venv
PYTHON      := $(VENV)/bin/python
CARGO       ?= cargo
TARGET_DIR  := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
BULWARK     := $(TARGET_DIR)/debug/bulwark
# The CLI the bench measures: built with the functions' profile (Cargo.toml's lambda-release), so
# that the bench compiles the dependencies once, not once per profile.
BULWARK_REL := $(TARGET_DIR)/lambda-release/bulwark

# The local AWS: demo and tests use separate ports so that a running demo never disturbs tests.
DEMO_PORT  ?= 4566
TEST_PORT  ?= 4599
BENCH_PORT ?= 4598
BENCH_SIZE ?= 5000
BENCH_ORG_SIZE ?= 20000
BENCH_ORG_ACCOUNTS ?= 20
# The S3 restore validator's bench: a bucket of this many objects restore-tested.
BENCH_S3_OBJECTS ?= 1000000
# Restore tests through the deployed state machine: critical tables seeded (a run tests at most 500).
BENCH_RT_TESTS ?= 500
# `make build`'s profile: lambda-release for deployment (Cargo.toml: size-optimised, LTO, one
# codegen unit, panic=abort, stripped); CI builds debug to prove the build works.
LAMBDA_PROFILE ?= lambda-release
# The functions the bench deploys: the same profile as `make build`, built for this host, with
# the hello-world baseline their cold-start init is measured against.
LAMBDA_BIN := $(TARGET_DIR)/lambda-release
FUNCTION_PACKAGES := -p bulwark-discover -p bulwark-classify -p bulwark-assign-policy -p bulwark-validate-restore -p bulwark-failover
REGIONS    ?= us-east-1,eu-west-1
# The DR regions where `make local-deploy` (and the demo) deploys a recovery stack, each with a
# replica of the home stack's state table.
DR_REGIONS ?= us-west-2

comma := ,
# The deploy script's arguments for both stacks: the home stack in us-east-1 with the state
# table's replicas, then a recovery stack in each DR region (its evidence locked for a day).
DEPLOY_ARGS = --region us-east-1 $(foreach r,$(subst $(comma), ,$(DR_REGIONS)),--dr-region $(r)) \
              --parameter Regions=$(REGIONS) --recovery-parameter EvidenceLockDays=1

# Credentials for the local AWS only: it accepts any.
LOCAL_ENV = AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
            AWS_EC2_METADATA_DISABLED=true BULWARK_REGIONS=$(REGIONS)

.PHONY: help
help:
	@echo "make demo    seed a sample estate on a local AWS, discover and classify it, print the inventory"
	@echo "make local-deploy  deploy infra/aws/template.yaml to the local AWS: the home stack, a recovery stack in each DR region (functions run the built binaries)"
	@echo "make test    unit, integration (against a local AWS it starts) and CLI tests"
	@echo "make bench   $(BENCH_SIZE) stores: discover and classify (recall, API calls, wall time, peak RSS), then plan, apply twice, coverage and the critical tier's restore tests, by the CLI and $(BENCH_RT_TESTS) through the deployed state machine; then $(BENCH_ORG_SIZE) stores in $(BENCH_ORG_ACCOUNTS) accounts swept from each source; then the S3 validator's peak memory at $(BENCH_S3_OBJECTS) objects"
	@echo "make lint    rustfmt, clippy; the documentation's links; cfn-lint and checkov on the template and its SAM transform; asl-validator"
	@echo "make build   the Lambda functions with cargo-lambda (x86_64)"
	@echo "make deploy  sam deploy of infra/aws/template.yaml"

.PHONY: venv
venv:
	@infra/local/venv $(VENV)

.PHONY: demo
demo: venv
	$(CARGO) build --workspace --all-targets
	@if curl -fsS http://127.0.0.1:$(DEMO_PORT)/moto-api/ -o /dev/null 2>/dev/null; then started=no; else started=yes; fi; \
	LOCAL_AWS_PORT=$(DEMO_PORT) infra/local/up >/dev/null; \
	trap '[[ $$started == no ]] || LOCAL_AWS_PORT=$(DEMO_PORT) infra/local/down' EXIT; \
	LOCAL_AWS_PORT=$(DEMO_PORT) infra/local/reset; \
	export $(LOCAL_ENV) AWS_ENDPOINT_URL=http://127.0.0.1:$(DEMO_PORT); \
	echo "== seeding a sample estate on the local AWS (http://127.0.0.1:$(DEMO_PORT))"; \
	$(PYTHON) infra/local/estate.py --endpoint $$AWS_ENDPOINT_URL --demo --regions $(REGIONS) --manifest $(CURDIR)/.local-aws/demo-manifest.json; \
	echo "== bulwark init"; $(BULWARK) init; \
	echo "== bulwark discover"; $(BULWARK) discover; \
	echo "== bulwark classify"; $(BULWARK) classify; \
	echo "== bulwark inventory (by tier, with the reason that decided)"; $(BULWARK) inventory; \
	echo; echo "== bulwark feasibility (can each tier's protection meet its RPO, per kind?)"; $(BULWARK) feasibility; \
	echo; echo "== bulwark plan (what assign-policy would change; changes nothing)"; $(BULWARK) plan; \
	echo; echo "== bulwark apply"; $(BULWARK) apply | tail -n 1; \
	echo; echo "== bulwark apply, again (nothing left to change)"; $(BULWARK) apply | tail -n 1; \
	echo; echo "== the local AWS runs every backup plan once (standing in for the schedules)"; \
	account=$$($(PYTHON) -c 'import boto3; print(boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"])'); \
	for region in $(subst $(comma), ,$(REGIONS)); do \
	  curl -fsS -X POST "$$AWS_ENDPOINT_URL/moto-api/bulwark/backup/run-plans?account=$$account&region=$$region" -o /dev/null; done; \
	sleep 2; \
	echo; echo "== the template's IAM roles: AWS Backup's, and bulwark-restore, the role restores run as"; \
	curl -fsS -X POST "$$AWS_ENDPOINT_URL/moto-api/bulwark/template/roles" -H 'Content-Type: application/json' \
	  -d "{\"account\": \"$$account\", \"region\": \"us-east-1\"}" -o /dev/null; \
	echo; echo "== restore tests: one store of each kind restored, validated, measured, deleted"; \
	$(PYTHON) infra/local/demo_restore_tests.py --bulwark $(BULWARK); \
	echo; echo "== bulwark report (the tested stores' restore-test exceptions are gone)"; $(BULWARK) report; \
	$(BULWARK) report --format html --out $(CURDIR)/.local-aws/coverage.html; \
	echo "The HTML report: $(CURDIR)/.local-aws/coverage.html"; \
	echo; echo "== the system as deployed: infra/aws/template.yaml on the local AWS, each function its built binary"; \
	$(PYTHON) infra/local/deploy.py --binaries $(TARGET_DIR)/debug $(DEPLOY_ARGS) | grep -E "stack in|Function |StateMachine|DiscoverAndClassify |runs"; \
	echo; echo "== a new critical table, and its AWS Config change event on the bus (EventBridge -> Step Functions -> the functions)"; \
	$(PYTHON) infra/local/config_event.py --name orders-live; \
	echo; echo "== alerts: a tamper attempt and a failed backup, each paged with the store and its tier (EventBridge -> assign-policy -> the alert topic)"; \
	$(PYTHON) infra/local/demo_alerts.py --table orders-live; \
	echo; echo "== failover: the application orders drilled isolated from us-east-1, then failed over to us-west-2 with us-east-1 down, from us-west-2"; \
	$(PYTHON) infra/local/demo_failover.py --bulwark $(BULWARK) --config $(CURDIR)/.local-aws/demo-failover.toml; \
	echo; echo "== the central backup account: critical's copies landing in another account of the organization"; \
	$(PYTHON) infra/local/demo_central.py --bulwark $(BULWARK) --regions $(REGIONS)

.PHONY: test
test: venv
	$(CARGO) build --workspace --all-targets
	@trap 'LOCAL_AWS_PORT=$(TEST_PORT) LOCAL_AWS_STATE=$(CURDIR)/.local-aws/test infra/local/down' EXIT; \
	LOCAL_AWS_PORT=$(TEST_PORT) LOCAL_AWS_STATE=$(CURDIR)/.local-aws/test infra/local/down; \
	LOCAL_AWS_PORT=$(TEST_PORT) LOCAL_AWS_STATE=$(CURDIR)/.local-aws/test LOCAL_AWS_OWN=1 BULWARK_LOCAL_JOB_DELAY_SECONDS=0.2 infra/local/up >/dev/null; \
	export $(LOCAL_ENV) AWS_ENDPOINT_URL=http://127.0.0.1:$(TEST_PORT) BULWARK_BIN=$(BULWARK) BULWARK_PYTHON=$(PYTHON); \
	$(CARGO) test --workspace; \
	$(PYTHON) -m pytest infra/local/tests -q

.PHONY: bench
bench: venv
	$(CARGO) build --profile lambda-release -p bulwark-cli $(FUNCTION_PACKAGES) -p bulwark-hello
	@trap 'LOCAL_AWS_PORT=$(BENCH_PORT) LOCAL_AWS_STATE=$(CURDIR)/.local-aws/bench infra/local/down' EXIT; \
	LOCAL_AWS_PORT=$(BENCH_PORT) LOCAL_AWS_STATE=$(CURDIR)/.local-aws/bench infra/local/down; \
	LOCAL_AWS_PORT=$(BENCH_PORT) LOCAL_AWS_STATE=$(CURDIR)/.local-aws/bench infra/local/up >/dev/null; \
	export $(LOCAL_ENV) AWS_ENDPOINT_URL=http://127.0.0.1:$(BENCH_PORT); \
	$(PYTHON) infra/local/bench.py --endpoint $$AWS_ENDPOINT_URL --bulwark $(BULWARK_REL) --size $(BENCH_SIZE) --regions $(REGIONS); \
	echo; echo "== assign-policy and coverage on the same estate"; \
	BULWARK_TABLE=bulwark-bench $(PYTHON) infra/local/policy_bench.py --endpoint $$AWS_ENDPOINT_URL --bulwark $(BULWARK_REL) --regions $(REGIONS); \
	echo; echo "== restore tests of the critical tier on the same estate (restore, validate, measure, delete)"; \
	BULWARK_TABLE=bulwark-bench $(PYTHON) infra/local/restore_bench.py --bulwark $(BULWARK_REL); \
	echo; echo "== $(BENCH_RT_TESTS) restore tests through the deployed state machine (each a child execution of its Distributed Map), then the Map INLINE against DISTRIBUTED at a lowered history quota"; \
	$(PYTHON) infra/local/sfn_restore_bench.py --endpoint $$AWS_ENDPOINT_URL --binaries $(LAMBDA_BIN) --tests $(BENCH_RT_TESTS); \
	echo; echo "== the deployed system: a new store's AWS Config event, through EventBridge, Step Functions and the release binaries"; \
	$(PYTHON) infra/local/deployed_bench.py --endpoint $$AWS_ENDPOINT_URL --binaries $(LAMBDA_BIN) --regions $(REGIONS); \
	echo; echo "== organization scale: $(BENCH_ORG_SIZE) stores in $(BENCH_ORG_ACCOUNTS) accounts x 4 regions, swept from the listings, each region's AWS Config and an aggregator"; \
	$(PYTHON) infra/local/org_bench.py --endpoint $$AWS_ENDPOINT_URL --bulwark $(BULWARK_REL) --accounts $(BENCH_ORG_ACCOUNTS) --size $(BENCH_ORG_SIZE); \
	echo; echo "== the S3 restore validator: a critical bucket of $(BENCH_S3_OBJECTS) objects restore-tested, its peak memory (on a reset local AWS, so last)"; \
	$(PYTHON) infra/local/s3_validator_bench.py --endpoint $$AWS_ENDPOINT_URL --bulwark $(BULWARK_REL) --objects $(BENCH_S3_OBJECTS)

.PHONY: lint
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	infra/aws/lint/run

# cargo-lambda and zig come from PyPI; x86_64 builds need nothing else.
# The template deployed to the local AWS at AWS_ENDPOINT_URL (started if none answers there),
# into the account of the current credentials, and left running: the home stack in us-east-1,
# then a recovery stack in each of DR_REGIONS.
.PHONY: local-deploy
local-deploy: venv
	$(CARGO) build --workspace --bins
	@endpoint=$${AWS_ENDPOINT_URL:-http://127.0.0.1:$(DEMO_PORT)}; \
	curl -fsS "$$endpoint/moto-api/" -o /dev/null 2>/dev/null || LOCAL_AWS_PORT=$${endpoint##*:} infra/local/up >/dev/null; \
	export $(LOCAL_ENV) AWS_ENDPOINT_URL=$$endpoint; \
	$(PYTHON) infra/local/deploy.py --binaries $(TARGET_DIR)/debug $(DEPLOY_ARGS)

.PHONY: build
build: venv
	@[[ -x $(VENV)/bin/cargo-lambda ]] || $(VENV)/bin/pip install --quiet -r infra/aws/requirements-build.txt
	PATH=$(VENV)/bin:$$PATH cargo lambda build $(if $(filter-out debug dev,$(LAMBDA_PROFILE)),--profile $(LAMBDA_PROFILE)) --x86-64 --bin discover --bin classify --bin assign-policy --bin validate-restore --bin failover --lambda-dir target/lambda
	@for f in discover classify assign-policy validate-restore failover; do ls -l target/lambda/$$f/bootstrap | awk -v f=$$f '{print f ": " $$5 " bytes"}'; done

.PHONY: deploy
deploy: build
	@[[ -x $(VENV)/bin/sam ]] || $(VENV)/bin/pip install --quiet aws-sam-cli
	$(VENV)/bin/sam deploy --template-file infra/aws/template.yaml --guided
