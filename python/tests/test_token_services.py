"""Introspection, revocation by the presenter and leak reports, through the
Python binding: the values it maps, and the one event that carries a url."""

from __future__ import annotations

from support import HS256_SECRET

import tessera


def test_introspect_maps_each_kind() -> None:
    with tessera.Engine(None, signing_key=HS256_SECRET) as engine:
        pair = engine.issue("42")
        access = engine.introspect(pair.access)
        assert access is not None
        assert access["token_type"] == "access_token"
        assert access["user_id"] == "42"
        assert access["sid"] is not None
        assert access["jti"] is not None
        refresh = engine.introspect(pair.refresh)
        assert refresh is not None
        assert refresh["token_type"] == "refresh_token"
        pat = engine.create_pat("42", "ci", scopes=["a:b"])
        found = engine.introspect(pat.token)
        assert found is not None
        assert (found["token_type"], found["scopes"], found["jti"]) == ("pat", ("a:b",), None)
        assert engine.introspect("garbage") is None
        engine.revoke_token(pair.refresh)
        assert engine.introspect(pair.access) is None


def test_a_leak_report_revokes_once_and_reports_the_url() -> None:
    seen: list[tessera.Event] = []
    with tessera.Engine(None, signing_key=HS256_SECRET, events=seen.append) as engine:
        pat = engine.create_pat("42", "ci")
        assert engine.report_leaked_pat(pat.token, "https://example.com/x") == "revoked"
        assert engine.report_leaked_pat(pat.token, "https://example.com/x") == "inactive"
        assert engine.report_leaked_pat("ghp_other") == "unknown"
        assert not engine.revoke_pat_token(pat.token)
    [leak] = [e for e in seen if e.kind == "pat_leaked"]
    assert (leak.pat_prefix, leak.url) == (pat.prefix, "https://example.com/x")
    assert pat.token not in repr(leak)
    assert all(e.url is None for e in seen if e is not leak)
