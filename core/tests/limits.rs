//! Every bound on untrusted input, one test each, with the configured
//! limits honoured and the refusal made before the costly step: a token
//! over the size limit is refused before any byte is decoded, a PAT of the
//! wrong length before any hashing or store access. The default limits'
//! exact edges (8 KiB, 1 KiB, 8 levels, 64 members) are in malformed.rs.

// A failed unwrap in test helpers is a failed test; clippy.toml's
// allow-unwrap-in-tests covers only #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tessera::internal::base64url;
use tessera::{Jwt, Limits, TokenType, Validation};

use common::*;

const PAYLOAD_HEAD: &str = r#"{"token_type":"access","exp":1700000600,"jti":"0123456789abcdef0123456789abcdef","user_id":"42""#;

/// An HS256 token over exactly `header` and `payload`.
fn token(header: &str, payload: &str) -> String {
    let signed = format!(
        "{}.{}",
        base64url::encode(header.as_bytes()),
        base64url::encode(payload.as_bytes())
    );
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET).unwrap();
    mac.update(signed.as_bytes());
    format!(
        "{signed}.{}",
        base64url::encode(&mac.finalize().into_bytes())
    )
}

/// A payload with `extra` appended to the required claims.
fn payload(extra: &str) -> String {
    format!("{PAYLOAD_HEAD}{extra}}}")
}

/// A JWT verifier under `limits`.
fn jwt(limits: Limits) -> Jwt {
    let mut v = Validation::default();
    v.limits = limits;
    Jwt::new(keys(), v).unwrap()
}

fn detail(jwt: &Jwt, token: &str) -> String {
    jwt.verify(token, Some(TokenType::Access), T0)
        .unwrap_err()
        .detail()
        .to_owned()
}

#[test]
fn megabyte_token_is_refused_before_any_decoding() {
    let jwt = jwt(Limits::default());
    // Not base64url and not three segments: any decoding step would name
    // those faults; the size check comes first.
    for body in [
        "!".repeat(1 << 20),
        format!("{}.{}.{}", "!".repeat(1 << 19), "!", "!"),
    ] {
        assert_eq!(detail(&jwt, &body), "token exceeds the size limit");
    }
}

#[test]
fn token_size_limit_is_configurable() {
    let t = token(r#"{"alg":"HS256"}"#, &payload(""));
    let mut limits = Limits::default();
    limits.max_token_bytes = t.len();
    jwt(limits).verify(&t, None, T0).unwrap();
    limits.max_token_bytes = t.len() - 1;
    assert_eq!(detail(&jwt(limits), &t), "token exceeds the size limit");
}

#[test]
fn oversized_header_is_refused_before_it_is_decoded() {
    let jwt = jwt(Limits::default());
    let t = format!("{}.e30.AAAA", "!".repeat(1025));
    assert_eq!(detail(&jwt, &t), "header exceeds the size limit");

    let header = r#"{"alg":"HS256","typ":"JWT"}"#;
    let t = token(header, &payload(""));
    let mut limits = Limits::default();
    limits.max_header_bytes = base64url::encode(header.as_bytes()).len();
    self::jwt(limits).verify(&t, None, T0).unwrap();
    limits.max_header_bytes -= 1;
    assert_eq!(
        detail(&self::jwt(limits), &t),
        "header exceeds the size limit"
    );
}

#[test]
fn json_depth_limit_is_configurable_in_header_and_payload() {
    let mut limits = Limits::default();
    limits.max_json_depth = 2;
    let jwt = jwt(limits);
    jwt.verify(
        &token(r#"{"alg":"HS256"}"#, &payload(r#","a":[1]"#)),
        None,
        T0,
    )
    .unwrap();
    assert_eq!(
        detail(
            &jwt,
            &token(r#"{"alg":"HS256"}"#, &payload(r#","a":[[1]]"#))
        ),
        "payload: JSON nested too deeply"
    );
    assert_eq!(
        detail(
            &jwt,
            &token(r#"{"alg":"HS256","x":{"y":{}}}"#, &payload(""))
        ),
        "header: JSON nested too deeply"
    );
}

#[test]
fn claim_count_limit_is_configurable() {
    let mut limits = Limits::default();
    limits.max_claims = 8;
    let jwt = jwt(limits);
    // Four required claims and four extra: eight members.
    let four = r#","a":1,"b":2,"c":3,"d":4"#;
    jwt.verify(&token(r#"{"alg":"HS256"}"#, &payload(four)), None, T0)
        .unwrap();
    assert_eq!(
        detail(
            &jwt,
            &token(r#"{"alg":"HS256"}"#, &payload(&format!("{four},\"e\":5")))
        ),
        "payload: too many JSON members"
    );
    let nine = format!(r#","a":[{}]"#, ["0"; 9].join(","));
    assert_eq!(
        detail(&jwt, &token(r#"{"alg":"HS256"}"#, &payload(&nine))),
        "payload: too many JSON array items"
    );
}

#[test]
fn claim_string_limit_is_configurable_for_values_and_names() {
    let mut limits = Limits::default();
    limits.max_string_bytes = 40;
    let jwt = jwt(limits);
    let ok = format!(r#","note":"{}""#, "é".repeat(20));
    jwt.verify(&token(r#"{"alg":"HS256"}"#, &payload(&ok)), None, T0)
        .unwrap();
    // Bytes, not characters, and after unescaping.
    let long = format!(r#","note":"{}\u00e9""#, "é".repeat(20));
    assert_eq!(
        detail(&jwt, &token(r#"{"alg":"HS256"}"#, &payload(&long))),
        "payload: JSON string too long"
    );
    let name = format!(r#","{}":1"#, "n".repeat(41));
    assert_eq!(
        detail(&jwt, &token(r#"{"alg":"HS256"}"#, &payload(&name))),
        "payload: JSON member name too long"
    );
}

#[test]
fn limits_that_admit_no_token_are_config_invalid() {
    let floors: [fn(&mut Limits); 5] = [
        |l| l.max_token_bytes = 63,
        |l| l.max_header_bytes = 15,
        |l| l.max_json_depth = 0,
        |l| l.max_claims = 7,
        |l| l.max_string_bytes = 31,
    ];
    for lower in floors {
        let mut v = Validation::default();
        lower(&mut v.limits);
        assert_eq!(Jwt::new(keys(), v).unwrap_err().code(), "config_invalid");
    }
}

#[test]
fn pat_of_the_wrong_length_is_refused_before_the_store() {
    let (e, _) = engine();
    let good = e.create_pat("42", "ci", None, vec![]).unwrap().token;
    let before = e.store_transactions();
    for bad in [
        format!("{good}A"),
        good[..good.len() - 1].to_owned(),
        format!("tsr_pat_{}", "A".repeat(1 << 20)),
        String::new(),
    ] {
        let err = e.verify_pat(&bad).unwrap_err();
        assert_eq!((err.code(), err.detail()), ("pat_invalid", "wrong length"));
    }
    assert_eq!(e.store_transactions(), before);
    e.verify_pat(&good).unwrap();
}
