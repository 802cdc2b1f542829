//! Arbitrary payload bytes, signed by the target itself with HS256 so that
//! every input reaches claim validation. Tessera must accept exactly the
//! payloads the independent checker (`tessera_fuzz::claims_check`) accepts,
//! and read the same claims from them.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tessera::{jws, Claims, Jwt, TokenType, Validation};
use tessera_fuzz::claims_check::{Bounds, Expected, Rules};
use tessera_fuzz::keys;

/// The verifier's clock.
const NOW: i64 = 1_700_000_000;

static SETUP: LazyLock<Vec<(Jwt, Rules)>> = LazyLock::new(|| {
    let mut strict = Validation::default();
    strict.issuer = Some("https://id.example".into());
    strict.audience = Some("api".into());
    strict.leeway = 30;
    strict.user_id_claim = "sub".into();
    strict.token_type_claim = "typ".into();
    strict.limits.max_json_depth = 3;
    strict.limits.max_claims = 12;
    strict.limits.max_string_bytes = 64;
    let bounds = |v: &Validation| Bounds {
        depth: v.limits.max_json_depth,
        members: v.limits.max_claims,
        string: v.limits.max_string_bytes,
    };
    let default = Validation::default();
    let rules = [
        Rules {
            type_claim: "token_type",
            user_claim: "user_id",
            issuer: None,
            audience: None,
            leeway: 0,
            max_token: default.limits.max_token_bytes,
            bounds: bounds(&default),
        },
        Rules {
            type_claim: "typ",
            user_claim: "sub",
            issuer: Some("https://id.example"),
            audience: Some("api"),
            leeway: 30,
            max_token: strict.limits.max_token_bytes,
            bounds: bounds(&strict),
        },
    ];
    [default, strict]
        .into_iter()
        .zip(rules)
        .map(|(v, r)| {
            let jwt = Jwt::new(keys::single(keys::hs256()), v).expect("valid rules");
            (jwt, r)
        })
        .collect()
});

fuzz_target!(|payload: &[u8]| {
    let key = keys::hs256();
    let token = jws::sign(&key, payload).expect("HMAC signing cannot fail");
    for (jwt, rules) in SETUP.iter() {
        for expected in [None, Some(TokenType::Access), Some(TokenType::Refresh)] {
            let got = jwt.verify(&token, expected, NOW);
            let want = rules.check(token.len(), payload, expected.map(TokenType::as_str), NOW);
            match (&got, &want) {
                (Ok(claims), Some(want)) => assert_eq!(&read(claims), want),
                (Err(_), None) => {}
                _ => panic!(
                    "Tessera: {got:?}\nchecker: {want:?}\nrules: {rules:?}, expected {expected:?}\npayload: {}",
                    String::from_utf8_lossy(payload)
                ),
            }
        }
    }
});

fn read(c: &Claims) -> Expected {
    let mut extra: Vec<String> = c.extra.keys().cloned().collect();
    extra.sort();
    Expected {
        token_type: c.token_type.as_str().into(),
        user_id: c.user_id.as_str().into(),
        jti: c.jti.as_str().into(),
        exp: c.exp,
        iat: c.iat,
        nbf: c.nbf,
        iss: c.iss.clone(),
        aud: c.aud.clone(),
        sid: c.family.as_ref().map(|f| f.as_str().into()),
        auth_time: c.auth_time,
        extra,
    }
}
