//! The worked JWS examples of RFC 7515 Appendix A.1–A.3 and RFC 8037
//! Appendix A.4, verified at the JWS layer.
//!
//! Their payloads are not simplejwt claims (and expired in 2011), so only
//! `tessera::jws` is used. Keys are built from the RFCs' JWKs with
//! `Key::from_jwk`, after stripping the private members the RFCs print.

// A failed unwrap in test helpers is a failed test; clippy.toml's
// allow-unwrap-in-tests covers only #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};

use tessera::internal::base64url;
use tessera::jws::{self, Limits};
use tessera::{Algorithm, Key, KeySet};

/// RFC 7515 §A.1.1 and §A.2.1: the JWS Payload, with its CRLF line breaks.
const JWT_PAYLOAD: &[u8] =
    b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

/// RFC 7515 §A.1.1: the complete JWS, `{"typ":"JWT",\r\n "alg":"HS256"}`.
const A1_TOKEN: &str = concat!(
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
    ".",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt",
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".",
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
);

/// RFC 7515 §A.2.1: the complete JWS, `{"alg":"RS256"}`.
const A2_TOKEN: &str = concat!(
    "eyJhbGciOiJSUzI1NiJ9",
    ".",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt",
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".",
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7",
    "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4",
    "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K",
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv",
    "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB",
    "p0igcN_IoypGlUPQGe77Rw",
);

/// RFC 7515 §A.3.1: the complete JWS, `{"alg":"ES256"}`. ECDSA is
/// randomised, so this is one valid signature among many.
const A3_TOKEN: &str = concat!(
    "eyJhbGciOiJFUzI1NiJ9",
    ".",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt",
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".",
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA",
    "pmWQxfKTUJqPP3-Kg6NU1Q",
);

/// RFC 8037 §A.4: the Ed25519 JWS of the text "Example of Ed25519 signing".
const RFC8037_A4_TOKEN: &str = concat!(
    "eyJhbGciOiJFZERTQSJ9",
    ".",
    "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc",
    ".",
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5B",
    "hVsPt9g7sVvpAr_MuM0KAg",
);

/// RFC 7515 §A.1.1: the HMAC key. The RFC's JWK has no `alg`; `from_jwk`
/// requires one for `oct` keys, so HS256 is added.
fn a1_jwk() -> Value {
    json!({
        "kty": "oct",
        "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
    })
}

/// RFC 7515 §A.2.1: the RSA key, private members included as printed.
fn a2_jwk() -> Value {
    json!({
        "kty": "RSA",
        "n": concat!(
            "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp",
            "-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOW",
            "vG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUs",
            "LA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9k",
            "G4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2",
            "PAcDTW9gb54h4FRWyuXpoQ",
        ),
        "e": "AQAB",
        "d": concat!(
            "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_G",
            "Q5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKV",
            "RUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9J",
            "YanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoF",
            "aFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjn",
            "czT0QU91p1DhOVRuOopznQ",
        ),
        "p": concat!(
            "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBds",
            "s1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ",
            "5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
        ),
        "q": concat!(
            "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHA",
            "jLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLt",
            "XlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
        ),
        "dp": concat!(
            "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE",
            "2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_",
            "YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
        ),
        "dq": concat!(
            "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDo",
            "RwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGN",
            "pmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
        ),
        "qi": concat!(
            "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0Em",
            "pScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1c",
            "q9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U",
        ),
    })
}

/// RFC 7515 §A.3.1: the P-256 key, private member included as printed.
fn a3_jwk() -> Value {
    json!({
        "kty": "EC",
        "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI",
    })
}

/// RFC 8037 §A.1: the Ed25519 key, private member included as printed.
fn rfc8037_jwk() -> Value {
    json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    })
}

#[test]
fn rfc7515_a1_hs256_verifies() {
    let mut jwk = a1_jwk();
    jwk["alg"] = json!("HS256");
    let keys = keys_from(&jwk, Algorithm::HS256);
    assert_segments(
        A1_TOKEN,
        b"{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}",
        JWT_PAYLOAD,
        32,
    );
    check(&keys, A1_TOKEN, JWT_PAYLOAD);
}

#[test]
fn rfc7515_a1_oct_jwk_without_alg_is_refused() {
    let e = Key::from_jwk(&a1_jwk()).unwrap_err();
    assert_eq!(e.code(), "config_invalid");
}

