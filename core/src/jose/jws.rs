//! Compact JWS (RFC 7515 §7.1): strict parsing, key selection and the
//! signature check. This layer knows nothing of claims or refresh tokens;
//! the payload comes back as the bytes that were signed.
//!
//! Invariants, in the order they are enforced:
//! 1. the token is within `max_token_bytes` before any byte is decoded;
//! 2. it has exactly three segments, each canonical base64url;
//! 3. the header is a strict JSON object without `crit`, `enc` or `zip`,
//!    whose registered parameters have their registered types; `jwk`,
//!    `jku`, `x5u` and `x5c` are never consulted;
//! 4. the key is chosen by `kid`, or is the set's key for kid-less tokens,
//!    and the header's `alg` must equal that key's algorithm exactly;
//! 5. the signature, of exactly the key's length, is checked over the
//!    received `header.payload` bytes, never a re-serialisation.

use serde_json::{Map, Value};

use super::b64;
use super::json::{self, JsonLimits, Slot};
use super::keys::{Key, KeySet};
use crate::error::{Error, Result};

/// Size and shape bounds on untrusted tokens. Every field is configurable;
/// the defaults suit simplejwt-shaped tokens with room to spare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest accepted token, in bytes (default 8 KiB).
    pub max_token_bytes: usize,
    /// Largest accepted header segment, in base64url characters (default 1 KiB).
    pub max_header_bytes: usize,
    /// Deepest JSON nesting in header or payload; the top object is 1 (default 8).
    pub max_json_depth: usize,
    /// Most members in one JSON object or array, claims included (default 64).
    pub max_claims: usize,
    /// Longest JSON string or member name, in bytes (default 1 KiB).
    pub max_string_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_token_bytes: 8 * 1024,
            max_header_bytes: 1024,
            max_json_depth: 8,
            max_claims: 64,
            max_string_bytes: 1024,
        }
    }
}

impl Limits {
    pub(crate) fn json(&self) -> JsonLimits {
        JsonLimits {
            max_depth: self.max_json_depth,
            max_members: self.max_claims,
            max_string: self.max_string_bytes,
        }
    }

    /// Checks that the limits can admit a token at all.
    pub fn check(&self) -> Result<()> {
        if self.max_token_bytes < 64
            || self.max_header_bytes < 16
            || self.max_json_depth == 0
            || self.max_claims < 8
            || self.max_string_bytes < 32
        {
            return Err(Error::config(
                "token limits are too small to admit any token",
            ));
        }
        Ok(())
    }
}

/// A token whose signature checked out.
#[derive(Debug)]
pub struct Verified<'k> {
    /// The key that verified it.
    pub key: &'k Key,
    /// The payload bytes exactly as signed.
    pub payload: Vec<u8>,
}

/// Parses a compact JWS and checks its signature with a key from `keys`.
pub fn verify<'k>(keys: &'k KeySet, token: &str, limits: &Limits) -> Result<Verified<'k>> {
    verify_then(keys, token, limits, |key, payload| {
        Ok(Verified {
            key,
            payload: payload.to_vec(),
        })
    })
}

