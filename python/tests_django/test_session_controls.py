"""Sessions that end (SESSION_MAX_LIFETIME, MAX_SESSIONS_PER_USER) and
authentication freshness (HasRecentAuth, POST auth/reauthenticate/)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from portfolio.models import Project
from portfolio.views import ProjectView
from rest_framework.test import APIClient
from tessera.django import signals
from tessera.django.engine import get_engine, get_verifier

from support import PASSWORD, assert_error, bearer, login, sleep_past

REFRESH = "/api/v1/auth/refresh/"
REAUTH = "/api/v1/auth/reauthenticate/"
ME = "/api/v1/me/"


def refresh(api: APIClient, token: str) -> Any:
    return api.post(REFRESH, {"refresh": token}, format="json")


def claims(access: str) -> dict[str, Any]:
    return get_engine().verify_access(access)


# --- SESSION_MAX_LIFETIME


def test_no_token_outlives_its_session_and_then_refresh_fails(
    api: APIClient, user: AbstractBaseUser, settings: Any
) -> None:
    settings.TESSERA = {**settings.TESSERA, "SESSION_MAX_LIFETIME": 2}
    tokens = login(api, "alice@example.com")
    access = claims(tokens["access"])
    end = access["auth_time"] + 2
    assert access["exp"] <= end
    assert get_engine().verify_refresh(tokens["refresh"])["exp"] <= end
    rotated = refresh(api, tokens["refresh"])
    assert rotated.status_code == 200
    assert claims(rotated.json()["access"])["exp"] <= end
    sleep_past(end)
    assert_error(refresh(api, rotated.json()["refresh"]), 401, "token_expired")


def test_the_refresh_lifetime_is_renewed_by_each_rotation(
    api: APIClient, tokens: dict[str, str]
) -> None:
    before = get_engine().verify_refresh(tokens["refresh"])
    sleep_past(before["iat"])
    rotated = refresh(api, tokens["refresh"]).json()
    after = get_engine().verify_refresh(rotated["refresh"])
    assert after["exp"] > before["exp"]
    assert after["auth_time"] == before["auth_time"]


# --- MAX_SESSIONS_PER_USER


def test_a_login_beyond_the_limit_ends_the_least_recently_refreshed_session(
    api: APIClient, user: AbstractBaseUser, settings: Any
) -> None:
    settings.TESSERA = {**settings.TESSERA, "MAX_SESSIONS_PER_USER": 2}
    events: list[Any] = []

    def on_event(sender: Any, event: Any, **kwargs: Any) -> None:
        events.append(event)

    first = login(api, "alice@example.com")
    sleep_past(time.time())
    second = login(api, "alice@example.com")
    sleep_past(time.time())
    # The first session is now the more recently refreshed one.
    first = refresh(api, first["refresh"]).json()
    sleep_past(time.time())
    signals.token_event.connect(on_event)
    try:
        third = login(api, "alice@example.com")
    finally:
        signals.token_event.disconnect(on_event)

    assert_error(api.get(ME, **bearer(second["access"])), 401, "token_revoked")
    assert_error(refresh(api, second["refresh"]), 401, "token_revoked")
    for alive in (first, third):
        assert api.get(ME, **bearer(alive["access"])).status_code == 200
    assert len(get_engine().sessions(user.pk)) == 2
    # The engine's event, as the Django signal of its kind.
    ended = [e for e in events if e.kind == "session_limit"]
    assert [(e.user_id, e.family_id) for e in ended] == [
        (str(user.pk), get_verifier().verify_access(second["access"])["sid"])
    ]
    assert "session_limit" in signals.SIGNALS


# --- HasRecentAuth, on the example's project deletion (max_auth_age = 300)


@pytest.fixture
def project(user: AbstractBaseUser) -> Project:
    return Project.objects.create(owner=user, title="Old")


def delete(api: APIClient, project: Project, token: str) -> Any:
    return api.delete(f"/api/v1/portfolio/projects/{project.pk}/", **bearer(token))


def test_a_fresh_login_may_delete(api: APIClient, tokens: dict[str, str], project: Project) -> None:
    assert delete(api, project, tokens["access"]).status_code == 204
    assert not Project.objects.filter(pk=project.pk).exists()


def test_an_old_login_must_reauthenticate(
    api: APIClient, tokens: dict[str, str], project: Project, monkeypatch: Any
) -> None:
    monkeypatch.setattr(ProjectView, "max_auth_age", 1)
    sleep_past(claims(tokens["access"])["auth_time"] + 1)
    response = delete(api, project, tokens["access"])
    assert_error(response, 403, "reauthentication_required")
    # Refreshing does not make the login recent.
    rotated = refresh(api, tokens["refresh"]).json()
    assert_error(delete(api, project, rotated["access"]), 403, "reauthentication_required")
    # Reauthenticating does.
    renewed = api.post(REAUTH, {"password": PASSWORD}, format="json", **bearer(rotated["access"]))
    assert renewed.status_code == 200, renewed.content
    assert delete(api, project, renewed.json()["access"]).status_code == 204


def test_a_pat_may_not_do_what_needs_a_recent_login(
    api: APIClient, tokens: dict[str, str], project: Project
) -> None:
    pat = api.post(
        "/api/v1/me/access-tokens/", {"name": "ci"}, format="json", **bearer(tokens["access"])
    ).json()["token"]
    assert_error(delete(api, project, pat), 403, "pat_not_allowed")
    assert Project.objects.filter(pk=project.pk).exists()


def test_a_django_session_has_no_auth_time(user: AbstractBaseUser, project: Project) -> None:
    client = APIClient()
    client.force_login(user)
    response = client.delete(f"/api/v1/portfolio/projects/{project.pk}/")
    assert_error(response, 403, "reauthentication_required")


def test_without_credentials_it_is_401(api: APIClient, project: Project) -> None:
    assert_error(api.delete(f"/api/v1/portfolio/projects/{project.pk}/"), 401, "not_authenticated")


def test_another_users_project_is_404(
    api: APIClient, other_user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    theirs = Project.objects.create(owner=other_user, title="Bob's")
    assert_error(delete(api, theirs, tokens["access"]), 404, "not_found")


# --- POST auth/reauthenticate/


def test_reauthenticate_gives_a_new_pair_in_the_same_session(
    api: APIClient, tokens: dict[str, str]
) -> None:
    before = claims(tokens["access"])
    sleep_past(before["auth_time"])
    response = api.post(REAUTH, {"password": PASSWORD}, format="json", **bearer(tokens["access"]))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    after = claims(body["access"])
    assert after["sid"] == before["sid"]
    assert after["auth_time"] > before["auth_time"]
    assert get_engine().verify_refresh(body["refresh"])["auth_time"] == after["auth_time"]
    # The new refresh token rotates on, keeping the new auth_time.
    rotated = refresh(api, body["refresh"])
    assert rotated.status_code == 200
    assert claims(rotated.json()["access"])["auth_time"] == after["auth_time"]
    assert len(get_engine().sessions(after["user_id"])) == 1


def test_reauthenticate_with_a_wrong_password(api: APIClient, tokens: dict[str, str]) -> None:
    response = api.post(REAUTH, {"password": "wrong"}, format="json", **bearer(tokens["access"]))
    assert_error(response, 401, "invalid_credentials")
    # The session is untouched.
    assert refresh(api, tokens["refresh"]).status_code == 200


@pytest.mark.parametrize("body", [{}, {"password": ""}, {"password": 5}, ["x"]])
def test_reauthenticate_validates_its_body(
    api: APIClient, tokens: dict[str, str], body: object
) -> None:
    response = api.post(REAUTH, body, format="json", **bearer(tokens["access"]))
    assert_error(response, 400, "validation_error")


def test_reauthenticate_needs_an_access_token(
    api: APIClient, tokens: dict[str, str], user: AbstractBaseUser
) -> None:
    assert_error(api.post(REAUTH, {"password": PASSWORD}, format="json"), 401, "not_authenticated")
    assert_error(
        api.post(REAUTH, {"password": PASSWORD}, format="json", **bearer(tokens["refresh"])),
        401,
        "token_wrong_type",
    )
    pat = api.post(
        "/api/v1/me/access-tokens/", {"name": "ci"}, format="json", **bearer(tokens["access"])
    ).json()["token"]
    assert_error(
        api.post(REAUTH, {"password": PASSWORD}, format="json", **bearer(pat)),
        403,
        "pat_not_allowed",
    )
    api.post("/api/v1/auth/logout-all/", **bearer(tokens["access"]))
    assert_error(
        api.post(REAUTH, {"password": PASSWORD}, format="json", **bearer(tokens["access"])),
        401,
        "token_revoked",
    )


def test_reauthenticate_is_throttled(api: APIClient, tokens: dict[str, str], settings: Any) -> None:
    settings.TESSERA = {
        **settings.TESSERA,
        "THROTTLE": {"PER_ACCOUNT_AND_ADDRESS": (2, timedelta(minutes=5))},
    }
    for _ in range(2):
        response = api.post(
            REAUTH, {"password": "wrong"}, format="json", **bearer(tokens["access"])
        )
        assert_error(response, 401, "invalid_credentials")
    response = api.post(REAUTH, {"password": PASSWORD}, format="json", **bearer(tokens["access"]))
    assert_error(response, 429, "too_many_attempts")
    assert int(response.headers["Retry-After"]) > 0


def test_reauthenticate_in_cookie_mode_sets_the_cookie(
    api: APIClient, tokens: dict[str, str], settings: Any
) -> None:
    settings.TESSERA = {**settings.TESSERA, "REFRESH_COOKIE": {"SECURE": True}}
    response = api.post(REAUTH, {"password": PASSWORD}, format="json", **bearer(tokens["access"]))
    assert response.status_code == 200
    assert set(response.json()) == {"access"}
    cookie = response.cookies["tessera_refresh"]
    assert cookie["httponly"] is True
    assert get_engine().verify_refresh(cookie.value)["sid"] == claims(tokens["access"])["sid"]


def test_has_recent_auth_needs_max_auth_age() -> None:
    from django.core.exceptions import ImproperlyConfigured
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView
    from tessera.django.permissions import HasRecentAuth

    request = Request(APIRequestFactory().get("/"))
    with pytest.raises(ImproperlyConfigured, match="max_auth_age"):
        HasRecentAuth().has_permission(request, APIView())
