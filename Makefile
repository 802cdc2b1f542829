# Tessera: `make demo` runs the main example, `make test` runs every test.
# Everything a fresh Debian machine lacks is installed here: Debian packages
# with apt-get, Python packages into .venv, npm packages into .tools/.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

export CARGO_TERM_COLOR := never
CARGO ?= cargo

.PHONY: test demo lint rust-test bench fuzz clean

# A test that cannot run here (no Wycheproof vectors, no PostgreSQL server,
# no swiftc) passes, but leaves a note holding the reason in
# $(SKIPS)/<rule>/<suite>/<test>. Each rule that runs tests appends itself
# to SKIP_RULES, which gives it TESSERA_SKIP_DIR (its own folder there) and
# the pytest plugin's folder on PYTHONPATH; it clears the folder first
# ($(SKIP_RESET)), passes $(PYTEST_SKIP_NOTES) to pytest, and may list its
# skips at its end ($(SKIP_SUMMARY)). `make test` ends with one line per
# skipped suite and reason (tests/skips/summary.sh).
SKIPS := $(CURDIR)/build/skips
SKIP_RULES := rust-test
SKIP_RESET := @rm -rf "$$TESSERA_SKIP_DIR"
SKIP_SUMMARY := @tests/skips/summary.sh "$$TESSERA_SKIP_DIR"
PYTEST_SKIP_NOTES := -p skip_notes

# Each area adds its own targets and appends to EXTRA_TESTS / EXTRA_BENCHES.
# Included before the rules below: make expands a rule's prerequisites when
# it reads the rule.
EXTRA_TESTS :=
EXTRA_BENCHES :=
include $(sort $(wildcard mk/*.mk))

$(SKIP_RULES): export TESSERA_SKIP_DIR = $(SKIPS)/$@
$(SKIP_RULES): export PYTHONPATH := $(CURDIR)/tests/skips$(if $(PYTHONPATH),:$(PYTHONPATH))

## The main job.
demo: demo-run

## Every test, in the order cheapest-to-diagnose first.
test: lint rust-test $(EXTRA_TESTS)
	@tests/skips/summary.sh $(SKIPS)/*
	@echo "make test: all suites passed"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-test:
	$(SKIP_RESET)
	$(CARGO) test --workspace --release
	$(SKIP_SUMMARY)

## Benchmarks are never part of `make test`.
bench: $(EXTRA_BENCHES)
	$(CARGO) bench -p tessera

clean:
	$(CARGO) clean
	rm -rf .venv .tools

# Until an area defines the demo, the Rust example is the demo.
ifndef DEMO_DEFINED
demo-run:
	$(CARGO) run --release -p tessera --example demo -- tessera-demo.redb
endif
