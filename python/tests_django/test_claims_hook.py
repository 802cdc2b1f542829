"""CLAIMS_HOOK: claims that follow the user, at every login and rotation."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework.test import APIClient
from tessera.django.engine import get_engine

from support import PASSWORD, login

REFRESH = "/api/v1/auth/refresh/"


@pytest.fixture(autouse=True)
def role_hook(settings: Any) -> None:
    settings.TESSERA = {**settings.TESSERA, "CLAIMS_HOOK": "claims_hooks.role"}


def claims(access: str) -> dict[str, Any]:
    return get_engine().verify_access(access)


def make_staff(user: AbstractBaseUser) -> None:
    user.is_staff = True  # type: ignore[attr-defined]
    user.save()


def test_login_carries_the_hooks_claims(api: APIClient, tokens: dict[str, str]) -> None:
    assert claims(tokens["access"])["role"] == "member"
    assert get_engine().verify_refresh(tokens["refresh"])["role"] == "member"


def test_a_role_change_reaches_the_next_rotation(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    make_staff(user)
    response = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 200
    assert claims(response.json()["access"])["role"] == "staff"


def test_from_session_carries_the_hooks_claims(user: AbstractBaseUser) -> None:
    make_staff(user)
    client = APIClient()
    client.force_login(user)
    response = client.post("/api/v1/auth/from-session/")
    assert response.status_code == 200
    assert claims(response.json()["tokens"]["access"])["role"] == "staff"


def test_signup_carries_the_hooks_claims(api: APIClient, db: None) -> None:
    response = api.post(
        "/host/signup/", {"email": "carol@example.com", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201
    assert claims(response.json()["tokens"]["access"])["role"] == "member"


def test_the_simplejwt_endpoints_call_the_hook(api: APIClient, user: AbstractBaseUser) -> None:
    pair = api.post("/api/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert pair.status_code == 200
    assert claims(pair.json()["access"])["role"] == "member"
    make_staff(user)
    rotated = api.post("/api/token/refresh/", {"refresh": pair.json()["refresh"]}, format="json")
    assert rotated.status_code == 200
    assert claims(rotated.json()["access"])["role"] == "staff"


def test_a_converging_refresh_returns_the_first_pair_whatever_the_hook_says_now(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str], settings: Any
) -> None:
    settings.TESSERA = {**settings.TESSERA, "REUSE_GRACE": 10}
    first = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    make_staff(user)
    again = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert claims(again.json()["access"])["role"] == "member"


@pytest.fixture
def server_errors() -> APIClient:
    """A client that sees a 500 as a response, as a browser would."""
    return APIClient(raise_request_exception=False)


@pytest.mark.parametrize("hook", ["claims_hooks.failing", "claims_hooks.not_a_dict"])
def test_a_failing_hook_is_a_500_and_rotates_nothing(
    server_errors: APIClient, tokens: dict[str, str], settings: Any, hook: str
) -> None:
    # Without the window, a second presentation of a rotated token is reuse.
    settings.TESSERA = {**settings.TESSERA, "CLAIMS_HOOK": hook, "REUSE_GRACE": 0}
    response = server_errors.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 500
    settings.TESSERA = {**settings.TESSERA, "CLAIMS_HOOK": "claims_hooks.role"}
    # Nothing was rotated: the same refresh token rotates now.
    response = server_errors.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 200, response.content
    assert claims(response.json()["access"])["role"] == "member"


def test_a_failing_hook_at_login_issues_nothing(
    server_errors: APIClient, user: AbstractBaseUser, settings: Any
) -> None:
    settings.TESSERA = {**settings.TESSERA, "CLAIMS_HOOK": "claims_hooks.failing"}
    response = server_errors.post(
        "/api/v1/auth/login/email/",
        {"email": "alice@example.com", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 500
    assert get_engine().sessions(user.pk) == []


def test_a_reserved_claim_is_refused_by_the_engine(
    server_errors: APIClient, user: AbstractBaseUser, settings: Any
) -> None:
    settings.TESSERA = {**settings.TESSERA, "CLAIMS_HOOK": "claims_hooks.reserved"}
    response = server_errors.post(
        "/api/v1/auth/login/email/",
        {"email": "alice@example.com", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 500
    assert get_engine().sessions(user.pk) == []


def test_without_a_hook_tokens_carry_no_extra_claims(
    api: APIClient, user: AbstractBaseUser, settings: Any
) -> None:
    settings.TESSERA = {k: v for k, v in settings.TESSERA.items() if k != "CLAIMS_HOOK"}
    assert "role" not in claims(login(api, "alice@example.com")["access"])
