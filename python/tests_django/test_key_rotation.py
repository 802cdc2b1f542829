"""PREVIOUS_SIGNING_KEYS: rotating the signing key logs nobody out.

A site switches keys (with the lines `tessera_keygen --rotate` prints);
tokens issued before keep verifying and refreshing, the new pair is signed
with the new key; once the old key is dropped, its tokens are refused.
"""

from __future__ import annotations

import ast
import base64
import json
from io import StringIO
from typing import Any

import pytest
import tessera
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient
from tessera.django.checks import check_settings

from support import assert_error, bearer, login

ME = "/api/v1/me/"
REFRESH = "/api/v1/auth/refresh/"
VERIFY = "/api/v1/auth/verify/"


def kid(token: str) -> str:
    header = token.split(".", 1)[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def kid_of(key: str, algorithm: str) -> str:
    with tessera.Engine(None, signing_key=key, algorithm=algorithm) as engine:
        return kid(engine.issue("1").access)


def rotate_lines() -> dict[str, Any]:
    out = StringIO()
    call_command("tessera_keygen", "--rotate", stdout=out)
    return ast.literal_eval("{" + out.getvalue() + "}")


@pytest.mark.parametrize("algorithm", ["HS256", "EdDSA"])
def test_a_rotation_logs_nobody_out(
    settings: Any, api: APIClient, user: AbstractBaseUser, algorithm: str
) -> None:
    old_key = tessera.generate_key(algorithm)
    settings.TESSERA = {**settings.TESSERA, "ALGORITHM": algorithm, "SIGNING_KEY": old_key}
    before = login(api, "alice@example.com")
    other_session = login(api, "alice@example.com")
    assert kid(before["access"]) == kid_of(old_key, algorithm)

    lines = rotate_lines()
    assert lines["ALGORITHM"] == algorithm
    assert lines["PREVIOUS_SIGNING_KEYS"] == [old_key]
    new_key = lines["SIGNING_KEY"]
    assert new_key != old_key
    settings.TESSERA = {**settings.TESSERA, **lines}
    assert check_settings() == []

    # Tokens of the old key still verify and refresh...
    assert api.get(ME, **bearer(before["access"])).status_code == 200
    assert api.post(VERIFY, {"token": before["refresh"]}, format="json").status_code == 200
    refreshed = api.post(REFRESH, {"refresh": before["refresh"]}, format="json")
    assert refreshed.status_code == 200, refreshed.content
    pair = refreshed.json()
    # ...and the new pair is signed with the new key.
    assert kid(pair["access"]) == kid(pair["refresh"]) == kid_of(new_key, algorithm)
    assert kid(pair["access"]) != kid(before["access"])
    assert api.get(ME, **bearer(pair["access"])).status_code == 200
    # A spent refresh token is still a reuse, across the rotation.
    again = api.post(REFRESH, {"refresh": before["refresh"]}, format="json")
    assert_error(again, 401, "refresh_reused")
    assert kid(login(api, "alice@example.com")["access"]) == kid_of(new_key, algorithm)

    # The old key is dropped: what it signed is refused.
    settings.TESSERA = {**settings.TESSERA, "PREVIOUS_SIGNING_KEYS": []}
    assert_error(api.get(ME, **bearer(other_session["access"])), 401, "token_invalid")
    old_refresh = {"refresh": other_session["refresh"]}
    assert_error(api.post(REFRESH, old_refresh, format="json"), 401, "token_invalid")
    fresh = login(api, "alice@example.com")
    assert api.get(ME, **bearer(fresh["access"])).status_code == 200


def test_a_second_rotation_keeps_both_previous_keys(settings: Any) -> None:
    first = tessera.generate_key("HS256")
    settings.TESSERA = {**settings.TESSERA, "SIGNING_KEY": first}
    lines = rotate_lines()
    settings.TESSERA = {**settings.TESSERA, **lines}
    again = rotate_lines()
    assert again["PREVIOUS_SIGNING_KEYS"] == [lines["SIGNING_KEY"], first]
    settings.TESSERA = {**settings.TESSERA, **again}
    assert check_settings() == []


def test_rotate_refuses_another_algorithm(settings: Any) -> None:
    with pytest.raises(CommandError, match="keeps ALGORITHM"):
        call_command("tessera_keygen", "--rotate", "--algorithm", "EdDSA", stdout=StringIO())


def test_rotate_needs_valid_settings(settings: Any) -> None:
    settings.TESSERA = {**settings.TESSERA, "ACCESS_TOKEN_LIFETIME": "15m"}
    with pytest.raises(CommandError, match="ACCESS_TOKEN_LIFETIME"):
        call_command("tessera_keygen", "--rotate", stdout=StringIO())


def messages(settings: Any, **tessera_settings: object) -> list[tuple[str, str]]:
    settings.TESSERA = {**settings.TESSERA, **tessera_settings}
    return [(m.id, m.msg) for m in check_settings()]


def test_check_refuses_the_signing_key_as_a_previous_key(settings: Any) -> None:
    key = tessera.generate_key("HS256")
    found = messages(settings, SIGNING_KEY=key, PREVIOUS_SIGNING_KEYS=[key])
    assert [i for i, _ in found] == ["tessera.E009"]
    assert "signing key itself" in found[0][1]


def test_check_refuses_the_signing_pem_as_a_previous_key(settings: Any) -> None:
    key = tessera.generate_key("EdDSA")
    found = messages(
        settings, ALGORITHM="EdDSA", SIGNING_KEY=key, PREVIOUS_SIGNING_KEYS=["\n" + key]
    )
    assert [i for i, _ in found] == ["tessera.E009"]


@pytest.mark.parametrize(
    ("algorithm", "previous_algorithm"),
    [("HS256", "EdDSA"), ("EdDSA", "ES256"), ("EdDSA", "HS256"), ("ES256", "EdDSA")],
)
def test_check_refuses_a_previous_key_of_another_algorithm(
    settings: Any, algorithm: str, previous_algorithm: str
) -> None:
    found = messages(
        settings,
        ALGORITHM=algorithm,
        SIGNING_KEY=tessera.generate_key(algorithm),
        PREVIOUS_SIGNING_KEYS=[tessera.generate_key(previous_algorithm)],
    )
    assert [i for i, _ in found] == ["tessera.E009"]
    assert f"not a {algorithm} key" in found[0][1]


@pytest.mark.parametrize("value", ["one-key-not-a-list", [""], [42], None])
def test_check_refuses_a_malformed_list(settings: Any, value: object) -> None:
    found = messages(settings, PREVIOUS_SIGNING_KEYS=value)
    assert [i for i, _ in found] == ["tessera.E003"]
    assert "PREVIOUS_SIGNING_KEYS" in found[0][1]


def test_previous_keys_never_sign(settings: Any, api: APIClient, user: AbstractBaseUser) -> None:
    old, new = tessera.generate_key("HS256"), tessera.generate_key("HS256")
    settings.TESSERA = {**settings.TESSERA, "SIGNING_KEY": new, "PREVIOUS_SIGNING_KEYS": [old]}
    assert kid(login(api, "alice@example.com")["access"]) == kid_of(new, "HS256")
