"""The management commands: tessera_purge, tessera_keygen, tessera_stats, tessera_revoke_user."""

from __future__ import annotations

import ast
import json
from io import StringIO

import pytest
import tessera
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management import call_command
from rest_framework.test import APIClient
from tessera.django.engine import get_engine

from support import assert_error, bearer


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_purge(db: None) -> None:
    assert run("tessera_purge") == "Purged 0 expired records.\n"


def test_purge_removes_expired_state(user: AbstractBaseUser, settings: object) -> None:
    settings.TESSERA = {**settings.TESSERA, "ACCESS_TOKEN_LIFETIME": 1, "REFRESH_TOKEN_LIFETIME": 1}  # type: ignore[attr-defined]
    get_engine().issue(user.pk)
    import time

    from support import sleep_past

    sleep_past(time.time() + 1)
    assert "Purged" in run("tessera_purge")
    assert get_engine().stats()["refresh_records"] == 0


@pytest.mark.parametrize("algorithm", ["HS256", "HS512", "EdDSA", "ES256"])
def test_keygen_prints_settings_lines(algorithm: str) -> None:
    out = run("tessera_keygen", "--algorithm", algorithm)
    options = ast.literal_eval("{" + out + "}")
    assert options["ALGORITHM"] == algorithm
    with tessera.Engine(None, signing_key=options["SIGNING_KEY"], algorithm=algorithm) as engine:
        engine.verify_access(engine.issue("1").access)


def test_keygen_keys_differ() -> None:
    assert run("tessera_keygen") != run("tessera_keygen")


def test_stats(user: AbstractBaseUser) -> None:
    get_engine().issue(user.pk)
    get_engine().create_pat(user.pk, "ci")
    stats = json.loads(run("tessera_stats", "--json"))
    assert stats["families"] == 1
    assert stats["pats"] == 1
    text = run("tessera_stats")
    assert "database:" in text
    assert "families" in text


def test_revoke_user(api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]) -> None:
    pat = get_engine().create_pat(user.pk, "ci")
    out = run("tessera_revoke_user", str(user.pk))
    assert out.startswith(f"Logged out user {user.pk}")
    assert_error(api.get("/api/v1/me/", **bearer(tokens["access"])), 401, "token_revoked")
    assert api.get("/api/v1/me/", **bearer(pat.token)).status_code == 200


def test_revoke_user_with_pats(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    pat = get_engine().create_pat(user.pk, "ci")
    out = run("tessera_revoke_user", str(user.pk), "--pats")
    assert "Revoked 1 personal access token(s)." in out
    assert_error(api.get("/api/v1/me/", **bearer(pat.token)), 401, "pat_revoked")
