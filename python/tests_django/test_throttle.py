"""Throttling of the credential endpoints, and the DRF throttle class, on the
engine's shared counters (the multi-process and multi-host cases are in
test_processes.py and test_postgres_hosts.py)."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView
from tessera.django import signals
from tessera.django.checks import check_settings
from tessera.django.throttle import attempt_throttle

import hashers
from support import PASSWORD, assert_error

LOGIN = "/api/v1/auth/login/email/"
TOKEN = "/api/token/"
ALICE = "alice@example.com"


def guess(
    api: APIClient, password: str = "wrong", address: str = "203.0.113.7", **extra: Any
) -> Any:
    return api.post(
        LOGIN, {"email": ALICE, "password": password}, format="json", REMOTE_ADDR=address, **extra
    )


def throttle(settings: Any, **limits: Any) -> None:
    settings.TESSERA = {**settings.TESSERA, "THROTTLE": limits}


def test_the_eleventh_wrong_guess_is_refused_before_the_hasher(
    api: APIClient, user: AbstractBaseUser
) -> None:
    for _ in range(10):
        assert_error(guess(api), 401, "invalid_credentials")
    before = hashers.calls()
    refused = guess(api)
    assert_error(refused, 429, "too_many_attempts")
    assert 1 <= int(refused["Retry-After"]) <= 15 * 60
    # Even the right password is refused now, and nothing was hashed.
    assert_error(guess(api, PASSWORD), 429, "too_many_attempts")
    assert hashers.calls() == before


def test_a_second_address_is_not_affected(api: APIClient, user: AbstractBaseUser) -> None:
    for _ in range(11):
        guess(api)
    assert_error(guess(api), 429, "too_many_attempts")
    assert_error(guess(api, address="198.51.100.9"), 401, "invalid_credentials")
    assert guess(api, PASSWORD, address="198.51.100.9").status_code == 200


def test_the_account_is_matched_case_insensitively(api: APIClient, user: AbstractBaseUser) -> None:
    for _ in range(10):
        guess(api)
    response = api.post(
        LOGIN,
        {"email": "ALICE@example.com", "password": "x"},
        format="json",
        REMOTE_ADDR="203.0.113.7",
    )
    assert_error(response, 429, "too_many_attempts")


def test_a_success_clears_the_count(api: APIClient, user: AbstractBaseUser) -> None:
    for _ in range(9):
        guess(api)
    assert guess(api, PASSWORD).status_code == 200
    for _ in range(10):
        assert_error(guess(api), 401, "invalid_credentials")
    assert_error(guess(api), 429, "too_many_attempts")


def test_after_retry_after_a_try_is_allowed(
    settings: Any, api: APIClient, user: AbstractBaseUser
) -> None:
    throttle(settings, PER_ACCOUNT_AND_ADDRESS=(2, 2))
    guess(api)
    guess(api)
    refused = guess(api)
    assert_error(refused, 429, "too_many_attempts")
    wait = int(refused["Retry-After"])
    assert 1 <= wait <= 2
    time.sleep(wait)
    assert guess(api, PASSWORD).status_code == 200


def test_one_address_guessing_many_accounts_hits_the_address_limit(
    settings: Any, api: APIClient, db: None
) -> None:
    throttle(settings, PER_ADDRESS=(5, timedelta(minutes=1)))
    for i in range(5):
        response = api.post(LOGIN, {"email": f"u{i}@example.com", "password": "x"}, format="json")
        assert_error(response, 401, "invalid_credentials")
    response = api.post(LOGIN, {"email": "u9@example.com", "password": "x"}, format="json")
    assert_error(response, 429, "too_many_attempts")
    other = api.post(
        LOGIN, {"email": "u9@example.com", "password": "x"}, format="json", REMOTE_ADDR="10.9.9.9"
    )
    assert_error(other, 401, "invalid_credentials")


def test_successes_do_not_use_up_the_address_limit(
    settings: Any, api: APIClient, user: AbstractBaseUser
) -> None:
    throttle(settings, PER_ADDRESS=(3, 60))
    for _ in range(6):
        assert guess(api, PASSWORD).status_code == 200


def test_x_forwarded_for_is_ignored_unless_proxies_are_trusted(
    settings: Any, api: APIClient, user: AbstractBaseUser
) -> None:
    for i in range(11):
        guess(api, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
    assert_error(guess(api, HTTP_X_FORWARDED_FOR="10.0.1.1"), 429, "too_many_attempts")
    throttle(settings, NUM_PROXIES=1)
    # The proxy appended the client's address last; what the client wrote
    # before it does not count.
    for _ in range(10):
        guess(api, HTTP_X_FORWARDED_FOR="1.1.1.1, 192.0.2.1")
    assert_error(guess(api, HTTP_X_FORWARDED_FOR="2.2.2.2, 192.0.2.1"), 429, "too_many_attempts")
    assert_error(guess(api, HTTP_X_FORWARDED_FOR="192.0.2.2"), 401, "invalid_credentials")


def test_throttle_none_turns_it_off(settings: Any, api: APIClient, user: AbstractBaseUser) -> None:
    settings.TESSERA = {**settings.TESSERA, "THROTTLE": None}
    for _ in range(15):
        assert_error(guess(api), 401, "invalid_credentials")
    assert guess(api, PASSWORD).status_code == 200


def test_a_hit_limit_is_logged_and_signalled_without_the_password(
    api: APIClient, user: AbstractBaseUser, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[dict[str, Any]] = []

    def on_limited(sender: object, **kwargs: Any) -> None:
        received.append(kwargs)

    signals.attempts_limited.connect(on_limited)
    try:
        with caplog.at_level(logging.INFO, logger="tessera"):
            for _ in range(11):
                guess(api, "hunter2-secret")
    finally:
        signals.attempts_limited.disconnect(on_limited)
    [hit] = received
    assert hit["scope"] == "login"
    assert hit["account"] == ALICE
    assert hit["address"] == "203.0.113.7"
    assert hit["retry_after"] >= 1
    [record] = [r for r in caplog.records if "attempts_limited" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert ALICE in record.getMessage()
    assert "203.0.113.7" in record.getMessage()
    assert all("hunter2-secret" not in r.getMessage() for r in caplog.records)
    assert "hunter2-secret" not in repr(received)


def test_the_simplejwt_token_endpoint_is_throttled_in_its_own_shape(
    api: APIClient, user: AbstractBaseUser
) -> None:
    def obtain(password: str) -> Any:
        return api.post(TOKEN, {"username": "alice", "password": password}, format="json")

    for _ in range(10):
        assert obtain("wrong").status_code == 401
    before = hashers.calls()
    refused = obtain(PASSWORD)
    assert refused.status_code == 429
    assert refused.json() == {
        "detail": "Too many attempts; try again after the time in Retry-After.",
        "code": "too_many_attempts",
    }
    assert int(refused["Retry-After"]) >= 1
    assert hashers.calls() == before


class ResetView(APIView):
    authentication_classes = ()
    permission_classes = ()
    throttle_classes: ClassVar[list[Any]] = [attempt_throttle("password_reset", "3/min")]

    def post(self, request: Request) -> Response:
        return Response({"sent": True})


def test_the_drf_throttle_class_counts_per_address_on_the_store(db: None) -> None:
    factory = APIRequestFactory()
    view = ResetView.as_view()

    def post(address: str) -> Any:
        response = view(factory.post("/reset/", {}, format="json", REMOTE_ADDR=address))
        response.render()
        return response

    assert [post("203.0.113.7").status_code for _ in range(3)] == [200, 200, 200]
    refused = post("203.0.113.7")
    assert refused.status_code == 429
    assert json.loads(refused.content)["error"]["code"] == "too_many_attempts"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert post("198.51.100.1").status_code == 200


@pytest.mark.parametrize(
    "value",
    [
        "on",
        {"PER_ADDRESS": (0, 60)},
        {"PER_ADDRESS": (5, 0)},
        {"PER_ADDRESS": 5},
        {"PER_ACCOUNT_AND_ADDRESS": (5, timedelta(milliseconds=1500))},
        {"NUM_PROXIES": -1},
        {"NUM_PROXIES": True},
        {"PER_ADRESS": (5, 60)},
    ],
)
def test_bad_throttle_settings_are_check_errors(settings: Any, value: object) -> None:
    settings.TESSERA = {**settings.TESSERA, "THROTTLE": value}
    assert "tessera.E011" in [m.id for m in check_settings()]
