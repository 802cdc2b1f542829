# Tessera: `make demo` runs the main example, `make test` runs every test.
# Everything a fresh Debian machine lacks is installed here: Debian packages
# with apt-get, Python packages into .venv, npm packages into .tools/.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

export CARGO_TERM_COLOR := never
CARGO ?= cargo

.PHONY: test demo lint rust-test bench fuzz clean

# Each area adds its own targets and appends to EXTRA_TESTS / EXTRA_BENCHES.
# Included before the rules below: make expands a rule's prerequisites when
# it reads the rule.
EXTRA_TESTS :=
EXTRA_BENCHES :=
include $(sort $(wildcard mk/*.mk))

## The main job.
demo: demo-run

## Every test, in the order cheapest-to-diagnose first.
test: lint rust-test $(EXTRA_TESTS)
	@echo "make test: all suites passed"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-test:
	$(CARGO) test --workspace --release

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
