"""Moving from djangorestframework-simplejwt: its tokens keep working."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework.test import APIClient
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from support import assert_error, bearer


def test_a_simplejwt_access_token_authenticates(api: APIClient, user: AbstractBaseUser) -> None:
    token = str(AccessToken.for_user(user))
    response = api.get("/api/v1/me/", **bearer(token))
    assert response.status_code == 200
    assert response.json()["id"] == user.pk


def test_a_simplejwt_refresh_token_refreshes_once(api: APIClient, user: AbstractBaseUser) -> None:
    token = str(RefreshToken.for_user(user))
    response = api.post("/api/v1/auth/refresh/", {"refresh": token}, format="json")
    assert response.status_code == 200
    pair = response.json()
    assert api.get("/api/v1/me/", **bearer(pair["access"])).status_code == 200
    # The old token was blacklisted by its first use.
    second = api.post("/api/v1/auth/refresh/", {"refresh": token}, format="json")
    assert second.status_code == 401
    assert second.json()["error"]["code"] in {"refresh_reused", "token_revoked"}


def test_a_token_blacklisted_by_simplejwt_stays_refused(
    api: APIClient, user: AbstractBaseUser
) -> None:
    token = RefreshToken.for_user(user)
    token.blacklist()
    response = api.post("/api/v1/auth/refresh/", {"refresh": str(token)}, format="json")
    assert_error(response, 401, "token_revoked")


def test_simplejwt_blacklist_is_ignored_once_its_app_is_removed(
    api: APIClient, user: AbstractBaseUser, settings: object
) -> None:
    token = RefreshToken.for_user(user)
    token.blacklist()
    apps = [a for a in settings.INSTALLED_APPS if not a.endswith("token_blacklist")]  # type: ignore[attr-defined]
    settings.INSTALLED_APPS = apps  # type: ignore[attr-defined]
    response = api.post("/api/v1/auth/refresh/", {"refresh": str(token)}, format="json")
    assert response.status_code == 200


def test_logout_all_ends_simplejwt_access_tokens(api: APIClient, user: AbstractBaseUser) -> None:
    old = str(AccessToken.for_user(user))
    fresh = api.post(
        "/api/v1/auth/login/email/",
        {"email": "alice@example.com", "password": "correct horse battery staple"},
        format="json",
    ).json()["tokens"]
    assert api.post("/api/v1/auth/logout-all/", **bearer(fresh["access"])).status_code == 204
    assert_error(api.get("/api/v1/me/", **bearer(old)), 401, "token_revoked")


def test_tessera_tokens_still_work_in_simplejwt(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    # So a deploy can be rolled back without logging anyone out.
    validated = SimpleJWTAuthentication().get_validated_token(tokens["access"].encode())
    assert str(validated["user_id"]) == str(user.pk)
    refresh = RefreshToken(tokens["refresh"])
    assert str(refresh["user_id"]) == str(user.pk)
    assert str(refresh.access_token)
