//! The first strict JSON parser: serde_json's streaming deserializer driven
//! by visitors that enforce the rules of the parent module. Kept as the
//! reference the hand-written parser is tested and fuzzed against
//! (`fuzz_targets/json_differential.rs`); it keeps the same invariant, and
//! reports the same reasons.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{JsonLimits, Slot};

/// [`super::parse_object_into`], as the first parser implemented it.
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
