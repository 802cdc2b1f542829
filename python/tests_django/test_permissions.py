"""HasScope and DenyPAT, through the example site's portfolio API."""

from __future__ import annotations

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView
from tessera.django.engine import get_engine
from tessera.django.permissions import HasScope

from support import assert_error, bearer

PORTFOLIO = "/api/v1/portfolio/"
PROJECTS = "/api/v1/portfolio/projects/"
PROJECT = {"title": "Tessera", "summary": "Tokens, in-process."}


def test_a_jwt_needs_no_scope(api: APIClient, tokens: dict[str, str]) -> None:
    assert api.post(PROJECTS, PROJECT, format="json", **bearer(tokens["access"])).status_code == 201
    body = api.get(PORTFOLIO, **bearer(tokens["access"])).json()
    assert [p["title"] for p in body["projects"]] == ["Tessera"]
    assert body["user"]["email"] == "alice@example.com"


def test_a_pat_with_the_scopes(api: APIClient, user: AbstractBaseUser) -> None:
    pat = get_engine().create_pat(user.pk, "ci", scopes=["portfolio:read", "projects:write"])
    response = api.post(PROJECTS, PROJECT, format="json", **bearer(pat.token))
    assert response.status_code == 201
    assert set(response.json()) == {"id", "title", "summary", "created_at"}
    assert api.get(PORTFOLIO, **bearer(pat.token)).status_code == 200


def test_a_pat_without_the_scope_is_denied(api: APIClient, user: AbstractBaseUser) -> None:
    pat = get_engine().create_pat(user.pk, "read-only", scopes=["portfolio:read"])
    assert api.get(PORTFOLIO, **bearer(pat.token)).status_code == 200
    response = api.post(PROJECTS, PROJECT, format="json", **bearer(pat.token))
    assert_error(response, 403, "permission_denied")
    assert "projects:write" in response.json()["error"]["message"]


def test_a_pat_with_no_scopes_is_denied_everywhere_scoped(
    api: APIClient, user: AbstractBaseUser
) -> None:
    pat = get_engine().create_pat(user.pk, "bare")
    assert_error(api.get(PORTFOLIO, **bearer(pat.token)), 403, "permission_denied")


def test_portfolio_without_credentials(api: APIClient, db: None) -> None:
    assert_error(api.get(PORTFOLIO), 401, "not_authenticated")


def test_host_serializer_errors_use_the_error_body(api: APIClient, tokens: dict[str, str]) -> None:
    response = api.post(
        PROJECTS, {"summary": "no title"}, format="json", **bearer(tokens["access"])
    )
    assert_error(response, 400, "validation_error")
    assert response.json()["error"]["message"].startswith("title:")


def test_has_scope_needs_required_scopes(user: AbstractBaseUser) -> None:
    pat = get_engine().create_pat(user.pk, "ci", scopes=["a:b"])
    request = Request(APIRequestFactory().get("/"))
    request._auth = get_engine().verify_pat(pat.token)
    with pytest.raises(ImproperlyConfigured):
        HasScope().has_permission(request, APIView())
