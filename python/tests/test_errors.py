"""The exception hierarchy: one class per code, each raised by a real case."""

import pickle
import time
from pathlib import Path

import jwt
import pytest
from support import HS256_SECRET

import tessera

CLASSES = {
    tessera.TokenInvalid: "token_invalid",
    tessera.TokenExpired: "token_expired",
    tessera.TokenNotYetValid: "token_not_yet_valid",
    tessera.TokenWrongType: "token_wrong_type",
    tessera.TokenRevoked: "token_revoked",
    tessera.RefreshReused: "refresh_reused",
    tessera.PatInvalid: "pat_invalid",
    tessera.PatExpired: "pat_expired",
    tessera.PatRevoked: "pat_revoked",
    tessera.StorageError: "storage_error",
    tessera.RandomFailed: "random_failed",
    tessera.ConfigError: "config_invalid",
}


@pytest.mark.parametrize(("cls", "code"), CLASSES.items())
def test_each_class_has_its_code_and_the_base(cls: type[tessera.TesseraError], code: str) -> None:
    assert issubclass(cls, tessera.TesseraError)
    assert issubclass(cls, Exception)
    assert cls.code == code
    assert cls.__module__ == "tessera"
    err = cls("detail")
    assert err.code == code
    assert str(err) == "detail"
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls
    assert back.code == code


def test_codes_are_distinct_and_only_config_error_is_a_value_error() -> None:
    assert len(set(CLASSES.values())) == len(CLASSES)
    assert [c for c in CLASSES if issubclass(c, ValueError)] == [tessera.ConfigError]
    assert tessera.TesseraError.code == "tessera_error"


def test_the_classes_are_the_catalogs_engine_codes() -> None:
    engine = [code for code, _, _, layer in tessera.ERROR_CATALOG if layer == "engine"]
    assert list(CLASSES.values()) == engine
    exported = {
        cls
        for cls in vars(tessera).values()
        if isinstance(cls, type) and issubclass(cls, tessera.TesseraError)
    }
    assert exported == set(CLASSES) | {tessera.TesseraError}
    codes = [code for code, _, _, _ in tessera.ERROR_CATALOG]
    assert len(set(codes)) == len(codes)
    for code, status, meaning, layer in tessera.ERROR_CATALOG:
        assert 400 <= status < 600, code
        assert meaning, code
        assert layer in ("engine", "http"), code


def _token(**claims: object) -> str:
    now = int(time.time())
    payload = {
        "token_type": "access",
        "exp": now + 600,
        "iat": now,
        "jti": "0123456789abcdef0123456789abcdef",
        "user_id": "42",
    }
    payload.update(claims)
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, HS256_SECRET)


def _raises(cls: type[tessera.TesseraError], call: object) -> tessera.TesseraError:
    assert callable(call)
    with pytest.raises(cls) as info:
        call()
    assert type(info.value) is cls
    assert info.value.code == CLASSES[cls]
    return info.value


def test_token_invalid(engine: tessera.Engine) -> None:
    _raises(tessera.TokenInvalid, lambda: engine.verify_access("not.a.token"))
    _raises(tessera.TokenInvalid, lambda: engine.verify_access(""))
    forged = jwt.encode({"token_type": "access"}, "another-secret-that-is-long-enough-0123")
    _raises(tessera.TokenInvalid, lambda: engine.verify_access(forged))
    _raises(tessera.TokenInvalid, lambda: engine.verify_access(_token(jti="short")))
    _raises(tessera.TokenInvalid, lambda: engine.refresh("x.y.z"))


def test_token_expired(engine: tessera.Engine) -> None:
    old = _token(exp=int(time.time()) - 10, iat=int(time.time()) - 100)
    err = _raises(tessera.TokenExpired, lambda: engine.verify_access(old))
    assert "expired" in str(err)


def test_token_not_yet_valid(engine: tessera.Engine) -> None:
    future = _token(nbf=int(time.time()) + 600)
    _raises(tessera.TokenNotYetValid, lambda: engine.verify_access(future))


def test_token_wrong_type(engine: tessera.Engine) -> None:
    pair = engine.issue("42")
    _raises(tessera.TokenWrongType, lambda: engine.verify_access(pair.refresh))
    _raises(tessera.TokenWrongType, lambda: engine.refresh(pair.access))
    _raises(tessera.TokenWrongType, lambda: engine.verify_refresh(pair.access))


def test_token_revoked(engine: tessera.Engine) -> None:
    pair = engine.issue("42")
    engine.revoke(pair.refresh)
    _raises(tessera.TokenRevoked, lambda: engine.verify_access(pair.access))
    _raises(tessera.TokenRevoked, lambda: engine.verify_refresh(pair.refresh))


def test_refresh_reused_revokes_the_session(engine: tessera.Engine) -> None:
    first = engine.issue("42")
    second = engine.refresh(first.refresh)
    third = engine.refresh(second.refresh)
    # `first` is a grandparent: a replay even inside the window.
    _raises(tessera.RefreshReused, lambda: engine.verify_refresh(first.refresh))
    _raises(tessera.RefreshReused, lambda: engine.refresh(first.refresh))
    _raises(tessera.TokenRevoked, lambda: engine.verify_access(third.access))
    _raises(tessera.TokenRevoked, lambda: engine.refresh(third.refresh))


def test_pat_invalid(engine: tessera.Engine) -> None:
    new = engine.create_pat("42", "ci")
    _raises(tessera.PatInvalid, lambda: engine.verify_pat("nope"))
    flipped = new.token[:-1] + ("A" if new.token[-1] != "A" else "B")
    _raises(tessera.PatInvalid, lambda: engine.verify_pat(flipped))
    other = tessera.Engine(None, signing_key=HS256_SECRET)
    _raises(tessera.PatInvalid, lambda: other.verify_pat(new.token))


def test_pat_expired(engine: tessera.Engine) -> None:
    new = engine.create_pat("42", "soon", expires_at=int(time.time()) + 1)
    while int(time.time()) <= (new.expires_at or 0):
        time.sleep(0.05)
    _raises(tessera.PatExpired, lambda: engine.verify_pat(new.token))


def test_pat_revoked(engine: tessera.Engine) -> None:
    new = engine.create_pat("42", "ci")
    engine.revoke_pat("42", new.id)
    _raises(tessera.PatRevoked, lambda: engine.verify_pat(new.token))


def test_storage_error_after_close(db_path: Path) -> None:
    engine = tessera.Engine(db_path, signing_key=HS256_SECRET)
    pair = engine.issue("42")
    engine.close()
    _raises(tessera.StorageError, lambda: engine.verify_access(pair.access))
    _raises(tessera.StorageError, lambda: engine.refresh(pair.refresh))
    _raises(tessera.StorageError, lambda: engine.stats())


def test_storage_error_when_another_engine_holds_the_file(db_path: Path) -> None:
    with tessera.Engine(db_path, signing_key=HS256_SECRET):
        _raises(tessera.StorageError, lambda: tessera.Engine(db_path, signing_key=HS256_SECRET))


def test_config_error_is_a_value_error() -> None:
    err = _raises(tessera.ConfigError, lambda: tessera.Engine(None, signing_key="short"))
    assert isinstance(err, ValueError)
    assert "32 bytes" in str(err)
    with pytest.raises(ValueError, match="unsupported algorithm"):
        tessera.Engine(None, signing_key=HS256_SECRET, algorithm="none")


def test_catching_the_base_reads_the_code(engine: tessera.Engine) -> None:
    with pytest.raises(tessera.TesseraError) as info:
        engine.verify_access("garbage")
    assert info.value.code == "token_invalid"
