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
//! The parser is a hand-written recursive descent over the bytes: it fills
//! the caller's slots directly and builds `serde_json` values only for the
//! other members. It accepts exactly what the first parser, serde_json's
//! deserializer under visitors (`reference`), accepts, builds the same
//! values, and fails with the same reason at the same point of the input;
//! tests and the `json_differential` fuzz target hold it to that. Numbers
//! other than plain integers are handed to serde_json, so that their values
//! (u64, i64 or f64, `float_roundtrip`) are serde_json's own.

mod reference;

use std::borrow::Cow;

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
    // One UTF-8 check of the whole document up front: invalid UTF-8
    // anywhere is malformed, before any other rule, and every string can
    // then be sliced from `text` without another check.
    let text = std::str::from_utf8(bytes).map_err(|_| MALFORMED)?;
    let mut p = Parser {
        text,
        bytes,
        pos: 0,
        limits,
    };
    p.skip_whitespace();
    match p.peek() {
        Some(b'{') => p.pos += 1,
        Some(_) => return Err(p.not_an_object()),
        None => return Err(MALFORMED),
    }
    let map = p.object(1, names, slots)?;
    p.skip_whitespace();
    if p.pos != bytes.len() {
        return Err(MALFORMED);
    }
    Ok(map)
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

/// Both parsers side by side, for the differential fuzz target and tests.
#[doc(hidden)]
pub mod differential {
    use serde_json::{Map, Value};

    use super::Slot;
    use crate::jws::Limits;

    /// What a parse returns: the members left in the map and the slots'
    /// values, or the reason for refusing the document.
    pub type Outcome = Result<(Map<String, Value>, Vec<Option<Value>>), &'static str>;

    /// The parser Tessera uses.
    pub fn parse(bytes: &[u8], limits: &Limits, names: &[&str]) -> Outcome {
        run(bytes, limits, names, super::parse_object_into)
    }

    /// The serde_json-based parser it replaced.
    pub fn parse_reference(bytes: &[u8], limits: &Limits, names: &[&str]) -> Outcome {
        run(bytes, limits, names, super::reference::parse_object_into)
    }

    type Parse = for<'de> fn(
        &'de [u8],
        super::JsonLimits,
        &[&str],
        &mut [Option<Slot<'de>>],
    ) -> Result<Map<String, Value>, &'static str>;

    fn run(bytes: &[u8], limits: &Limits, names: &[&str], parse: Parse) -> Outcome {
        let mut slots = vec![None; names.len()];
        let map = parse(bytes, limits.json(), names, &mut slots)?;
        let values = slots
            .into_iter()
            .map(|s| {
                s.map(|s| {
                    // A string always goes to `Slot::Str`, so that callers
                    // can borrow it.
                    assert!(!matches!(&s, Slot::Other(Value::String(_))));
                    s.into_value()
                })
            })
            .collect();
        Ok((map, values))
    }
}

const MALFORMED: &str = "malformed JSON";

/// serde_json's own nesting limit: the reference parser refused, as
/// malformed, any container at this depth or deeper (the top object is
/// depth 1) before applying `max_depth`. It also bounds this parser's
/// recursion whatever `max_depth` is configured.
const SERDE_DEPTH_LIMIT: usize = 128;

/// A cursor over one document. `text` and `bytes` are the same input; every
/// position at which `text` is sliced follows or precedes an ASCII byte, so
/// it is a character boundary.
struct Parser<'de> {
    text: &'de str,
    bytes: &'de [u8],
    pos: usize,
    limits: JsonLimits,
}

