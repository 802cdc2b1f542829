"""tessera.django.compat_urls: simplejwt's client flow, unchanged, against
Tessera. The same client runs against djangorestframework-simplejwt's own
views and against the compat URLs; every status and body must agree."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.urls import reverse
from rest_framework.test import APIClient
from tessera.django.engine import get_engine

from support import PASSWORD, assert_error, bearer

ME = "/api/v1/me/"


def simplejwt_client_flow(api: APIClient, base: str) -> list[tuple[int, Any]]:
    """A client written for simplejwt, as its documentation shows it: every
    step's status and body, with tokens reduced to the keys that carry them."""
    steps: list[tuple[int, Any]] = []

    def post(url: str, body: dict[str, str]) -> Any:
        response = api.post(base + url, body, format="json")
        data = response.json()
        shown = sorted(data) if {"access"} <= set(data) else data
        steps.append((response.status_code, shown))
        return data

    post("token/", {"username": "alice", "password": "wrong"})
    post("token/", {"username": "alice"})
    pair = post("token/", {"username": "alice", "password": PASSWORD})
    me = api.get(ME, HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    steps.append((me.status_code, me.json()["username"]))
    post("token/verify/", {"token": pair["access"]})
    post("token/verify/", {"token": "not.a.token"})
    rotated = post("token/refresh/", {"refresh": pair["refresh"]})
    post("token/refresh/", {"refresh": rotated["access"]})
    post("token/blacklist/", {"refresh": rotated["refresh"]})
    post("token/refresh/", {"refresh": rotated["refresh"]})
    post("token/verify/", {"token": rotated["refresh"]})
    post("token/blacklist/", {})
    return steps


def test_the_simplejwt_client_flow_answers_alike(
    api: APIClient, user: AbstractBaseUser, settings: Any
) -> None:
    compat = simplejwt_client_flow(api, "/api/")

    # simplejwt as a site ran it: DRF's error handler, rotation with blacklisting.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "EXCEPTION_HANDLER": "rest_framework.views.exception_handler",
    }
    settings.SIMPLE_JWT = {
        **settings.SIMPLE_JWT,
        "ROTATE_REFRESH_TOKENS": True,
        "BLACKLIST_AFTER_ROTATION": True,
    }
    original = simplejwt_client_flow(APIClient(), "/simplejwt/")

    assert compat == original
    # What the flow went through, so that agreement is not agreement on nothing.
    assert [status for status, _ in compat] == [
        401, 400, 200, 200, 200, 401, 200, 401, 200, 401, 400, 400
    ]  # fmt: skip
    assert compat[0][1] == {"detail": "No active account found with the given credentials"}
    assert compat[7][1] == {"detail": "Token has wrong type", "code": "token_not_valid"}
    assert compat[9][1] == {"detail": "Token is blacklisted", "code": "token_not_valid"}
    assert compat[10][1] == {"non_field_errors": ["Token is blacklisted"]}


def obtain(api: APIClient, username: str = "alice") -> dict[str, str]:
    response = api.post("/api/token/", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_compat_tokens_are_tesseras(api: APIClient, user: AbstractBaseUser) -> None:
    pair = obtain(api)
    claims = get_engine().verify_access(pair["access"])
    assert claims["user_id"] == str(user.pk)
    assert [s.family_id for s in get_engine().sessions(user.pk)] == [claims["sid"]]


def test_a_reused_refresh_token_revokes_the_session(api: APIClient, user: AbstractBaseUser) -> None:
    pair = obtain(api)
    rotated = api.post("/api/token/refresh/", {"refresh": pair["refresh"]}, format="json").json()
    again = api.post("/api/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert again.status_code == 401
    assert again.json() == {"detail": "Token is blacklisted", "code": "token_not_valid"}
    assert_error(api.get(ME, **bearer(rotated["access"])), 401, "token_revoked")


def test_blacklist_is_a_logout(api: APIClient, user: AbstractBaseUser) -> None:
    pair = obtain(api)
    assert (
        api.post("/api/token/blacklist/", {"refresh": pair["refresh"]}, format="json").json() == {}
    )
    assert_error(api.get(ME, **bearer(pair["access"])), 401, "token_revoked")
    assert get_engine().sessions(user.pk) == []


def test_refresh_for_an_inactive_user(api: APIClient, user: AbstractBaseUser) -> None:
    pair = obtain(api)
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    response = api.post("/api/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "No active account found for the given token.",
        "code": "no_active_account",
    }
    # The refusal ended the session, as auth/refresh/ does: reactivating
    # the account does not bring that refresh token back.
    assert get_engine().sessions(user.pk) == []
    get_user_model().objects.filter(pk=user.pk).update(is_active=True)
    response = api.post("/api/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_refresh_of_a_blacklisted_simplejwt_token(api: APIClient, user: AbstractBaseUser) -> None:
    """A simplejwt refresh token on simplejwt's blacklist stays refused."""
    from rest_framework_simplejwt.tokens import RefreshToken

    token = RefreshToken.for_user(user)
    token.blacklist()
    response = api.post("/api/token/refresh/", {"refresh": str(token)}, format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Token is blacklisted", "code": "token_not_valid"}


def test_an_inactive_user_cannot_obtain(api: APIClient, user: AbstractBaseUser) -> None:
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    response = api.post("/api/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_simplejwt_url_names(db: None) -> None:
    assert reverse("token_obtain_pair") == "/api/token/"
    assert reverse("token_refresh") == "/api/token/refresh/"
    assert reverse("token_verify") == "/api/token/verify/"
    assert reverse("token_blacklist") == "/api/token/blacklist/"


def test_sign_up_answers_with_a_token_pair(api: APIClient, db: None) -> None:
    response = api.post(
        "/host/signup/", {"email": "carol@example.com", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"tokens", "user"}
    assert body["user"]["email"] == "carol@example.com"
    me = api.get(ME, **bearer(body["tokens"]["access"]))
    assert me.json()["email"] == "carol@example.com"
    refreshed = api.post(
        "/api/v1/auth/refresh/", {"refresh": body["tokens"]["refresh"]}, format="json"
    )
    assert refreshed.status_code == 200
