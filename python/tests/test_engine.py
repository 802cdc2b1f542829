"""Every Engine method, on its happy path, and the value objects it returns."""

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from support import HS256_SECRET, rsa_private_pem, sleep_past

import tessera


def test_issue_returns_a_pair_that_verifies(engine: tessera.Engine) -> None:
    before = int(time.time())
    pair = engine.issue("42", claims={"role": "admin", "tags": ["a", 1, None, True, 2.5]})
    assert isinstance(pair, tessera.TokenPair)
    assert pair.access.count(".") == 2
    assert pair.refresh.count(".") == 2
    assert before + 900 <= pair.access_expires_at <= int(time.time()) + 900
    assert pair.refresh_expires_at - pair.access_expires_at == 1209600 - 900

    claims = engine.verify_access(pair.access)
    assert claims["token_type"] == "access"
    assert claims["user_id"] == "42"
    assert claims["role"] == "admin"
    assert claims["tags"] == ["a", 1, None, True, 2.5]
    assert claims["exp"] == pair.access_expires_at
    assert isinstance(claims["iat"], int)
    assert len(claims["jti"]) == 32
    assert len(claims["sid"]) == 32


def test_issue_accepts_an_int_user_id(engine: tessera.Engine) -> None:
    pair = engine.issue(7)
    assert engine.verify_access(pair.access)["user_id"] == "7"
    assert len(engine.sessions(7)) == 1


def test_verify_refresh_does_not_spend_the_token(engine: tessera.Engine) -> None:
    pair = engine.issue("42", claims={"role": "admin"})
    claims = engine.verify_refresh(pair.refresh)
    assert claims["token_type"] == "refresh"
    assert claims["role"] == "admin"
    assert engine.verify_refresh(pair.refresh) == claims
    engine.refresh(pair.refresh)


def test_begin_refresh_spends_nothing_and_completes_once(engine: tessera.Engine) -> None:
    pair = engine.issue("42", claims={"role": "admin"})
    pending = engine.begin_refresh(pair.refresh)
    assert isinstance(pending, tessera.PendingRefresh)
    assert pending.claims["user_id"] == "42"
    assert pending.claims["role"] == "admin"
    assert pending.claims["token_type"] == "refresh"
    assert pair.refresh not in repr(pending)
    # Nothing spent yet: the token still verifies as the current one.
    engine.verify_refresh(pair.refresh)
    new = engine.complete_refresh(pending)
    assert engine.verify_access(new.access)["sid"] == pending.claims["sid"]
    with pytest.raises(tessera.ConfigError, match="completed already"):
        engine.complete_refresh(pending)
    # The session survives the refused second completion.
    engine.verify_access(new.access)
    with pytest.raises(tessera.TokenWrongType):
        engine.begin_refresh(pair.access)


def test_refresh_rotates_within_the_session(engine: tessera.Engine) -> None:
    first = engine.issue("42", claims={"role": "admin"})
    second = engine.refresh(first.refresh)
    assert second.refresh != first.refresh
    old = engine.verify_access(first.access)
    new = engine.verify_access(second.access)
    assert new["sid"] == old["sid"]
    assert new["role"] == "admin"
    assert engine.refresh(second.refresh).access


def test_revoke_logs_the_session_out_and_is_idempotent(engine: tessera.Engine) -> None:
    pair = engine.issue("42")
    other = engine.issue("42")
    engine.revoke(pair.refresh)
    engine.revoke(pair.refresh)
    with pytest.raises(tessera.TokenRevoked):
        engine.verify_access(pair.access)
    with pytest.raises(tessera.TokenRevoked):
        engine.refresh(pair.refresh)
    engine.verify_access(other.access)


def test_revoke_user_logs_out_everywhere(engine: tessera.Engine) -> None:
    pairs = [engine.issue("42") for _ in range(3)]
    bystander = engine.issue("43")
    assert engine.revoke_user("42") == 3
    for pair in pairs:
        with pytest.raises(tessera.TokenRevoked):
            engine.verify_access(pair.access)
    assert engine.revoke_user(42) == 0
    engine.verify_access(bystander.access)


