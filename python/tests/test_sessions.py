"""Converging rotation and session controls through the Python API: one
successor per refresh token, new extra claims on refresh, reauthentication,
`auth_time`, sessions that end, and ending sessions and PATs of a user."""

from support import HS256_SECRET, sleep_past

import tessera


def pair_of(p: tessera.TokenPair) -> tuple[str, str]:
    return (p.access, p.refresh)


def test_the_default_window_converges_on_one_successor(engine: tessera.Engine) -> None:
    first = engine.issue("42", {"role": "viewer"})
    second = engine.refresh(first.refresh)
    again = engine.refresh(first.refresh)
    assert pair_of(again) == pair_of(second)
    assert engine.verify_access(again.access)["role"] == "viewer"


def test_without_a_window_a_second_presentation_is_a_replay() -> None:
    with tessera.Engine(None, signing_key=HS256_SECRET, reuse_grace=0) as engine:
        first = engine.issue("42")
        second = engine.refresh(first.refresh)
        try:
            engine.refresh(first.refresh)
        except tessera.RefreshReused:
            pass
        else:
            raise AssertionError("a second presentation without a window succeeded")
        try:
            engine.verify_access(second.access)
        except tessera.TokenRevoked:
            pass
        else:
            raise AssertionError("the replay did not revoke the session")


def test_refresh_with_new_claims_and_the_window_keeps_the_first(engine: tessera.Engine) -> None:
    first = engine.issue("42", {"role": "viewer"})
    second = engine.refresh(first.refresh, extra_claims={"role": "editor"})
    assert engine.verify_access(second.access)["role"] == "editor"
    again = engine.refresh(first.refresh, extra_claims={"role": "owner"})
    assert pair_of(again) == pair_of(second)
    # None keeps the session's claims.
    third = engine.refresh(second.refresh)
    assert engine.verify_access(third.access)["role"] == "editor"
    pending = engine.begin_refresh(third.refresh)
    fourth = engine.complete_refresh(pending, extra_claims={"role": "admin"})
    assert engine.verify_access(fourth.access)["role"] == "admin"


def test_refresh_refuses_reserved_or_bad_claims(engine: tessera.Engine) -> None:
    first = engine.issue("42")
    for bad, exc in (({"auth_time": 1}, tessera.ConfigError), ({"sid": "x"}, tessera.ConfigError)):
        try:
            engine.refresh(first.refresh, extra_claims=bad)
        except exc:
            pass
        else:
            raise AssertionError(f"{bad} was accepted")
    try:
        engine.refresh(first.refresh, extra_claims=["not", "a", "dict"])  # type: ignore[arg-type]
    except TypeError:
        pass
    else:
        raise AssertionError("a list was accepted as claims")
    # Nothing was spent by the refusals.
    engine.refresh(first.refresh)


def test_every_token_carries_auth_time_unchanged_by_rotation(engine: tessera.Engine) -> None:
    first = engine.issue("42")
    access = engine.verify_access(first.access)
    assert isinstance(access["auth_time"], int)
    assert access["auth_time"] == access["iat"]
    second = engine.refresh(first.refresh)
    assert engine.verify_access(second.access)["auth_time"] == access["auth_time"]
    assert engine.verify_refresh(second.refresh)["auth_time"] == access["auth_time"]
    pending = engine.begin_refresh(second.refresh)
    assert pending.claims["auth_time"] == access["auth_time"]


def test_reauthenticate_gives_a_pair_in_the_same_session(engine: tessera.Engine) -> None:
    first = engine.issue("42", {"role": "viewer"})
    fresh = engine.reauthenticate(first.access, extra_claims={"role": "editor"})
    claims = engine.verify_access(fresh.access)
    assert claims["sid"] == engine.verify_access(first.access)["sid"]
    assert claims["role"] == "editor"
    assert len(engine.sessions("42")) == 1
    # The refresh token in the client's cookie converges on the new pair.
    assert pair_of(engine.refresh(first.refresh)) == pair_of(fresh)
    try:
        engine.reauthenticate(first.refresh)
    except tessera.TokenWrongType:
        pass
    else:
        raise AssertionError("a refresh token reauthenticated")


def test_revoke_user_can_keep_one_session(engine: tessera.Engine) -> None:
    keep = engine.issue("42")
    other = engine.issue("42")
    sid = engine.verify_access(keep.access)["sid"]
    assert engine.revoke_user("42", keep_session=sid) == 1
    engine.verify_access(keep.access)
    try:
        engine.verify_access(other.access)
    except tessera.TokenRevoked:
        pass
    else:
        raise AssertionError("the other session survived")
    assert [s.family_id for s in engine.sessions("42")] == [sid]
    try:
        engine.revoke_user("42", keep_session="nope")
    except tessera.ConfigError:
        pass
    else:
        raise AssertionError("a malformed session id was accepted")
    assert engine.revoke_user(42) == 1
    assert engine.sessions("42") == []


def test_revoke_user_pats(engine: tessera.Engine) -> None:
    mine = [engine.create_pat("42", f"t{i}") for i in range(3)]
    theirs = engine.create_pat("7", "theirs")
    assert engine.revoke_user_pats("42") == 3
    for p in mine:
        try:
            engine.verify_pat(p.token)
        except tessera.PatRevoked:
            pass
        else:
            raise AssertionError("a PAT survived revoke_user_pats")
    engine.verify_pat(theirs.token)
    assert engine.revoke_user_pats("42") == 0


def test_a_session_beyond_the_limit_ends_the_least_recently_refreshed() -> None:
    seen: list[tessera.Event] = []
    with tessera.Engine(
        None, signing_key=HS256_SECRET, max_sessions_per_user=2, events=seen.append
    ) as engine:
        first = engine.issue("42")
        first_claims = engine.verify_access(first.access)
        first_sid = first_claims["sid"]
        # A second apart, so that "least recently refreshed" is one session.
        sleep_past(first_claims["iat"])
        second = engine.issue("42")
        third = engine.issue("42")
        assert len(engine.sessions("42")) == 2
        limit = [e for e in seen if e.kind == "session_limit"]
        assert len(limit) == 1
        assert limit[0].user_id == "42"
        assert limit[0].family_id == first_sid
        for live in (second, third):
            engine.verify_access(live.access)


def test_no_token_outlives_the_session_end() -> None:
    with tessera.Engine(None, signing_key=HS256_SECRET, session_max_lifetime=600) as engine:
        first = engine.issue("42")
        iat = engine.verify_access(first.access)["iat"]
        assert first.refresh_expires_at == iat + 600
        assert first.access_expires_at == iat + 600
        second = engine.refresh(first.refresh)
        assert second.refresh_expires_at == iat + 600
