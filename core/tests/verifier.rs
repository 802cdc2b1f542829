//! The stateless verifier, built from what a server publishes. One test per
//! rule or failure mode.

// A failed unwrap in test helpers is a failed test; clippy.toml's
// allow-unwrap-in-tests covers only #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use serde_json::{Map, Value};
use tessera::{
    Algorithm, Engine, EngineConfig, Key, KeySet, ManualClock, TokenType, Validation, Verifier,
};

/// An engine signing with a fresh asymmetric key, on a manual clock.
fn server(alg: Algorithm, validation: Validation) -> (Engine, ManualClock) {
    let clock = ManualClock::new(T0);
    let mut cfg = EngineConfig::new(KeySet::new(Key::generate(alg).unwrap()).unwrap());
    cfg.validation = validation;
    cfg.clock = Arc::new(clock.clone());
    (Engine::in_memory(cfg).unwrap(), clock)
}

fn verifier(jwks: &str, validation: Validation, clock: &ManualClock) -> Verifier {
    Verifier::from_jwks(jwks, validation)
        .unwrap()
        .with_clock(Arc::new(clock.clone()))
}

fn with_issuer_and_audience(iss: &str, aud: &str) -> Validation {
    let mut v = Validation::default();
    v.issuer = Some(iss.into());
    v.audience = Some(aud.into());
    v
}

#[test]
fn verifier_from_engine_jwks_accepts_its_tokens() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256] {
        let (engine, clock) = server(alg, Validation::default());
        let mut extra = Map::new();
        extra.insert("role".into(), Value::from("admin"));
        let pair = engine.issue("42", extra).unwrap();
        let v = verifier(&engine.jwks(), Validation::default(), &clock);
        let claims = v.verify_access(&pair.access).unwrap();
        assert_eq!(claims.user_id.as_str(), "42", "{alg}");
        assert_eq!(claims.extra["role"], "admin");
        assert_eq!(
            claims.family,
            engine.verify_access(&pair.access).unwrap().family
        );
        let refresh = v.verify(&pair.refresh, TokenType::Refresh).unwrap();
        assert_eq!(refresh.token_type, TokenType::Refresh);
    }
}

/// `Engine::verifier` shares the engine's keys, rules and clock, and reads
/// no store: it accepts the engine's tokens whatever the sessions' state,
/// and applies the engine's time rules on the engine's clock.
#[test]
fn engine_verifier_checks_claims_without_the_store() {
    for alg in [Algorithm::HS256, Algorithm::EdDSA] {
        let clock = ManualClock::new(T0);
        let key = match alg {
            Algorithm::HS256 => Key::hmac(alg, &[7u8; 32]).unwrap(),
            _ => Key::generate(alg).unwrap(),
        };
        let mut cfg = EngineConfig::new(KeySet::new(key).unwrap());
        cfg.clock = Arc::new(clock.clone());
        let engine = Engine::in_memory(cfg).unwrap();
        let v = engine.verifier();
        let pair = engine.issue("42", Map::new()).unwrap();
        let refresh = v.verify(&pair.refresh, TokenType::Refresh).unwrap();
        assert_eq!(refresh.user_id.as_str(), "42", "{alg}");
        assert_eq!(
            refresh.family,
            engine.verify_refresh(&pair.refresh).unwrap().family
        );
        let before = engine.store_transactions();
        engine.revoke(&pair.refresh).unwrap();
        assert_eq!(
            engine.verify_access(&pair.access).unwrap_err().code(),
            "token_revoked"
        );
        // Stateless: the logout is invisible to it, by design.
        let after = engine.store_transactions();
        assert!(v.verify_access(&pair.access).is_ok());
        assert_eq!(
            engine.store_transactions(),
            after,
            "the verifier read the store"
        );
        assert!(after > before);
        // The engine's clock: an hour on, the access token has expired.
        clock.advance(3600);
        assert_eq!(
            v.verify_access(&pair.access).unwrap_err().code(),
            "token_expired"
        );
        let other = Engine::in_memory(EngineConfig::new(
            KeySet::new(Key::generate(Algorithm::EdDSA).unwrap()).unwrap(),
        ))
        .unwrap();
        let foreign = other.issue("42", Map::new()).unwrap();
        assert_eq!(
            v.verify(&foreign.refresh, TokenType::Refresh)
                .unwrap_err()
                .code(),
            "token_invalid"
        );
    }
}

