//! The strict JSON parser that reads every JOSE header and JWT payload.
//! On any bytes it returns a refusal or a value, never a panic; and what it
//! accepts must be what the rules allow:
//! - plain serde_json reads the same document to the same object (the
//!   strict parser's members and slots together), so accepting never
//!   changes a value;
//! - no object holds a member twice, which serde_json alone would allow;
//! - the depth, member and string limits hold at every level.
//!
//! Input: one byte choosing the limits and slot names, then the document.
//! The choices include limits small enough that every bound is reached, and
//! a depth limit beyond serde_json's own nesting limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tessera::internal::parse_json_object;
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
    "auth_time",
];
const HEADER: &[&str] = &["crit", "alg", "typ", "kid"];

fn limits(depth: usize, members: usize, string: usize) -> Limits {
    let mut l = Limits::default();
    l.max_json_depth = depth;
    l.max_claims = members;
    l.max_string_bytes = string;
    l
}

/// Checks the limits on `v`, a value at nesting `depth` (the top object
/// is 1).
fn within(v: &Value, depth: usize, limits: &Limits) {
    match v {
        Value::String(s) => assert!(s.len() <= limits.max_string_bytes, "string too long"),
        Value::Array(items) => {
            assert!(depth <= limits.max_json_depth, "too deep");
            assert!(items.len() <= limits.max_claims, "too many items");
            items.iter().for_each(|i| within(i, depth + 1, limits));
        }
        Value::Object(members) => {
            assert!(depth <= limits.max_json_depth, "too deep");
            assert!(members.len() <= limits.max_claims, "too many members");
            for (name, value) in members {
                assert!(name.len() <= limits.max_string_bytes, "name too long");
                within(value, depth + 1, limits);
            }
        }
        _ => {}
    }
}

/// Counts the members of every object as the text spells them, so that a
/// duplicate (which `Map` would merge) shows as a count above the map's.
fn members_in_text(doc: &[u8]) -> Option<usize> {
    let mut de = serde_json::Deserializer::from_slice(doc);
    let counted: Counted = serde::Deserialize::deserialize(&mut de).ok()?;
    Some(counted.0)
}

/// Deserialises any JSON value, counting every object member it passes.
struct Counted(usize);

impl<'de> serde::Deserialize<'de> for Counted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Counted;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Counted, A::Error> {
                let mut n = 0;
                while let Some((_, v)) = m.next_entry::<serde::de::IgnoredAny, Counted>()? {
                    n += 1 + v.0;
                }
                Ok(Counted(n))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<Counted, A::Error> {
                let mut n = 0;
                while let Some(v) = s.next_element::<Counted>()? {
                    n += v.0;
                }
                Ok(Counted(n))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Counted, E> {
                Ok(Counted(0))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Counted, E> {
                Ok(Counted(0))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Counted, E> {
                Ok(Counted(0))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Counted, E> {
                Ok(Counted(0))
            }
            fn visit_str<E>(self, _: &str) -> Result<Counted, E> {
                Ok(Counted(0))
            }
            fn visit_unit<E>(self) -> Result<Counted, E> {
                Ok(Counted(0))
            }
        }
        d.deserialize_any(V)
    }
}

fn members_in_value(v: &Value) -> usize {
    match v {
        Value::Array(items) => items.iter().map(members_in_value).sum(),
        Value::Object(m) => m.values().map(|v| 1 + members_in_value(v)).sum(),
        _ => 0,
    }
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
    let Ok((mut map, slots)) = parse_json_object(doc, &limits, names) else {
        return;
    };
    for (name, value) in names.iter().zip(slots) {
        if let Some(value) = value {
            assert!(
                map.insert((*name).to_owned(), value).is_none(),
                "a slot member also left in the map"
            );
        }
    }
    let whole = Value::Object(map);
    within(&whole, 1, &limits);
    let plain: Value =
        serde_json::from_slice(doc).expect("serde_json refuses an accepted document");
    assert_eq!(plain, whole, "an accepted document read differently");
    // Equal values can still differ in spelling (0.0 and -0.0 compare
    // equal as floats); serialised, they may not.
    assert_eq!(
        serde_json::to_string(&plain).ok(),
        serde_json::to_string(&whole).ok()
    );
    assert_eq!(
        members_in_text(doc),
        Some(members_in_value(&whole)),
        "a duplicate member was accepted"
    );
});
