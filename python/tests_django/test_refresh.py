"""POST auth/refresh/ (rotation, reuse detection) and POST auth/verify/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework.test import APIClient

from support import assert_error, bearer

REFRESH = "/api/v1/auth/refresh/"
VERIFY = "/api/v1/auth/verify/"
ME = "/api/v1/me/"


def refresh(api: APIClient, token: object) -> object:
    return api.post(REFRESH, {"refresh": token}, format="json")


def test_refresh_rotates_both_tokens(api: APIClient, tokens: dict[str, str]) -> None:
    response = refresh(api, tokens["refresh"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["access"] != tokens["access"]
    assert body["refresh"] != tokens["refresh"]
    assert api.get(ME, **bearer(body["access"])).status_code == 200
    assert refresh(api, body["refresh"]).status_code == 200


def test_refresh_never_creates_a_django_session(api: APIClient, tokens: dict[str, str]) -> None:
    response = refresh(api, tokens["refresh"])
    assert "sessionid" not in response.cookies


def test_the_old_refresh_token_is_rejected(api: APIClient, tokens: dict[str, str]) -> None:
    assert refresh(api, tokens["refresh"]).status_code == 200
    assert_error(refresh(api, tokens["refresh"]), 401, "refresh_reused")


def test_reuse_revokes_the_whole_family(api: APIClient, tokens: dict[str, str]) -> None:
    rotated = refresh(api, tokens["refresh"]).json()
    # A thief replays the spent token: the session ends for everyone.
    assert_error(refresh(api, tokens["refresh"]), 401, "refresh_reused")
    assert_error(refresh(api, rotated["refresh"]), 401, "token_revoked")
    assert_error(api.get(ME, **bearer(rotated["access"])), 401, "token_revoked")
    assert_error(api.get(ME, **bearer(tokens["access"])), 401, "token_revoked")


def test_reuse_leaves_other_sessions_alone(api: APIClient, tokens: dict[str, str]) -> None:
    other = api.post(
        "/api/v1/auth/login/email/",
        {"email": "alice@example.com", "password": "correct horse battery staple"},
        format="json",
    ).json()["tokens"]
    refresh(api, tokens["refresh"])
    refresh(api, tokens["refresh"])
    assert api.get(ME, **bearer(other["access"])).status_code == 200


def test_an_access_token_is_the_wrong_type(api: APIClient, tokens: dict[str, str]) -> None:
    assert_error(refresh(api, tokens["access"]), 401, "token_wrong_type")


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 9000, ""])
def test_bad_tokens_are_token_invalid(api: APIClient, db: None, token: str) -> None:
    response = refresh(api, token)
    if token == "":
        assert_error(response, 400, "validation_error")
    else:
        assert_error(response, 401, "token_invalid")


def test_a_token_signed_with_another_key_is_invalid(
    api: APIClient, tokens: dict[str, str], settings: object
) -> None:
    settings.TESSERA = {**settings.TESSERA, "SIGNING_KEY": "another-key-of-at-least-32-bytes!!"}  # type: ignore[attr-defined]
    assert_error(refresh(api, tokens["refresh"]), 401, "token_invalid")


@pytest.mark.parametrize("body", [{}, {"refresh": None}, {"refresh": 5}, {"refresh": ["x"]}, [1]])
def test_malformed_bodies_are_validation_errors(api: APIClient, db: None, body: object) -> None:
    assert_error(api.post(REFRESH, body, format="json"), 400, "validation_error")


def test_deleted_user_is_user_not_found(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    user.delete()
    assert_error(refresh(api, tokens["refresh"]), 401, "user_not_found")


def assert_inactive_user_refused_and_session_ended(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    """Deactivates `user` behind the model's back (``save()`` would end its
    sessions at once: test_password_change.py): refreshing `tokens` gives
    401 user_inactive, and even once the user is active again, the session
    stays ended."""
    rows = type(user).objects.filter(pk=user.pk)
    rows.update(is_active=False)
    assert_error(refresh(api, tokens["refresh"]), 401, "user_inactive")
    rows.update(is_active=True)
    assert_error(api.get(ME, **bearer(tokens["access"])), 401, "token_revoked")


def test_inactive_user_cannot_refresh_and_the_session_ends(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    assert_inactive_user_refused_and_session_ended(api, user, tokens)


@pytest.fixture
def reuse_grace(settings: object) -> None:
    settings.TESSERA = {**settings.TESSERA, "REUSE_GRACE": timedelta(seconds=30)}  # type: ignore[attr-defined]


def test_a_retry_within_reuse_grace_gets_the_same_pair(
    api: APIClient, reuse_grace: None, tokens: dict[str, str]
) -> None:
    first = refresh(api, tokens["refresh"])
    assert first.status_code == 200
    retry = refresh(api, tokens["refresh"])
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert refresh(api, first.json()["refresh"]).status_code == 200


def test_a_retry_within_reuse_grace_still_checks_the_user(
    api: APIClient, reuse_grace: None, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    assert refresh(api, tokens["refresh"]).status_code == 200
    # The retried token was rotated once already; the window gives its
    # successor again, but not past the user check.
    assert_inactive_user_refused_and_session_ended(api, user, tokens)


def test_refresh_needs_no_credentials_header(api: APIClient, tokens: dict[str, str]) -> None:
    response = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json", **bearer("junk"))
    assert response.status_code == 200


# --- verify


def test_verify_accepts_a_good_access_token(api: APIClient, tokens: dict[str, str]) -> None:
    response = api.post(VERIFY, {"token": tokens["access"]}, format="json")
    assert response.status_code == 200
    assert response.json() == {}


def test_verify_accepts_a_live_refresh_token(api: APIClient, tokens: dict[str, str]) -> None:
    assert api.post(VERIFY, {"token": tokens["refresh"]}, format="json").status_code == 200


def test_verify_rejects_a_spent_refresh_token(api: APIClient, tokens: dict[str, str]) -> None:
    refresh(api, tokens["refresh"])
    response = api.post(VERIFY, {"token": tokens["refresh"]}, format="json")
    assert_error(response, 401, "refresh_reused")


def test_verify_rejects_a_revoked_access_token(api: APIClient, tokens: dict[str, str]) -> None:
    api.post("/api/v1/auth/logout-all/", **bearer(tokens["access"]))
    assert_error(api.post(VERIFY, {"token": tokens["access"]}, format="json"), 401, "token_revoked")


def test_verify_rejects_garbage(api: APIClient, db: None) -> None:
    assert_error(api.post(VERIFY, {"token": "nope"}, format="json"), 401, "token_invalid")


@pytest.mark.parametrize("body", [{}, {"token": 1}, {"refresh": "x"}])
def test_verify_validates_its_body(api: APIClient, db: None, body: object) -> None:
    assert_error(api.post(VERIFY, body, format="json"), 400, "validation_error")
