//! Redaction: formatting any public value, with `Debug` and, where it is
//! implemented, `Display`, shows no secret. Secrets here are HMAC secrets,
//! private keys, the PAT pepper, database passwords, and bearer tokens
//! (access, refresh and personal access tokens).
//!
//! A secret counts as shown if any 12-character window of it appears in
//! the output, in any of the spellings the crate uses for it (raw text,
//! base64url, hex, PEM body). The PAT's display prefix deliberately shows
//! 4 characters of the secret, below the window.

// A failed unwrap in test helpers is a failed test; clippy.toml's
// allow-unwrap-in-tests covers only #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use serde_json::json;
use tessera::internal::base64url;
use tessera::{
    Algorithm, Engine, EngineConfig, Error, Jwt, Key, KeySet, ManualClock, PatConfig,
    StoreLocation, TokenKeeper, TokenPair, Validation, Verifier,
};
use zeroize::Zeroizing;

use common::{Recorder, T0};

const WINDOW: usize = 12;

/// Everything secret that the test made, in every spelling.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, label: &str, secret: &str) {
        assert!(secret.len() >= WINDOW, "{label} is too short to search for");
        self.0.push((label.to_owned(), secret.to_owned()));
    }

    fn add_bytes(&mut self, label: &str, bytes: &[u8]) {
        self.add(&format!("{label} (base64url)"), &base64url::encode(bytes));
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.add(&format!("{label} (hex)"), &hex);
        if let Ok(text) = std::str::from_utf8(bytes) {
            self.add(&format!("{label} (text)"), text);
        }
    }

    /// A private key exported as PEM: each base64 line of its body.
    fn add_pem(&mut self, label: &str, pem: &str) {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        self.add(label, &body);
    }

    fn assert_hidden(&self, what: &str, shown: &str) {
        for (label, secret) in &self.0 {
            let chars: Vec<char> = secret.chars().collect();
            for w in chars.windows(WINDOW) {
                let w: String = w.iter().collect();
                assert!(
                    !shown.contains(&w),
                    "{what} shows part of {label}: {w:?} in\n{shown}"
                );
            }
        }
    }
}

/// Checks the `Debug` of each value.
macro_rules! debug_hidden {
    ($secrets:expr, $($value:expr),+ $(,)?) => {
        $( $secrets.assert_hidden(stringify!($value), &format!("{:?} {:#?}", $value, $value)); )+
    };
}

/// Checks the `Display` of each value.
macro_rules! display_hidden {
    ($secrets:expr, $($value:expr),+ $(,)?) => {
        $( $secrets.assert_hidden(stringify!($value), &format!("{}", $value)); )+
    };
}

fn rsa_pem() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/rsa2048.pem"
    ))
    .unwrap()
}

