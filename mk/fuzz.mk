# Fuzzing: fuzz/ is its own cargo-fuzz workspace (see fuzz/Cargo.toml and
# docs/security.md). cargo-fuzz needs nightly-only flags, which the stable
# toolchain accepts under RUSTC_BOOTSTRAP=1; cargo-fuzz itself is installed
# at a pinned version into .tools/.
#
#   make fuzz              every target for FUZZ_SECONDS (default 60) each
#   make fuzz-smoke        every target for 15 s each; part of `make test`
#   make fuzz-seeds        rewrites the committed seed corpora
#
# The committed corpora in fuzz/corpus/<target> are read-only seeds; what
# libFuzzer adds goes to fuzz/target/corpus/<target>, kept between runs and
# out of git, and crashing inputs to fuzz/artifacts/<target>/ (cargo-fuzz's
# default).
#
# Targets are built without AddressSanitizer (`-s none`): the crate forbids
# unsafe code, and on two shared cores ASan cost the targets 10 to 15 times
# their speed (engine_ops: 12 against 180 executions a second). Debug
# assertions and overflow checks stay on.

FUZZ_TARGETS := jws_verify claims pat_parse record_decode engine_ops differential_hs256 json_strict
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS := 15
CARGO_FUZZ_VERSION := 0.13.2
CARGO_FUZZ := .tools/bin/cargo-fuzz
FUZZ_DIR := $(CURDIR)/fuzz
FUZZ_CARGO := RUSTC_BOOTSTRAP=1 $(CARGO_FUZZ)
FUZZ_BUILD_FLAGS := --sanitizer none --target-dir $(FUZZ_DIR)/target
# One input may take at most 10 s; libFuzzer's defaults otherwise.
FUZZ_RUN_FLAGS := -timeout=10 -print_final_stats=1

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-seeds

EXTRA_TESTS += fuzz-smoke
# Also listed directly, so that it does not matter whether the top-level
# Makefile includes this file before or after its `test` rule.
test: fuzz-smoke

$(CARGO_FUZZ):
	$(CARGO) install --locked --root .tools cargo-fuzz --version =$(CARGO_FUZZ_VERSION)

# The build is cached in fuzz/target; reruns only relink what changed.
fuzz-build: $(CARGO_FUZZ) | debian-cxx
	$(FUZZ_CARGO) build $(FUZZ_BUILD_FLAGS)

# $(call fuzz-run,seconds): every target in turn; the first crash stops
# the run and shows the end of its log.
define fuzz-run
	@mkdir -p $(FUZZ_DIR)/target/logs
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/target/corpus/$$t; \
	  log=$(FUZZ_DIR)/target/logs/$$t.log; \
	  echo "fuzz: $$t for $(1) s"; \
	  if ! $(FUZZ_CARGO) run $(FUZZ_BUILD_FLAGS) $$t \
	      $(FUZZ_DIR)/target/corpus/$$t $(FUZZ_DIR)/corpus/$$t -- \
	      -max_total_time=$(1) $(FUZZ_RUN_FLAGS) \
	      > $$log 2>&1; then \
	    tail -n 60 $$log; \
	    echo "fuzz: $$t failed; the input is in fuzz/artifacts/$$t/, the log in $$log"; \
	    exit 1; \
	  fi; \
	  grep -E '^(Done|stat::number_of_executed_units)' $$log || true; \
	done
	@echo "fuzz: no target crashed"
endef

fuzz: fuzz-build
	$(call fuzz-run,$(FUZZ_SECONDS))

fuzz-smoke: fuzz-build
	$(call fuzz-run,$(FUZZ_SMOKE_SECONDS))

# The generator runs Tessera itself (a scratch engine, the fixed fuzz keys);
# review the diff before committing.
fuzz-seeds:
	$(CARGO) run --manifest-path fuzz/Cargo.toml --target-dir $(FUZZ_DIR)/target --example gen_seeds -- fuzz/corpus
