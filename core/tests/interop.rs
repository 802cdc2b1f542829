//! Interoperability with the `jsonwebtoken` crate, in both directions, for
//! every algorithm Tessera implements.
//!
//! Tokens carry simplejwt-shaped claims. Keys come from Tessera (`generate`,
//! `export_secret`, `public_jwk`) or, for RS256, from the test-only PEMs in
//! `tests/data/`, so each side reads the other's key formats too.

// A failed unwrap in test helpers is a failed test; clippy.toml's
// allow-unwrap-in-tests covers only #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jsonwebtoken::jwk::Jwk as JwtJwk;
use jsonwebtoken::{DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use tessera::{
    Algorithm, Claims, Clock, Jti, Jwt, Key, KeySet, SystemClock, TokenType, UserId, Validation,
};

const RSA_PRIVATE_PEM: &str = include_str!("data/rsa2048.pem");
const RSA_PUBLIC_PEM: &str = include_str!("data/rsa2048.pub.pem");
/// 64 bytes, long enough for HS512 (RFC 7518 §3.2).
const HMAC_SECRET: &[u8] = b"tessera interop secret: 64 bytes for HS512 0123456789abcdefghijk";

/// The claims as simplejwt writes them, as jsonwebtoken reads them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SimpleJwt {
    token_type: String,
    exp: i64,
    iat: i64,
    jti: String,
    user_id: String,
}

/// One algorithm's keys, as each library wants them.
struct Fixture {
    jwt_alg: jsonwebtoken::Algorithm,
    /// Tessera's signing key (it verifies too).
    tessera: Key,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

fn fixture(alg: Algorithm) -> Fixture {
    let (jwt_alg, tessera, encoding, decoding) = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            let jwt_alg = match alg {
                Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
                Algorithm::HS384 => jsonwebtoken::Algorithm::HS384,
                _ => jsonwebtoken::Algorithm::HS512,
            };
            (
                jwt_alg,
                Key::hmac(alg, HMAC_SECRET).unwrap(),
                EncodingKey::from_secret(HMAC_SECRET),
                DecodingKey::from_secret(HMAC_SECRET),
            )
        }
        Algorithm::EdDSA | Algorithm::ES256 => {
            let key = Key::generate(alg).unwrap();
            let pkcs8 = key.export_secret().unwrap();
            assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"));
            let (jwt_alg, encoding) = if alg == Algorithm::EdDSA {
                let enc = EncodingKey::from_ed_pem(pkcs8.as_bytes()).unwrap();
                (jsonwebtoken::Algorithm::EdDSA, enc)
            } else {
                let enc = EncodingKey::from_ec_pem(pkcs8.as_bytes()).unwrap();
                (jsonwebtoken::Algorithm::ES256, enc)
            };
            let decoding = DecodingKey::from_jwk(&jwk_of(&key)).unwrap();
            (jwt_alg, key, encoding, decoding)
        }
        Algorithm::RS256 => (
            jsonwebtoken::Algorithm::RS256,
            Key::from_pem(Algorithm::RS256, RSA_PRIVATE_PEM).unwrap(),
            EncodingKey::from_rsa_pem(RSA_PRIVATE_PEM.as_bytes()).unwrap(),
            DecodingKey::from_rsa_pem(RSA_PUBLIC_PEM.as_bytes()).unwrap(),
        ),
        other => panic!("no fixture for {other}"),
    };
    Fixture {
        jwt_alg,
        tessera,
        encoding,
        decoding,
    }
}

/// Tessera's public JWK, read by jsonwebtoken.
fn jwk_of(key: &Key) -> JwtJwk {
    serde_json::from_value(key.public_jwk().unwrap()).unwrap()
}

fn now() -> i64 {
    SystemClock.now()
}

fn tessera_claims(now: i64) -> Claims {
    Claims {
        token_type: TokenType::Access,
        user_id: UserId::new("42").unwrap(),
        jti: Jti::random().unwrap(),
        exp: now + 300,
        iat: Some(now),
        nbf: None,
        iss: None,
        aud: vec![],
        family: None,
        auth_time: None,
        extra: Default::default(),
    }
}

fn simplejwt_claims(now: i64) -> SimpleJwt {
    SimpleJwt {
        token_type: "access".into(),
        exp: now + 300,
        iat: now,
        jti: "7c2b4c5f0e9d4b1a8f3e6d2c1b0a9f8e".into(),
        user_id: "42".into(),
    }
}

/// jsonwebtoken's rules matched to Tessera's: exp required, no leeway, one
/// algorithm. The tokens carry no `aud`, so none is checked.
fn jwt_validation(alg: jsonwebtoken::Algorithm) -> jsonwebtoken::Validation {
    let mut v = jsonwebtoken::Validation::new(alg);
    v.leeway = 0;
    v.validate_aud = false;
    v
}

