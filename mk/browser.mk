# tessera.django's browser client (python/tessera/django/static/tessera/client.js)
# and the example site's single-page app, tested three ways:
#
#   node --test   the client's session logic (single flight, retry, sign-out)
#   tsc --noEmit  client.d.ts against a usage file (TypeScript in .tools/)
#   pytest        six scenarios in real Chromium (Debian's chromium and
#                 chromium-driver, driven by Selenium) against the example
#                 site under gunicorn; screenshots land in build/browser/
#
# `make browser-test` runs all three; it is part of `make test`.

TYPESCRIPT_VERSION := 5.9.3
TSC := .tools/node_modules/.bin/tsc
TSC_STAMP := .tools/typescript-$(TYPESCRIPT_VERSION).stamp
CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver
BROWSER_TESTS := python/tests_browser

.PHONY: browser-test browser-node-test browser-types-test browser-chromium-test

EXTRA_TESTS += browser-test
# The top-level `test` rule expands EXTRA_TESTS before this file is
# included, so the prerequisite is also added here directly.
test: browser-test

browser-test: browser-node-test browser-types-test browser-chromium-test
	@echo "browser-test: all checks passed"

browser-node-test:
	node --test $(BROWSER_TESTS)/node/

browser-types-test: $(TSC_STAMP)
	$(TSC) -p $(BROWSER_TESTS)/types/tsconfig.json

# Selenium is pinned in python/requirements-dev.txt; SE_OFFLINE keeps its
# Selenium Manager from fetching a driver (the tests also name the driver).
browser-chromium-test: django-install $(CHROMIUM) $(CHROMEDRIVER)
	mkdir -p build/browser
	SE_OFFLINE=true CHROMIUM=$(CHROMIUM) CHROMEDRIVER=$(CHROMEDRIVER) \
		.venv/bin/python -m pytest -c $(BROWSER_TESTS)/pytest.ini $(BROWSER_TESTS)
	.venv/bin/python -m ruff check $(BROWSER_TESTS)
	.venv/bin/python -m ruff format --check $(BROWSER_TESTS)

$(TSC_STAMP):
	npm install --prefix .tools --no-audit --no-fund typescript@$(TYPESCRIPT_VERSION)
	@test -x $(TSC)
	@touch $@

# Chromium and its WebDriver from Debian, the same version by construction.
$(CHROMIUM) $(CHROMEDRIVER):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		chromium chromium-driver