def test_sessions_lists_live_sessions_oldest_first(engine: tessera.Engine) -> None:
    assert engine.sessions("42") == []
    a = engine.issue("42")
    b = engine.issue("42")
    sessions = engine.sessions("42")
    assert len(sessions) == 2
    assert all(isinstance(s, tessera.Session) for s in sessions)
    assert {s.family_id for s in sessions} == {
        engine.verify_access(a.access)["sid"],
        engine.verify_access(b.access)["sid"],
    }
    s = sessions[0]
    assert s.created_at <= s.last_refreshed_at < s.expires_at
    engine.revoke(a.refresh)
    assert [x.family_id for x in engine.sessions("42")] == [engine.verify_access(b.access)["sid"]]


def test_pat_lifecycle(engine: tessera.Engine) -> None:
    expires = datetime.now(timezone.utc) + timedelta(days=30)
    new = engine.create_pat("42", "ci-sync", expires_at=expires, scopes=["projects:write"])
    assert isinstance(new, tessera.NewPat)
    assert new.token.startswith("tsr_pat_")
    assert new.prefix.startswith("tsr_pat_")
    assert new.token.startswith(new.prefix)
    assert new.name == "ci-sync"
    assert new.scopes == ("projects:write",)
    assert new.expires_at == int(expires.timestamp())
    assert abs(new.created_at - time.time()) < 5

    pat = engine.verify_pat(new.token)
    assert isinstance(pat, tessera.Pat)
    assert (pat.id, pat.user_id, pat.name, pat.prefix) == (new.id, "42", "ci-sync", new.prefix)
    assert pat.scopes == ("projects:write",)
    assert pat.created_at == new.created_at
    assert pat.expires_at == new.expires_at
    assert pat.last_used_at is not None

    listed = engine.list_pats("42")
    assert [p.id for p in listed] == [new.id]
    assert engine.list_pats("43") == []

    assert engine.revoke_pat("43", new.id) is False
    assert engine.revoke_pat("42", new.id) is True
    with pytest.raises(tessera.PatRevoked):
        engine.verify_pat(new.token)


def test_scopes_and_unrestricted_pats(engine: tessera.Engine) -> None:
    """The engine's rule: a PAT allows what its scopes name, and one that
    holds UNRESTRICTED_SCOPE allows everything."""
    limited = engine.create_pat("42", "limited", scopes=["repo:read", "repo:write"])
    assert not limited.unrestricted
    pat = engine.verify_pat(limited.token)
    assert not pat.unrestricted
    assert pat.missing_scopes([]) == []
    assert pat.missing_scopes(("repo:write",)) == []
    assert pat.missing_scopes(["admin", "repo:read", "billing"]) == ["admin", "billing"]
    with pytest.raises(TypeError):
        pat.missing_scopes("repo:read")

    full = engine.create_pat("42", "full", scopes=[tessera.UNRESTRICTED_SCOPE])
    assert full.unrestricted
    assert tessera.UNRESTRICTED_SCOPE == "tessera.unrestricted"
    pat = engine.verify_pat(full.token)
    assert pat.unrestricted
    assert pat.missing_scopes(["admin"]) == []
    assert sorted(p.unrestricted for p in engine.list_pats("42")) == [False, True]


def test_create_pat_defaults_and_int_timestamps(engine: tessera.Engine) -> None:
    forever = engine.create_pat("42", "forever")
    assert forever.expires_at is None
    assert forever.scopes == ()
    at = int(time.time()) + 3600
    timed = engine.create_pat(42, "timed", at, ("a:b", "c"))
    assert timed.expires_at == at
    assert engine.verify_pat(timed.token).scopes == ("a:b", "c")