impl<'de> Parser<'de> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Skips RFC 8259 whitespace: space, tab, line feed, carriage return.
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// The reason to refuse a document that does not start with `{`: a
    /// well-formed value of another type is "not an object", anything else
    /// malformed. Only the first value is read, as the reference parser did.
    #[cold]
    fn not_an_object(&mut self) -> &'static str {
        const NOT_AN_OBJECT: &str = "JSON is not an object";
        let well_formed = match self.peek() {
            Some(b'n') => self.literal(b"null"),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'-' | b'0'..=b'9') => self.number().is_ok(),
            Some(b'"') => {
                self.pos += 1;
                self.string().is_ok()
            }
            Some(b'[') => true,
            _ => false,
        };
        if well_formed {
            NOT_AN_OBJECT
        } else {
            MALFORMED
        }
    }

    /// The members of an object at `depth`, its `{` already consumed; the
    /// members named in `names` go to `slots`.
    fn object(
        &mut self,
        depth: usize,
        names: &[&str],
        slots: &mut [Option<Slot<'de>>],
    ) -> Result<Map<String, Value>, &'static str> {
        let mut map = Map::new();
        let mut in_slots = 0;
        let mut first = true;
        loop {
            self.skip_whitespace();
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(map);
                }
                Some(b'"') if first => {}
                Some(b',') if !first => {
                    self.pos += 1;
                    self.skip_whitespace();
                    if self.peek() != Some(b'"') {
                        return Err(MALFORMED);
                    }
                }
                _ => return Err(MALFORMED),
            }
            first = false;
            self.pos += 1;
            let key = self.string()?;
            // The checks on a member come in the reference parser's order:
            // name length, member count, duplicate, then the value.
            if key.len() > self.limits.max_string {
                return Err("JSON member name too long");
            }
            if map.len() + in_slots >= self.limits.max_members {
                return Err("too many JSON members");
            }
            // Names are short; comparing bytes inline beats a memcmp call.
            let slot = names.iter().position(|n| {
                n.len() == key.len() && n.bytes().zip(key.bytes()).all(|(a, b)| a == b)
            });
            match slot {
                Some(i) => {
                    if slots[i].is_some() {
                        return Err("duplicate JSON member");
                    }
                    self.colon()?;
                    slots[i] = Some(self.slot_value(depth)?);
                    in_slots += 1;
                }
                None => {
                    if map.contains_key(key.as_ref()) {
                        return Err("duplicate JSON member");
                    }
                    self.colon()?;
                    let value = self.value(depth)?;
                    map.insert(key.into_owned(), value);
                }
            }
        }
    }

    fn colon(&mut self) -> Result<(), &'static str> {
        self.skip_whitespace();
        if self.peek() != Some(b':') {
            return Err(MALFORMED);
        }
        self.pos += 1;
        Ok(())
    }

    /// A slot member's value: like [`Self::value`], except that a string
    /// stays borrowed when it holds no escapes.
    fn slot_value(&mut self, depth: usize) -> Result<Slot<'de>, &'static str> {
        self.skip_whitespace();
        if self.peek() == Some(b'"') {
            self.pos += 1;
            let s = self.string()?;
            if s.len() > self.limits.max_string {
                return Err("JSON string too long");
            }
            return Ok(Slot::Str(s));
        }
        self.value(depth).map(Slot::Other)
    }

    /// A value inside a container at `depth`.
    fn value(&mut self, depth: usize) -> Result<Value, &'static str> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                let s = self.string()?;
                if s.len() > self.limits.max_string {
                    return Err("JSON string too long");
                }
                Ok(Value::String(s.into_owned()))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'n') if self.literal(b"null") => Ok(Value::Null),
            Some(b't') if self.literal(b"true") => Ok(Value::Bool(true)),
            Some(b'f') if self.literal(b"false") => Ok(Value::Bool(false)),
            Some(b'[') => {
                let inner = self.open(depth)?;
                self.array(inner).map(Value::Array)
            }
            Some(b'{') => {
                let inner = self.open(depth)?;
                self.object(inner, &[], &mut []).map(Value::Object)
            }
            _ => Err(MALFORMED),
        }
    }

    /// Consumes the `[` or `{` of a container nested in one at `depth`,
    /// returning the container's own depth.
    fn open(&mut self, depth: usize) -> Result<usize, &'static str> {
        let inner = depth + 1;
        if inner >= SERDE_DEPTH_LIMIT {
            return Err(MALFORMED);
        }
        if depth >= self.limits.max_depth {
            return Err("JSON nested too deeply");
        }
        self.pos += 1;
        Ok(inner)
    }

    /// The items of an array at `depth`, its `[` already consumed.
    fn array(&mut self, depth: usize) -> Result<Vec<Value>, &'static str> {
        let mut items = Vec::new();
        loop {
            self.skip_whitespace();
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(_) if items.is_empty() => {}
                Some(b',') => {
                    self.pos += 1;
                    self.skip_whitespace();
                    if matches!(self.peek(), Some(b']') | None) {
                        return Err(MALFORMED);
                    }
                }
                _ => return Err(MALFORMED),
            }
            let item = self.value(depth)?;
            // Counted after the item is read, as the reference parser did,
            // so that an error inside the item comes first.
            if items.len() >= self.limits.max_members {
                return Err("too many JSON array items");
            }
            items.push(item);
        }
    }

    /// Consumes `word` if the input continues with it.
    fn literal(&mut self, word: &[u8]) -> bool {
        let found = self
            .bytes
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(word));
        if found {
            self.pos += word.len();
        }
        found
    }

    /// A string, its opening quote already consumed; borrowed from the input
    /// unless it holds escapes.
    fn string(&mut self) -> Result<Cow<'de, str>, &'static str> {
        let start = self.pos;
        self.pos = self.special(start)?;
        if self.bytes[self.pos] == b'"' {
            let s = self.text.get(start..self.pos).ok_or(MALFORMED)?;
            self.pos += 1;
            return Ok(Cow::Borrowed(s));
        }
        let mut out = String::with_capacity(self.pos - start + 16);
        let mut run = start;
        loop {
            out.push_str(self.text.get(run..self.pos).ok_or(MALFORMED)?);
            // `special` stops only at a quote or a backslash.
            self.pos += 1;
            if self.bytes[self.pos - 1] == b'"' {
                return Ok(Cow::Owned(out));
            }
            out.push(self.escape()?);
            run = self.pos;
            self.pos = self.special(run)?;
        }
    }

    /// The position, at or after `from`, of the next quote or backslash;
    /// malformed if a control character comes first, or the input ends.
    /// Eight bytes are examined at a time: strings are most of a payload.
    fn special(&self, from: usize) -> Result<usize, &'static str> {
        const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
        const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
        // The high bit of each byte of `w` below `n`; exact up to the first
        // such byte, which is all the search needs.
        let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS;
        let mut i = from;
        while let Some(chunk) = self.bytes.get(i..i + 8) {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            let w = u64::from_le_bytes(word);
            let found = below(w ^ (ONES * 0x22), 1) | below(w ^ (ONES * 0x5c), 1) | below(w, 0x20);
            if found != 0 {
                // Little-endian: the lowest flagged bit is the first byte.
                i += (found.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        while let Some(&b) = self.bytes.get(i) {
            match b {
                b'"' | b'\\' => return Ok(i),
                0..=0x1f => return Err(MALFORMED),
                _ => i += 1,
            }
        }
        Err(MALFORMED)
    }

    /// The character an escape stands for, its backslash already consumed.
    /// A `\u` escape of a surrogate must be a leading one followed at once
    /// by a `\u` escape of a trailing one: lone surrogates are refused.
    fn escape(&mut self) -> Result<char, &'static str> {
        let c = self.peek().ok_or(MALFORMED)?;
        self.pos += 1;
        Ok(match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                let code = match unit {
                    0xd800..=0xdbff => {
                        if !self.literal(b"\\u") {
                            return Err(MALFORMED);
                        }
                        let low = self.hex4()?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return Err(MALFORMED);
                        }
                        0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                    }
                    0xdc00..=0xdfff => return Err(MALFORMED),
                    _ => unit,
                };
                char::from_u32(code).ok_or(MALFORMED)?
            }
            _ => return Err(MALFORMED),
        })
    }

    /// Four hex digits of a `\u` escape.
    fn hex4(&mut self) -> Result<u32, &'static str> {
        let digits = self.bytes.get(self.pos..self.pos + 4).ok_or(MALFORMED)?;
        let mut n = 0;
        for &d in digits {
            let v = char::from(d).to_digit(16).ok_or(MALFORMED)?;
            n = n << 4 | v;
        }
        self.pos += 4;
        Ok(n)
    }

    /// A number, by RFC 8259 §6's grammar. Integers of up to 19 digits are
    /// converted here as serde_json converts them (u64 if non-negative,
    /// i64 if negative, -0 as a float); anything else is handed to
    /// serde_json, which yields its own value or refuses a float out of
    /// range.
    fn number(&mut self) -> Result<Value, &'static str> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let int_start = self.pos;
        // The integer part's value; meaningful only up to 19 digits.
        let mut n = 0u64;
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                // There can be only one leading zero.
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(MALFORMED);
                }
            }
            Some(b'1'..=b'9') => {
                let mut i = self.pos;
                while let Some(&d @ b'0'..=b'9') = self.bytes.get(i) {
                    n = n.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
                    i += 1;
                }
                self.pos = i;
            }
            _ => return Err(MALFORMED),
        }
        let int_end = self.pos;
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.some_digits()?;
            integer = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.some_digits()?;
            integer = false;
        }
        if integer && int_end - int_start <= 19 {
            if !negative {
                return Ok(Value::from(n));
            }
            // Below 10^19 < 2^64, so the cast keeps every bit; negated, it
            // is negative exactly when -n fits an i64 and n is not 0.
            let negated = (n as i64).wrapping_neg();
            if negated < 0 {
                return Ok(Value::from(negated));
            }
        }
        let text = self.text.get(start..self.pos).ok_or(MALFORMED)?;
        match serde_json::from_str(text) {
            Ok(v @ Value::Number(_)) => Ok(v),
            _ => Err(MALFORMED),
        }
    }

    /// One or more digits.
    fn some_digits(&mut self) -> Result<(), &'static str> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(MALFORMED);
        }
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        Ok(())
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

    /// Parses with both parsers, which must agree, and returns the result.
    fn both(doc: &[u8], limits: JsonLimits) -> Result<Map<String, Value>, &'static str> {
        let new = parse_object(doc, limits);
        let old = reference::parse_object_into(doc, limits, &[], &mut []);
        assert_eq!(new, old, "{}", String::from_utf8_lossy(doc));
        new
    }

    /// The value of member "a" of `doc`.
    fn member(doc: &str) -> Result<Value, &'static str> {
        let wide = JsonLimits {
            max_depth: 200,
            max_members: 1000,
            max_string: 1000,
        };
        both(doc.as_bytes(), wide).map(|mut m| m.remove("a").unwrap())
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
        assert!(both(br#"{"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":2}]}"#, L).is_ok());
        for doc in [
            &br#"{"a":[{"k":1,"k":2}]}"#[..],
            br#"{"a":{"b":{"k":1,"\u006b":2}}}"#,
            br#"{"a":1,"b":2,"a":3}"#,
        ] {
            assert_eq!(both(doc, L), Err("duplicate JSON member"));
        }
    }

    #[test]
    fn depth_at_the_limit_passes_and_one_more_fails() {
        // L allows depth 4: the top object and three containers inside.
        assert!(both(br#"{"a":[{"b":[1]}]}"#, L).is_ok());
        assert!(both(br#"{"a":{"b":{"c":{}}}}"#, L).is_ok());
        assert_eq!(
            both(br#"{"a":[{"b":[[]]}]}"#, L),
            Err("JSON nested too deeply")
        );
        assert_eq!(
            both(br#"{"a":{"b":{"c":{"d":{}}}}}"#, L),
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
        assert_eq!(both(doc, L).map(|m| m.len()), Ok(2));
        // Nowhere else: not inside literals or numbers, and only these four
        // characters.
        for bad in [
            &b"{\"a\":tr ue}"[..],
            b"{\"a\":1 2}",
            b"{\"a\":-\t1}",
            b"\x0c{}",
            b"{}\x0b",
        ] {
            assert_eq!(both(bad, L), Err("malformed JSON"));
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
                both(bad, L),
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
