//! Malformed tokens, each refused with an exact error code and detail.
//!
//! Every token in the table is signed with the verifier's own HMAC secret
//! over exactly the header and payload segments it carries, so the failure
//! is the one under test and never a signature failure (except where the
//! signature itself is the subject). Positive controls check that the
//! builders make tokens that verify when left unmodified.

// A failed unwrap in test helpers is a failed test; clippy.toml's
// allow-unwrap-in-tests covers only #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use tessera::internal::base64url;
use tessera::{Algorithm, Error, Key, KeySet, ManualClock, TokenType, Validation, Verifier};

const NOW: i64 = 1_700_000_000;
const SECRET: &[u8] = b"tessera malformed-token suite, HS256 secret";
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
const JTI: &str = r#""0123456789abcdef0123456789abcdef""#;

/// Which verifier a case is presented to.
#[derive(Clone, Copy, Debug)]
enum Keys {
    /// The HS256 secret the table signs with; no audience configured.
    Hs,
    /// The same secret, with audience `api` required.
    HsAudience,
    /// A verify-only Ed25519 public key.
    Ed,
    /// A verify-only P-256 public key.
    Es,
}

struct Case {
    name: String,
    keys: Keys,
    token: String,
    code: &'static str,
    detail: &'static str,
}

struct Verifiers {
    hs: Verifier,
    hs_audience: Verifier,
    ed: Verifier,
    es: Verifier,
    /// The public JWKs behind `ed` and `es`, for the confusion attacks.
    ed_jwk: Value,
    es_jwk: Value,
}

impl Verifiers {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(NOW));
        let hs_keys = || KeySet::new(Key::hmac(Algorithm::HS256, SECRET).unwrap()).unwrap();
        let hs = Verifier::new(hs_keys(), Validation::default())
            .unwrap()
            .with_clock(clock.clone());
        let mut with_audience = Validation::default();
        with_audience.audience = Some("api".into());
        let hs_audience = Verifier::new(hs_keys(), with_audience)
            .unwrap()
            .with_clock(clock.clone());
        let public = |alg| {
            let jwk = Key::generate(alg).unwrap().public_jwk().unwrap();
            let verifier =
                Verifier::from_keys(vec![Key::from_jwk(&jwk).unwrap()], Validation::default())
                    .unwrap()
                    .with_clock(clock.clone());
            (verifier, jwk)
        };
        let (ed, ed_jwk) = public(Algorithm::EdDSA);
        let (es, es_jwk) = public(Algorithm::ES256);
        Verifiers {
            hs,
            hs_audience,
            ed,
            es,
            ed_jwk,
            es_jwk,
        }
    }

    fn verify(&self, keys: Keys, token: &str) -> tessera::Result<tessera::Claims> {
        match keys {
            Keys::Hs => self.hs.verify_access(token),
            Keys::HsAudience => self.hs_audience.verify_access(token),
            Keys::Ed => self.ed.verify_access(token),
            Keys::Es => self.es.verify_access(token),
        }
    }
}

// ---------------------------------------------------------------------------
// Token builders
// ---------------------------------------------------------------------------

fn seg(bytes: &[u8]) -> String {
    base64url::encode(bytes)
}