/// Like [`verify`], but lends the payload to `read` instead of returning
/// it, so that the payload of a typical token is decoded on the stack.
pub(crate) fn verify_then<'k, T>(
    keys: &'k KeySet,
    token: &str,
    limits: &Limits,
    read: impl FnOnce(&'k Key, &[u8]) -> Result<T>,
) -> Result<T> {
    if token.len() > limits.max_token_bytes {
        return Err(Error::invalid("token exceeds the size limit"));
    }
    let (header, payload, signature) = split(token)?;
    if header.len() > limits.max_header_bytes {
        return Err(Error::invalid("header exceeds the size limit"));
    }
    let key = select_key(keys, header, limits)?;
    // Header and payload segments are checked for canonical base64url even
    // before the signature, so a malformed token never reaches the crypto.
    // A payload too long for the stack buffer (or not canonical: the
    // allocating decoder then says so) takes the allocating path.
    let mut small_payload = [0u8; 768];
    let mut large_payload = Vec::new();
    let payload_bytes: &[u8] = match b64::decode_slice(payload, &mut small_payload) {
        Some(n) => &small_payload[..n],
        None if b64::decode_into(payload, &mut large_payload) => &large_payload,
        None => return Err(Error::invalid("payload is not canonical base64url")),
    };
    // HMAC, ECDSA and Ed25519 signatures decode on the stack. RSA keys, and
    // a signature too long for the buffer, take the allocating path, which
    // applies the same strict rules.
    let mut small = [0u8; 64];
    let large;
    let on_stack = if key.signature_len() <= small.len() {
        b64::decode_slice(signature, &mut small)
    } else {
        None
    };
    let sig: &[u8] = match on_stack {
        Some(n) => &small[..n],
        None => {
            large = b64::decode(signature)
                .ok_or_else(|| Error::invalid("signature is not canonical base64url"))?;
            &large
        }
    };
    if sig.len() != key.signature_len() {
        return Err(Error::invalid("signature has the wrong length"));
    }
    let signing_input = &token.as_bytes()[..header.len() + 1 + payload.len()];
    if !key.verify(signing_input, sig) {
        return Err(Error::invalid("signature does not verify"));
    }
    read(key, payload_bytes)
}

/// Signs `payload` with `key` into a compact JWS whose header is
/// `{"alg","kid","typ":"JWT"}`.
pub fn sign(key: &Key, payload: &[u8]) -> Result<String> {
    let header = key.header_b64();
    let mut out = String::with_capacity(header.len() + payload.len() * 4 / 3 + 96);
    out.push_str(header);
    out.push('.');
    b64::encode_into(payload, &mut out);
    let sig = key.sign(out.as_bytes())?;
    out.push('.');
    b64::encode_into(&sig, &mut out);
    Ok(out)
}

/// The payload of a token whose signature is NOT checked, under the same
/// size and encoding rules as [`verify`]: bounded, exactly three canonical
/// base64url segments. For reading scheduling hints only (the client-side
/// keeper's `exp`); nothing it returns may be trusted.
pub(crate) fn unverified_payload(token: &str, limits: &Limits) -> Result<Vec<u8>> {
    if token.len() > limits.max_token_bytes {
        return Err(Error::invalid("token exceeds the size limit"));
    }
    let (header, payload, signature) = split(token)?;
    if header.len() > limits.max_header_bytes {
        return Err(Error::invalid("header exceeds the size limit"));
    }
    if b64::decode(header).is_none() || b64::decode(signature).is_none() {
        return Err(Error::invalid("token segment is not canonical base64url"));
    }
    b64::decode(payload).ok_or_else(|| Error::invalid("payload is not canonical base64url"))
}

fn split(token: &str) -> Result<(&[u8], &[u8], &[u8])> {
    // str's searches find the dots with memchr rather than byte by byte.
    let fewer = || Error::invalid("token has fewer than three segments");
    let (h, rest) = token.split_once('.').ok_or_else(fewer)?;
    let (p, s) = rest.split_once('.').ok_or_else(fewer)?;
    if s.contains('.') {
        return Err(Error::invalid("token has more than three segments"));
    }
    if h.is_empty() {
        return Err(Error::invalid("empty header segment"));
    }
    if s.is_empty() {
        return Err(Error::invalid("empty signature segment"));
    }
    Ok((h.as_bytes(), p.as_bytes(), s.as_bytes()))
}

