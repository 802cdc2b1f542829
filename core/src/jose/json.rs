//! Strict JSON objects for JOSE headers and JWT payloads.
//!
//! Invariant: an accepted document is a single JSON object (RFC 8259
//! grammar exactly, whitespace allowed around it, nothing after it) whose
//! objects hold no duplicate member names (compared after unescaping),
//! whose nesting stays within `max_depth`, whose objects and arrays hold at
//! most `max_members` entries, and whose strings are at most `max_string`
//! bytes. RFC 7515 §5.2 and RFC 8725 §3.1 allow a parser to reject
//! duplicates; we always do, so that two verifiers can never read different
//! claims.
//!
//! serde_json's streaming deserializer does the parsing; visitors enforce
//! the rules above as it goes, fill the caller's slots directly, and build
//! `serde_json` values only for the other members. Numbers keep serde_json's
//! own values (u64, i64 or f64, `float_roundtrip`). A refusal carries the
//! first rule that failed; serde_json's own errors are "malformed JSON", or
//! "JSON is not an object" for a well-formed value of another type.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Bounds applied while parsing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JsonLimits {
    pub max_depth: usize,
    pub max_members: usize,
    pub max_string: usize,
}

/// Parses `bytes` as one strict JSON object.
pub(crate) fn parse_object(
    bytes: &[u8],
    limits: JsonLimits,
) -> Result<Map<String, Value>, &'static str> {
    parse_object_into(bytes, limits, &[], &mut [])
}

/// The value of a member read into a slot: a string, borrowed from the input
/// when it holds no escapes, or any other JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Slot<'de> {
    /// A JSON string.
    Str(Cow<'de, str>),
    /// Any other JSON value (never a string).
    Other(Value),
}

impl Slot<'_> {
    /// The value as a [`Value`]; strings are copied.
    pub(crate) fn into_value(self) -> Value {
        match self {
            Slot::Str(s) => Value::String(s.into_owned()),
            Slot::Other(v) => v,
        }
    }
}

/// Parses like [`parse_object`], except that the value of a top-level
/// member named `names[i]` goes to `slots[i]` instead of the map, so that a
/// caller reading known members needs no map insert, lookup and removal,
/// and string values stay borrowed from `bytes`. Every rule holds as for
/// [`parse_object`]: slot members count towards `max_members`, their strings
/// towards `max_string`, and a name seen twice is a duplicate wherever it
/// went.
///
/// `names` must be distinct and `slots` as long as `names`, all `None`.
pub(crate) fn parse_object_into<'de>(
    bytes: &'de [u8],
    limits: JsonLimits,
    names: &[&str],
    slots: &mut [Option<Slot<'de>>],
) -> Result<Map<String, Value>, &'static str> {
    debug_assert_eq!(names.len(), slots.len());
    let reason = Cell::new(None);
    let ctx = Ctx {
        limits,
        reason: &reason,
    };
    // One UTF-8 check of the whole document is cheaper than serde_json's
    // check of each string; invalid UTF-8 anywhere is malformed JSON either
    // way.
    let text = std::str::from_utf8(bytes).map_err(|_| "malformed JSON")?;
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = ObjectSeed {
        ctx: &ctx,
        depth: 1,
        slots: Slots {
            names,
            values: slots,
        },
    }
    .deserialize(&mut de)
    .and_then(|map| de.end().map(|()| map));
    match parsed {
        Ok(map) => Ok(map),
        Err(e) => Err(reason.get().unwrap_or(if e.is_data() {
            "JSON is not an object"
        } else {
            "malformed JSON"
        })),
    }
}

struct Ctx<'a> {
    limits: JsonLimits,
    reason: &'a Cell<Option<&'static str>>,
}

impl Ctx<'_> {
    fn fail<E: de::Error>(&self, reason: &'static str) -> E {
        self.reason.set(Some(reason));
        E::custom(reason)
    }
}

/// Members of one object that the caller reads itself: `values[i]` holds
/// the member named `names[i]`. Empty below the top level.
struct Slots<'s, 'de> {
    names: &'s [&'s str],
    values: &'s mut [Option<Slot<'de>>],
}

impl Slots<'_, '_> {
    fn none() -> Self {
        Slots {
            names: &[],
            values: &mut [],
        }
    }
}

struct ObjectSeed<'c, 'a, 's, 'de> {
    ctx: &'c Ctx<'a>,
    depth: usize,
    slots: Slots<'s, 'de>,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_, '_, '_, 'de> {
    type Value = Map<String, Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(ObjectVisitor {
            ctx: self.ctx,
            depth: self.depth,
            slots: self.slots,
        })
    }
}

struct ObjectVisitor<'c, 'a, 's, 'de> {
    ctx: &'c Ctx<'a>,
    depth: usize,
    slots: Slots<'s, 'de>,
}