#[test]
fn no_public_type_formats_a_secret() {
    let mut secrets = Secrets::default();

    // Keys of every algorithm, and the sets holding them.
    let hmac_secret = b"redaction-test HS256 secret: do not print me";
    let hs = Key::hmac(Algorithm::HS256, hmac_secret).unwrap();
    secrets.add_bytes("HMAC secret", hmac_secret);
    let mut keys = Vec::new();
    for alg in [
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::EdDSA,
        Algorithm::ES256,
    ] {
        let key = Key::generate(alg).unwrap();
        let exported = key.export_secret().unwrap();
        if alg.is_symmetric() {
            secrets.add(&format!("{alg} secret"), &exported);
            secrets.add_bytes(
                &format!("{alg} secret"),
                &base64url::decode(exported.as_bytes()).unwrap(),
            );
        } else {
            secrets.add_pem(&format!("{alg} private key"), &exported);
        }
        keys.push(key);
    }
    let rs = Key::from_pem(Algorithm::RS256, &rsa_pem()).unwrap();
    secrets.add_pem("RS256 private key", &rsa_pem());
    secrets.add_pem("RS256 private key (PKCS#8)", &rs.export_secret().unwrap());
    for key in &keys {
        debug_hidden!(secrets, key);
        display_hidden!(secrets, key.kid(), key.algorithm());
    }
    debug_hidden!(secrets, rs);
    let mut set = KeySet::new(Key::hmac(Algorithm::HS256, hmac_secret).unwrap()).unwrap();
    for key in keys {
        set.add(key).unwrap();
    }
    set.add(rs).unwrap();
    debug_hidden!(secrets, set, hs);

    // The engine and its configuration, with a pepper.
    let pepper = b"redaction-test PAT pepper, 32+ bytes long".to_vec();
    secrets.add_bytes("pepper", &pepper);
    let clock = ManualClock::new(T0);
    let recorder = Arc::new(Recorder::default());
    let mut config = EngineConfig::new(set);
    config.clock = Arc::new(clock.clone());
    config.events = Some(recorder.clone());
    let mut pat_config = PatConfig::default();
    pat_config.pepper = Some(Zeroizing::new(pepper));
    config.pat = pat_config;
    debug_hidden!(secrets, config, config.pat, config.validation);
    let engine = Engine::in_memory(config).unwrap();

    // Tokens: a pair, its rotation, a replay, a logout, and PATs.
    let pair = engine
        .issue(
            "alice",
            json!({"role": "admin"}).as_object().unwrap().clone(),
        )
        .unwrap();
    add_pair(&mut secrets, &pair);
    let next = engine.refresh(&pair.refresh).unwrap();
    add_pair(&mut secrets, &next);
    let last = engine.refresh(&next.refresh).unwrap();
    add_pair(&mut secrets, &last);
    // A grandparent: a replay even inside the convergence window.
    let mut errors: Vec<Error> = vec![engine.refresh(&pair.refresh).unwrap_err()];
    errors.push(engine.verify_access(&next.access).unwrap_err());
    let other = engine.issue("bob", Default::default()).unwrap();
    add_pair(&mut secrets, &other);
    engine.revoke(&other.refresh).unwrap();
    errors.push(engine.verify_refresh(&other.refresh).unwrap_err());
    errors.push(
        engine
            .verify_access(&format!("{}x", other.access))
            .unwrap_err(),
    );
    errors.push(engine.verify_access(&other.refresh).unwrap_err());
    let new_pat = engine
        .create_pat("alice", "ci", Some(T0 + 3600), vec!["repo:read".into()])
        .unwrap();
    // The secret and checksum, without the public prefix: the display
    // prefix shows the prefix and 4 characters of the secret.
    secrets.add("PAT secret", &new_pat.token["tsr_pat_".len()..]);
    let pat = engine.verify_pat(&new_pat.token).unwrap();
    errors.push(
        engine
            .verify_pat(&format!("{}x", new_pat.token))
            .unwrap_err(),
    );
    let mut damaged = new_pat.token.clone().into_bytes();
    damaged[20] ^= 1;
    errors.push(
        engine
            .verify_pat(std::str::from_utf8(&damaged).unwrap())
            .unwrap_err(),
    );
    engine.revoke_pat("alice", &pat.id).unwrap();
    errors.push(engine.verify_pat(&new_pat.token).unwrap_err());
    clock.advance(7200);
    errors.push(engine.verify_access(&next.access).unwrap_err());
    errors.push(engine.issue("", Default::default()).unwrap_err());
    debug_hidden!(
        secrets,
        pair,
        next,
        new_pat,
        pat,
        engine,
        engine.sessions("alice").unwrap(),
        engine.stats().unwrap(),
        engine.validation(),
    );

    // Errors from key import, configuration and the verifier.
    errors.push(Key::hmac(Algorithm::HS256, &hmac_secret[..20]).unwrap_err());
    let pem = rsa_pem();
    errors.push(Key::from_pem(Algorithm::ES256, &pem).unwrap_err());
    errors.push(Key::from_pem(Algorithm::RS256, &pem.replace('M', "N")).unwrap_err());
    errors.push(
        Key::from_jwk(
            &json!({"kty": "oct", "alg": "HS256", "k": base64url::encode(&hmac_secret[..20])}),
        )
        .unwrap_err(),
    );
    let mut short_pepper =
        EngineConfig::new(KeySet::new(Key::hmac(Algorithm::HS256, hmac_secret).unwrap()).unwrap());
    let mut p = PatConfig::default();
    p.pepper = Some(Zeroizing::new(hmac_secret[..20].to_vec()));
    short_pepper.pat = p;
    errors.push(Engine::in_memory(short_pepper).unwrap_err());
    let verifier = Verifier::new(
        KeySet::new(Key::hmac(Algorithm::HS256, hmac_secret).unwrap()).unwrap(),
        Validation::default(),
    )
    .unwrap();
    errors.push(verifier.verify_access(&other.access).unwrap_err());
    let jwt = Jwt::new(
        KeySet::new(Key::hmac(Algorithm::HS256, hmac_secret).unwrap()).unwrap(),
        Validation::default(),
    )
    .unwrap();
    debug_hidden!(secrets, verifier, jwt);
    for e in &errors {
        debug_hidden!(secrets, e);
        display_hidden!(secrets, e);
    }

    // Audit events.
    let events = recorder.0.lock().unwrap().clone();
    assert!(events.len() >= 8, "{events:?}");
    for event in &events {
        debug_hidden!(secrets, event);
        display_hidden!(secrets, event.kind);
    }

    // The client-side keeper and what it hands out.
    let keeper = TokenKeeper::in_memory().with_clock(Arc::new(ManualClock::new(T0 + 1)));
    keeper.set(&next).unwrap();
    debug_hidden!(secrets, keeper);
    let access = keeper
        .access_token(&|_: &str| -> tessera::Result<TokenPair> {
            Err(Error::Storage("offline".into()))
        })
        .unwrap();
    debug_hidden!(secrets, access);

    // A database URL with credentials.
    let url = "postgres://tessera:redaction-db-password@db.internal:5432/auth?password=redaction-query-password";
    secrets.add("database password", "redaction-db-password");
    secrets.add("database password (query)", "redaction-query-password");
    debug_hidden!(secrets, StoreLocation::parse(url));
    display_hidden!(secrets, StoreLocation::parse(url));
    assert_eq!(
        StoreLocation::parse(url).to_string(),
        "postgres://db.internal:5432/auth"
    );
}

/// Adds both tokens of a pair: each whole, and each signature.
fn add_pair(secrets: &mut Secrets, pair: &TokenPair) {
    for (label, token) in [
        ("access token", &pair.access),
        ("refresh token", &pair.refresh),
    ] {
        secrets.add(label, token);
        let sig = token.rsplit('.').next().unwrap();
        secrets.add(&format!("{label} signature"), sig);
    }
}

/// The search itself finds a secret when one is shown, in each spelling.
#[test]
fn the_check_catches_a_shown_secret() {
    let mut secrets = Secrets::default();
    let secret = b"0123456789abcdef-secret";
    secrets.add_bytes("secret", secret);
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    for shown in [
        format!(
            "Key {{ secret: {:?} }}",
            std::str::from_utf8(secret).unwrap()
        ),
        format!("k={}", base64url::encode(secret)),
        format!("k={}", &hex[4..30]),
    ] {
        let caught = std::panic::catch_unwind(|| secrets.assert_hidden("control", &shown));
        assert!(caught.is_err(), "missed the secret in {shown}");
    }
    secrets.assert_hidden("control", "nothing to see");
}
