# The PostgreSQL store (cargo feature `postgres` of tessera). `make
# postgres-test` runs the engine, PAT, PostgreSQL and user-stamp suites against a
# throwaway cluster that
# tests/pg/with-postgres.sh creates, and removes, around them (installing
# Debian's postgresql first on a machine without it); then the Python
# package's store tests and the Django test that runs two gunicorn
# instances on one database, each on a cluster of its own. `make bench-postgres`
# compares the PostgreSQL and redb stores, on a cluster with fsync on.
#
# The Python binding enables tessera's `postgres` feature, and cargo unifies
# the features of a workspace's members: `make lint` and `make rust-test`
# already build (and lint) the crate with the feature. Selecting the suites
# from the whole workspace, not with `-p tessera --features postgres`, keeps
# that feature set, so this stage reuses rust-test's build instead of
# compiling the crate and its dependencies once more.

.PHONY: postgres-test bench-postgres

EXTRA_TESTS += postgres-test
SKIP_RULES += postgres-test
EXTRA_BENCHES += bench-postgres
# Also listed directly, so that it does not matter whether the top-level
# Makefile includes this file before or after its `test` and `bench` rules.
test: postgres-test
bench: bench-postgres

postgres-test: django-install
	$(SKIP_RESET)
	tests/pg/with-postgres.sh -- $(CARGO) test --workspace --release \
		--test engine --test converge --test pat --test postgres --test stamps
	tests/pg/with-postgres.sh -- .venv/bin/python -m pytest -q $(PYTEST_SKIP_NOTES) \
		python/tests/test_store.py
	tests/pg/with-postgres.sh -- .venv/bin/python -m pytest -c python/tests_django/pytest.ini \
		$(PYTEST_SKIP_NOTES) python/tests_django/test_postgres_hosts.py
	$(SKIP_SUMMARY)

bench-postgres:
	tests/pg/with-postgres.sh --fsync -- $(CARGO) bench -p tessera --features postgres --bench store --bench attempts
