//! Property tests (proptest) for the encoders whose round trips other code
//! relies on: strict base64url, the PAT's base62 secret and CRC32
//! checksum, and the claims encoder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Value};

use tessera::internal::base64url;
use tessera::internal::pat_codec as codec;
use tessera::pat::{check_format, CHECKSUM_CHARS, SECRET_CHARS};
use tessera::{Claims, FamilyId, Jti, TokenType, UserId, Validation, MAX_NUMERIC_DATE};

const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// The `base64` crate's strict URL-safe engine, the reference the
/// hand-written decoder must agree with.
const STRICT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);
const BASE62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

proptest! {
    #[test]
    fn base64url_decodes_what_it_encodes(bytes in vec(any::<u8>(), 0..300)) {
        let text = base64url::encode(&bytes);
        prop_assert!(text.bytes().all(|b| B64URL.as_bytes().contains(&b)));
        prop_assert_eq!(base64url::decode(text.as_bytes()), Some(bytes));
    }

    /// The decoder accepts only the one canonical spelling of any bytes.
    #[test]
    fn base64url_accepts_only_canonical_text(text in "[A-Za-z0-9_=+/ -]{0,64}") {
        if let Some(bytes) = base64url::decode(text.as_bytes()) {
            prop_assert_eq!(base64url::encode(&bytes), text);
        }
    }

    /// Tessera's decoder agrees with the `base64` crate's strict engine on
    /// near-alphabet text: the same bytes, or the same refusal.
    #[test]
    fn base64url_decodes_as_the_strict_engine(text in "[A-Za-z0-9_=+/ .-]{0,80}") {
        prop_assert_eq!(base64url::decode(text.as_bytes()), STRICT.decode(&text).ok());
    }

    /// Likewise on arbitrary bytes, and on the encodings of arbitrary bytes
    /// with one byte replaced.
    #[test]
    fn base64url_decodes_any_bytes_as_the_strict_engine(
        text in vec(any::<u8>(), 0..80),
        bytes in vec(any::<u8>(), 1..60),
        at in any::<prop::sample::Index>(),
        with in any::<u8>(),
    ) {
        prop_assert_eq!(base64url::decode(&text), STRICT.decode(&text).ok());
        let mut near = base64url::encode(&bytes).into_bytes();
        let i = at.index(near.len());
        near[i] = with;
        prop_assert_eq!(base64url::decode(&near), STRICT.decode(&near).ok());
    }

    #[test]
    fn base62_decodes_what_it_encodes(bytes in any::<[u8; 32]>()) {
        let text = codec::base62_encode(&bytes);
        prop_assert_eq!(text.len(), SECRET_CHARS);
        prop_assert!(text.bytes().all(|b| BASE62.as_bytes().contains(&b)));
        prop_assert_eq!(codec::base62_decode(&text), Some(bytes));
    }

    /// Every 43-character base62 text either decodes to the bytes that
    /// encode back to it, or is above 2^256 - 1.
    #[test]
    fn base62_accepts_only_canonical_text(text in "[0-9A-Za-z]{43}") {
        match codec::base62_decode(&text) {
            Some(bytes) => prop_assert_eq!(codec::base62_encode(&bytes), text),
            None => prop_assert!(text.as_str() > codec::base62_encode(&[0xff; 32]).as_str()),
        }
    }

    /// A token assembled from a secret and its CRC passes the format check,
    /// and changing any one character of it is caught.
    #[test]
    fn crc_checksum_round_trips_and_catches_any_one_character_change(
        bytes in any::<[u8; 32]>(),
        prefix in "[a-z][a-z0-9_]{0,20}_",
        at in any::<prop::sample::Index>(),
        with in any::<prop::sample::Index>(),
    ) {
        let secret = codec::base62_encode(&bytes);
        let sum = codec::checksum(&prefix, &secret);
        prop_assert_eq!(sum.len(), CHECKSUM_CHARS);
        let token = format!("{prefix}{secret}{sum}");
        prop_assert!(check_format(&prefix, &token).is_ok());

        let body = prefix.len() + at.index(SECRET_CHARS + CHECKSUM_CHARS);
        let replacement = BASE62.as_bytes()[with.index(BASE62.len())];
        let mut changed = token.clone().into_bytes();
        changed[body] = replacement;
        let changed = String::from_utf8(changed).unwrap();
        if changed != token {
            prop_assert_eq!(check_format(&prefix, &changed).unwrap_err().code(), "pat_invalid");
        }
    }

    /// What `Validation::encode` writes, `Validation::validate` reads back
    /// as the same `Claims`.
    #[test]
    fn claims_encoder_round_trips((claims, validation) in claims_and_rules()) {
        let payload = validation.encode(&claims);
        let back = validation.validate(&payload, Some(claims.token_type), NOW).unwrap();
        prop_assert_eq!(back, claims);
    }
}

const NOW: i64 = 1_700_000_000;

/// Names an extra claim may not take.
const RESERVED: [&str; 9] = [
    "exp",
    "iat",
    "nbf",
    "jti",
    "iss",
    "aud",
    "sid",
    "user_id",
    "token_type",
];

fn hex32() -> impl Strategy<Value = String> {
    "[0-9a-f]{32}"
}

/// JSON values of bounded depth and size: containers nest at most 3 deep
/// under a claim, well within the default limit of 8.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(".{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn claims_and_rules() -> impl Strategy<Value = (Claims, Validation)> {
    (
        any::<bool>(),
        ".{1,60}".prop_filter("1 to 255 bytes", |s| s.len() <= 255),
        hex32(),
        NOW + 1..=MAX_NUMERIC_DATE,
        proptest::option::of(0..=NOW),
        proptest::option::of(0..=NOW),
        proptest::option::of(".{1,30}"),
        proptest::option::of(vec(".{0,20}", 0..4)),
        proptest::option::of(hex32()),
        btree_map(
            ".{1,16}".prop_filter("not reserved", |k| !RESERVED.contains(&k.as_str())),
            json_value(),
            0..8,
        ),
    )
        .prop_map(
            |(refresh, user, jti, exp, iat, nbf, iss, aud, sid, extra)| {
                let mut validation = Validation::default();
                // With an audience configured, the token must name it; without
                // one, it must carry none.
                let aud = aud.map(|mut list| {
                    list.push("api".to_owned());
                    list
                });
                validation.audience = aud.as_ref().map(|_| "api".to_owned());
                let claims = Claims {
                    token_type: if refresh {
                        TokenType::Refresh
                    } else {
                        TokenType::Access
                    },
                    user_id: UserId::new(user).unwrap(),
                    jti: Jti::parse(&jti).unwrap(),
                    exp,
                    iat,
                    nbf,
                    iss,
                    aud: aud.unwrap_or_default(),
                    family: sid.map(|s| FamilyId::parse(&s).unwrap()),
                    auth_time: None,
                    extra: extra.into_iter().collect(),
                };
                (claims, validation)
            },
        )
}
