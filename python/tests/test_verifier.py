"""tessera.Verifier: stateless verification from a JWKS or one key."""

import json
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from support import HS256_SECRET, rsa_private_pem

import tessera


@pytest.fixture(scope="module")
def ed_key() -> str:
    return tessera.generate_key("EdDSA")


def test_from_jwks_text_and_dict(ed_key: str) -> None:
    with tessera.Engine(None, signing_key=ed_key, algorithm="EdDSA") as engine:
        pair = engine.issue("42", claims={"role": "admin"})
        for jwks in (engine.jwks(), json.loads(engine.jwks())):
            verifier = tessera.Verifier.from_jwks(jwks)
            claims = verifier.verify_access(pair.access)
            assert claims["user_id"] == "42"
            assert claims["role"] == "admin"
            assert verifier.verify(pair.refresh, "refresh")["token_type"] == "refresh"
            assert verifier.verify(pair.access, "access") == claims
            remaining = verifier.seconds_until_expiry(pair.access)
            assert 0 < remaining <= 900
            assert verifier.seconds_until_expiry(pair.refresh) > 900


def test_verifier_does_not_see_revocation(ed_key: str) -> None:
    with tessera.Engine(None, signing_key=ed_key, algorithm="EdDSA") as engine:
        verifier = tessera.Verifier.from_jwks(engine.jwks())
        pair = engine.issue("42")
        engine.revoke(pair.refresh)
        with pytest.raises(tessera.TokenRevoked):
            engine.verify_access(pair.access)
        assert verifier.verify_access(pair.access)["user_id"] == "42"


def test_an_engines_own_verifier_reads_claims_without_the_store(ed_key: str) -> None:
    for key, algorithm in ((HS256_SECRET, "HS256"), (ed_key, "EdDSA")):
        with tessera.Engine(
            None, signing_key=key, algorithm=algorithm, user_id_claim="uid"
        ) as engine:
            verifier = engine.verifier()
            pair = engine.issue("42", claims={"role": "admin"})
            claims = verifier.verify(pair.refresh, "refresh")
            assert claims["uid"] == "42"
            assert claims == engine.verify_refresh(pair.refresh)
            engine.revoke(pair.refresh)
            with pytest.raises(tessera.TokenRevoked):
                engine.verify_refresh(pair.refresh)
            # Stateless by design: it does not see the logout.
            assert verifier.verify_access(pair.access)["role"] == "admin"
            with pytest.raises(tessera.TokenWrongType):
                verifier.verify(pair.access, "refresh")
        other = tessera.Engine(None, signing_key=tessera.generate_key("EdDSA"), algorithm="EdDSA")
        with other, pytest.raises(tessera.TokenInvalid):
            verifier.verify_access(other.issue("42").access)
        # The engine is closed; its verifier needs no store and still works.
        assert verifier.verify_access(pair.access)["uid"] == "42"


def test_from_key_with_secret_and_public_pem() -> None:
    with tessera.Engine(None, signing_key=HS256_SECRET) as engine:
        pair = engine.issue("42")
        for key in (HS256_SECRET, HS256_SECRET.encode()):
            assert tessera.Verifier.from_key(key).verify_access(pair.access)["user_id"] == "42"
    private = rsa_private_pem()
    with tessera.Engine(None, signing_key=private, algorithm="RS256") as engine:
        pair = engine.issue("42")
        public = jwt.PyJWK(json.loads(engine.jwks())["keys"][0]).key.public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
        )
        verifier = tessera.Verifier.from_key(public, algorithm="RS256")
        assert verifier.verify_access(pair.access)["user_id"] == "42"


def test_rules_apply(ed_key: str) -> None:
    with tessera.Engine(
        None,
        signing_key=ed_key,
        algorithm="EdDSA",
        issuer="iss",
        audience="aud",
        user_id_claim="uid",
    ) as engine:
        pair = engine.issue("42")
        jwks = engine.jwks()
    good = tessera.Verifier.from_jwks(jwks, issuer="iss", audience="aud", user_id_claim="uid")
    assert good.verify_access(pair.access)["uid"] == "42"
    with pytest.raises(tessera.TokenInvalid, match="issuer"):
        tessera.Verifier.from_jwks(
            jwks, issuer="other", audience="aud", user_id_claim="uid"
        ).verify_access(pair.access)
    with pytest.raises(tessera.TokenInvalid, match="audience"):
        tessera.Verifier.from_jwks(jwks, issuer="iss", user_id_claim="uid").verify_access(
            pair.access
        )
    with pytest.raises(tessera.TokenInvalid):
        tessera.Verifier.from_jwks(jwks, issuer="iss", audience="aud").verify_access(pair.access)


def test_errors() -> None:
    verifier = tessera.Verifier.from_key(HS256_SECRET, leeway=timedelta(seconds=2))
    with tessera.Engine(None, signing_key=HS256_SECRET) as engine:
        pair = engine.issue("42")
    with pytest.raises(tessera.TokenWrongType):
        verifier.verify_access(pair.refresh)
    with pytest.raises(tessera.TokenWrongType):
        verifier.verify(pair.access, "refresh")
    with pytest.raises(tessera.TokenInvalid):
        verifier.seconds_until_expiry("garbage")
    now = int(time.time())
    expired = jwt.encode(
        {"token_type": "access", "exp": now - 10, "iat": now - 20, "jti": "0" * 32, "user_id": "1"},
        HS256_SECRET,
    )
    with pytest.raises(tessera.TokenExpired):
        verifier.seconds_until_expiry(expired)
    with pytest.raises(tessera.ConfigError, match='"access" or "refresh"'):
        verifier.verify(pair.access, "sliding")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "exc", "message"),
    [
        (lambda: tessera.Verifier.from_jwks("not json"), tessera.ConfigError, "JWKS is not JSON"),
        (lambda: tessera.Verifier.from_jwks("{}"), tessera.ConfigError, "keys array"),
        (
            lambda: tessera.Verifier.from_jwks(42),  # type: ignore[arg-type]
            TypeError,
            "jwks must be a str or a dict",
        ),
        (
            lambda: tessera.Verifier.from_jwks({"keys": [{"kty": "EC", "d": "x"}]}),
            tessera.ConfigError,
            "private",
        ),
        (lambda: tessera.Verifier.from_key("short"), tessera.ConfigError, "32 bytes"),
        (lambda: tessera.Verifier.from_key(1), TypeError, "bytes or str"),  # type: ignore[arg-type]
        (
            lambda: tessera.Verifier.from_key(HS256_SECRET, leeway=-1),
            tessera.ConfigError,
            "negative",
        ),
        (
            lambda: tessera.Verifier.from_key(HS256_SECRET, algorithm="PS256"),
            tessera.ConfigError,
            "unsupported",
        ),
    ],
)
def test_bad_arguments(build: object, exc: type[Exception], message: str) -> None:
    assert callable(build)
    with pytest.raises(exc, match=message):
        build()


def test_cannot_be_constructed_directly() -> None:
    with pytest.raises(TypeError):
        tessera.Verifier()


def test_repr() -> None:
    verifier = tessera.Verifier.from_key(HS256_SECRET, issuer="iss")
    assert (
        repr(verifier) == 'Verifier(issuer="iss", audience=None, leeway=0, user_id_claim="user_id")'
    )
    assert HS256_SECRET not in repr(verifier)