impl<'de> Visitor<'de> for ObjectVisitor<'_, '_, '_, 'de> {
    type Value = Map<String, Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let Slots { names, values } = self.slots;
        let mut map = Map::new();
        let mut in_slots = 0;
        while let Some(key) = access.next_key_seed(KeySeed)? {
            if key.len() > self.ctx.limits.max_string {
                return Err(self.ctx.fail("JSON member name too long"));
            }
            if map.len() + in_slots >= self.ctx.limits.max_members {
                return Err(self.ctx.fail("too many JSON members"));
            }
            let seed = ValueSeed {
                ctx: self.ctx,
                depth: self.depth,
            };
            // Names are short; comparing bytes inline beats a memcmp call.
            let slot = names.iter().position(|n| {
                n.len() == key.len() && n.bytes().zip(key.bytes()).all(|(a, b)| a == b)
            });
            match slot {
                Some(i) => {
                    if values[i].is_some() {
                        return Err(self.ctx.fail("duplicate JSON member"));
                    }
                    values[i] = Some(access.next_value_seed(SlotSeed(seed))?);
                    in_slots += 1;
                }
                None => {
                    if map.contains_key(key.as_ref()) {
                        return Err(self.ctx.fail("duplicate JSON member"));
                    }
                    let value = access.next_value_seed(seed)?;
                    map.insert(key.into_owned(), value);
                }
            }
        }
        Ok(map)
    }
}

/// A member name, borrowed from the input when it holds no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeySeed)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON member name")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A slot member's value: strings are kept borrowed where the input allows;
/// everything else, and every rule, is [`ValueSeed`]'s.
struct SlotSeed<'c, 'a>(ValueSeed<'c, 'a>);

impl<'de> DeserializeSeed<'de> for SlotSeed<'_, '_> {
    type Value = Slot<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl SlotSeed<'_, '_> {
    fn string<'de, E: de::Error>(&self, s: Cow<'de, str>) -> Result<Slot<'de>, E> {
        if s.len() > self.0.ctx.limits.max_string {
            return Err(self.0.ctx.fail("JSON string too long"));
        }
        Ok(Slot::Str(s))
    }
}