#[test]
fn tessera_tokens_verify_in_jsonwebtoken() {
    for alg in Algorithm::ALL {
        let f = fixture(alg);
        let kid = f.tessera.kid().as_str().to_owned();
        let jwt = Jwt::new(KeySet::new(f.tessera).unwrap(), Validation::default()).unwrap();
        let now = now();
        let claims = tessera_claims(now);
        let token = jwt.sign(&claims).unwrap();

        let data =
            jsonwebtoken::decode::<SimpleJwt>(&token, &f.decoding, &jwt_validation(f.jwt_alg))
                .unwrap_or_else(|e| panic!("{alg}: jsonwebtoken refused Tessera's token: {e}"));
        assert_eq!(data.header.alg, f.jwt_alg, "{alg}");
        assert_eq!(data.header.kid.as_deref(), Some(kid.as_str()), "{alg}");
        assert_eq!(data.header.typ.as_deref(), Some("JWT"), "{alg}");
        assert_eq!(
            data.claims,
            SimpleJwt {
                token_type: "access".into(),
                exp: claims.exp,
                iat: now,
                jti: claims.jti.as_str().into(),
                user_id: "42".into(),
            },
            "{alg}"
        );

        // The check is not vacuous: a changed signature is refused.
        let (input, sig) = token.rsplit_once('.').unwrap();
        let flipped = if sig.starts_with('A') { 'B' } else { 'A' };
        let forged = format!("{input}.{flipped}{}", &sig[1..]);
        assert!(
            jsonwebtoken::decode::<SimpleJwt>(&forged, &f.decoding, &jwt_validation(f.jwt_alg))
                .is_err(),
            "{alg}: jsonwebtoken accepted a forged signature"
        );
    }
}

#[test]
fn jsonwebtoken_tokens_verify_in_tessera_with_kid() {
    for alg in Algorithm::ALL {
        let f = fixture(alg);
        let mut header = Header::new(f.jwt_alg);
        header.kid = Some(f.tessera.kid().as_str().to_owned());
        let jwt = Jwt::new(KeySet::new(f.tessera).unwrap(), Validation::default()).unwrap();
        let now = now();
        let token = jsonwebtoken::encode(&header, &simplejwt_claims(now), &f.encoding).unwrap();

        let claims = jwt
            .verify(&token, Some(TokenType::Access), now)
            .unwrap_or_else(|e| panic!("{alg}: Tessera refused jsonwebtoken's token: {e}"));
        assert_simplejwt(&claims, now, alg);

        header.kid = Some("some-other-kid".into());
        let wrong_kid = jsonwebtoken::encode(&header, &simplejwt_claims(now), &f.encoding).unwrap();
        let e = jwt
            .verify(&wrong_kid, Some(TokenType::Access), now)
            .unwrap_err();
        assert_eq!(e.detail(), "unknown kid", "{alg}");
    }
}

#[test]
fn jsonwebtoken_tokens_without_kid_use_the_kidless_key() {
    for alg in Algorithm::ALL {
        let f = fixture(alg);
        let header = Header::new(f.jwt_alg);
        assert!(header.kid.is_none());
        let now = now();
        let token = jsonwebtoken::encode(&header, &simplejwt_claims(now), &f.encoding).unwrap();

        // A signing set takes kid-less tokens with its signing key, and a
        // verify-only set of one key with that key.
        let (copy, other_copy) = (verifying_copy(&f.tessera), verifying_copy(&f.tessera));
        let signing = Jwt::new(KeySet::new(f.tessera).unwrap(), Validation::default()).unwrap();
        let claims = signing
            .verify(&token, Some(TokenType::Access), now)
            .unwrap();
        assert_simplejwt(&claims, now, alg);
        let verify_only = Jwt::new(
            KeySet::verify_only(vec![copy]).unwrap(),
            Validation::default(),
        )
        .unwrap();
        let claims = verify_only
            .verify(&token, Some(TokenType::Access), now)
            .unwrap();
        assert_simplejwt(&claims, now, alg);

        // With no kid-less key configured, the same token is refused.
        let mut keys = KeySet::verify_only(vec![other_copy]).unwrap();
        keys.set_kidless(None).unwrap();
        let strict = Jwt::new(keys, Validation::default()).unwrap();
        let e = strict
            .verify(&token, Some(TokenType::Access), now)
            .unwrap_err();
        assert_eq!(e.code(), "token_invalid", "{alg}");
        assert_eq!(
            e.detail(),
            "token has no kid and no key accepts kid-less tokens",
            "{alg}"
        );
    }
}

#[test]
fn tessera_public_jwks_verify_rs256_in_jsonwebtoken() {
    // RS256 above used the SPKI PEM; the JWK route must agree.
    let key = Key::from_pem(Algorithm::RS256, RSA_PRIVATE_PEM).unwrap();
    let decoding = DecodingKey::from_jwk(&jwk_of(&key)).unwrap();
    let jwt = Jwt::new(KeySet::new(key).unwrap(), Validation::default()).unwrap();
    let now = now();
    let token = jwt.sign(&tessera_claims(now)).unwrap();
    let data = jsonwebtoken::decode::<SimpleJwt>(
        &token,
        &decoding,
        &jwt_validation(jsonwebtoken::Algorithm::RS256),
    )
    .unwrap();
    assert_eq!(data.claims.user_id, "42");
}

/// A key that verifies what `key` signs: the same secret for HMAC, the
/// public JWK otherwise (so the verify-only import path is exercised too).
fn verifying_copy(key: &Key) -> Key {
    if key.algorithm().is_symmetric() {
        Key::hmac(key.algorithm(), HMAC_SECRET).unwrap()
    } else {
        let copy = Key::from_jwk(&key.public_jwk().unwrap()).unwrap();
        assert!(!copy.can_sign());
        copy
    }
}

fn assert_simplejwt(claims: &Claims, now: i64, alg: Algorithm) {
    let want = simplejwt_claims(now);
    assert_eq!(claims.token_type, TokenType::Access, "{alg}");
    assert_eq!(claims.user_id.as_str(), want.user_id, "{alg}");
    assert_eq!(claims.jti.as_str(), want.jti, "{alg}");
    assert_eq!(claims.exp, want.exp, "{alg}");
    assert_eq!(claims.iat, Some(want.iat), "{alg}");
    assert!(claims.extra.is_empty(), "{alg}: {:?}", claims.extra);
}
