"""The JWKS, introspection (RFC 7662) and revocation (RFC 7009) endpoints,
through Django's test client: each kind of token in each state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import tessera
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from rest_framework.test import APIClient
from tessera.django.engine import get_engine

from support import assert_error, bearer, login

JWKS = "/api/v1/auth/jwks.json"
INTROSPECT = "/api/v1/auth/introspect/"
REVOKE = "/api/v1/auth/revoke/"


@pytest.fixture
def service(db: None) -> str:
    """A PAT with the scope tessera:introspect, of a staff service account."""
    account = get_user_model().objects.create_user(
        username="resource-server", email="rs@example.com", is_staff=True
    )
    return get_engine().create_pat(account.pk, "introspect", scopes=["tessera:introspect"]).token


@pytest.fixture(autouse=True)
def fresh_rate_limit() -> Iterator[None]:
    """Each test starts with no revocation counted (the cache outlives tests)."""
    cache.clear()
    yield
    cache.clear()


def form(api: APIClient, path: str, data: dict[str, str], **extra: Any) -> Any:
    """A form-encoded POST, as RFC 7662 and RFC 7009 send them."""
    return api.post(
        path, urlencode(data), content_type="application/x-www-form-urlencoded", **extra
    )


def introspect(api: APIClient, service: str, token: str, **extra: str) -> dict[str, Any]:
    response = form(api, INTROSPECT, {"token": token, **extra}, **bearer(service))
    assert response.status_code == 200, response.content
    assert response.headers["Cache-Control"] == "no-store"
    return dict(response.json())


def revoke(api: APIClient, token: str) -> None:
    response = form(api, REVOKE, {"token": token})
    assert response.status_code == 200, response.content
    assert response.content == b""


# --- JWKS


def test_an_hmac_site_has_no_jwks_and_says_why(api: APIClient) -> None:
    response = api.get(JWKS)
    assert_error(response, 404, "not_found")
    assert "HMAC" in response.json()["error"]["message"]


def test_the_jwks_lists_the_signing_key_and_previous_keys(api: APIClient, settings: Any) -> None:
    old, new = tessera.generate_key("EdDSA"), tessera.generate_key("EdDSA")
    settings.TESSERA = {
        **settings.TESSERA,
        "ALGORITHM": "EdDSA",
        "SIGNING_KEY": new,
        "PREVIOUS_SIGNING_KEYS": [old],
    }
    response = api.get(JWKS)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    keys = json.loads(response.content)["keys"]
    assert len(keys) == 2
    assert len({k["kid"] for k in keys}) == 2
    assert all(k["kty"] == "OKP" and "d" not in k for k in keys)
    # Each key verifies the tokens of its own signing key.
    for key in (old, new):
        with tessera.Engine(None, signing_key=key, algorithm="EdDSA") as engine:
            access = engine.issue("1").access
        verifier = tessera.Verifier.from_jwks(response.content.decode())
        assert verifier.verify_access(access)["user_id"] == "1"


# --- Introspection


def test_introspection_needs_a_staff_pat_with_the_scope(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str], service: str
) -> None:
    assert_error(form(api, INTROSPECT, {"token": tokens["access"]}), 401, "not_authenticated")
    # A JWT is not a credential here.
    response = form(api, INTROSPECT, {"token": tokens["access"]}, **bearer(tokens["access"]))
    assert_error(response, 401, "not_authenticated")
    engine = get_engine()
    unscoped = engine.create_pat(user.pk, "x", scopes=["portfolio:read"]).token
    response = form(api, INTROSPECT, {"token": tokens["access"]}, **bearer(unscoped))
    assert_error(response, 403, "permission_denied")
    # The scope alone is not enough: any user could mint such a PAT.
    scoped = engine.create_pat(user.pk, "y", scopes=["tessera:introspect"]).token
    response = form(api, INTROSPECT, {"token": tokens["access"]}, **bearer(scoped))
    assert_error(response, 403, "permission_denied")
    assert_error(form(api, INTROSPECT, {}, **bearer(service)), 400, "validation_error")


def test_active_tokens_of_each_kind(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str], service: str
) -> None:
    claims = get_engine().verify_access(tokens["access"])
    access = introspect(api, service, tokens["access"], token_type_hint="access_token")
    assert access == {
        "active": True,
        "token_type": "access_token",
        "sub": str(user.pk),
        "exp": claims["exp"],
        "iat": claims["iat"],
        "jti": claims["jti"],
        "sid": claims["sid"],
    }
    refresh = introspect(api, service, tokens["refresh"])
    assert refresh["token_type"] == "refresh_token"
    assert refresh["sid"] == claims["sid"]
    assert "client_id" not in refresh
    pat = get_engine().create_pat(user.pk, "ci", scopes=["portfolio:read", "projects:write"])
    found = introspect(api, service, pat.token)
    assert found == {
        "active": True,
        "token_type": "pat",
        "sub": str(user.pk),
        "iat": pat.created_at,
        "scope": "portfolio:read projects:write",
    }


def test_introspection_spends_nothing(api: APIClient, tokens: dict[str, str], service: str) -> None:
    for _ in range(3):
        assert introspect(api, service, tokens["refresh"])["active"] is True
    # The refresh token still rotates, once.
    rotated = api.post("/api/v1/auth/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert rotated.status_code == 200
    # Now spent: inactive, and introspecting it revokes nothing.
    assert introspect(api, service, tokens["refresh"]) == {"active": False}
    assert introspect(api, service, rotated.json()["refresh"])["active"] is True


def test_anything_not_valid_now_is_only_inactive(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str], service: str, settings: Any
) -> None:
    engine = get_engine()
    pat = engine.create_pat(user.pk, "gone")
    engine.revoke_pat(user.pk, pat.id)
    wrong_checksum = pat.token[:-1] + ("A" if pat.token[-1] != "A" else "B")
    for token in (
        "garbage",
        tokens["access"] + "x",
        pat.token,
        wrong_checksum,
        "tsr_pat_" + "0" * 49,
    ):
        assert introspect(api, service, token) == {"active": False}, token
    # A logged-out session's access token: stateful.
    api.post("/api/v1/auth/logout-all/", **bearer(tokens["access"]))
    assert introspect(api, service, tokens["access"]) == {"active": False}
    assert introspect(api, service, tokens["refresh"]) == {"active": False}
    # A deactivated user's tokens.
    fresh = login(api, "alice@example.com")
    user.is_active = False
    user.save()
    assert introspect(api, service, fresh["access"]) == {"active": False}


# --- Revocation


def test_revoking_a_refresh_token_ends_its_session(
    api: APIClient, tokens: dict[str, str], service: str
) -> None:
    revoke(api, tokens["refresh"])
    assert introspect(api, service, tokens["access"]) == {"active": False}
    assert_error(api.get("/api/v1/me/", **bearer(tokens["access"])), 401, "token_revoked")


def test_revoking_an_access_token_ends_its_session(
    api: APIClient, tokens: dict[str, str], service: str
) -> None:
    other = login(api, "alice@example.com")
    revoke(api, tokens["access"])
    assert introspect(api, service, tokens["refresh"]) == {"active": False}
    # Only that session.
    assert introspect(api, service, other["access"])["active"] is True


def test_revoking_a_pat_needs_only_the_pat(
    api: APIClient, user: AbstractBaseUser, service: str
) -> None:
    pat = get_engine().create_pat(user.pk, "leaked")
    revoke(api, pat.token)
    assert_error(api.get("/api/v1/me/", **bearer(pat.token)), 401, "pat_revoked")
    revoke(api, pat.token)


def test_every_well_formed_request_is_answered_alike(api: APIClient, db: None) -> None:
    for token in ("garbage", "tsr_pat_" + "0" * 49, "eyJhbGciOiJIUzI1NiJ9.e30.x"):
        revoke(api, token)
    assert_error(form(api, REVOKE, {}), 400, "validation_error")


def test_revocation_is_rate_limited_per_client(api: APIClient, settings: Any, db: None) -> None:
    settings.TESSERA = {**settings.TESSERA, "REVOKE_RATE": "3/minute"}
    for _ in range(3):
        revoke(api, "garbage")
    response = form(api, REVOKE, {"token": "garbage"})
    assert_error(response, 429, "too_many_attempts")
    assert int(response.headers["Retry-After"]) > 0
    # Another address has its own count.
    other = form(api, REVOKE, {"token": "garbage"}, REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 200
