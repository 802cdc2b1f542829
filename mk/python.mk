# The Python package `tessera`: python/ (the distribution) over the pyo3
# crate bindings/python. `make python-test` creates .venv, installs the
# pinned tools, builds and installs the package with `pip install ./python`,
# checks that a wheel and an sdist build (and that the sdist builds a wheel),
# then runs pytest, mypy's stubtest, mypy over the tests, and ruff.
# `make bench-python` runs the comparison benchmarks.
#
# Reruns are cheap: each step leaves a stamp in .venv/.stamps and runs again
# only when its inputs change; cargo keeps its build caches under target/ (or
# CARGO_TARGET_DIR).

PY_VENV := .venv
PY := $(PY_VENV)/bin/python
PY_STAMPS := $(PY_VENV)/.stamps
PY_PIP := $(PY) -m pip --disable-pip-version-check
PY_REQUIREMENTS := python/requirements-dev.txt
PY_DIST := build/python-dist
# The sdist build gets a cargo target folder of its own: its crates live at
# another path, and sharing a folder would let its library replace the one
# the in-tree build installs (cargo copies the final library to one name).
PY_SDIST_TARGET := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/python-sdist
# sed expressions that drop the expected messages of `maturin sdist` (below).
MATURIN_NOISE := -e '/manifest path `Cargo.toml` does not exist/d' \
	-e '/^From `cargo package --list/d' \
	-e '/^warning: manifest has no documentation, homepage or repository/,/= note: see /d'
# tessera.django has its own checks (mk/django.mk).
PY_LINTED := python/tessera/__init__.py python/tessera/_native.pyi python/tests python/benches

# What the extension and the package are built from.
PY_SOURCES := $(shell find core/src bindings/python/src -name '*.rs') \
	Cargo.toml Cargo.lock core/Cargo.toml bindings/python/Cargo.toml \
	python/pyproject.toml python/README.md \
	$(shell find python/tessera -name '*.py' -o -name '*.pyi' -o -path '*/static/*' -type f)

.PHONY: python-test python-install python-dist bench-python

EXTRA_TESTS += python-test
SKIP_RULES += python-test
EXTRA_BENCHES += bench-python
# Also listed directly, so that it does not matter whether the top-level
# Makefile includes this file before or after its `test` and `bench` rules.
test: python-test
bench: bench-python

python-test: python-install python-dist
	$(SKIP_RESET)
	$(PY) -m pytest $(PYTEST_SKIP_NOTES) python/tests -q
	$(PY) -m mypy.stubtest tessera._native
	cd python && ../$(PY) -m mypy tests benches
	$(PY) -m ruff check $(PY_LINTED)
	$(PY) -m ruff format --check $(PY_LINTED)
	$(SKIP_SUMMARY)
	@echo "python-test: all checks passed"

python-install: $(PY_STAMPS)/install
python-dist: $(PY_STAMPS)/dist

bench-python: $(PY_STAMPS)/install
	mkdir -p build
	$(PY) python/benches/bench.py --output build/bench-python.md

$(PY_STAMPS)/venv: | debian-venv
	python3 -m venv $(PY_VENV)
	@mkdir -p $(PY_STAMPS) && touch $@

$(PY_STAMPS)/requirements: $(PY_STAMPS)/venv $(PY_REQUIREMENTS)
	$(PY_PIP) install -q -r $(PY_REQUIREMENTS)
	@touch $@

# The same command a user runs; pip builds the wheel in an isolated
# environment with the maturin that pyproject.toml asks for.
$(PY_STAMPS)/install: $(PY_STAMPS)/requirements $(PY_SOURCES)
	$(PY_PIP) install -q --no-deps --force-reinstall ./python
	@touch $@

# A wheel straight from the tree, an sdist, and a wheel built from that sdist
# alone, which proves the sdist carries everything the build needs.
$(PY_STAMPS)/dist: $(PY_STAMPS)/requirements $(PY_SOURCES)
	rm -rf $(PY_DIST) && mkdir -p $(PY_DIST)/from-sdist
	$(PY_PIP) wheel -q --no-deps -w $(PY_DIST) ./python
	@# The wheel from the sdist proves that the sdist is complete, so it is
	@# built unoptimised (MATURIN_PEP517_ARGS): the same files, compiled in
	@# a fraction of the time of a second release build.
	@# maturin reads python/pyproject.toml from the working directory. Two
	@# messages are expected and dropped (MATURIN_NOISE): maturin's probe for a
	@# Cargo.toml in python/ ("manifest path `Cargo.toml` does not exist"),
	@# before it follows pyproject.toml's manifest-path, and `cargo package`'s
	@# warning that the crates name no homepage or repository (there is none
	@# yet). Everything else it prints is kept.
	cd python && ../$(PY) -m maturin sdist -o ../$(PY_DIST) 2>&1 | sed $(MATURIN_NOISE)
	CARGO_TARGET_DIR=$(PY_SDIST_TARGET) MATURIN_PEP517_ARGS="--profile dev" \
		$(PY_PIP) wheel -q --no-deps --no-cache-dir \
		-w $(PY_DIST)/from-sdist $(PY_DIST)/tessera-*.tar.gz
	$(PY) -c 'import sys, zipfile; \
		names = set(zipfile.ZipFile(sys.argv[1]).namelist()); \
		need = {"tessera/__init__.py", "tessera/_native.pyi", "tessera/py.typed", "tessera/_native.abi3.so", \
			"tessera/django/static/tessera/client.js", "tessera/django/static/tessera/client.d.ts"}; \
		sys.exit(f"wheel lacks {need - names}" if need - names else 0)' \
		$(PY_DIST)/from-sdist/tessera-*-abi3-*.whl
	@touch $@
