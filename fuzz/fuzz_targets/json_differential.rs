//! Differential check of Tessera's strict JSON parser against the one it
//! replaced (serde_json's deserializer under visitors, kept as
//! `tessera::json_differential::parse_reference`): on the same bytes both
//! must accept or refuse, refuse for the same reason, and on acceptance
//! return equal members and slots.
//!
//! Input: one byte choosing the limits and slot names, then the document.
//! The choices include limits small enough that every bound is reached, and
//! a depth limit beyond serde_json's own nesting limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::json_differential::{parse, parse_reference};
use tessera::Limits;

/// The claim names `Validation` reads into slots, and the header's.
const CLAIMS: &[&str] = &[
    "token_type",
    "user_id",
    "jti",
    "exp",
    "iat",
    "nbf",
    "iss",
    "aud",
    "sid",
];
const HEADER: &[&str] = &["crit", "alg", "typ", "kid"];

fn limits(depth: usize, members: usize, string: usize) -> Limits {
    let mut l = Limits::default();
    l.max_json_depth = depth;
    l.max_claims = members;
    l.max_string_bytes = string;
    l
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, doc)) = data.split_first() else {
        return;
    };
    let (limits, names) = match choice % 4 {
        0 => (Limits::default(), CLAIMS),
        1 => (limits(2, 3, 8), HEADER),
        2 => (limits(200, 1000, 4096), &[][..]),
        _ => (limits(1, 1, 1), &["a"][..]),
    };
    let got = parse(doc, &limits, names);
    let want = parse_reference(doc, &limits, names);
    assert_eq!(
        got,
        want,
        "limits {limits:?}, names {names:?}, document {:?}",
        String::from_utf8_lossy(doc)
    );
    // Equal values can still differ in spelling (0.0 and -0.0 compare
    // equal as floats); serialised, they may not.
    if let (Ok(got), Ok(want)) = (&got, &want) {
        assert_eq!(
            serde_json::to_string(got).ok(),
            serde_json::to_string(want).ok()
        );
    }
});
