"""Audit events reach the `events` callable; a failing callable breaks nothing."""

import logging
import threading

import pytest
from support import HS256_SECRET

import tessera


def recording_engine() -> tuple[tessera.Engine, list[tessera.Event]]:
    seen: list[tessera.Event] = []
    return tessera.Engine(None, signing_key=HS256_SECRET, events=seen.append), seen


def test_events_describe_what_happened() -> None:
    engine, seen = recording_engine()
    with engine:
        first = engine.issue("42")
        second = engine.refresh(first.refresh)
        # Inside the window the spent token converges: no event.
        assert engine.refresh(first.refresh).refresh == second.refresh
        engine.refresh(second.refresh)
        with pytest.raises(tessera.RefreshReused):
            engine.refresh(first.refresh)
        with pytest.raises(tessera.TokenInvalid):
            engine.verify_access("garbage")
        pat = engine.create_pat("42", "ci")
        engine.verify_pat(pat.token)
        engine.revoke_pat("42", pat.id)
        engine.revoke(engine.issue("42").refresh)
        engine.revoke_user("42")

    kinds = [e.kind for e in seen]
    assert kinds == [
        "session_issued",
        "refresh_rotated",
        "refresh_rotated",
        "reuse_detected",
        "verification_failed",
        "pat_created",
        "pat_used",
        "pat_revoked",
        "session_issued",
        "logout",
        "logout_all",
    ]
    issued = seen[0]
    assert isinstance(issued, tessera.Event)
    assert issued.user_id == "42"
    assert issued.family_id is not None
    assert len(issued.family_id) == 32
    assert issued.pat_prefix is None
    assert issued.code is None
    assert issued.at > 0
    assert seen[3].code == "refresh_reused"
    assert seen[4].code == "token_invalid"
    assert seen[5].pat_prefix == pat.prefix
    assert repr(issued).startswith('Event(kind="session_issued", at=')
    # No event carries a token.
    shown = " ".join(repr(e) for e in seen)
    assert first.refresh not in shown
    assert pat.token not in shown


def test_events_arrive_on_the_calling_thread_before_the_call_returns() -> None:
    threads: list[int] = []
    with tessera.Engine(
        None, signing_key=HS256_SECRET, events=lambda e: threads.append(threading.get_ident())
    ) as engine:
        engine.issue("42")
        assert threads == [threading.get_ident()]


def test_a_raising_handler_is_logged_and_the_call_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def handler(event: tessera.Event) -> None:
        raise RuntimeError(f"handler broke on {event.kind}")

    with (
        caplog.at_level(logging.ERROR, logger="tessera"),
        tessera.Engine(None, signing_key=HS256_SECRET, events=handler) as engine,
    ):
        pair = engine.issue("42")
        assert engine.verify_access(pair.access)["user_id"] == "42"
        engine.refresh(pair.refresh)

    records = [r for r in caplog.records if r.name == "tessera"]
    assert len(records) == 2
    assert records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], RuntimeError)
    assert "handler broke on session_issued" in str(records[0].exc_info[1])


def test_keyboard_interrupt_in_a_handler_propagates() -> None:
    def handler(event: tessera.Event) -> None:
        raise KeyboardInterrupt

    with (
        tessera.Engine(None, signing_key=HS256_SECRET, events=handler) as engine,
        pytest.raises(KeyboardInterrupt),
    ):
        engine.issue("42")


def test_a_handler_may_call_the_engine() -> None:
    seen: list[str] = []
    engine: tessera.Engine

    def handler(event: tessera.Event) -> None:
        seen.append(event.kind)
        if event.kind == "session_issued" and event.user_id == "42":
            seen.append(f"sessions={len(engine.sessions('42'))}")
            engine.issue("nested")

    engine = tessera.Engine(None, signing_key=HS256_SECRET, events=handler)
    with engine:
        engine.issue("42")
    assert seen == ["session_issued", "sessions=1", "session_issued"]
