"""Cookie mode: the refresh token in an HttpOnly cookie, guarded by CSRF."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework.test import APIClient

from support import PASSWORD, assert_error, bearer

LOGIN = "/api/v1/auth/login/email/"
REFRESH = "/api/v1/auth/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/me/"
COOKIE = "tessera_refresh"


@pytest.fixture(autouse=True)
def cookie_mode(settings: Any) -> None:
    settings.TESSERA = {**settings.TESSERA, "REFRESH_COOKIE": {"SECURE": True}}


@pytest.fixture
def browser(user: AbstractBaseUser) -> APIClient:
    """A client that enforces CSRF, as a browser's requests would be."""
    return APIClient(enforce_csrf_checks=True)


def log_in(client: APIClient) -> dict[str, Any]:
    response = client.post(
        LOGIN, {"email": "alice@example.com", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_login_puts_the_refresh_token_in_the_cookie(browser: APIClient) -> None:
    response = browser.post(
        LOGIN, {"email": "alice@example.com", "password": PASSWORD}, format="json"
    )
    body = response.json()
    assert set(body["tokens"]) == {"access"}
    morsel = response.cookies[COOKIE]
    assert morsel.value.count(".") == 2
    assert morsel["httponly"] is True
    assert morsel["secure"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/api/v1/auth/"
    assert int(morsel["max-age"]) > 13 * 24 * 3600
    # ...and a CSRF token for the later refreshes.
    assert "csrftoken" in response.cookies


def test_cookie_attributes_follow_the_settings(browser: APIClient, settings: Any) -> None:
    settings.TESSERA = {
        **settings.TESSERA,
        "REFRESH_COOKIE": {"NAME": "rt", "PATH": "/api/", "SAMESITE": "Strict", "SECURE": False},
    }
    response = browser.post(
        LOGIN, {"email": "alice@example.com", "password": PASSWORD}, format="json"
    )
    morsel = response.cookies["rt"]
    assert (morsel["path"], morsel["samesite"], morsel["secure"], morsel["httponly"]) == (
        "/api/",
        "Strict",
        "",
        True,
    )


def test_refresh_through_the_cookie_with_csrf_rotates(browser: APIClient) -> None:
    first = log_in(browser)
    old = browser.cookies[COOKIE].value
    csrf = browser.cookies["csrftoken"].value
    response = browser.post(REFRESH, {}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200
    assert set(response.json()) == {"access"}
    assert response.cookies[COOKIE].value != old
    assert browser.get(ME, **bearer(response.json()["access"])).status_code == 200
    assert response.json()["access"] != first["tokens"]["access"]
    # Rotated again from the new cookie.
    assert browser.post(REFRESH, {}, format="json", HTTP_X_CSRFTOKEN=csrf).status_code == 200


def test_refresh_through_the_cookie_without_csrf_is_forbidden(browser: APIClient) -> None:
    log_in(browser)
    response = browser.post(REFRESH, {}, format="json")
    assert_error(response, 403, "permission_denied")
    assert "CSRF" in response.json()["error"]["message"]


def test_refresh_with_a_wrong_csrf_token_is_forbidden(browser: APIClient) -> None:
    log_in(browser)
    assert_error(
        browser.post(REFRESH, {}, format="json", HTTP_X_CSRFTOKEN="y" * 32),
        403,
        "permission_denied",
    )


def test_a_replayed_cookie_is_reuse_and_the_cookie_is_cleared(browser: APIClient) -> None:
    log_in(browser)
    old = browser.cookies[COOKIE].value
    csrf = browser.cookies["csrftoken"].value
    assert browser.post(REFRESH, {}, format="json", HTTP_X_CSRFTOKEN=csrf).status_code == 200
    browser.cookies[COOKIE] = old
    response = browser.post(REFRESH, {}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert_error(response, 401, "refresh_reused")
    assert response.cookies[COOKIE].value == ""
    assert int(response.cookies[COOKIE]["max-age"]) == 0


def test_a_token_in_the_body_still_works_without_csrf(
    browser: APIClient, user: AbstractBaseUser
) -> None:
    from tessera.django.engine import get_engine

    pair = get_engine().issue(user.pk)
    response = browser.post(REFRESH, {"refresh": pair.refresh}, format="json")
    assert response.status_code == 200
    assert set(response.json()) == {"access"}
    assert COOKIE in response.cookies


def test_refresh_with_neither_body_nor_cookie(browser: APIClient) -> None:
    assert_error(browser.post(REFRESH, {}, format="json"), 400, "validation_error")


def test_logout_revokes_and_deletes_the_cookie(browser: APIClient) -> None:
    body = log_in(browser)
    old = browser.cookies[COOKIE].value
    response = browser.post(LOGOUT, {}, format="json", **bearer(body["tokens"]["access"]))
    assert response.status_code == 204
    morsel = response.cookies[COOKIE]
    assert morsel.value == ""
    assert int(morsel["max-age"]) == 0
    assert morsel["path"] == "/api/v1/auth/"
    assert_error(browser.get(ME, **bearer(body["tokens"]["access"])), 401, "token_revoked")
    csrf = browser.cookies["csrftoken"].value
    assert_error(
        browser.post(REFRESH, {"refresh": old}, format="json", HTTP_X_CSRFTOKEN=csrf),
        401,
        "token_revoked",
    )


def test_from_session_sets_the_cookie(user: AbstractBaseUser) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")
    response = client.post(
        "/api/v1/auth/from-session/", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value
    )
    assert response.status_code == 200
    assert set(response.json()["tokens"]) == {"access"}
    assert response.cookies[COOKIE]["httponly"] is True


# --- OPT_IN: one site serves its SPA (cookie) and its API clients (body).


@pytest.fixture
def opt_in(settings: Any) -> None:
    settings.TESSERA = {**settings.TESSERA, "REFRESH_COOKIE": {"SECURE": True, "OPT_IN": True}}


ASKS = {"HTTP_X_TESSERA_REFRESH": "cookie"}


@pytest.mark.usefixtures("opt_in")
def test_opt_in_login_without_the_header_answers_in_the_body(browser: APIClient) -> None:
    body = log_in(browser)
    assert set(body["tokens"]) == {"access", "refresh"}
    assert COOKIE not in browser.cookies


@pytest.mark.usefixtures("opt_in")
def test_opt_in_login_with_the_header_sets_the_cookie(browser: APIClient) -> None:
    response = browser.post(
        LOGIN, {"email": "alice@example.com", "password": PASSWORD}, format="json", **ASKS
    )
    assert set(response.json()["tokens"]) == {"access"}
    assert response.cookies[COOKIE]["httponly"] is True


@pytest.mark.usefixtures("opt_in")
def test_opt_in_refresh_in_the_body_stays_in_the_body(browser: APIClient) -> None:
    refresh = log_in(browser)["tokens"]["refresh"]
    response = browser.post(REFRESH, {"refresh": refresh}, format="json")
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    assert COOKIE not in response.cookies


@pytest.mark.usefixtures("opt_in")
def test_opt_in_refresh_by_the_cookie_keeps_the_cookie(browser: APIClient) -> None:
    browser.post(LOGIN, {"email": "alice@example.com", "password": PASSWORD}, format="json", **ASKS)
    old = browser.cookies[COOKIE].value
    csrf = browser.cookies["csrftoken"].value
    # No header: the cookie itself says that this is the browser.
    response = browser.post(REFRESH, {}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200
    assert set(response.json()) == {"access"}
    assert response.cookies[COOKIE].value not in ("", old)


@pytest.mark.usefixtures("opt_in")
def test_opt_in_from_session_always_sets_the_cookie(user: AbstractBaseUser) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")
    response = client.post(
        "/api/v1/auth/from-session/", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value
    )
    assert set(response.json()["tokens"]) == {"access"}
    assert response.cookies[COOKIE]["httponly"] is True


def test_opt_in_must_be_a_flag(settings: Any) -> None:
    from tessera.django.conf import read

    settings.TESSERA = {**settings.TESSERA, "REFRESH_COOKIE": {"OPT_IN": "yes"}}
    parsed, problems = read()
    assert parsed is None
    assert [p.id for p in problems] == ["tessera.E007"]
    assert "OPT_IN" in problems[0].msg
