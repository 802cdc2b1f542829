"""The management commands: tessera_purge, tessera_keygen, tessera_stats, tessera_revoke_user."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import tessera
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient
from tessera.django.engine import close_engine, get_engine

from sites import SITE, manage, site_env
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


def test_stats_file_bytes_holds_still_without_writes(
    user: AbstractBaseUser, tessera_db: Path
) -> None:
    engine = get_engine()
    for _ in range(300):
        engine.issue(user.pk)
    engine.revoke_user(user.pk)
    sizes = []
    for _ in range(3):
        # Each run in a process of its own, as `manage.py tessera_stats` is.
        close_engine()
        sizes.append(json.loads(run("tessera_stats", "--json"))["file_bytes"])
    assert sizes == [tessera_db.stat().st_size] * 3


def test_revoke_user(api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]) -> None:
    pat = get_engine().create_pat(user.pk, "ci")
    out = run("tessera_revoke_user", str(user.pk))
    assert out.startswith(f"Logged out user {user.pk}")
    assert_error(api.get("/api/v1/me/", **bearer(tokens["access"])), 401, "token_revoked")
    assert api.get("/api/v1/me/", **bearer(pat.token)).status_code == 200


def test_revoke_user_finds_the_user_by_its_id_field(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    # "0042" is pk 42 to the database; the sessions are those of user 42.
    out = run("tessera_revoke_user", f"00{user.pk}")
    assert out.startswith(f"Logged out user {user.pk}: 1 session(s) ended.")
    assert_error(api.get("/api/v1/me/", **bearer(tokens["access"])), 401, "token_revoked")


@pytest.mark.parametrize("user_id", ["999", "not-a-number"])
def test_revoke_unknown_user_fails_and_revokes_nothing(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str], user_id: str
) -> None:
    with pytest.raises(CommandError, match=f"No user has pk '{user_id}'"):
        run("tessera_revoke_user", user_id, "--pats")
    assert api.get("/api/v1/me/", **bearer(tokens["access"])).status_code == 200


@pytest.mark.processes
def test_revoke_unknown_user_exits_non_zero(tmp_path: Path) -> None:
    env = site_env(tmp_path)
    manage(env, "migrate", "--noinput", "-v", "0")
    result = subprocess.run(
        [sys.executable, "manage.py", "tessera_revoke_user", "999"],
        cwd=SITE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result
    assert "No user has pk '999'" in result.stderr
    assert "Logged out" not in result.stdout


def test_revoke_user_with_pats(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    pat = get_engine().create_pat(user.pk, "ci")
    out = run("tessera_revoke_user", str(user.pk), "--pats")
    assert "Revoked 1 personal access token(s)." in out
    assert_error(api.get("/api/v1/me/", **bearer(pat.token)), 401, "pat_revoked")