impl<'de> Visitor<'de> for SlotSeed<'_, '_> {
    type Value = Slot<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        self.string(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.string(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        self.string(Cow::Owned(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.0.visit_bool(v).map(Slot::Other)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.0.visit_i64(v).map(Slot::Other)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.0.visit_u64(v).map(Slot::Other)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.0.visit_f64(v).map(Slot::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit().map(Slot::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(access).map(Slot::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(access).map(Slot::Other)
    }
}

/// A value nested inside an object or array at `depth`.
struct ValueSeed<'c, 'a> {
    ctx: &'c Ctx<'a>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl ValueSeed<'_, '_> {
    fn deeper<E: de::Error>(&self) -> Result<usize, E> {
        if self.depth >= self.ctx.limits.max_depth {
            Err(self.ctx.fail("JSON nested too deeply"))
        } else {
            Ok(self.depth + 1)
        }
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| self.ctx.fail("non-finite JSON number"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        if v.len() > self.ctx.limits.max_string {
            return Err(self.ctx.fail("JSON string too long"));
        }
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        if v.len() > self.ctx.limits.max_string {
            return Err(self.ctx.fail("JSON string too long"));
        }
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let depth = self.deeper()?;
        let mut items = Vec::new();
        while let Some(v) = access.next_element_seed(ValueSeed {
            ctx: self.ctx,
            depth,
        })? {
            if items.len() >= self.ctx.limits.max_members {
                return Err(self.ctx.fail("too many JSON array items"));
            }
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Value, A::Error> {
        let depth = self.deeper()?;
        ObjectVisitor {
            ctx: self.ctx,
            depth,
            slots: Slots::none(),
        }
        .visit_map(access)
        .map(Value::Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: JsonLimits = JsonLimits {
        max_depth: 4,
        max_members: 8,
        max_string: 16,
    };

    #[test]
    fn accepts_plain_objects_with_whitespace() {
        let m = parse_object(b" {\r\n \"a\": [1, {\"b\": null}], \"c\":\"x\" } ", L).unwrap();
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn rejects_duplicates_even_when_escaped() {
        assert_eq!(
            parse_object(br#"{"a":1,"\u0061":2}"#, L),
            Err("duplicate JSON member")
        );
        assert_eq!(
            parse_object(br#"{"o":{"k":1,"k":1}}"#, L),
            Err("duplicate JSON member")
        );
    }

    #[test]
    fn rejects_depth_members_and_long_strings() {
        assert_eq!(
            parse_object(br#"{"a":[[[[1]]]]}"#, L),
            Err("JSON nested too deeply")
        );
        assert!(parse_object(br#"{"a":[[[1]]]}"#, L).is_ok());
        assert_eq!(
            parse_object(br#"{"a":"0123456789abcdefX"}"#, L),
            Err("JSON string too long")
        );
        let many = br#"{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1}"#;
        assert_eq!(parse_object(many, L), Err("too many JSON members"));
    }

    #[test]
    fn slot_members_leave_the_map_but_keep_every_rule() {
        let names = ["a", "b"];
        let mut slots = [None, None];
        let m = parse_object_into(br#"{"a":1,"c":2,"b":"x"}"#, L, &names, &mut slots).unwrap();
        assert_eq!(
            slots,
            [
                Some(Slot::Other(Value::from(1))),
                Some(Slot::Str(Cow::Borrowed("x")))
            ]
        );
        assert_eq!(m.len(), 1);
        assert!(m.contains_key("c"));
        for dup in [&br#"{"a":1,"a":2}"#[..], br#"{"a":1,"\u0061":2}"#] {
            let mut slots = [None, None];
            assert_eq!(
                parse_object_into(dup, L, &names, &mut slots),
                Err("duplicate JSON member")
            );
        }
        let many = br#"{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1}"#;
        let mut slots = [None, None];
        assert_eq!(
            parse_object_into(many, L, &names, &mut slots),
            Err("too many JSON members")
        );
    }

    #[test]
    fn slot_strings_borrow_unless_escaped_and_keep_the_length_limit() {
        let names = ["a", "b"];
        let mut slots = [None, None];
        parse_object_into(br#"{"a":"plain","b":"e\u0073c"}"#, L, &names, &mut slots).unwrap();
        assert!(matches!(&slots[0], Some(Slot::Str(Cow::Borrowed("plain")))));
        assert!(matches!(&slots[1], Some(Slot::Str(Cow::Owned(s))) if s == "esc"));
        let mut slots = [None, None];
        assert_eq!(
            parse_object_into(br#"{"a":"0123456789abcdefX"}"#, L, &names, &mut slots),
            Err("JSON string too long")
        );
        let mut slots = [None, None];
        assert_eq!(
            parse_object_into(br#"{"a":[[[[1]]]]}"#, L, &names, &mut slots),
            Err("JSON nested too deeply")
        );
    }

    /// The value of member "a" of `doc`.
    fn member(doc: &str) -> Result<Value, &'static str> {
        let wide = JsonLimits {
            max_depth: 200,
            max_members: 1000,
            max_string: 1000,
        };
        parse_object(doc.as_bytes(), wide).map(|mut m| m.remove("a").unwrap())
    }

    #[test]
    fn unescapes_every_escape_and_surrogate_pairs() {
        assert_eq!(
            member(r#"{"a":"\"\\\/\b\f\n\r\t"}"#),
            Ok(Value::from("\"\\/\u{8}\u{c}\n\r\t"))
        );
        assert_eq!(
            member(r#"{"a":"\u0000\u0041\u00e9\u20AC\uffff"}"#),
            Ok(Value::from("\0A\u{e9}\u{20ac}\u{ffff}"))
        );
        assert_eq!(
            member(r#"{"a":"x\ud83d\ude00y\uDBFF\uDFFF"}"#),
            Ok(Value::from("x\u{1f600}y\u{10ffff}"))
        );
        assert_eq!(
            member("{\"a\":\"caf\u{e9} \u{1f600}\"}"),
            Ok(Value::from("caf\u{e9} \u{1f600}"))
        );
    }

    #[test]
    fn refuses_lone_surrogates_and_bad_escapes() {
        for doc in [
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\ud800x"}"#,
            r#"{"a":"\ud800\n"}"#,
            r#"{"a":"\ud800\u0041"}"#,
            r#"{"a":"\ud800\ud800"}"#,
            r#"{"a":"\udc00"}"#,
            r#"{"a":"\udfff\ud800"}"#,
            r#"{"a":"\u12"}"#,
            r#"{"a":"\u12g4"}"#,
            r#"{"a":"\x41"}"#,
            r#"{"a":"\'"}"#,
            "{\"a\":\"\\",
            "{\"a\":\"tab\there\"}",
            "{\"a\":\"nul\u{0}\"}",
            "{\"a\":\"unterminated}",
        ] {
            assert_eq!(member(doc), Err("malformed JSON"), "{doc}");
        }
    }

    #[test]
    fn numbers_have_serde_json_values() {
        let n = |doc: &str| member(&format!("{{\"a\":{doc}}}"));
        assert_eq!(n("0"), Ok(Value::from(0u64)));
        assert_eq!(n("18446744073709551615"), Ok(Value::from(u64::MAX)));
        assert_eq!(
            n("18446744073709551616"),
            Ok(Value::from(18446744073709551616.0))
        );
        assert_eq!(n("-1"), Ok(Value::from(-1i64)));
        assert_eq!(n("-9223372036854775808"), Ok(Value::from(i64::MIN)));
        assert_eq!(
            n("-9223372036854775809"),
            Ok(Value::from(-9223372036854775809.0))
        );
        assert_eq!(n("-0").map(|v| v.to_string()), Ok("-0.0".to_string()));
        assert_eq!(n("1.5"), Ok(Value::from(1.5)));
        assert_eq!(n("-2.5E-3"), Ok(Value::from(-0.0025)));
        assert_eq!(n("1e2"), Ok(Value::from(100.0)));
        assert_eq!(n("1E+2"), Ok(Value::from(100.0)));
        assert_eq!(n("0.1"), Ok(Value::from(0.1)));
        assert_eq!(n("2.5e-324"), Ok(Value::from(5e-324)));
        assert_eq!(
            n("12345678901234567890123"),
            Ok(Value::from(1.2345678901234568e22))
        );
        for bad in [
            "01", "-01", "00", "1.", ".5", "-", "+1", "1e", "1e+", "1.e3", "--1", "0x1", "1e400",
            "-1e400", "Infinity", "NaN",
        ] {
            assert_eq!(n(bad), Err("malformed JSON"), "{bad}");
        }
    }

    #[test]
    fn duplicates_count_per_object_at_every_depth() {
        assert!(parse_object(br#"{"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":2}]}"#, L).is_ok());
        for doc in [
            &br#"{"a":[{"k":1,"k":2}]}"#[..],
            br#"{"a":{"b":{"k":1,"\u006b":2}}}"#,
            br#"{"a":1,"b":2,"a":3}"#,
        ] {
            assert_eq!(parse_object(doc, L), Err("duplicate JSON member"));
        }
    }

    #[test]
    fn depth_at_the_limit_passes_and_one_more_fails() {
        // L allows depth 4: the top object and three containers inside.
        assert!(parse_object(br#"{"a":[{"b":[1]}]}"#, L).is_ok());
        assert!(parse_object(br#"{"a":{"b":{"c":{}}}}"#, L).is_ok());
        assert_eq!(
            parse_object(br#"{"a":[{"b":[[]]}]}"#, L),
            Err("JSON nested too deeply")
        );
        assert_eq!(
            parse_object(br#"{"a":{"b":{"c":{"d":{}}}}}"#, L),
            Err("JSON nested too deeply")
        );
        // Past serde_json's own limit of 127 levels, the document is
        // malformed whatever `max_depth` allows.
        let nest = |levels: usize| {
            let inner = levels - 1;
            format!("{{\"a\":{}{}}}", "[".repeat(inner), "]".repeat(inner))
        };
        assert!(member(&nest(127)).is_ok());
        assert_eq!(member(&nest(128)), Err("malformed JSON"));
    }

    #[test]
    fn whitespace_is_allowed_wherever_rfc_8259_allows_it() {
        let doc = b" \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ \t\r\n1 \t\r\n, \t\r\n{ \"b\" : true } \t\r\n] \t\r\n, \"c\":null \t\r\n} \t\r\n";
        assert_eq!(parse_object(doc, L).map(|m| m.len()), Ok(2));
        // Nowhere else: not inside literals or numbers, and only these four
        // characters.
        for bad in [
            &b"{\"a\":tr ue}"[..],
            b"{\"a\":1 2}",
            b"{\"a\":-\t1}",
            b"\x0c{}",
            b"{}\x0b",
        ] {
            assert_eq!(parse_object(bad, L), Err("malformed JSON"));
        }
    }

    #[test]
    fn grammar_errors_are_malformed() {
        for bad in [
            &b"{,}"[..],
            b"{\"a\":1,}",
            b"{\"a\":[1,]}",
            b"{\"a\":[,1]}",
            b"{\"a\" 1}",
            b"{\"a\":}",
            b"{a:1}",
            b"{'a':1}",
            b"{\"a\":1 \"b\":2}",
            b"{\"a\":[1 2]}",
            b"{\"a\":nul}",
            b"{\"a\":True}",
            b"\xef\xbb\xbf{}",
        ] {
            assert_eq!(
                parse_object(bad, L),
                Err("malformed JSON"),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn rejects_non_objects_and_trailing_data() {
        assert_eq!(parse_object(b"[1]", L), Err("JSON is not an object"));
        assert_eq!(parse_object(b"\"s\"", L), Err("JSON is not an object"));
        assert_eq!(parse_object(b"{} {}", L), Err("malformed JSON"));
        assert_eq!(parse_object(b"{", L), Err("malformed JSON"));
        assert_eq!(parse_object(b"", L), Err("malformed JSON"));
        assert_eq!(
            parse_object(b"{\"a\":\"\\ud800\"}", L),
            Err("malformed JSON")
        );
        assert_eq!(parse_object(b"{\"a\":\xff}", L), Err("malformed JSON"));
    }
}