def test_purge_expired_and_expiry(db_path: Path) -> None:
    with tessera.Engine(
        db_path,
        signing_key=HS256_SECRET,
        access_lifetime=1,
        refresh_lifetime=timedelta(seconds=1),
    ) as engine:
        pair = engine.issue("42")
        pat = engine.create_pat("42", "short", expires_at=int(time.time()) + 1)
        assert engine.purge_expired() == 0
        sleep_past(pair.refresh_expires_at)
        sleep_past(pat.expires_at or 0)
        with pytest.raises(tessera.TokenExpired) as info:
            engine.verify_access(pair.access)
        assert info.value.code == "token_expired"
        with pytest.raises(tessera.TokenExpired):
            engine.refresh(pair.refresh)
        with pytest.raises(tessera.PatExpired):
            engine.verify_pat(pat.token)
        # The session (its family holds its tokens' state) and the PAT.
        assert engine.purge_expired() == 2
        stats = engine.stats()
        assert (stats["refresh_records"], stats["families"], stats["pats"]) == (0, 0, 0)


def test_stats_counts_records(file_engine: tessera.Engine) -> None:
    stats = file_engine.stats()
    assert set(stats) == {
        "refresh_records",
        "families",
        "user_marks",
        "pats",
        "attempt_counters",
        "file_bytes",
    }
    file_engine.issue("42")
    file_engine.create_pat("42", "x")
    file_engine.revoke_user("43")
    stats = file_engine.stats()
    # A session's family holds the state of its tokens: refresh records are
    # kept only for tokens Tessera did not issue.
    assert stats["refresh_records"] == 0
    assert stats["families"] == 1
    assert stats["user_marks"] == 1
    assert stats["pats"] == 1
    assert stats["file_bytes"] > 0


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256"])
def test_jwks_publishes_the_public_key(algorithm: str) -> None:
    pem = tessera.generate_key(algorithm)
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    with tessera.Engine(None, signing_key=pem.encode(), algorithm=algorithm) as engine:
        doc = json.loads(engine.jwks())
        assert len(doc["keys"]) == 1
        jwk = doc["keys"][0]
        assert jwk["alg"] == algorithm
        assert "d" not in jwk
        assert engine.algorithm == algorithm


def test_rs256_engine_from_an_imported_pem() -> None:
    with tessera.Engine(None, signing_key=rsa_private_pem(), algorithm="RS256") as engine:
        pair = engine.issue("42")
        assert engine.verify_access(pair.access)["user_id"] == "42"
        assert json.loads(engine.jwks())["keys"][0]["kty"] == "RSA"


def test_hmac_jwks_is_empty(engine: tessera.Engine) -> None:
    assert json.loads(engine.jwks()) == {"keys": []}


@pytest.mark.parametrize(("algorithm", "length"), [("HS256", 86), ("HS384", 128), ("HS512", 171)])
def test_generate_key_for_hmac_is_a_usable_secret(algorithm: str, length: int) -> None:
    secret = tessera.generate_key(algorithm)
    assert len(secret) == length
    assert secret != tessera.generate_key(algorithm)
    with tessera.Engine(None, signing_key=secret, algorithm=algorithm) as engine:
        engine.verify_access(engine.issue("1").access)


def test_settings_are_readable() -> None:
    with tessera.Engine(
        None,
        signing_key=HS256_SECRET,
        issuer="https://issuer.example",
        audience="api",
        leeway=timedelta(seconds=5),
        user_id_claim="uid",
        pat_prefix="acme_",
    ) as engine:
        assert engine.algorithm == "HS256"
        assert engine.issuer == "https://issuer.example"
        assert engine.audience == "api"
        assert engine.leeway == 5
        assert engine.user_id_claim == "uid"
        assert engine.pat_prefix == "acme_"
        pair = engine.issue("42")
        claims = engine.verify_access(pair.access)
        assert claims["uid"] == "42"
        assert "user_id" not in claims
        assert claims["iss"] == "https://issuer.example"
        assert claims["aud"] == "api"
        assert engine.create_pat("42", "x").token.startswith("acme_")


