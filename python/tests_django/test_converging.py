"""Converging rotation over HTTP: two clients that present one refresh token
inside REUSE_GRACE both get the same successor, so whichever response a
cookie jar (or a keychain) keeps last is the live one."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework.test import APIClient

from support import PASSWORD, assert_error, bearer

LOGIN = "/api/v1/auth/login/email/"
REFRESH = "/api/v1/auth/refresh/"
ME = "/api/v1/me/"
COOKIE = "tessera_refresh"
TRIALS = 5


@pytest.fixture(autouse=True)
def window(settings: Any) -> None:
    settings.TESSERA = {**settings.TESSERA, "REUSE_GRACE": 10}


@pytest.fixture
def cookie_mode(settings: Any) -> None:
    settings.TESSERA = {**settings.TESSERA, "REFRESH_COOKIE": {"SECURE": True}}


def tab(jar: SimpleCookie) -> APIClient:
    """A browser tab: a client holding a copy of the shared jar."""
    client = APIClient(enforce_csrf_checks=True)
    client.cookies = SimpleCookie()
    for name, morsel in jar.items():
        client.cookies[name] = morsel.value
    return client


def refresh_by_cookie(client: APIClient) -> Any:
    csrf = client.cookies["csrftoken"].value
    return client.post(REFRESH, {}, format="json", HTTP_X_CSRFTOKEN=csrf)


def apply(jar: SimpleCookie, response: Any) -> None:
    """What the browser does with a response's Set-Cookie."""
    for name, morsel in response.cookies.items():
        jar[name] = morsel.value


@pytest.mark.usefixtures("cookie_mode")
@pytest.mark.parametrize("order", ["first-then-second", "second-then-first"])
def test_two_tabs_refreshing_at_once_stay_signed_in(user: AbstractBaseUser, order: str) -> None:
    browser = APIClient(enforce_csrf_checks=True)
    login = browser.post(LOGIN, {"email": "alice@example.com", "password": PASSWORD}, format="json")
    assert login.status_code == 200
    jar = browser.cookies
    for trial in range(TRIALS):
        # Both tabs hold the same refresh cookie when the access token expires.
        one, two = tab(jar), tab(jar)
        first, second = refresh_by_cookie(one), refresh_by_cookie(two)
        assert (first.status_code, second.status_code) == (200, 200), (trial, second.content)
        # One successor: the same cookie and the same access token.
        assert first.cookies[COOKIE].value == second.cookies[COOKIE].value
        assert first.json() == second.json()
        for response in (first, second) if order == "first-then-second" else (second, first):
            apply(jar, response)
        after = refresh_by_cookie(tab(jar))
        assert after.status_code == 200, (trial, after.content)
        apply(jar, after)
        assert browser.get(ME, **bearer(after.json()["access"])).status_code == 200


def test_two_clients_sharing_one_stored_pair_both_keep_working(
    api: APIClient, tokens: dict[str, str]
) -> None:
    """Bearer-body mode: two processes of one app (or two requests fired at
    expiry) refresh the pair they share; either stores the answer."""
    refresh = tokens["refresh"]
    for trial in range(TRIALS):
        first = api.post(REFRESH, {"refresh": refresh}, format="json")
        second = APIClient().post(REFRESH, {"refresh": refresh}, format="json")
        assert (first.status_code, second.status_code) == (200, 200), trial
        assert first.json() == second.json()
        refresh = (first if trial % 2 else second).json()["refresh"]
    assert api.post(REFRESH, {"refresh": refresh}, format="json").status_code == 200


def test_a_grandparent_inside_the_window_is_reuse(api: APIClient, tokens: dict[str, str]) -> None:
    child = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").json()
    grandchild = api.post(REFRESH, {"refresh": child["refresh"]}, format="json").json()
    assert_error(
        api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json"), 401, "refresh_reused"
    )
    assert_error(api.get(ME, **bearer(grandchild["access"])), 401, "token_revoked")
