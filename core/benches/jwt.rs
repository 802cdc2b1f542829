//! JWT sign and verify: Tessera and `jsonwebtoken` side by side on the same
//! simplejwt-shaped access token, with raw HMAC-SHA256 over the same signing
//! input as the floor.
//!
//! Two floors are reported: keying HMAC afresh for each token (what a
//! verifier without precomputation pays) and cloning a pre-keyed state
//! (what Tessera's keys hold). jsonwebtoken's validation is set to match
//! Tessera's: `exp` required, no leeway, no audience (the token has none).
//! Both verifiers read the system clock on each call.
//!
//! Run: `cargo bench -p tessera --bench jwt`; results in docs/benchmarks.md.

// A failed unwrap in benchmark set-up is a failed benchmark; clippy.toml's
// allow-unwrap-in-tests covers only #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use tessera::{
    Algorithm, Claims, Clock, Jti, Jwt, Key, KeySet, SystemClock, TokenType, UserId, Validation,
    Verifier,
};

/// A Django-style `SECRET_KEY` (50 characters), simplejwt's default
/// signing key.
const SECRET: &[u8] = b"django-insecure-k3y-f0r-b3nchmarks-0nly-2x9q7w4e1r";

/// The simplejwt access-token claims, as jsonwebtoken reads and writes them.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SimpleJwt {
    token_type: String,
    exp: i64,
    iat: i64,
    jti: String,
    user_id: String,
}

fn claims(now: i64) -> Claims {
    Claims {
        token_type: TokenType::Access,
        user_id: UserId::new("42").unwrap(),
        jti: Jti::parse("7c2b4c5f0e9d4b1a8f3e6d2c1b0a9f8e").unwrap(),
        exp: now + 3600,
        iat: Some(now),
        nbf: None,
        iss: None,
        aud: vec![],
        family: None,
        auth_time: None,
        extra: Default::default(),
    }
}

fn simplejwt(now: i64) -> SimpleJwt {
    SimpleJwt {
        token_type: "access".into(),
        exp: now + 3600,
        iat: now,
        jti: "7c2b4c5f0e9d4b1a8f3e6d2c1b0a9f8e".into(),
        user_id: "42".into(),
    }
}

fn jwt_validation(alg: jsonwebtoken::Algorithm) -> jsonwebtoken::Validation {
    let mut v = jsonwebtoken::Validation::new(alg);
    v.leeway = 0;
    v.validate_aud = false;
    v
}

fn hs256(c: &mut Criterion) {
    let now = SystemClock.now();
    let key = Key::hmac(Algorithm::HS256, SECRET).unwrap();
    let kid = key.kid().as_str().to_owned();
    let jwt = Jwt::new(KeySet::new(key).unwrap(), Validation::default()).unwrap();
    let verifier = Verifier::new(
        KeySet::new(Key::hmac(Algorithm::HS256, SECRET).unwrap()).unwrap(),
        Validation::default(),
    )
    .unwrap();

    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid);
    let encoding = EncodingKey::from_secret(SECRET);
    let decoding = DecodingKey::from_secret(SECRET);
    let validation = jwt_validation(jsonwebtoken::Algorithm::HS256);

    let ours = jwt.sign(&claims(now)).unwrap();
    let theirs = jsonwebtoken::encode(&header, &simplejwt(now), &encoding).unwrap();
    // Both libraries accept both tokens before anything is timed.
    verifier.verify_access(&ours).unwrap();
    verifier.verify_access(&theirs).unwrap();
    jsonwebtoken::decode::<SimpleJwt>(&ours, &decoding, &validation).unwrap();
    jsonwebtoken::decode::<SimpleJwt>(&theirs, &decoding, &validation).unwrap();

    let mut g = c.benchmark_group("hs256_sign");
    let tessera_claims = claims(now);
    g.bench_function("tessera", |b| {
        b.iter(|| jwt.sign(black_box(&tessera_claims)).unwrap())
    });
    let their_claims = simplejwt(now);
    g.bench_function("jsonwebtoken", |b| {
        b.iter(|| {
            jsonwebtoken::encode(black_box(&header), black_box(&their_claims), &encoding).unwrap()
        })
    });
    g.finish();

    let signing_input = ours.rsplit_once('.').unwrap().0.as_bytes().to_vec();
    let prekeyed = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET).unwrap();
    let mut g = c.benchmark_group("hs256_verify");
    g.bench_function("tessera", |b| {
        b.iter(|| verifier.verify_access(black_box(&ours)).unwrap())
    });
    g.bench_function("tessera_foreign_header", |b| {
        b.iter(|| verifier.verify_access(black_box(&theirs)).unwrap())
    });
    g.bench_function("jsonwebtoken", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<SimpleJwt>(black_box(&ours), &decoding, &validation).unwrap()
        })
    });
    g.bench_function("hmac_floor_fresh_key", |b| {
        b.iter(|| {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(black_box(SECRET)).unwrap();
            mac.update(black_box(&signing_input));
            mac.finalize().into_bytes()
        })
    });
    g.bench_function("hmac_floor_prekeyed", |b| {
        b.iter(|| {
            let mut mac = black_box(&prekeyed).clone();
            mac.update(black_box(&signing_input));
            mac.finalize().into_bytes()
        })
    });
    g.finish();
}

fn asymmetric(c: &mut Criterion) {
    let now = SystemClock.now();
    for (alg, jwt_alg, group) in [
        (
            Algorithm::EdDSA,
            jsonwebtoken::Algorithm::EdDSA,
            "eddsa_verify",
        ),
        (
            Algorithm::ES256,
            jsonwebtoken::Algorithm::ES256,
            "es256_verify",
        ),
    ] {
        let key = Key::generate(alg).unwrap();
        let public = key.public_jwk().unwrap();
        let jwt = Jwt::new(KeySet::new(key).unwrap(), Validation::default()).unwrap();
        let token = jwt.sign(&claims(now)).unwrap();
        let verifier =
            Verifier::from_keys(vec![Key::from_jwk(&public).unwrap()], Validation::default())
                .unwrap();
        let decoding = DecodingKey::from_jwk(&serde_json::from_value(public).unwrap()).unwrap();
        let validation = jwt_validation(jwt_alg);
        verifier.verify_access(&token).unwrap();
        jsonwebtoken::decode::<SimpleJwt>(&token, &decoding, &validation).unwrap();

        let mut g = c.benchmark_group(group);
        g.bench_function("tessera", |b| {
            b.iter(|| verifier.verify_access(black_box(&token)).unwrap())
        });
        g.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<SimpleJwt>(black_box(&token), &decoding, &validation)
                    .unwrap()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, hs256, asymmetric);
criterion_main!(benches);
