# The Django integration `tessera.django` (python/tessera/django), the example
# site python/examples/portfolio, their tests (python/tests_django) and
# benchmarks (python/benches_django). It builds on mk/python.mk, which
# creates .venv and installs the package.
#
#   make demo          set up the example site and run it on 127.0.0.1:8000
#   make django-test   the pytest-django suite (starts gunicorn on loopback), then ruff
#   make bench-django  the comparison with simplejwt and knox -> build/bench-django.md
#
# This file is included before mk/python.mk (alphabetical order), so its
# variables (PY, PY_STAMPS) are not defined yet where prerequisites are
# read; the paths below are spelt out.

DJANGO_PY := .venv/bin/python
DJANGO_SITE := python/examples/portfolio
# The Python modules, templates and static files (the browser client) of the app.
DJANGO_SOURCES := $(shell find python/tessera/django -name '*.py' -o -name '*.html' -o -path '*/static/*' -type f 2>/dev/null)
DJANGO_LINTED := python/tessera/django python/examples python/tests_django python/benches_django

.PHONY: django-install django-test bench-django demo-run

EXTRA_TESTS += django-test
SKIP_RULES += django-test
EXTRA_BENCHES += bench-django
# The top-level `test` and `bench` rules expanded EXTRA_TESTS and
# EXTRA_BENCHES before the include, hence the direct prerequisites too.
test: django-test
bench: bench-django

DEMO_DEFINED := 1

# mk/python.mk reinstalls the package when tessera/*.py or the Rust sources
# change, but does not watch tessera/django/: reinstall here when a file of
# it is newer than that install.
django-install: .venv/.stamps/django-install

.venv/.stamps/django-install: $(DJANGO_SOURCES) | python-install
	@if [ -n "$$(find python/tessera/django \( -name '*.py' -o -name '*.html' -o -path '*/static/*' -type f \) -newer .venv/.stamps/install -print -quit)" ]; then \
		echo "tessera.django changed since the last install: reinstalling the package"; \
		$(DJANGO_PY) -m pip --disable-pip-version-check install -q --no-deps --force-reinstall ./python; \
	fi
	@# From the repository root, so the source folder python/ cannot shadow it.
	$(DJANGO_PY) -c 'import tessera.django.apps as a, sys; \
		sys.exit(0 if "site-packages" in a.__file__ else f"tessera.django is not installed: {a.__file__}")'
	@touch $@

django-test: django-install
	$(SKIP_RESET)
	$(DJANGO_PY) -m pytest -c python/tests_django/pytest.ini $(PYTEST_SKIP_NOTES) python/tests_django
	$(DJANGO_PY) -m ruff check $(DJANGO_LINTED)
	$(DJANGO_PY) -m ruff format --check $(DJANGO_LINTED)
	$(SKIP_SUMMARY)
	@echo "django-test: all checks passed"

bench-django: django-install
	mkdir -p build
	$(DJANGO_PY) python/benches_django/bench_django.py --output build/bench-django.md
	$(DJANGO_PY) python/benches_django/bench_throttle.py > build/bench-throttle.md

# The demo: migrate the example's SQLite database, create the demo user and
# a personal access token, print curl commands, then serve on loopback.
demo-run: django-install
	cd $(DJANGO_SITE) && ../../../$(DJANGO_PY) manage.py migrate --noinput -v 0
	cd $(DJANGO_SITE) && ../../../$(DJANGO_PY) manage.py portfolio_demo
	@echo "Serving the portfolio example on http://127.0.0.1:8000/ (Ctrl-C stops it)"
	cd $(DJANGO_SITE) && exec ../../../$(DJANGO_PY) manage.py runserver 127.0.0.1:8000