#[test]
fn rfc7515_a2_rs256_verifies() {
    let jwk = a2_jwk();
    assert_eq!(
        Key::from_jwk(&jwk).unwrap_err().code(),
        "config_invalid",
        "private RSA JWKs are refused"
    );
    let keys = keys_from(&public_only(&jwk), Algorithm::RS256);
    assert_segments(A2_TOKEN, b"{\"alg\":\"RS256\"}", JWT_PAYLOAD, 256);
    check(&keys, A2_TOKEN, JWT_PAYLOAD);
}

#[test]
fn rfc7515_a3_es256_verifies() {
    let keys = keys_from(&public_only(&a3_jwk()), Algorithm::ES256);
    assert_segments(A3_TOKEN, b"{\"alg\":\"ES256\"}", JWT_PAYLOAD, 64);
    check(&keys, A3_TOKEN, JWT_PAYLOAD);
}

#[test]
fn rfc8037_a4_ed25519_verifies() {
    let payload = b"Example of Ed25519 signing";
    let keys = keys_from(&public_only(&rfc8037_jwk()), Algorithm::EdDSA);
    assert_segments(RFC8037_A4_TOKEN, b"{\"alg\":\"EdDSA\"}", payload, 64);
    check(&keys, RFC8037_A4_TOKEN, payload);
}

#[test]
fn rfc_tokens_do_not_verify_under_each_others_keys() {
    let all = [
        (A1_TOKEN, {
            let mut jwk = a1_jwk();
            jwk["alg"] = json!("HS256");
            jwk
        }),
        (A2_TOKEN, public_only(&a2_jwk())),
        (A3_TOKEN, public_only(&a3_jwk())),
        (RFC8037_A4_TOKEN, public_only(&rfc8037_jwk())),
    ];
    for (i, (token, _)) in all.iter().enumerate() {
        for (j, (_, jwk)) in all.iter().enumerate() {
            if i == j {
                continue;
            }
            let keys = KeySet::verify_only(vec![Key::from_jwk(jwk).unwrap()]).unwrap();
            let e = jws::verify(&keys, token, &Limits::default()).unwrap_err();
            assert_eq!(e.code(), "token_invalid", "token {i} under key {j}");
            assert_eq!(
                e.detail(),
                "header alg does not match the key's algorithm",
                "token {i} under key {j}"
            );
        }
    }
}

/// Imports a JWK as the only key of a verify-only set; kid-less tokens (all
/// of the RFC examples) are checked with it.
fn keys_from(jwk: &Value, alg: Algorithm) -> KeySet {
    let key = Key::from_jwk(jwk).unwrap();
    assert_eq!(key.algorithm(), alg);
    KeySet::verify_only(vec![key]).unwrap()
}

/// The JWK without its private members (RFC 7518 §6.2.2 and §6.3.2,
/// RFC 8037 §2).
fn public_only(jwk: &Value) -> Value {
    let mut public = jwk.clone();
    let members = public.as_object_mut().unwrap();
    for private in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
        members.remove(private);
    }
    public
}

/// Checks that the typed-in token decodes to the bytes the RFC prints, so a
/// typo shows up as such rather than as a signature failure.
fn assert_segments(token: &str, header: &[u8], payload: &[u8], sig_len: usize) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(base64url::decode(parts[0].as_bytes()).unwrap(), header);
    assert_eq!(base64url::decode(parts[1].as_bytes()).unwrap(), payload);
    assert_eq!(
        base64url::decode(parts[2].as_bytes()).unwrap().len(),
        sig_len
    );
}

/// The token verifies and yields `payload`; with any one signature byte
/// changed it no longer does.
fn check(keys: &KeySet, token: &str, payload: &[u8]) {
    let limits = Limits::default();
    let verified = jws::verify(keys, token, &limits).unwrap();
    assert_eq!(verified.payload, payload);

    let (signing_input, sig) = token.rsplit_once('.').unwrap();
    let sig = base64url::decode(sig.as_bytes()).unwrap();
    for i in [0, sig.len() / 2, sig.len() - 1] {
        let mut bad = sig.clone();
        bad[i] ^= 0x01;
        let forged = format!("{signing_input}.{}", base64url::encode(&bad));
        let e = jws::verify(keys, &forged, &limits).unwrap_err();
        assert_eq!(e.code(), "token_invalid");
        assert_eq!(e.detail(), "signature does not verify", "byte {i}");
    }

    let mut payload_flipped = token.as_bytes().to_vec();
    let at = token.find('.').unwrap() + 1;
    payload_flipped[at] = if payload_flipped[at] == b'e' {
        b'f'
    } else {
        b'e'
    };
    let forged = String::from_utf8(payload_flipped).unwrap();
    assert_eq!(
        jws::verify(keys, &forged, &limits).unwrap_err().code(),
        "token_invalid"
    );
}