def test_context_manager_closes_the_engine(db_path: Path) -> None:
    with tessera.Engine(db_path, signing_key=HS256_SECRET) as engine:
        pair = engine.issue("42")
    with pytest.raises(tessera.StorageError):
        engine.verify_access(pair.access)
    # The file is free again: a new engine opens it and sees the session.
    with tessera.Engine(db_path, signing_key=HS256_SECRET) as again:
        assert len(again.sessions("42")) == 1


def test_close_is_idempotent_and_exceptions_propagate_through_with(db_path: Path) -> None:
    engine = tessera.Engine(db_path, signing_key=HS256_SECRET)
    engine.close()
    engine.close()
    with pytest.raises(tessera.StorageError):
        engine.issue("42")
    with pytest.raises(KeyError), tessera.Engine(db_path, signing_key=HS256_SECRET):
        raise KeyError("inside")


def test_path_accepts_str_and_pathlike(tmp_path: Path) -> None:
    with tessera.Engine(str(tmp_path / "a.redb"), signing_key=HS256_SECRET) as a:
        a.issue("1")
    with tessera.Engine(tmp_path / "b.redb", signing_key=HS256_SECRET.encode()) as b:
        b.issue("1")
    assert (tmp_path / "a.redb").exists()
    assert (tmp_path / "b.redb").exists()


def test_state_survives_reopening(db_path: Path) -> None:
    with tessera.Engine(db_path, signing_key=HS256_SECRET) as engine:
        pair = engine.issue("42")
        second = engine.refresh(pair.refresh)
    with tessera.Engine(db_path, signing_key=HS256_SECRET) as engine:
        # The rotation and the derivation secret were kept: inside the
        # window the spent token converges on the same successor.
        again = engine.refresh(pair.refresh)
        assert (again.access, again.refresh) == (second.access, second.refresh)
        engine.refresh(second.refresh)
        # Now a grandparent: a replay.
        with pytest.raises(tessera.RefreshReused):
            engine.refresh(pair.refresh)


def test_reprs_show_no_secret(engine: tessera.Engine) -> None:
    pair = engine.issue("42")
    new = engine.create_pat("42", "ci", scopes=["a"])
    pat = engine.verify_pat(new.token)
    session = engine.sessions("42")[0]
    shown = " ".join(repr(x) for x in (pair, new, pat, session, engine))
    for secret in (pair.access, pair.refresh, new.token, HS256_SECRET):
        assert secret not in shown
    # The secret part of each token is not shown either.
    for secret in (pair.access.split(".")[2], new.token[len(new.prefix) :]):
        assert secret not in shown
    assert repr(pair).startswith("TokenPair(access=<redacted>, refresh=<redacted>,")
    assert "token=<redacted>" in repr(new)
    assert repr(new).startswith('NewPat(id="')
    assert repr(pat).startswith(f'Pat(id="{pat.id}", user_id="42"')
    assert repr(session).startswith(f'Session(family_id="{session.family_id}"')
    assert repr(engine) == 'Engine(None, algorithm="HS256", user_id_claim="user_id")'


@pytest.mark.parametrize("attr", ["access", "refresh", "access_expires_at"])
def test_token_pair_is_frozen(engine: tessera.Engine, attr: str) -> None:
    pair = engine.issue("42")
    with pytest.raises(AttributeError):
        setattr(pair, attr, "x")


def test_value_objects_are_frozen(engine: tessera.Engine) -> None:
    new = engine.create_pat("42", "ci")
    pat = engine.verify_pat(new.token)
    engine.issue("42")
    session = engine.sessions("42")[0]
    for obj, attr in ((new, "token"), (pat, "scopes"), (session, "expires_at")):
        with pytest.raises(AttributeError):
            setattr(obj, attr, None)
    for cls in (tessera.TokenPair, tessera.NewPat, tessera.Pat, tessera.Session, tessera.Event):
        with pytest.raises(TypeError):
            cls()


def test_version_is_exposed() -> None:
    assert tessera.__version__.count(".") == 2
