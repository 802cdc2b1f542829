# `make bench-http`: requests per second over HTTP, with wrk (Debian's
# package, installed on first use), against sites under `gunicorn -w 4` on
# loopback: the example site at its defaults (DEBUG off) for Tessera, and a
# minimal site (python/benches_django/http_site.py, bench_django.py's
# settings) for djangorestframework-simplejwt, django-rest-knox and the
# floor, a DRF view with no authentication. Part of `make bench`, never of
# `make test`; the report goes to build/bench-http.md (figures in
# docs/benchmarks.md).

.PHONY: bench-http debian-wrk

EXTRA_BENCHES += bench-http
# The top-level `bench` rule expanded EXTRA_BENCHES before the include.
bench: bench-http

debian-wrk:
	$(call debian-need,command -v wrk,wrk,wrk (the HTTP benchmarking tool))

bench-http: django-install | debian-wrk
	mkdir -p build
	.venv/bin/python python/benches_django/bench_http.py --output build/bench-http.md
