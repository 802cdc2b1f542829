"""OpenAPI through drf-spectacular: the example site's schema validates
without a warning and lists every endpoint of tessera.django.urls with both
of Tessera's schemes; Swagger UI is served from the sidecar package."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern
from tessera.django import urls as tessera_urls

from sites import SITE

PREFIX = "/api/v1/"
# The endpoints a request authenticates for, with a PAT or a JWT.
PUBLIC = {
    "auth/login/email/",
    "auth/refresh/",
    "auth/verify/",
    "auth/jwks.json",
    "auth/revoke/",
    "auth/secret-scanning/github/",
}
SESSION_ONLY = {"auth/from-session/"}
PAT_ONLY = {"auth/introspect/"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`manage.py spectacular --validate --fail-on-warn` on the example site, as is."""
    data = tmp_path_factory.mktemp("schema")
    out = data / "schema.json"
    env = {"PORTFOLIO_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--format",
            "openapi-json",
            "--file",
            str(out),
        ],
        cwd=SITE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    return dict(json.loads(out.read_text()))


def endpoints() -> list[tuple[str, URLPattern]]:
    """Every route of tessera.django.urls, as the schema writes it."""
    found = []
    for pattern in tessera_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        route = re.sub(r"<str:(\w+)>", r"{\1}", str(pattern.pattern))
        found.append((route, pattern))
    return found


def test_both_schemes_are_bearer_schemes(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tesseraPAT"]["type"] == "http"
    assert schemes["tesseraPAT"]["scheme"] == "bearer"
    assert "tsr_pat_" in schemes["tesseraPAT"]["description"]
    assert schemes["tesseraJWT"]["scheme"] == "bearer"
    assert schemes["tesseraJWT"]["bearerFormat"] == "JWT"


def test_every_endpoint_is_listed_with_its_schemes(schema: dict[str, Any]) -> None:
    for route, pattern in endpoints():
        path = schema["paths"].get(PREFIX + route)
        assert path is not None, f"{route} is missing from the schema"
        methods = {m for m in path if m in {"get", "post", "put", "patch", "delete"}}
        view = pattern.callback.cls  # type: ignore[attr-defined]
        assert methods == {m for m in ("get", "post", "delete") if hasattr(view, m)}, route
        for method in methods:
            operation = path[method]
            schemes = {name for req in operation.get("security", []) for name in req}
            if route in PUBLIC:
                assert not schemes - {""}, route
            elif route in SESSION_ONLY:
                assert schemes == {"cookieAuth"}, route
            elif route in PAT_ONLY:
                assert schemes == {"tesseraPAT"}, route
            else:
                assert {"tesseraPAT", "tesseraJWT"} <= schemes, route
            error_statuses = [s for s in operation["responses"] if int(s) >= 400]
            assert error_statuses, route
            for status in error_statuses:
                body = operation["responses"][status]["content"]["application/json"]
                assert body["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
                for example in body["examples"].values():
                    assert set(example["value"]) == {"error"}
                    assert set(example["value"]["error"]) == {"code", "message"}


def codes(operation: dict[str, Any], status: str) -> set[str]:
    examples = operation["responses"][status]["content"]["application/json"]["examples"]
    return {e["value"]["error"]["code"] for e in examples.values()}


def test_each_endpoint_names_its_codes(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    login = paths[PREFIX + "auth/login/email/"]["post"]
    assert codes(login, "401") == {"invalid_credentials", "user_inactive"}
    assert codes(login, "400") == {"validation_error"}
    assert set(login["responses"]["200"]["content"]["application/json"]["schema"].values()) == {
        "#/components/schemas/LoginBody"
    }
    refresh = paths[PREFIX + "auth/refresh/"]["post"]
    assert "refresh_reused" in codes(refresh, "401")
    create = paths[PREFIX + "me/access-tokens/"]["post"]
    assert codes(create, "403") == {"pat_not_allowed"}
    assert "pat_revoked" in codes(create, "401")
    assert codes(paths[PREFIX + "me/access-tokens/{pat_id}/"]["delete"], "404") == {"not_found"}
    reauthenticate = paths[PREFIX + "auth/reauthenticate/"]["post"]
    assert {"invalid_credentials", "token_revoked"} <= codes(reauthenticate, "401")
    assert codes(reauthenticate, "403") == {"pat_not_allowed"}
    assert codes(reauthenticate, "429") == {"too_many_attempts"}
    assert set(
        reauthenticate["responses"]["200"]["content"]["application/json"]["schema"].values()
    ) == {"#/components/schemas/TokenPairBody"}


def test_pat_scopes_are_nullable(schema: dict[str, Any]) -> None:
    pat = schema["components"]["schemas"]["PatBody"]["properties"]["scopes"]
    assert pat.get("nullable") is True
    request = schema["components"]["schemas"]["CreatePatRequest"]
    assert request["required"] == ["name"]


@pytest.mark.django_db
def test_the_site_serves_the_schema_and_swagger_ui_without_a_cdn(settings: Any) -> None:
    settings.ROOT_URLCONF = "portfolio_site.urls"
    client = Client()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/me/access-tokens/" in json.loads(schema.content)["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


def test_tessera_django_works_without_drf_spectacular(tmp_path: Path) -> None:
    # A site without drf-spectacular: importing it fails, the app still loads,
    # its checks pass and a login works.
    script = """
import sys
sys.modules["drf_spectacular"] = None
import django
from django.conf import settings
settings.configure(
    SECRET_KEY="x" * 50,
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes",
                    "rest_framework", "tessera.django"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    ROOT_URLCONF="tessera.django.urls",
    TESSERA={"DATABASE_PATH": sys.argv[1]},
    REST_FRAMEWORK={"EXCEPTION_HANDLER": "tessera.django.exceptions.exception_handler"},
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
)
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("check")
from django.contrib.auth.models import User
User.objects.create_user("a", "a@example.com", "pw")
from rest_framework.test import APIClient
response = APIClient().post("/auth/login/email/", {"email": "a@example.com", "password": "pw"},
                            format="json")
assert response.status_code == 200, response.content
assert "tessera.django.openapi" not in sys.modules
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "t.redb")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "ok"
