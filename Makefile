# Meeting Room Reservation System — the two commands a new machine needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON := .venv/bin/python
EMAIL ?=
ROLE ?= employee

.PHONY: help bootstrap run test lint format token clean audit bench images

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

bootstrap: ## install what is missing (Debian packages, .venv, Kafka jars); fast when nothing is
	@scripts/bootstrap.sh

run: bootstrap ## the whole stack: PostgreSQL, Kafka, services, relays, consumer, NGINX on :8080 (the web app at /)
	@scripts/web.sh build
	@$(PYTHON) -m devstack.run

test: bootstrap ## every suite against real PostgreSQL, Kafka and NGINX, plus ruff and mypy
	@scripts/test.sh

lint: bootstrap ## ruff (lint and format check) and mypy
	@scripts/test.sh lint

format: bootstrap ## apply ruff's formatting and safe fixes
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

bench: bootstrap ## performance: the stack on ports of its own, a table and bench/results.json (BENCH_ARGS=--quick)
	@$(PYTHON) -m bench.run $(BENCH_ARGS)

images: bootstrap ## build the five images with podman (base stand-ins from Debian where none can be pulled); sizes
	@scripts/images.sh

audit: bootstrap ## pip-audit: known vulnerabilities in the pinned requirements (not part of make test)
	@scripts/quality/audit.sh

token: ## mint an access token against `make run`: make token EMAIL=you@example.com ROLE=admin
	@$(PYTHON) -m devstack.mint_token "$(EMAIL)" "$(ROLE)"

clean: ## remove development data (.dev/) — the databases and Kafka log of `make run`
	rm -rf .dev
