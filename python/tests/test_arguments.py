"""Bad arguments raise ConfigError or TypeError with a clear message."""

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support import HS256_SECRET

import tessera


def make(**overrides: Any) -> tessera.Engine:
    kwargs: dict[str, Any] = {"signing_key": HS256_SECRET}
    kwargs.update(overrides)
    path = kwargs.pop("path", None)
    return tessera.Engine(path, **kwargs)


# (overrides, exception, part of the message)
CONSTRUCTOR_CASES = [
    ({"signing_key": 12345}, TypeError, "signing_key must be bytes or str"),
    ({"signing_key": None}, TypeError, "signing_key must be bytes or str"),
    ({"signing_key": "short"}, tessera.ConfigError, "at least 32 bytes"),
    ({"signing_key": b"x" * 47, "algorithm": "HS384"}, tessera.ConfigError, "at least 48"),
    ({"signing_key": "x" * 63, "algorithm": "HS512"}, tessera.ConfigError, "at least 64"),
    ({"signing_key": "not a pem", "algorithm": "EdDSA"}, tessera.ConfigError, "PEM"),
    ({"signing_key": b"\xff\xfe", "algorithm": "ES256"}, tessera.ConfigError, "PEM text"),
    ({"algorithm": "none"}, tessera.ConfigError, "unsupported algorithm"),
    ({"algorithm": "hs256"}, tessera.ConfigError, "unsupported algorithm"),
    ({"algorithm": 256}, TypeError, "algorithm"),
    ({"access_lifetime": -1}, tessera.ConfigError, "access_lifetime must not be negative"),
    ({"refresh_lifetime": -60}, tessera.ConfigError, "refresh_lifetime must not be negative"),
    (
        {"access_lifetime": timedelta(seconds=-1)},
        tessera.ConfigError,
        "access_lifetime must not be negative",
    ),
    ({"reuse_grace": -5}, tessera.ConfigError, "reuse_grace must not be negative"),
    ({"leeway": -1}, tessera.ConfigError, "leeway must not be negative"),
    ({"leeway": timedelta(milliseconds=1500)}, tessera.ConfigError, "whole seconds"),
    ({"access_lifetime": timedelta(seconds=1.5)}, tessera.ConfigError, "whole seconds"),
    ({"access_lifetime": 0}, tessera.ConfigError, "positive"),
    ({"access_lifetime": 7200, "refresh_lifetime": 3600}, tessera.ConfigError, "exceed"),
    ({"access_lifetime": 2**70}, tessera.ConfigError, "out of range"),
    ({"access_lifetime": 1.5}, TypeError, "access_lifetime must be an int"),
    ({"access_lifetime": "900"}, TypeError, "access_lifetime must be an int"),
    ({"access_lifetime": True}, TypeError, "access_lifetime must be an int"),
    ({"reuse_grace": 61}, tessera.ConfigError, "reuse_grace above 60"),
    ({"session_max_lifetime": 0}, tessera.ConfigError, "session_max_lifetime"),
    ({"session_max_lifetime": -1}, tessera.ConfigError, "must not be negative"),
    ({"max_sessions_per_user": 0}, tessera.ConfigError, "max_sessions_per_user"),
    ({"max_sessions_per_user": -3}, tessera.ConfigError, "max_sessions_per_user"),
    ({"max_sessions_per_user": "2"}, TypeError, "max_sessions_per_user must be an int"),
    ({"max_sessions_per_user": True}, TypeError, "max_sessions_per_user must be an int"),
    ({"leeway": 86401}, tessera.ConfigError, "leeway"),
    ({"issuer": ""}, tessera.ConfigError, "must not be empty"),
    ({"issuer": 5}, TypeError, "issuer"),
    ({"user_id_claim": "exp"}, tessera.ConfigError, "user id claim"),
    ({"user_id_claim": "token_type"}, tessera.ConfigError, "must differ"),
    ({"pat_prefix": "Bad-Prefix"}, tessera.ConfigError, "PAT prefix"),
    ({"multi_process": "yes"}, TypeError, "multi_process"),
    ({"events": "print"}, TypeError, "events must be a callable"),
    ({"path": 42}, TypeError, "path"),
]


@pytest.mark.parametrize(("overrides", "exc", "message"), CONSTRUCTOR_CASES)
def test_constructor_refuses(overrides: dict[str, Any], exc: type[Exception], message: str) -> None:
    with pytest.raises(exc) as info:
        make(**overrides)
    assert message in str(info.value) or message in " ".join(getattr(info.value, "__notes__", []))


def test_path_in_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(tessera.ConfigError, match="folder of the database path does not exist"):
        make(path=tmp_path / "missing" / "tokens.redb")


def test_signing_key_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        tessera.Engine(None, HS256_SECRET)  # type: ignore[call-arg]


def test_unknown_keyword() -> None:
    with pytest.raises(TypeError, match="colour"):
        make(colour="blue")


class Unserialisable:
    pass


def self_referencing() -> dict[str, Any]:
    d: dict[str, Any] = {}
    d["me"] = d
    return d


