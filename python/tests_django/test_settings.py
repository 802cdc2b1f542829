"""The TESSERA settings dict: defaults, and every problem reported by the system checks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from tessera.django import conf
from tessera.django.checks import check_settings
from tessera.django.engine import get_engine


def ids(settings: Any, tessera: object, **extra: object) -> list[str]:
    settings.TESSERA = tessera
    for key, value in extra.items():
        setattr(settings, key, value)
    return [m.id for m in check_settings()]


def test_defaults(settings: Any, tmp_path: Path) -> None:
    settings.BASE_DIR = tmp_path
    settings.TESSERA = {}
    options = conf.tessera_settings()
    assert options.signing_key == settings.SECRET_KEY
    assert options.algorithm == "HS256"
    assert options.access_lifetime == timedelta(minutes=15)
    assert options.refresh_lifetime == timedelta(days=14)
    assert options.database_path == tmp_path / "tessera.redb"
    assert options.pat_prefix == "tsr_pat_"
    assert options.user_id_field == "pk"
    assert options.user_id_claim == "user_id"
    assert options.reuse_grace == timedelta(seconds=10)
    assert options.multi_process is True
    assert options.refresh_cookie is None
    assert options.session_max_lifetime is None
    assert options.max_sessions_per_user is None
    assert options.revoke_on_password_change is True
    assert options.revoke_pats_on_password_change is False
    assert options.claims_hook is None
    assert check_settings() == []


def test_the_example_settings_pass(settings: Any) -> None:
    assert check_settings() == []


@pytest.mark.parametrize(
    ("tessera", "expected"),
    [
        ("not a dict", "tessera.E001"),
        ({"ACCESS_TOKEN_LIFETIM": 60}, "tessera.E002"),
        ({"USER_CACHE_TTL": 60}, "tessera.E002"),
        ({"USER_CACHE_SIZE": -1}, "tessera.E003"),
        ({"USER_CACHE_SIZE": "10"}, "tessera.E003"),
        ({"USER_CACHE_SIZE": True}, "tessera.E003"),
        ({"ACCESS_TOKEN_LIFETIME": "15m"}, "tessera.E003"),
        ({"ACCESS_TOKEN_LIFETIME": 0}, "tessera.E003"),
        ({"REFRESH_TOKEN_LIFETIME": -5}, "tessera.E003"),
        ({"ACCESS_TOKEN_LIFETIME": timedelta(milliseconds=1500)}, "tessera.E003"),
        ({"MULTI_PROCESS": "yes"}, "tessera.E003"),
        ({"ALGORITHM": ""}, "tessera.E003"),
        ({"SIGNING_KEY": ""}, "tessera.E003"),
        ({"AUTH_HEADER_TYPES": ("Bearer token",)}, "tessera.E003"),
        ({"ALGORITHM": "HS999"}, "tessera.E004"),
        ({"SIGNING_KEY": "short"}, "tessera.E004"),
        ({"ALGORITHM": "EdDSA"}, "tessera.E004"),
        ({"PAT_PREFIX": "Bad-Prefix"}, "tessera.E004"),
        ({"REUSE_GRACE": timedelta(minutes=10)}, "tessera.E004"),
        ({"REUSE_GRACE": 61}, "tessera.E004"),
        ({"REVOKE_ON_PASSWORD_CHANGE": "yes"}, "tessera.E003"),
        ({"REVOKE_PATS_ON_PASSWORD_CHANGE": 1}, "tessera.E003"),
        ({"SESSION_MAX_LIFETIME": 0}, "tessera.E012"),
        ({"SESSION_MAX_LIFETIME": "30d"}, "tessera.E012"),
        ({"SESSION_MAX_LIFETIME": timedelta(milliseconds=1500)}, "tessera.E012"),
        ({"MAX_SESSIONS_PER_USER": 0}, "tessera.E013"),
        ({"MAX_SESSIONS_PER_USER": "3"}, "tessera.E013"),
        ({"MAX_SESSIONS_PER_USER": True}, "tessera.E013"),
        ({"CLAIMS_HOOK": "no_such_module.hook"}, "tessera.E014"),
        ({"CLAIMS_HOOK": "claims_hooks.NOT_CALLABLE"}, "tessera.E014"),
        ({"CLAIMS_HOOK": 42}, "tessera.E014"),
        ({"DATABASE_PATH": "/no/such/folder/tessera.redb"}, "tessera.E005"),
        ({"USER_ID_FIELD": "uuid"}, "tessera.E006"),
        ({"REFRESH_COOKIE": "yes"}, "tessera.E007"),
        ({"REFRESH_COOKIE": {"SAMESITE": "None"}}, "tessera.E007"),
        ({"REFRESH_COOKIE": {"PATH": "api/"}}, "tessera.E007"),
        ({"REFRESH_COOKIE": {"HTTPONLY": False}}, "tessera.E007"),
    ],
)
def test_bad_settings_are_check_errors(
    settings: Any, tmp_path: Path, tessera: object, expected: str
) -> None:
    if isinstance(tessera, dict):
        tessera = {"DATABASE_PATH": tmp_path / "t.redb", **tessera}
    assert expected in ids(settings, tessera)


def test_session_settings_reach_the_engine(settings: Any, tmp_path: Path) -> None:
    settings.TESSERA = {
        "DATABASE_PATH": tmp_path / "t.redb",
        "SESSION_MAX_LIFETIME": timedelta(days=30),
        "MAX_SESSIONS_PER_USER": 5,
        "CLAIMS_HOOK": "claims_hooks.role",
    }
    assert check_settings() == []
    options = conf.tessera_settings()
    assert options.engine_options()["session_max_lifetime"] == timedelta(days=30)
    assert options.engine_options()["max_sessions_per_user"] == 5
    import claims_hooks

    assert options.claims_hook is claims_hooks.role


@pytest.mark.parametrize(
    "store",
    ["sqlite:///tokens.db", "/var/lib/tessera.redb", "postgres://", 42, b"postgres://db/x"],
)
def test_store_must_be_a_postgres_url(settings: Any, tmp_path: Path, store: object) -> None:
    assert ids(settings, {"STORE": store, "DATABASE_PATH": tmp_path / "t.redb"}) == ["tessera.E008"]


def test_store_and_database_path_exclude_each_other(settings: Any, tmp_path: Path) -> None:
    tessera = {"STORE": "postgres://db.internal/site", "DATABASE_PATH": tmp_path / "t.redb"}
    assert ids(settings, tessera) == ["tessera.E008"]


def test_a_store_url_is_read_without_connecting(settings: Any) -> None:
    # Nothing listens on port 1: the checks must not try to connect.
    url = "postgres://tessera:s3cret-pw@127.0.0.1:1/site"
    settings.TESSERA = {"STORE": url}
    assert check_settings() == []
    options = conf.tessera_settings()
    assert (options.store, options.database_path) == (url, None)
    assert "store" not in options.engine_options()  # where, not how: passed on its own


def test_a_bad_store_message_does_not_show_the_url(settings: Any) -> None:
    settings.TESSERA = {"STORE": "mysql://root:s3cret-pw@db/site"}
    [message] = check_settings()
    assert "s3cret-pw" not in message.msg
    assert "mysql://" in message.msg


def test_unknown_keys_get_a_suggestion(settings: Any) -> None:
    settings.TESSERA = {"ACCESS_TOKEN_LIFETIM": 60}
    [message] = [m for m in check_settings() if m.id == "tessera.E002"]
    assert message.hint == "Did you mean 'ACCESS_TOKEN_LIFETIME'?"


def test_a_short_secret_key_points_at_signing_key(settings: Any, tmp_path: Path) -> None:
    settings.SECRET_KEY = "too-short"
    settings.TESSERA = {"DATABASE_PATH": tmp_path / "t.redb"}
    [message] = check_settings()
    assert message.id == "tessera.E004"
    assert "32 bytes" in message.msg
    assert "SIGNING_KEY" in (message.hint or "")


@pytest.mark.parametrize(
    ("tessera", "about", "not_about"),
    [
        ({"REUSE_GRACE": timedelta(minutes=10)}, "REUSE_GRACE", "SIGNING_KEY"),
        ({"LEEWAY": timedelta(days=2)}, "LEEWAY", "SIGNING_KEY"),
        ({"PAT_PREFIX": "Bad-Prefix"}, "PAT_PREFIX", "SIGNING_KEY"),
        ({"USER_ID_CLAIM": "exp"}, "USER_ID_CLAIM", "SIGNING_KEY"),
        ({"SESSION_MAX_LIFETIME": timedelta(days=3700)}, "SESSION_MAX_LIFETIME", "SIGNING_KEY"),
        ({"MAX_SESSIONS_PER_USER": 2**40}, "MAX_SESSIONS_PER_USER", "SIGNING_KEY"),
        (
            {"ACCESS_TOKEN_LIFETIME": timedelta(days=2), "REFRESH_TOKEN_LIFETIME": 86400},
            "ACCESS_TOKEN_LIFETIME",
            "SIGNING_KEY",
        ),
        ({"ALGORITHM": "HS999"}, 'TESSERA["ALGORITHM"] is one of', "SECRET_KEY"),
        ({"ALGORITHM": "EdDSA"}, "SIGNING_KEY defaults to SECRET_KEY", "REUSE_GRACE"),
        ({"SIGNING_KEY": "short"}, 'TESSERA["SIGNING_KEY"] must suit', "REUSE_GRACE"),
    ],
)
def test_each_refusal_hints_at_its_own_setting(
    settings: Any, tmp_path: Path, tessera: dict[str, Any], about: str, not_about: str
) -> None:
    settings.TESSERA = {"DATABASE_PATH": tmp_path / "t.redb", **tessera}
    [message] = check_settings()
    assert message.id == "tessera.E004"
    assert about in (message.hint or "")
    assert not_about not in (message.hint or "")


def test_two_refused_settings_are_two_errors(settings: Any, tmp_path: Path) -> None:
    settings.TESSERA = {
        "DATABASE_PATH": tmp_path / "t.redb",
        "REUSE_GRACE": timedelta(minutes=10),
        "PAT_PREFIX": "Bad-Prefix",
    }
    messages = check_settings()
    assert [m.id for m in messages] == ["tessera.E004", "tessera.E004"]
    assert "reuse_grace" in messages[0].msg
    assert "REUSE_GRACE" in (messages[0].hint or "")
    assert "PAT prefix" in messages[1].msg
    assert "PAT_PREFIX" in (messages[1].hint or "")


def test_missing_base_dir(settings: Any) -> None:
    del settings.BASE_DIR
    assert ids(settings, {}) == ["tessera.E005"]


def test_exception_handler_warning(settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "EXCEPTION_HANDLER": None}
    assert ids(settings, settings.TESSERA) == ["tessera.W001"]


def test_insecure_cookie_warning(settings: Any) -> None:
    settings.DEBUG = False
    assert ids(settings, {**settings.TESSERA, "REFRESH_COOKIE": {"SECURE": False}}) == [
        "tessera.W002"
    ]


def test_bad_settings_fail_loudly_at_run_time(settings: Any) -> None:
    settings.TESSERA = {"ACCESS_TOKEN_LIFETIME": "15m"}
    with pytest.raises(ImproperlyConfigured, match="ACCESS_TOKEN_LIFETIME"):
        get_engine()


def test_a_key_the_engine_refuses_fails_at_run_time(settings: Any, tmp_path: Path) -> None:
    settings.TESSERA = {"DATABASE_PATH": tmp_path / "t.redb", "SIGNING_KEY": "short"}
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        get_engine()


def test_manage_py_check_reports_them(settings: Any) -> None:
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.TESSERA = {"ACCESS_TOKEN_LIFETIME": "15m"}
    with pytest.raises(SystemCheckError, match=r"tessera\.E003"):
        call_command("check")
