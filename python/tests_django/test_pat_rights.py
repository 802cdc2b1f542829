"""The documented PAT flow: without ``scopes`` a PAT has its user's full
rights; with ``scopes`` (even ``[]``) it is restricted to them."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework.test import APIClient
from tessera.django.engine import get_engine
from tessera.django.permissions import UNRESTRICTED_SCOPE

from support import assert_error, bearer

TOKENS = "/api/v1/me/access-tokens/"
PORTFOLIO = "/api/v1/portfolio/"
PROJECTS = "/api/v1/portfolio/projects/"
PROJECT = {"title": "Tessera", "summary": "Tokens, in-process."}


def test_the_documented_create_body_gives_a_token_that_can_write(
    api: APIClient, tokens: dict[str, str]
) -> None:
    body = {"name": "ci-sync", "expires_at": "2099-12-31T00:00:00Z"}
    created = api.post(TOKENS, body, format="json", **bearer(tokens["access"]))
    assert created.status_code == 201, created.content
    assert created.json()["scopes"] is None
    pat = created.json()["token"]

    response = api.post(PROJECTS, PROJECT, format="json", **bearer(pat))
    assert response.status_code == 201, response.content
    assert api.get(PORTFOLIO, **bearer(pat)).json()["projects"][0]["title"] == "Tessera"

    listed = api.get(TOKENS, **bearer(tokens["access"])).json()
    assert [p["scopes"] for p in listed] == [None]


def test_null_scopes_are_unrestricted_too(api: APIClient, tokens: dict[str, str]) -> None:
    body = {"name": "ci", "scopes": None}
    created = api.post(TOKENS, body, format="json", **bearer(tokens["access"])).json()
    assert created["scopes"] is None
    response = api.post(PROJECTS, PROJECT, format="json", **bearer(created["token"]))
    assert response.status_code == 201


def test_empty_scopes_restrict_to_nothing(api: APIClient, tokens: dict[str, str]) -> None:
    body = {"name": "nothing", "scopes": []}
    created = api.post(TOKENS, body, format="json", **bearer(tokens["access"])).json()
    assert created["scopes"] == []
    assert_error(api.get(PORTFOLIO, **bearer(created["token"])), 403, "permission_denied")
    response = api.post(PROJECTS, PROJECT, format="json", **bearer(created["token"]))
    assert_error(response, 403, "permission_denied")
    assert api.get(TOKENS, **bearer(tokens["access"])).json()[0]["scopes"] == []


def test_listed_scopes_restrict(api: APIClient, tokens: dict[str, str]) -> None:
    body = {"name": "reader", "scopes": ["portfolio:read"]}
    created = api.post(TOKENS, body, format="json", **bearer(tokens["access"])).json()
    assert created["scopes"] == ["portfolio:read"]
    assert api.get(PORTFOLIO, **bearer(created["token"])).status_code == 200
    response = api.post(PROJECTS, PROJECT, format="json", **bearer(created["token"]))
    assert_error(response, 403, "permission_denied")


def test_an_unrestricted_pat_still_cannot_mint_a_pat(
    api: APIClient, tokens: dict[str, str]
) -> None:
    created = api.post(TOKENS, {"name": "ci"}, format="json", **bearer(tokens["access"])).json()
    again = api.post(TOKENS, {"name": "child"}, format="json", **bearer(created["token"]))
    assert_error(again, 403, "pat_not_allowed")


def test_the_engine_stores_the_reserved_scope(api: APIClient, user: AbstractBaseUser) -> None:
    # The Python API spells an unrestricted PAT with the reserved scope.
    pat = get_engine().create_pat(user.pk, "script", scopes=[UNRESTRICTED_SCOPE])
    assert api.post(PROJECTS, PROJECT, format="json", **bearer(pat.token)).status_code == 201
    # A PAT the engine made without scopes is restricted to nothing.
    bare = get_engine().create_pat(user.pk, "bare")
    assert_error(api.get(PORTFOLIO, **bearer(bare.token)), 403, "permission_denied")