fn select_key<'k>(keys: &'k KeySet, header: &[u8], limits: &Limits) -> Result<&'k Key> {
    // A header byte-identical to one we sign with is well-formed by
    // construction and names that key and its algorithm.
    if let Some(key) = keys
        .keys()
        .iter()
        .find(|k| k.header_b64().as_bytes() == header)
    {
        return Ok(key);
    }
    let bytes =
        b64::decode(header).ok_or_else(|| Error::invalid("header is not canonical base64url"))?;
    // The members read here go to slots; the rest are parsed as strictly
    // (duplicates, limits) and then ignored.
    let mut fields: [Option<Slot<'_>>; 4] = Default::default();
    let others = json::parse_object_into(
        &bytes,
        limits.json(),
        &["crit", "alg", "typ", "kid"],
        &mut fields,
    )
    .map_err(|reason| Error::TokenInvalid(format!("header: {reason}").into()))?;
    let [crit, alg, typ, kid] = fields;
    if crit.is_some() {
        return Err(Error::invalid(
            "header has crit; no extensions are understood",
        ));
    }
    check_registered(&others)?;
    let alg = match alg {
        Some(Slot::Str(alg)) => alg,
        Some(_) => return Err(Error::invalid("header alg is not a string")),
        None => return Err(Error::invalid("header lacks alg")),
    };
    match typ {
        None => {}
        Some(Slot::Str(t)) if t.eq_ignore_ascii_case("JWT") => {}
        Some(_) => return Err(Error::invalid("header typ is not JWT")),
    }
    let key = match kid {
        Some(Slot::Str(kid)) => keys
            .find(&kid)
            .ok_or_else(|| Error::invalid("unknown kid"))?,
        Some(_) => return Err(Error::invalid("header kid is not a string")),
        None => keys
            .kidless_key()
            .ok_or_else(|| Error::invalid("token has no kid and no key accepts kid-less tokens"))?,
    };
    if alg != key.algorithm().name() {
        return Err(Error::invalid(
            "header alg does not match the key's algorithm",
        ));
    }
    Ok(key)
}

/// Registered header parameters that Tessera never acts on must still
/// have their registered JSON types (RFC 7515 §4.1; `url` and `nonce`,
/// RFC 8555 §6.4), so that Tessera never accepts a header that another
/// verifier reads as malformed. `enc` and `zip` mark a JWE header
/// (RFC 7516 §9), never a JWS one.
fn check_registered(others: &Map<String, Value>) -> Result<()> {
    for (name, value) in others {
        let ok = match name.as_str() {
            "enc" | "zip" => {
                return Err(Error::invalid(
                    "header has enc or zip: a JWE header, not a JWS one",
                ))
            }
            "jku" | "x5u" | "x5t" | "x5t#S256" | "cty" | "url" | "nonce" => value.is_string(),
            "x5c" => value
                .as_array()
                .is_some_and(|chain| chain.iter().all(Value::is_string)),
            "jwk" => value.is_object(),
            _ => true,
        };
        if !ok {
            return Err(Error::invalid(
                "header has a registered parameter of the wrong type",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::Algorithm;

    fn hs() -> KeySet {
        KeySet::new(Key::hmac(Algorithm::HS256, &[9u8; 32]).unwrap()).unwrap()
    }

    #[test]
    fn sign_then_verify_returns_payload() {
        let keys = hs();
        let t = sign(keys.signing_key().unwrap(), b"{\"a\":1}").unwrap();
        let v = verify(&keys, &t, &Limits::default()).unwrap();
        assert_eq!(v.payload, b"{\"a\":1}");
    }

    #[test]
    fn oversized_token_is_rejected_first() {
        let t = "a".repeat(9000);
        let e = verify(&hs(), &t, &Limits::default()).unwrap_err();
        assert_eq!(e.detail(), "token exceeds the size limit");
    }

    #[test]
    fn segment_counts() {
        let l = Limits::default();
        for t in ["", "a", "a.b", "a.b.c.d", "a.b.c.", ".b.c", "a.b."] {
            assert_eq!(
                verify(&hs(), t, &l).unwrap_err().code(),
                "token_invalid",
                "{t:?}"
            );
        }
    }
}
