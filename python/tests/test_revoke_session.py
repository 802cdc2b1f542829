"""Engine.revoke_session: an operator ends one session by its id."""

import pytest

import tessera


def test_revoke_session_ends_that_session_only(engine: tessera.Engine) -> None:
    a, b = engine.issue(42), engine.issue(42)
    theirs = engine.issue(7)
    sid = engine.verify_access(a.access)["sid"]
    assert [s.family_id for s in engine.sessions(42)].count(sid) == 1

    assert engine.revoke_session(7, sid) is False
    assert engine.revoke_session(42, sid) is True
    with pytest.raises(tessera.TokenRevoked):
        engine.verify_access(a.access)
    engine.verify_access(b.access)
    engine.verify_access(theirs.access)
    assert sid not in [s.family_id for s in engine.sessions(42)]
    assert engine.revoke_session(42, sid) is False


def test_revoke_session_refuses_a_malformed_id(engine: tessera.Engine) -> None:
    with pytest.raises(tessera.ConfigError):
        engine.revoke_session(42, "../../etc")
