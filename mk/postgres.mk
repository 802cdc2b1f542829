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
SKIP_RULES += postgres-test
EXTRA_BENCHES += bench-postgres
# Also listed directly, so that it does not matter whether the top-level
# Makefile includes this file before or after its `test` and `bench` rules.
test: postgres-test
bench: bench-postgres

postgres-test: django-install
	$(SKIP_RESET)
	$(CARGO) clippy -p tessera --all-targets --features postgres -- -D warnings
	tests/pg/with-postgres.sh -- $(CARGO) test -p tessera --release --features postgres \
		--test engine --test converge --test pat --test postgres
	tests/pg/with-postgres.sh -- .venv/bin/python -m pytest -q $(PYTEST_SKIP_NOTES) \
		python/tests/test_store.py
	tests/pg/with-postgres.sh -- .venv/bin/python -m pytest -c python/tests_django/pytest.ini \
		$(PYTEST_SKIP_NOTES) python/tests_django/test_postgres_hosts.py
	$(SKIP_SUMMARY)

bench-postgres:
	tests/pg/with-postgres.sh --fsync -- $(CARGO) bench -p tessera --features postgres --bench store --bench attempts
