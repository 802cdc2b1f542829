"""Test settings: the portfolio example's, on an in-memory SQLite database.

Each test gets its own token database (see conftest.py). SIMPLE_JWT signs
with the same SECRET_KEY, for the migration tests.
"""

import os
import tempfile

os.environ.setdefault("PORTFOLIO_DATA_DIR", tempfile.mkdtemp(prefix="tessera-django-tests-"))

from portfolio_site.settings import *  # noqa: F403

# simplejwt's blacklist app, as a site in the middle of its migration has it.
INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework_simplejwt.token_blacklist"]  # noqa: F405
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# MD5 (fast), counting its calls: a throttled login must never reach it.
PASSWORD_HASHERS = ["hashers.CountingHasher"]
# Records reach pytest's caplog through propagation; nothing prints.
LOGGING = {"version": 1, "disable_existing_loggers": False}
SIMPLE_JWT = {"ALGORITHM": "HS256", "USER_ID_FIELD": "id", "USER_ID_CLAIM": "user_id"}
ROOT_URLCONF = "host_urls"
# The example turns cookie mode on; the suite tests it where it sets it.
TESSERA = {k: v for k, v in TESSERA.items() if k != "REFRESH_COOKIE"}  # noqa: F405
# Without the window a second presentation of a refresh token is reuse at
# once, which most tests rely on; test_converging.py and others that test
# the window (default 10 s) set it.
TESSERA = {**TESSERA, "REUSE_GRACE": 0}
# A proxy of User with a default manager of its own, which tests swap in as
# AUTH_USER_MODEL (a proxy needs no table of its own).
INSTALLED_APPS = [*INSTALLED_APPS, "custom_users"]
