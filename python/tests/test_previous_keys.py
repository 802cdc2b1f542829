"""Engine(previous_signing_keys=...): retired keys verify, never sign."""

import base64
import json
from pathlib import Path

import pytest

import tessera


def kid(token: str) -> str:
    header = token.split(".", 1)[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


@pytest.mark.parametrize("algorithm", ["HS256", "EdDSA", "ES256"])
def test_tokens_of_a_previous_key_verify_and_refresh(tmp_path: Path, algorithm: str) -> None:
    path = tmp_path / "t.redb"
    old, new = tessera.generate_key(algorithm), tessera.generate_key(algorithm)
    with tessera.Engine(path, signing_key=old, algorithm=algorithm) as engine:
        before = engine.issue("7")
    with tessera.Engine(
        path, signing_key=new, algorithm=algorithm, previous_signing_keys=[old]
    ) as engine:
        assert engine.verify_access(before.access)["user_id"] == "7"
        assert engine.verifier().verify_access(before.access)["user_id"] == "7"
        pair = engine.refresh(before.refresh)
        assert kid(pair.access) == kid(pair.refresh) == kid(engine.issue("8").access)
        assert kid(pair.access) != kid(before.access)
    with tessera.Engine(path, signing_key=new, algorithm=algorithm) as engine:
        with pytest.raises(tessera.TokenInvalid):
            engine.verify_access(before.access)
        assert engine.verify_access(pair.access)["user_id"] == "7"


def test_bytes_and_tuples_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "t.redb"
    old, new = tessera.generate_key("HS256"), tessera.generate_key("HS256")
    with tessera.Engine(path, signing_key=old) as engine:
        token = engine.issue("1").access
    with tessera.Engine(path, signing_key=new, previous_signing_keys=(old.encode(),)) as engine:
        assert engine.verify_access(token)["user_id"] == "1"


def test_a_single_key_is_not_a_list() -> None:
    key = tessera.generate_key("HS256")
    with pytest.raises(TypeError, match="previous_signing_keys"):
        tessera.Engine(None, signing_key=key, previous_signing_keys=key)
    with pytest.raises(TypeError):
        tessera.Engine(None, signing_key=key, previous_signing_keys=[42])  # type: ignore[list-item]


def test_the_signing_key_cannot_also_be_a_previous_key() -> None:
    key = tessera.generate_key("HS256")
    with pytest.raises(tessera.ConfigError, match="duplicate kid"):
        tessera.Engine(None, signing_key=key, previous_signing_keys=[key])


def test_a_previous_key_of_another_algorithm_is_refused() -> None:
    with pytest.raises(tessera.ConfigError):
        tessera.Engine(
            None,
            signing_key=tessera.generate_key("EdDSA"),
            algorithm="EdDSA",
            previous_signing_keys=[tessera.generate_key("ES256")],
        )