#[test]
fn verifier_from_public_keys_accepts_the_engines_tokens() {
    let (engine, clock) = server(Algorithm::EdDSA, Validation::default());
    let jwks: Value = serde_json::from_str(&engine.jwks()).unwrap();
    let key = Key::from_jwk(&jwks["keys"][0]).unwrap();
    assert!(!key.can_sign());
    let v = Verifier::from_keys(vec![key], Validation::default())
        .unwrap()
        .with_clock(Arc::new(clock));
    let pair = engine.issue("7", Map::new()).unwrap();
    assert_eq!(v.verify_access(&pair.access).unwrap().user_id.as_str(), "7");
}

#[test]
fn token_from_another_key_is_token_invalid() {
    let (engine, clock) = server(Algorithm::EdDSA, Validation::default());
    let (other, _) = server(Algorithm::EdDSA, Validation::default());
    let pair = engine.issue("42", Map::new()).unwrap();

    // Another server's keys: the kid is unknown.
    let v = verifier(&other.jwks(), Validation::default(), &clock);
    let e = v.verify_access(&pair.access).unwrap_err();
    assert_eq!((e.code(), e.detail()), ("token_invalid", "unknown kid"));

    // Another key published under the same kid: the signature fails.
    let kid = serde_json::from_str::<Value>(&engine.jwks()).unwrap()["keys"][0]["kid"].clone();
    let mut impostor = serde_json::from_str::<Value>(&other.jwks()).unwrap()["keys"][0].clone();
    impostor["kid"] = kid;
    let v = Verifier::from_keys(
        vec![Key::from_jwk(&impostor).unwrap()],
        Validation::default(),
    )
    .unwrap()
    .with_clock(Arc::new(clock));
    let e = v.verify_access(&pair.access).unwrap_err();
    assert_eq!(
        (e.code(), e.detail()),
        ("token_invalid", "signature does not verify")
    );
}

#[test]
fn expired_token_is_token_expired_outside_the_leeway() {
    let (engine, clock) = server(Algorithm::EdDSA, Validation::default());
    let pair = engine.issue("42", Map::new()).unwrap();
    let strict = verifier(&engine.jwks(), Validation::default(), &clock);
    let mut lenient_rules = Validation::default();
    lenient_rules.leeway = 60;
    let lenient = verifier(&engine.jwks(), lenient_rules, &clock);
    clock.advance(899);
    assert!(strict.verify_access(&pair.access).is_ok());
    clock.advance(1);
    assert_eq!(
        strict.verify_access(&pair.access).unwrap_err().code(),
        "token_expired"
    );
    assert!(lenient.verify_access(&pair.access).is_ok());
    clock.advance(60);
    assert_eq!(
        lenient.verify_access(&pair.access).unwrap_err().code(),
        "token_expired"
    );
}

#[test]
fn issuer_and_audience_must_match() {
    let rules = with_issuer_and_audience("https://id.example", "app");
    let (engine, clock) = server(Algorithm::EdDSA, rules.clone());
    let pair = engine.issue("42", Map::new()).unwrap();
    let jwks = engine.jwks();

    let claims = verifier(&jwks, rules, &clock)
        .verify_access(&pair.access)
        .unwrap();
    assert_eq!(claims.iss.as_deref(), Some("https://id.example"));
    assert_eq!(claims.aud, ["app"]);

    let cases = [
        (
            with_issuer_and_audience("https://evil.example", "app"),
            "issuer does not match",
        ),
        (
            with_issuer_and_audience("https://id.example", "other-app"),
            "audience does not match",
        ),
        (
            Validation::default(),
            "token has an audience but none is configured",
        ),
    ];
    for (rules, detail) in cases {
        let e = verifier(&jwks, rules, &clock)
            .verify_access(&pair.access)
            .unwrap_err();
        assert_eq!((e.code(), e.detail()), ("token_invalid", detail));
    }
}

