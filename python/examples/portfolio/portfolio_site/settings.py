"""Settings of the portfolio example: SQLite for users, Tessera for tokens.

Environment variables, all optional:

- ``PORTFOLIO_DATA_DIR``: where both databases live (default ``var/`` here);
- ``PORTFOLIO_POSTGRES``: a ``postgres://user[:password]@host:port/db`` URL.
  When set, users and tokens both live in that PostgreSQL database instead,
  so several hosts (or several gunicorn instances) can serve one site;
- ``PORTFOLIO_SECRET_KEY``: Django's SECRET_KEY, which also signs the
  tokens (the default is for the demo only);
- ``PORTFOLIO_DEBUG``: ``0`` to turn DEBUG off.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("PORTFOLIO_DATA_DIR", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)

# Tessera signs with SECRET_KEY by default (HS256), exactly like
# djangorestframework-simplejwt, so tokens minted by either verify in both.
SECRET_KEY = os.environ.get(
    "PORTFOLIO_SECRET_KEY", "demo-only-do-not-deploy-3f9c2b7e1a6d48e5b0c4d7a2f1e8b6c9"
)
DEBUG = os.environ.get("PORTFOLIO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    # The admin at /admin/ lists each user's Tessera sessions and PATs.
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # WhiteNoise serves the static files under runserver as under gunicorn.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    # The OpenAPI schema at /api/schema/, Swagger UI at /api/docs/ (no CDN).
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tessera.django",
    "portfolio",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portfolio_site.urls"
WSGI_APPLICATION = "portfolio_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

POSTGRES = os.environ.get("PORTFOLIO_POSTGRES")


def _postgres_database(url: str) -> dict[str, object]:
    """Django's DATABASES entry for a postgres:// URL."""
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


DATABASES = {
    "default": _postgres_database(POSTGRES)
    if POSTGRES
    else {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "portfolio.sqlite3",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Users sign in with their email address: the /login/ form through
# EmailBackend; the token login endpoint resolves the email itself and then
# asks ModelBackend.
AUTHENTICATION_BACKENDS = [
    "portfolio.backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# The single-page app (portfolio/static/portfolio/) and Tessera's browser
# client (tessera/client.js), served by WhiteNoise straight from the apps'
# static folders: no collectstatic step, the same under runserver and gunicorn.
STATIC_URL = "/static/"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

USE_TZ = True
TIME_ZONE = "UTC"
# The admin's CSS and scripts; runserver serves them while DEBUG is on.
STATIC_URL = "static/"

TESSERA = {
    # One redb file on this host, or the PostgreSQL database every host shares.
    **({"STORE": POSTGRES} if POSTGRES else {"DATABASE_PATH": DATA_DIR / "tessera.redb"}),
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    # The idle timeout: each rotation gives the session another 14 days...
    "REFRESH_TOKEN_LIFETIME": timedelta(days=14),
    # ...up to 30 days after the login, however often it is refreshed.
    "SESSION_MAX_LIFETIME": timedelta(days=30),
    # Gunicorn's prefork workers share the token database (the default).
    "MULTI_PROCESS": True,
    # The SPA keeps its refresh token in this HttpOnly cookie (its client
    # asks with X-Tessera-Refresh: cookie); API clients that do not ask get
    # it in the JSON body. Secure except in the plain-HTTP demo.
    "REFRESH_COOKIE": {"OPT_IN": True, "SECURE": not DEBUG},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tessera.django.authentication.PATAuthentication",
        "tessera.django.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "tessera.django.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Portfolio API",
    "DESCRIPTION": "The portfolio example on Tessera: tokens, PATs, sessions and projects.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files from the drf-spectacular-sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # Audit events: logins, rotations, reuse, logouts, PAT use. Never tokens.
    "loggers": {"tessera": {"handlers": ["console"], "level": "INFO"}},
}