fn hmac_sha256(secret: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap();
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// `header.payload.signature` over the given segments, signed with `secret`.
fn sign_with(secret: &[u8], header_seg: &str, payload_seg: &str) -> String {
    let input = format!("{header_seg}.{payload_seg}");
    let sig = seg(&hmac_sha256(secret, input.as_bytes()));
    format!("{input}.{sig}")
}

/// Signs already-encoded segments with the table's secret.
fn signed_segments(header_seg: &str, payload_seg: &str) -> String {
    sign_with(SECRET, header_seg, payload_seg)
}

/// Encodes and signs header and payload bytes with the table's secret.
fn token_bytes(header: &[u8], payload: &[u8]) -> String {
    signed_segments(&seg(header), &seg(payload))
}

fn token(header: &str, payload: &str) -> String {
    token_bytes(header.as_bytes(), payload.as_bytes())
}

/// A simplejwt access token payload, with members replaced (`Some`),
/// removed (`None`) or appended. Values are raw JSON text.
fn claims(edits: &[(&str, Option<&str>)]) -> String {
    let mut fields: Vec<(String, String)> = vec![
        ("token_type".into(), r#""access""#.into()),
        ("exp".into(), (NOW + 600).to_string()),
        ("iat".into(), (NOW - 10).to_string()),
        ("jti".into(), JTI.into()),
        ("user_id".into(), r#""42""#.into()),
    ];
    for &(name, value) in edits {
        match (fields.iter().position(|(n, _)| n == name), value) {
            (Some(i), Some(v)) => fields[i].1 = v.to_owned(),
            (Some(i), None) => {
                fields.remove(i);
            }
            (None, Some(v)) => fields.push((name.to_owned(), v.to_owned())),
            (None, None) => {}
        }
    }
    let body: Vec<String> = fields.iter().map(|(n, v)| format!("\"{n}\":{v}")).collect();
    format!("{{{}}}", body.join(","))
}

/// The default claims followed by raw JSON text before the closing brace,
/// for members `claims` cannot express (duplicates, escaped names).
fn claims_then(tail: &str) -> String {
    let base = claims(&[]);
    format!("{}{tail}}}", &base[..base.len() - 1])
}

fn set<'a>(name: &'a str, raw: &'a str) -> (&'a str, Option<&'a str>) {
    (name, Some(raw))
}

fn unset(name: &str) -> (&str, Option<&str>) {
    (name, None)
}

/// A valid token for the table's secret.
fn good() -> String {
    token(HEADER, &claims(&[]))
}

/// Sets the lowest bit of the last character's sextet, which for a segment
/// whose length is 2 or 3 mod 4 is one of the unused trailing bits.
fn dirty_trailing_bits(segment: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert!(matches!(segment.len() % 4, 2 | 3), "no trailing bits");
    let last = *segment.as_bytes().last().unwrap();
    let index = ALPHABET.iter().position(|&c| c == last).unwrap();
    assert_eq!(index & 1, 0, "trailing bits already set");
    let mut out = segment[..segment.len() - 1].to_owned();
    out.push(char::from(ALPHABET[index | 1]));
    out
}

/// The standard-alphabet spelling of a base64url segment.
fn standard_alphabet(segment: &str) -> String {
    assert!(segment.contains(['-', '_']), "nothing to change");
    segment.replace('-', "+").replace('_', "/")
}

/// A claims payload whose base64url encoding holds `-` or `_`.
fn payload_with_url_safe_chars() -> String {
    (0..3)
        .map(|pad| claims(&[set("note", &format!("\"{}?>?\"", "a".repeat(pad)))]))
        .find(|p| seg(p.as_bytes()).contains(['-', '_']))
        .unwrap()
}

fn nested(open: &str, close: &str, depth: usize) -> String {
    format!("{}1{}", open.repeat(depth), close.repeat(depth))
}

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

fn table(v: &Verifiers) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add =
        |name: &str, keys: Keys, token: String, code: &'static str, detail: &'static str| {
            cases.push(Case {
                name: name.to_owned(),
                keys,
                token,
                code,
                detail,
            });
        };
    use Keys::{Ed, Es, Hs, HsAudience};
    const INVALID: &str = "token_invalid";

    let good = good();
    let (good_input, good_sig) = good.rsplit_once('.').unwrap();
    let (good_header, good_payload) = good_input.split_once('.').unwrap();
    let good_tag = base64url::decode(good_sig.as_bytes()).unwrap();

    // --- Segments ---------------------------------------------------------
    add(
        "empty string",
        Hs,
        String::new(),
        INVALID,
        "token has fewer than three segments",
    );
    add(
        "one segment",
        Hs,
        good_header.to_owned(),
        INVALID,
        "token has fewer than three segments",
    );
    add(
        "two segments",
        Hs,
        good_input.to_owned(),
        INVALID,
        "token has fewer than three segments",
    );
    add(
        "four segments",
        Hs,
        format!("{good}.{good_sig}"),
        INVALID,
        "token has more than three segments",
    );
    add(
        "trailing dot",
        Hs,
        format!("{good}."),
        INVALID,
        "token has more than three segments",
    );
    add(
        "only dots",
        Hs,
        "..".into(),
        INVALID,
        "empty header segment",
    );
    add(
        "empty header",
        Hs,
        format!(".{good_payload}.{good_sig}"),
        INVALID,
        "empty header segment",
    );
    add(
        "empty signature",
        Hs,
        format!("{good_input}."),
        INVALID,
        "empty signature segment",
    );
    add(
        "empty payload, signed",
        Hs,
        signed_segments(good_header, ""),
        INVALID,
        "payload: malformed JSON",
    );
    add(
        "leading space",
        Hs,
        format!(" {good}"),
        INVALID,
        "header is not canonical base64url",
    );
    add(
        "trailing newline",
        Hs,
        format!("{good}\n"),
        INVALID,
        "signature is not canonical base64url",
    );

    // --- Base64 -----------------------------------------------------------
    let spaced_header = r#"{"alg":"HS256", "typ":"JWT"}"#; // 28 bytes: needs "=="
    let spaced_seg = seg(spaced_header.as_bytes());
    assert_eq!(spaced_seg.len() % 4, 2);
    add(
        "header padded",
        Hs,
        signed_segments(&format!("{spaced_seg}=="), good_payload),
        INVALID,
        "header is not canonical base64url",
    );
    let payload_seg = seg(claims(&[set("x", "1")]).as_bytes());
    let payload_seg = if payload_seg.len() % 4 == 0 {
        seg(claims(&[set("x", "12")]).as_bytes())
    } else {
        payload_seg
    };
    let pad = "=".repeat(4 - payload_seg.len() % 4);
    add(
        "payload padded",
        Hs,
        signed_segments(good_header, &format!("{payload_seg}{pad}")),
        INVALID,
        "payload is not canonical base64url",
    );
    add(
        "signature padded",
        Hs,
        format!("{good}="),
        INVALID,
        "signature is not canonical base64url",
    );
    add(
        "space inside header",
        Hs,
        signed_segments(
            &format!("{} {}", &good_header[..8], &good_header[8..]),
            good_payload,
        ),
        INVALID,
        "header is not canonical base64url",
    );
    add(
        "newline inside payload",
        Hs,
        signed_segments(
            good_header,
            &format!("{}\n{}", &good_payload[..8], &good_payload[8..]),
        ),
        INVALID,
        "payload is not canonical base64url",
    );
    add(
        "tab inside signature",
        Hs,
        format!("{good_input}.{}\t{}", &good_sig[..8], &good_sig[8..]),
        INVALID,
        "signature is not canonical base64url",
    );
    add(
        "header trailing bits",
        Hs,
        signed_segments(&dirty_trailing_bits(&spaced_seg), good_payload),
        INVALID,
        "header is not canonical base64url",
    );
    add(
        "payload trailing bits",
        Hs,
        signed_segments(good_header, &dirty_trailing_bits(&payload_seg)),
        INVALID,
        "payload is not canonical base64url",
    );
    add(
        "signature trailing bits",
        Hs,
        format!("{good_input}.{}", dirty_trailing_bits(good_sig)),
        INVALID,
        "signature is not canonical base64url",
    );
    let url_payload = seg(payload_with_url_safe_chars().as_bytes());
    add(
        "payload in standard alphabet",
        Hs,
        signed_segments(good_header, &standard_alphabet(&url_payload)),
        INVALID,
        "payload is not canonical base64url",
    );
    let header_with_url_chars = seg(br#"{"alg":"HS256","typ":"JWT","x":"?>?"}"#);
    let header_with_url_chars = if header_with_url_chars.contains(['-', '_']) {
        header_with_url_chars
    } else {
        seg(br#"{"alg":"HS256","typ":"JWT","x":"a?>?"}"#)
    };
    add(
        "header in standard alphabet",
        Hs,
        signed_segments(&standard_alphabet(&header_with_url_chars), good_payload),
        INVALID,
        "header is not canonical base64url",
    );
    add(
        "question mark in payload",
        Hs,
        signed_segments(good_header, &format!("{good_payload}?")),
        INVALID,
        "payload is not canonical base64url",
    );
    add(
        "impossible payload length",
        Hs,
        signed_segments(
            good_header,
            &format!(
                "{payload_seg}{}",
                "A".repeat((5 - payload_seg.len() % 4) % 4)
            ),
        ),
        INVALID,
        "payload is not canonical base64url",
    );

    // --- alg ----------------------------------------------------------------
    let none_header = seg(br#"{"alg":"none","typ":"JWT"}"#);
    add(
        "alg none, no signature",
        Hs,
        format!("{none_header}.{good_payload}."),
        INVALID,
        "empty signature segment",
    );
    add(
        "alg none, HMAC signature",
        Hs,
        token(r#"{"alg":"none"}"#, &claims(&[])),
        INVALID,
        "header alg does not match the key's algorithm",
    );
    add(
        "alg NONE",
        Hs,
        token(r#"{"alg":"NONE"}"#, &claims(&[])),
        INVALID,
        "header alg does not match the key's algorithm",
    );
    add(
        "alg hs256 lowercase",
        Hs,
        token(r#"{"alg":"hs256"}"#, &claims(&[])),
        INVALID,
        "header alg does not match the key's algorithm",
    );
    add(
        "alg with trailing space",
        Hs,
        token(r#"{"alg":"HS256 "}"#, &claims(&[])),
        INVALID,
        "header alg does not match the key's algorithm",
    );
    add(
        "alg HS512 for an HS256 key",
        Hs,
        token(r#"{"alg":"HS512"}"#, &claims(&[])),
        INVALID,
        "header alg does not match the key's algorithm",
    );
    add(
        "alg RS256 for an HS256 key",
        Hs,
        token(r#"{"alg":"RS256"}"#, &claims(&[])),
        INVALID,
        "header alg does not match the key's algorithm",
    );
    add(
        "alg EdDSA for an HS256 key",
        Hs,
        token(r#"{"alg":"EdDSA"}"#, &claims(&[])),
        INVALID,
        "header alg does not match the key's algorithm",
    );
    add(
        "alg missing",
        Hs,
        token(r#"{"typ":"JWT"}"#, &claims(&[])),
        INVALID,
        "header lacks alg",
    );
    add(
        "empty header object",
        Hs,
        token("{}", &claims(&[])),
        INVALID,
        "header lacks alg",
    );
    add(
        "alg is a number",
        Hs,
        token(r#"{"alg":256}"#, &claims(&[])),
        INVALID,
        "header alg is not a string",
    );
    add(
        "alg is null",
        Hs,
        token(r#"{"alg":null}"#, &claims(&[])),
        INVALID,
        "header alg is not a string",
    );
    add(
        "alg is an array",
        Hs,
        token(r#"{"alg":["HS256"]}"#, &claims(&[])),
        INVALID,
        "header alg is not a string",
    );

    // --- Algorithm confusion: HS256 keyed with the public key -----------------
    for (label, keys, jwk) in [("EdDSA", Ed, &v.ed_jwk), ("ES256", Es, &v.es_jwk)] {
        let public_bytes = match label {
            "EdDSA" => base64url::decode(jwk["x"].as_str().unwrap().as_bytes()).unwrap(),
            _ => {
                let mut point = vec![4u8];
                point.extend(base64url::decode(jwk["x"].as_str().unwrap().as_bytes()).unwrap());
                point.extend(base64url::decode(jwk["y"].as_str().unwrap().as_bytes()).unwrap());
                point
            }
        };
        let kid = jwk["kid"].as_str().unwrap();
        let payload = seg(claims(&[]).as_bytes());
        let kidless = seg(br#"{"alg":"HS256","typ":"JWT"}"#);
        let with_kid = seg(format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#).as_bytes());
        let jwk_text = jwk.to_string();
        for (secret_name, secret) in [
            ("raw public key", &public_bytes[..]),
            ("public JWK text", jwk_text.as_bytes()),
        ] {
            add(
                &format!("HS256 keyed with the {label} {secret_name}, no kid"),
                keys,
                sign_with(secret, &kidless, &payload),
                INVALID,
                "header alg does not match the key's algorithm",
            );
            add(
                &format!("HS256 keyed with the {label} {secret_name}, its kid"),
                keys,
                sign_with(secret, &with_kid, &payload),
                INVALID,
                "header alg does not match the key's algorithm",
            );
        }
        add(
            &format!("alg none to an {label} key"),
            keys,
            format!("{none_header}.{payload}."),
            INVALID,
            "empty signature segment",
        );
    }
    add(
        "ES256 header to an EdDSA key",
        Ed,
        token(r#"{"alg":"ES256"}"#, &claims(&[])),
        INVALID,
        "header alg does not match the key's algorithm",
    );
    add(
        "EdDSA header to an ES256 key",
        Es,
        token(r#"{"alg":"EdDSA"}"#, &claims(&[])),
        INVALID,
        "header alg does not match the key's algorithm",
    );

    // --- Signature ----------------------------------------------------------
    add(
        "HMAC tag truncated to 16 bytes",
        Hs,
        format!("{good_input}.{}", seg(&good_tag[..16])),
        INVALID,
        "signature has the wrong length",
    );
    add(
        "HMAC tag truncated by one byte",
        Hs,
        format!("{good_input}.{}", seg(&good_tag[..31])),
        INVALID,
        "signature has the wrong length",
    );
    let mut long_tag = good_tag.clone();
    long_tag.push(0);
    add(
        "HMAC tag with a byte appended",
        Hs,
        format!("{good_input}.{}", seg(&long_tag)),
        INVALID,
        "signature has the wrong length",
    );
    let mut flipped = good_tag.clone();
    flipped[0] ^= 0x80;
    add(
        "HMAC tag bit flipped",
        Hs,
        format!("{good_input}.{}", seg(&flipped)),
        INVALID,
        "signature does not verify",
    );
    add(
        "HMAC under another secret",
        Hs,
        sign_with(
            b"another secret of thirty-two bytes or more",
            good_header,
            good_payload,
        ),
        INVALID,
        "signature does not verify",
    );
    let other_payload = seg(claims(&[set("user_id", r#""43""#)]).as_bytes());
    add(
        "signature of another payload",
        Hs,
        format!("{good_header}.{other_payload}.{good_sig}"),
        INVALID,
        "signature does not verify",
    );

    // --- Header members -------------------------------------------------------
    add(
        "crit present",
        Hs,
        token(r#"{"alg":"HS256","crit":["exp"],"exp":1}"#, &claims(&[])),
        INVALID,
        "header has crit; no extensions are understood",
    );
    add(
        "crit empty",
        Hs,
        token(r#"{"alg":"HS256","crit":[]}"#, &claims(&[])),
        INVALID,
        "header has crit; no extensions are understood",
    );
    add(
        "typ not JWT",
        Hs,
        token(r#"{"alg":"HS256","typ":"JWS"}"#, &claims(&[])),
        INVALID,
        "header typ is not JWT",
    );
    add(
        "typ is a number",
        Hs,
        token(r#"{"alg":"HS256","typ":1}"#, &claims(&[])),
        INVALID,
        "header typ is not JWT",
    );
    add(
        "kid unknown",
        Hs,
        token(r#"{"alg":"HS256","kid":"nobody"}"#, &claims(&[])),
        INVALID,
        "unknown kid",
    );
    add(
        "kid is a number",
        Hs,
        token(r#"{"alg":"HS256","kid":7}"#, &claims(&[])),
        INVALID,
        "header kid is not a string",
    );
    add(
        "header is an array",
        Hs,
        token(r#"["HS256"]"#, &claims(&[])),
        INVALID,
        "header: JSON is not an object",
    );
    add(
        "header is null",
        Hs,
        token("null", &claims(&[])),
        INVALID,
        "header: JSON is not an object",
    );
    add(
        "header is not JSON",
        Hs,
        token("alg=HS256", &claims(&[])),
        INVALID,
        "header: malformed JSON",
    );
    add(
        "header has trailing data",
        Hs,
        token(r#"{"alg":"HS256"} {}"#, &claims(&[])),
        INVALID,
        "header: malformed JSON",
    );
    add(
        "header is not UTF-8",
        Hs,
        token_bytes(
            b"{\"alg\":\"HS256\",\"x\":\"\xff\"}",
            claims(&[]).as_bytes(),
        ),
        INVALID,
        "header: malformed JSON",
    );

    // --- Duplicate members ----------------------------------------------------
    add(
        "header duplicate alg",
        Hs,
        token(r#"{"alg":"HS256","alg":"none"}"#, &claims(&[])),
        INVALID,
        "header: duplicate JSON member",
    );
    add(
        "header duplicate alg, none first",
        Hs,
        token(r#"{"alg":"none","alg":"HS256"}"#, &claims(&[])),
        INVALID,
        "header: duplicate JSON member",
    );
    add(
        "header escaped duplicate alg",
        Hs,
        token(r#"{"alg":"HS256","\u0061lg":"HS256"}"#, &claims(&[])),
        INVALID,
        "header: duplicate JSON member",
    );
    add(
        "header duplicate kid",
        Hs,
        token(r#"{"alg":"HS256","kid":"a","kid":"b"}"#, &claims(&[])),
        INVALID,
        "header: duplicate JSON member",
    );
    add(
        "payload duplicate exp",
        Hs,
        token(HEADER, &claims_then(r#","exp":4102444800"#)),
        INVALID,
        "payload: duplicate JSON member",
    );
    add(
        "payload escaped duplicate exp",
        Hs,
        token(HEADER, &claims_then(r#","\u0065xp":4102444800"#)),
        INVALID,
        "payload: duplicate JSON member",
    );
    add(
        "payload escaped duplicate user_id",
        Hs,
        token(HEADER, &claims_then(r#","user\u005fid":"1""#)),
        INVALID,
        "payload: duplicate JSON member",
    );
    add(
        "payload duplicate token_type",
        Hs,
        token(HEADER, &claims_then(r#","token_type":"refresh""#)),
        INVALID,
        "payload: duplicate JSON member",
    );
    add(
        "payload duplicate inside an extra claim",
        Hs,
        token(HEADER, &claims_then(r#","o":{"a":1,"a":2}"#)),
        INVALID,
        "payload: duplicate JSON member",
    );

    // --- Claim types ----------------------------------------------------------
    let exp_bad = "exp is not an integer NumericDate in range";
    for (name, raw) in [
        ("exp as float", "1700000600.0"),
        ("exp as exponent", "1.7000006e9"),
        ("exp as string", r#""1700000600""#),
        ("exp negative", "-1"),
        ("exp past year 9999", "253402300800"),
        ("exp beyond i64", "18446744073709551615"),
        ("exp null", "null"),
        ("exp bool", "true"),
    ] {
        add(
            name,
            Hs,
            token(HEADER, &claims(&[set("exp", raw)])),
            INVALID,
            exp_bad,
        );
    }
    add(
        "exp missing",
        Hs,
        token(HEADER, &claims(&[unset("exp")])),
        INVALID,
        "exp missing",
    );
    add(
        "exp passed",
        Hs,
        token(HEADER, &claims(&[set("exp", &(NOW - 1).to_string())])),
        "token_expired",
        "token has expired",
    );
    add(
        "exp equal to now",
        Hs,
        token(HEADER, &claims(&[set("exp", &NOW.to_string())])),
        "token_expired",
        "token has expired",
    );
    add(
        "iat as float",
        Hs,
        token(HEADER, &claims(&[set("iat", "1699999990.5")])),
        INVALID,
        "iat is not an integer NumericDate in range",
    );
    add(
        "iat as string",
        Hs,
        token(HEADER, &claims(&[set("iat", r#""1699999990""#)])),
        INVALID,
        "iat is not an integer NumericDate in range",
    );
    add(
        "iat in the future",
        Hs,
        token(HEADER, &claims(&[set("iat", &(NOW + 1).to_string())])),
        "token_not_yet_valid",
        "iat is in the future",
    );
    add(
        "nbf as float",
        Hs,
        token(HEADER, &claims(&[set("nbf", "1.0")])),
        INVALID,
        "nbf is not an integer NumericDate in range",
    );
    add(
        "nbf as object",
        Hs,
        token(HEADER, &claims(&[set("nbf", "{}")])),
        INVALID,
        "nbf is not an integer NumericDate in range",
    );
    add(
        "nbf in the future",
        Hs,
        token(HEADER, &claims(&[set("nbf", &(NOW + 1).to_string())])),
        "token_not_yet_valid",
        "nbf is in the future",
    );

    let user_bad = "user id claim is not a string or integer";
    for (name, raw) in [
        ("user_id bool", "true"),
        ("user_id object", r#"{"id":42}"#),
        ("user_id array", r#"["42"]"#),
        ("user_id null", "null"),
        ("user_id float", "42.5"),
    ] {
        add(
            name,
            Hs,
            token(HEADER, &claims(&[set("user_id", raw)])),
            INVALID,
            user_bad,
        );
    }
    add(
        "user_id empty",
        Hs,
        token(HEADER, &claims(&[set("user_id", r#""""#)])),
        INVALID,
        "user id must be 1 to 255 bytes",
    );
    let long_user = format!("\"{}\"", "u".repeat(256));
    add(
        "user_id 256 bytes",
        Hs,
        token(HEADER, &claims(&[set("user_id", &long_user)])),
        INVALID,
        "user id must be 1 to 255 bytes",
    );
    add(
        "user_id missing",
        Hs,
        token(HEADER, &claims(&[unset("user_id")])),
        INVALID,
        "user id claim missing",
    );

    let jti_bad = "jti is not 32 lowercase hex";
    for (name, raw) in [
        ("jti 31 chars", r#""0123456789abcdef0123456789abcde""#),
        ("jti 33 chars", r#""0123456789abcdef0123456789abcdef0""#),
        ("jti uppercase", r#""0123456789ABCDEF0123456789ABCDEF""#),
        ("jti not hex", r#""0123456789abcdef0123456789abcdeg""#),
        (
            "jti uuid with dashes",
            r#""01234567-89ab-cdef-0123-456789abcdef""#,
        ),
        ("jti empty", r#""""#),
    ] {
        add(
            name,
            Hs,
            token(HEADER, &claims(&[set("jti", raw)])),
            INVALID,
            jti_bad,
        );
    }
    add(
        "jti number",
        Hs,
        token(HEADER, &claims(&[set("jti", "12345")])),
        INVALID,
        "jti is not a string",
    );
    add(
        "jti missing",
        Hs,
        token(HEADER, &claims(&[unset("jti")])),
        INVALID,
        "jti missing",
    );

    for (name, raw) in [
        ("token_type uppercase", r#""ACCESS""#),
        ("token_type unknown", r#""bearer""#),
        ("token_type number", "1"),
        ("token_type null", "null"),
    ] {
        add(
            name,
            Hs,
            token(HEADER, &claims(&[set("token_type", raw)])),
            INVALID,
            "unknown token type",
        );
    }
    add(
        "token_type missing",
        Hs,
        token(HEADER, &claims(&[unset("token_type")])),
        INVALID,
        "token type claim missing",
    );
    add(
        "refresh token where access expected",
        Hs,
        token(HEADER, &claims(&[set("token_type", r#""refresh""#)])),
        "token_wrong_type",
        "expected an access token, got refresh",
    );

    add(
        "aud without a configured audience",
        Hs,
        token(HEADER, &claims(&[set("aud", r#""api""#)])),
        INVALID,
        "token has an audience but none is configured",
    );
    add(
        "aud number",
        Hs,
        token(HEADER, &claims(&[set("aud", "5")])),
        INVALID,
        "aud is not a string or array",
    );
    add(
        "aud object",
        HsAudience,
        token(HEADER, &claims(&[set("aud", r#"{"api":true}"#)])),
        INVALID,
        "aud is not a string or array",
    );
    add(
        "aud array holding a number",
        HsAudience,
        token(HEADER, &claims(&[set("aud", r#"["api",5]"#)])),
        INVALID,
        "aud holds a non-string",
    );
    add(
        "aud an empty array",
        Hs,
        token(HEADER, &claims(&[set("aud", "[]")])),
        INVALID,
        "aud is an empty array",
    );
    add(
        "aud other audience",
        HsAudience,
        token(HEADER, &claims(&[set("aud", r#""web""#)])),
        INVALID,
        "audience does not match",
    );
    add(
        "aud missing where required",
        HsAudience,
        good.clone(),
        INVALID,
        "audience does not match",
    );
    add(
        "aud case differs",
        HsAudience,
        token(HEADER, &claims(&[set("aud", r#""API""#)])),
        INVALID,
        "audience does not match",
    );
    add(
        "iss number",
        Hs,
        token(HEADER, &claims(&[set("iss", "5")])),
        INVALID,
        "iss is not a string",
    );
    add(
        "sid not hex",
        Hs,
        token(HEADER, &claims(&[set("sid", r#""session-1""#)])),
        INVALID,
        "sid is not 32 lowercase hex",
    );
    add(
        "sid number",
        Hs,
        token(HEADER, &claims(&[set("sid", "1")])),
        INVALID,
        "sid is not a string",
    );

    // --- Payload shape --------------------------------------------------------
    add(
        "payload is an array",
        Hs,
        token(HEADER, "[1]"),
        INVALID,
        "payload: JSON is not an object",
    );
    add(
        "payload is a string",
        Hs,
        token(HEADER, r#""claims""#),
        INVALID,
        "payload: JSON is not an object",
    );
    add(
        "payload is not JSON",
        Hs,
        token(HEADER, "user_id=42"),
        INVALID,
        "payload: malformed JSON",
    );
    add(
        "payload has trailing data",
        Hs,
        token(HEADER, &format!("{}x", claims(&[]))),
        INVALID,
        "payload: malformed JSON",
    );
    let mut not_utf8 = claims(&[set("user_id", r#""4X""#)]).into_bytes();
    let at = not_utf8.iter().position(|&b| b == b'X').unwrap();
    not_utf8[at] = 0xff;
    add(
        "payload is not UTF-8",
        Hs,
        token_bytes(HEADER.as_bytes(), &not_utf8),
        INVALID,
        "payload: malformed JSON",
    );
    add(
        "payload lone surrogate",
        Hs,
        token(HEADER, &claims(&[set("user_id", r#""\ud800""#)])),
        INVALID,
        "payload: malformed JSON",
    );
    add(
        "payload number out of range",
        Hs,
        token(HEADER, &claims(&[set("exp", "1e400")])),
        INVALID,
        "payload: malformed JSON",
    );

    // --- Sizes and nesting ----------------------------------------------------
    let huge = format!("\"{}\"", "x".repeat(1000));
    let many_huge: Vec<(String, String)> =
        (0..9).map(|i| (format!("pad{i}"), huge.clone())).collect();
    let edits: Vec<(&str, Option<&str>)> = many_huge
        .iter()
        .map(|(n, v)| (n.as_str(), Some(v.as_str())))
        .collect();
    let oversized = token(HEADER, &claims(&edits));
    assert!(oversized.len() > 8192);
    add(
        "token over 8 KiB",
        Hs,
        oversized,
        INVALID,
        "token exceeds the size limit",
    );
    let big_header = format!(r#"{{"alg":"HS256","x":"{}"}}"#, "h".repeat(800));
    add(
        "header over 1 KiB",
        Hs,
        token(&big_header, &claims(&[])),
        INVALID,
        "header exceeds the size limit",
    );
    let long_value = format!("\"{}\"", "s".repeat(1025));
    add(
        "claim string over 1 KiB",
        Hs,
        token(HEADER, &claims(&[set("note", &long_value)])),
        INVALID,
        "payload: JSON string too long",
    );
    let long_name = "n".repeat(1025);
    add(
        "claim name over 1 KiB",
        Hs,
        token(HEADER, &claims(&[set(&long_name, "1")])),
        INVALID,
        "payload: JSON member name too long",
    );
    let members: Vec<String> = (0..60).map(|i| format!("c{i}")).collect();
    let edits: Vec<(&str, Option<&str>)> =
        members.iter().map(|n| (n.as_str(), Some("1"))).collect();
    add(
        "65 claims",
        Hs,
        token(HEADER, &claims(&edits)),
        INVALID,
        "payload: too many JSON members",
    );
    let items = format!("[{}]", vec!["0"; 65].join(","));
    add(
        "array of 65 items",
        Hs,
        token(HEADER, &claims(&[set("list", &items)])),
        INVALID,
        "payload: too many JSON array items",
    );
    add(
        "payload nested 8 deep",
        Hs,
        token(HEADER, &claims(&[set("n", &nested("[", "]", 8))])),
        INVALID,
        "payload: JSON nested too deeply",
    );
    add(
        "payload objects nested 8 deep",
        Hs,
        token(HEADER, &claims(&[set("n", &nested("{\"a\":", "}", 8))])),
        INVALID,
        "payload: JSON nested too deeply",
    );
    let deep_header = format!(r#"{{"alg":"HS256","x":{}}}"#, nested("[", "]", 8));
    add(
        "header nested 8 deep",
        Hs,
        token(&deep_header, &claims(&[])),
        INVALID,
        "header: JSON nested too deeply",
    );

    cases
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn every_malformed_token_fails_with_its_exact_code() {
    let v = Verifiers::new();
    let cases = table(&v);
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), cases.len(), "case names must be unique");

    let mut failures = Vec::new();
    for case in &cases {
        match v.verify(case.keys, &case.token) {
            Ok(_) => failures.push(format!("{}: accepted", case.name)),
            Err(e) => {
                let detail_ok = case.detail.is_empty() || e.detail() == case.detail;
                if e.code() != case.code || !detail_ok {
                    failures.push(format!(
                        "{}: got {e}, want {}: {}",
                        case.name, case.code, case.detail
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn builders_make_tokens_that_verify_when_unmodified() {
    let v = Verifiers::new();
    let c = v.hs.verify_access(&good()).unwrap();
    assert_eq!(c.user_id.as_str(), "42");
    assert_eq!(c.exp, NOW + 600);
    // The limits are inclusive: the largest accepted shapes still verify.
    let ok = |payload: &str| v.hs.verify_access(&token(HEADER, payload)).unwrap();
    ok(&claims(&[set("n", &nested("[", "]", 7))]));
    ok(&claims(&[set(
        "note",
        &format!("\"{}\"", "s".repeat(1024)),
    )]));
    let members: Vec<String> = (0..59).map(|i| format!("c{i}")).collect();
    let edits: Vec<(&str, Option<&str>)> =
        members.iter().map(|n| (n.as_str(), Some("1"))).collect();
    ok(&claims(&edits));
    ok(&claims(&[set(
        "list",
        &format!("[{}]", vec!["0"; 64].join(",")),
    )]));
    ok(&claims(&[set("exp", "253402300799")]));
    ok(&claims(&[set("user_id", "42")]));
    ok(&claims_then(r#","x\u0065xp":1"#));
    v.hs.verify_access(&token(r#"{"alg":"HS256","typ":"jwt"}"#, &claims(&[])))
        .unwrap();
    v.hs.verify_access(&token(
        "{\"alg\":\"HS256\",\r\n \"typ\":\"JWT\"}",
        &claims(&[]),
    ))
    .unwrap();
    v.hs_audience
        .verify_access(&token(HEADER, &claims(&[set("aud", r#"["web","api"]"#)])))
        .unwrap();
    v.hs.verify_access(&token(HEADER, &payload_with_url_safe_chars()))
        .unwrap();
    let refresh = token(HEADER, &claims(&[set("token_type", r#""refresh""#)]));
    v.hs.verify(&refresh, TokenType::Refresh).unwrap();
}

#[test]
fn token_at_the_size_limit_verifies_and_one_byte_more_does_not() {
    let v = Verifiers::new();
    let sized = |target: usize| -> String {
        for n in 0..2000 {
            let pads: Vec<String> = (0..8)
                .map(|i| format!("\"{}\"", "p".repeat(if i == 0 { n } else { 700 })))
                .collect();
            let names: Vec<String> = (0..8).map(|i| format!("pad{i}")).collect();
            let edits: Vec<(&str, Option<&str>)> = names
                .iter()
                .zip(&pads)
                .map(|(n, p)| (n.as_str(), Some(p.as_str())))
                .collect();
            let t = token(HEADER, &claims(&edits));
            if t.len() == target {
                return t;
            }
        }
        panic!("no token of {target} bytes");
    };
    let at_limit = sized(8192);
    v.hs.verify_access(&at_limit).unwrap();
    let over = sized(8193);
    assert_eq!(
        v.hs.verify_access(&over).unwrap_err().detail(),
        "token exceeds the size limit"
    );
}

/// Every prefix of a valid token, and random mutations of it, fail with
/// `token_invalid` and never panic.
#[test]
fn prefixes_and_random_mutations_never_panic() {
    let v = Verifiers::new();
    let good = good();
    let ed_key = Key::generate(Algorithm::EdDSA).unwrap();
    let ed_jwt = tessera::Jwt::new(KeySet::new(ed_key).unwrap(), Validation::default()).unwrap();
    let ed_token = ed_jwt.sign(&v.hs.verify_access(&good).unwrap()).unwrap();
    let ed_check = |t: &str| ed_jwt.verify(t, Some(TokenType::Access), NOW);
    ed_check(&ed_token).unwrap();

    let mut checked = 0;
    for i in 0..good.len() {
        let e = v.hs.verify_access(&good[..i]).unwrap_err();
        assert_eq!(e.code(), "token_invalid", "HS256 prefix {i}: {e}");
        checked += 1;
    }
    for i in 0..ed_token.len() {
        let e = ed_check(&ed_token[..i]).unwrap_err();
        assert_eq!(e.code(), "token_invalid", "EdDSA prefix {i}: {e}");
        checked += 1;
    }

    // Replacement characters: the base64url alphabet, separators, padding,
    // whitespace, control and non-ASCII characters.
    let palette: Vec<char> =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \t\n\0\u{7f}é€"
            .chars()
            .collect();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for (label, original) in [("HS256", good.as_str()), ("EdDSA", ed_token.as_str())] {
        for round in 0..3000 {
            let mut chars: Vec<char> = original.chars().collect();
            for _ in 0..=rng.below(3) {
                let at = rng.below(chars.len());
                let c = palette[rng.below(palette.len())];
                match rng.below(3) {
                    0 => chars[at] = c,
                    1 => chars.insert(at, c),
                    _ => {
                        chars.remove(at);
                    }
                }
            }
            let mutated: String = chars.into_iter().collect();
            if mutated == original {
                continue;
            }
            let result = match label {
                "HS256" => v.hs.verify_access(&mutated),
                _ => ed_check(&mutated),
            };
            let e = result.expect_err(&format!("{label} round {round} accepted {mutated:?}"));
            assert!(Error::CODES.contains(&e.code()));
            assert_eq!(e.code(), "token_invalid", "{label} round {round}: {e}");
            checked += 1;
        }
    }
    assert!(checked > 5000);
}

/// A small deterministic generator, so a failing mutation reproduces.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % u64::try_from(n).unwrap()).unwrap()
    }
}