#[test]
fn wrong_token_type_is_token_wrong_type() {
    let (engine, clock) = server(Algorithm::EdDSA, Validation::default());
    let pair = engine.issue("42", Map::new()).unwrap();
    let v = verifier(&engine.jwks(), Validation::default(), &clock);
    assert_eq!(
        v.verify_access(&pair.refresh).unwrap_err().code(),
        "token_wrong_type"
    );
    assert_eq!(
        v.verify(&pair.access, TokenType::Refresh)
            .unwrap_err()
            .code(),
        "token_wrong_type"
    );
}

#[test]
fn seconds_until_expiry_counts_down_for_either_type() {
    let (engine, clock) = server(Algorithm::EdDSA, Validation::default());
    let pair = engine.issue("42", Map::new()).unwrap();
    let v = verifier(&engine.jwks(), Validation::default(), &clock);
    assert_eq!(v.seconds_until_expiry(&pair.access).unwrap(), 900);
    assert_eq!(v.seconds_until_expiry(&pair.refresh).unwrap(), 14 * 86_400);
    clock.advance(100);
    assert_eq!(v.seconds_until_expiry(&pair.access).unwrap(), 800);
    clock.advance(800);
    assert_eq!(
        v.seconds_until_expiry(&pair.access).unwrap_err().code(),
        "token_expired"
    );
}

#[test]
fn seconds_until_expiry_still_checks_the_signature() {
    let (engine, clock) = server(Algorithm::EdDSA, Validation::default());
    let pair = engine.issue("42", Map::new()).unwrap();
    let v = verifier(&engine.jwks(), Validation::default(), &clock);

    // A payload claiming a later exp, under the original signature.
    let parts: Vec<&str> = pair.access.split('.').collect();
    let payload = tessera::internal::base64url::decode(parts[1].as_bytes()).unwrap();
    let mut claims: Value = serde_json::from_slice(&payload).unwrap();
    claims["exp"] = Value::from(T0 + 86_400);
    let forged_payload = tessera::internal::base64url::encode(claims.to_string().as_bytes());
    let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    let e = v.seconds_until_expiry(&forged).unwrap_err();
    assert_eq!(
        (e.code(), e.detail()),
        ("token_invalid", "signature does not verify")
    );

    // A token of another server is refused as well.
    let (other, _) = server(Algorithm::EdDSA, Validation::default());
    let theirs = other.issue("42", Map::new()).unwrap();
    assert_eq!(
        v.seconds_until_expiry(&theirs.access).unwrap_err().code(),
        "token_invalid"
    );
}

#[test]
fn hmac_engine_publishes_no_keys_to_verify_with() {
    let (engine, clock) = engine();
    let pair = engine.issue("42", Map::new()).unwrap();
    assert_eq!(engine.jwks(), r#"{"keys":[]}"#);
    let v = verifier(&engine.jwks(), Validation::default(), &clock);
    assert_eq!(
        v.verify_access(&pair.access).unwrap_err().code(),
        "token_invalid"
    );
}

#[test]
fn malformed_jwks_is_config_invalid() {
    for bad in [
        "",
        "[]",
        "{}",
        r#"{"keys":{}}"#,
        r#"{"keys":[{"kty":"RSA"}]}"#,
    ] {
        assert_eq!(
            Verifier::from_jwks(bad, Validation::default())
                .unwrap_err()
                .code(),
            "config_invalid",
            "{bad}"
        );
    }
}

#[test]
fn bad_validation_is_config_invalid() {
    let (engine, _) = server(Algorithm::EdDSA, Validation::default());
    let mut rules = Validation::default();
    rules.issuer = Some(String::new());
    assert_eq!(
        Verifier::from_jwks(&engine.jwks(), rules)
            .unwrap_err()
            .code(),
        "config_invalid"
    );
}
