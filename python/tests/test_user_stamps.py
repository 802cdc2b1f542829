"""Users' change stamps: Engine.bump_user and the stamped verifications."""

import subprocess
import sys
from pathlib import Path

import pytest
from support import HS256_SECRET

import tessera


def test_bump_user_returns_each_new_stamp(engine: tessera.Engine) -> None:
    assert engine.bump_user(42) == 1
    assert engine.bump_user("42") == 2  # the same user as tokens carry it
    assert engine.bump_user(7) == 1


def test_stamped_verifications_return_the_claims_and_the_stamp(
    engine: tessera.Engine,
) -> None:
    pair = engine.issue(42)
    pat = engine.create_pat(42, "ci")
    claims, stamp = engine.verify_access_stamped(pair.access)
    assert (claims["user_id"], stamp) == ("42", 0)
    engine.bump_user(42)
    claims, stamp = engine.verify_access_stamped(pair.access)
    assert (claims["user_id"], stamp) == ("42", 1)
    found, stamp = engine.verify_pat_stamped(pat.token)
    assert (found.user_id, found.id, stamp) == ("42", pat.id, 1)


def test_revoke_user_bumps_the_stamp(engine: tessera.Engine) -> None:
    pat = engine.create_pat(42, "ci")
    engine.revoke_user(42)
    assert engine.verify_pat_stamped(pat.token)[1] == 1


def test_stamped_verifications_raise_what_the_plain_ones_raise(
    engine: tessera.Engine,
) -> None:
    pair = engine.issue(42)
    engine.revoke(pair.refresh)
    with pytest.raises(tessera.TokenRevoked):
        engine.verify_access_stamped(pair.access)
    with pytest.raises(tessera.TokenInvalid):
        engine.verify_access_stamped("not-a-token")
    with pytest.raises(tessera.PatInvalid):
        engine.verify_pat_stamped("tsr_pat_nonsense")
    with pytest.raises(tessera.ConfigError):
        engine.bump_user("")


BUMP_IN_CHILD = """
import sys, tessera
with tessera.Engine(sys.argv[1], signing_key=sys.argv[2], multi_process=True) as e:
    print(e.bump_user(42))
"""


def test_a_bump_in_another_process_is_seen_at_the_next_verification(
    db_path: Path,
) -> None:
    with tessera.Engine(db_path, signing_key=HS256_SECRET, multi_process=True) as engine:
        pair = engine.issue(42)
        assert engine.verify_access_stamped(pair.access)[1] == 0
        child = subprocess.run(
            [sys.executable, "-c", BUMP_IN_CHILD, str(db_path), HS256_SECRET],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert child.stdout.strip() == "1"
        assert engine.verify_access_stamped(pair.access)[1] == 1