def deeply_nested(depth: int) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for _ in range(depth):
        d = {"x": d}
    return d


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"when": datetime(2024, 1, 1)}, 'claims["when"] is a datetime'),
        ({"s": {1, 2}}, "set, which is not JSON-serialisable"),
        ({"o": Unserialisable()}, "Unserialisable"),
        ({"b": b"bytes"}, "bytes"),
        ({"n": math.nan}, "not a finite number"),
        ({"n": [1, math.inf]}, 'claims["n"][1] is not a finite number'),
        ({"big": 2**64}, "outside the 64-bit range"),
        ({1: "int key"}, "key of type int"),
        ({"nested": {2: "x"}}, 'claims["nested"] has a key of type int'),
        (self_referencing(), "nested deeper than"),
        (deeply_nested(40), "nested deeper than"),
        ({"exp": 1}, "reserved"),
        ({"user_id": "1"}, "reserved"),
        ({"sid": "x"}, "reserved"),
    ],
)
def test_issue_refuses_claims_that_are_not_json(
    engine: tessera.Engine, claims: dict[Any, Any], message: str
) -> None:
    with pytest.raises(tessera.ConfigError) as info:
        engine.issue("42", claims=claims)
    assert message in str(info.value)


def test_issue_accepts_json_shaped_claims(engine: tessera.Engine) -> None:
    claims: dict[str, Any] = {
        "n": None,
        "b": False,
        "i": -(2**63),
        "u": 2**64 - 1,
        "f": 0.5,
        "t": ("tuple", "becomes", "list"),
        "d": deeply_nested(5),
    }
    got = engine.verify_access(engine.issue("42", claims=claims).access)
    assert got["t"] == ["tuple", "becomes", "list"]
    assert got["u"] == 2**64 - 1
    assert got["i"] == -(2**63)
    assert got["d"] == deeply_nested(5)


@pytest.mark.parametrize(
    "claims", [{"d": deeply_nested(10)}, {"s": "x" * 2000}, {f"k{i}": "v" * 300 for i in range(30)}]
)
def test_issue_refuses_claims_its_tokens_could_not_carry(
    engine: tessera.Engine, claims: dict[str, Any]
) -> None:
    with pytest.raises(tessera.ConfigError):
        engine.verify_access(engine.issue("42", claims=claims).access)


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (lambda e: e.issue("42", claims=[("a", 1)]), TypeError, "claims must be a dict"),
        (lambda e: e.issue("42", claims="{}"), TypeError, "claims must be a dict"),
        (lambda e: e.issue(None), TypeError, "user_id must be a str or an int"),
        (lambda e: e.issue(4.2), TypeError, "user_id must be a str or an int"),
        (lambda e: e.issue(True), TypeError, "user_id must be a str or an int"),
        (lambda e: e.issue(""), tessera.ConfigError, "user id must be 1 to 255 bytes"),
        (lambda e: e.issue("x" * 256), tessera.ConfigError, "user id must be 1 to 255 bytes"),
        (lambda e: e.sessions(b"42"), TypeError, "user_id"),
        (lambda e: e.revoke_user(None), TypeError, "user_id"),
        (lambda e: e.list_pats([]), TypeError, "user_id"),
        (lambda e: e.verify_access(None), TypeError, "token"),
        (lambda e: e.verify_access(b"a.b.c"), TypeError, "token"),
        (lambda e: e.verify_refresh(1), TypeError, "token"),
        (lambda e: e.refresh(None), TypeError, "refresh_token"),
        (lambda e: e.revoke(1), TypeError, "refresh_token"),
        (lambda e: e.verify_pat(None), TypeError, "token"),
        (lambda e: e.create_pat("42", None), TypeError, "name"),
        (lambda e: e.create_pat("42", ""), tessera.ConfigError, "name"),
        (lambda e: e.create_pat("42", "x", scopes="a:b"), TypeError, "not a single str"),
        (lambda e: e.create_pat("42", "x", scopes=[1]), TypeError, "scopes[0] must be a str"),
        (lambda e: e.create_pat("42", "x", scopes=5), TypeError, "scopes must be a list of str"),
        (lambda e: e.create_pat("42", "x", scopes=["Bad Scope"]), tessera.ConfigError, "scope"),
        (
            lambda e: e.create_pat("42", "x", expires_at=datetime(2099, 1, 1)),
            tessera.ConfigError,
            "expires_at must be a timezone-aware datetime",
        ),
        (
            lambda e: e.create_pat("42", "x", expires_at="2099-01-01"),
            TypeError,
            "expires_at must be an int timestamp or an aware datetime",
        ),
        (lambda e: e.create_pat("42", "x", expires_at=1.5), TypeError, "expires_at"),
        (lambda e: e.create_pat("42", "x", expires_at=100), tessera.ConfigError, "expires_at"),
        (lambda e: e.revoke_pat("42", None), TypeError, "pat_id"),
    ],
)
def test_method_refuses(
    engine: tessera.Engine,
    call: Callable[[tessera.Engine], object],
    exc: type[Exception],
    message: str,
) -> None:
    with pytest.raises(exc) as info:
        call(engine)
    text = " ".join([str(info.value), *getattr(info.value, "__notes__", [])])
    assert message in text


def test_revoke_pat_with_an_unknown_or_malformed_id(engine: tessera.Engine) -> None:
    assert engine.revoke_pat("42", "not-a-uuid") is False
    assert engine.revoke_pat("42", "00000000-0000-4000-8000-000000000000") is False


def test_generate_key_refuses() -> None:
    with pytest.raises(tessera.ConfigError, match="RS256 keys cannot be generated"):
        tessera.generate_key("RS256")
    with pytest.raises(tessera.ConfigError, match="unsupported algorithm"):
        tessera.generate_key("HS1")
    with pytest.raises(TypeError):
        tessera.generate_key(None)  # type: ignore[arg-type]
