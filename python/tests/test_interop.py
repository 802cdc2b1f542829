"""Tokens cross between Tessera, PyJWT and djangorestframework-simplejwt."""

import json
import time

import jwt
import pytest
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from support import HS256_SECRET, HS512_SECRET, rsa_private_pem

import tessera


def public_key(engine: tessera.Engine) -> jwt.PyJWK:
    """The engine's public key as PyJWT reads it from the JWKS."""
    return jwt.PyJWK(json.loads(engine.jwks())["keys"][0])


@pytest.mark.parametrize(
    ("algorithm", "key"),
    [
        ("HS256", HS256_SECRET),
        ("HS384", HS512_SECRET),
        ("HS512", HS512_SECRET),
        ("EdDSA", None),
        ("ES256", None),
        ("RS256", None),
    ],
)
def test_pyjwt_decodes_tessera_access_tokens(algorithm: str, key: str | None) -> None:
    if key is None:
        key = rsa_private_pem() if algorithm == "RS256" else tessera.generate_key(algorithm)
    with tessera.Engine(None, signing_key=key, algorithm=algorithm) as engine:
        pair = engine.issue("42", claims={"role": "admin", "n": [1, 2.5, None]})
        verifying = key if algorithm.startswith("HS") else public_key(engine)
        decoded = jwt.decode(pair.access, verifying, algorithms=[algorithm])
        # The dict Tessera returns is exactly the payload PyJWT reads.
        assert decoded == engine.verify_access(pair.access)
        assert decoded["user_id"] == "42"
        assert decoded["token_type"] == "access"
        header = jwt.get_unverified_header(pair.access)
        assert header["alg"] == algorithm
        assert header["typ"] == "JWT"
        assert header["kid"]


def test_claims_dict_matches_the_payload_with_every_registered_claim() -> None:
    with tessera.Engine(
        None,
        signing_key=HS256_SECRET,
        issuer="https://issuer.example",
        audience="api",
        user_id_claim="uid",
    ) as engine:
        pair = engine.issue("u-1", claims={"nested": {"a": [True, {"b": None}]}})
        for token, verify in (
            (pair.access, engine.verify_access),
            (pair.refresh, engine.verify_refresh),
        ):
            decoded = jwt.decode(
                token,
                HS256_SECRET,
                algorithms=["HS256"],
                audience="api",
                issuer="https://issuer.example",
            )
            assert verify(token) == decoded


def test_simplejwt_accepts_tessera_access_tokens() -> None:
    with tessera.Engine(None, signing_key=HS256_SECRET) as engine:
        pair = engine.issue("42", claims={"role": "admin"})
        token = AccessToken(pair.access)  # type: ignore[arg-type]
        assert token["user_id"] == "42"
        assert token["role"] == "admin"
        assert token["token_type"] == "access"
        # And simplejwt tells the token types apart just as Tessera does.
        with pytest.raises(TokenError):
            AccessToken(pair.refresh)  # type: ignore[arg-type]
        RefreshToken(pair.refresh)  # type: ignore[arg-type]


def test_simplejwt_tokens_verify_and_refresh_in_tessera() -> None:
    refresh = RefreshToken()
    refresh["user_id"] = "42"
    refresh["role"] = "staff"
    access = refresh.access_token
    with tessera.Engine(None, signing_key=HS256_SECRET) as engine:
        claims = engine.verify_access(str(access))
        assert claims["user_id"] == "42"
        assert claims["role"] == "staff"
        assert claims["jti"] == access["jti"]
        assert "sid" not in claims
        assert engine.verify_refresh(str(refresh))["jti"] == refresh["jti"]

        pair = engine.refresh(str(refresh))
        rotated = engine.verify_access(pair.access)
        assert rotated["user_id"] == "42"
        assert rotated["role"] == "staff"
        assert "sid" in rotated
        assert len(engine.sessions("42")) == 1
        # The simplejwt refresh token is now spent (blacklisted).
        with pytest.raises(tessera.RefreshReused):
            engine.refresh(str(refresh))


def test_simplejwt_integer_user_ids_read_as_text() -> None:
    now = int(time.time())
    token = jwt.encode(
        {
            "token_type": "access",
            "exp": now + 60,
            "iat": now,
            "jti": "00112233445566778899aabbccddeeff",
            "user_id": 42,
        },
        HS256_SECRET,
    )
    with tessera.Engine(None, signing_key=HS256_SECRET) as engine:
        assert engine.verify_access(token)["user_id"] == "42"


def test_verifier_from_the_engine_jwks_checks_its_tokens() -> None:
    key = tessera.generate_key("EdDSA")
    with tessera.Engine(None, signing_key=key, algorithm="EdDSA") as engine:
        verifier = tessera.Verifier.from_jwks(engine.jwks())
        pair = engine.issue("42")
        assert verifier.verify_access(pair.access) == engine.verify_access(pair.access)
