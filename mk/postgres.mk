# The PostgreSQL store (cargo feature `postgres` of tessera). `make
# postgres-test` lints the crate with the feature on, then runs the engine,
# PAT and PostgreSQL suites against a throwaway cluster that
# tests/pg/with-postgres.sh creates, and removes, around them (installing
# Debian's postgresql first on a machine without it); then the Python
# package's store tests and the Django test that runs two gunicorn
# instances on one database, each on a cluster of its own. `make bench-postgres`
# compares the PostgreSQL and redb stores, on a cluster with fsync on.

.PHONY: postgres-test bench-postgres

EXTRA_TESTS += postgres-test
EXTRA_BENCHES += bench-postgres
# Also listed directly, so that it does not matter whether the top-level
# Makefile includes this file before or after its `test` and `bench` rules.
test: postgres-test
bench: bench-postgres

postgres-test: django-install
	$(CARGO) clippy -p tessera --all-targets --features postgres -- -D warnings
	tests/pg/with-postgres.sh -- $(CARGO) test -p tessera --release --features postgres \
		--test engine --test pat --test postgres
	tests/pg/with-postgres.sh -- .venv/bin/python -m pytest -q python/tests/test_store.py
	tests/pg/with-postgres.sh -- .venv/bin/python -m pytest -c python/tests_django/pytest.ini \
		python/tests_django/test_postgres_hosts.py

bench-postgres:
	tests/pg/with-postgres.sh --fsync -- $(CARGO) bench -p tessera --features postgres --bench store
