//! The personal access token format, which secret scanners match offline.
//!
//! Format: `<prefix><secret><checksum>`, where the secret is 32 bytes from
//! the system CSPRNG written as exactly 43 base62 characters (`0-9A-Za-z`,
//! most significant first, zero-padded), and the checksum is the CRC32 of
//! the prefix and secret characters, written as exactly 6 base62 characters.
//! With the default prefix a token matches `tsr_pat_[0-9A-Za-z]{49}`.
//!
//! base62 is written here rather than taken from a crate because it is the
//! token format itself: fixed width, zero-padded, in an alphabet ordered so
//! that the range check is a byte comparison. The CRC32 comes from
//! `crc32fast`, and token ids are UUIDs from the `uuid` crate.
//!
//! Invariant: [`check_format`] accepts exactly the strings [`mint`] can
//! produce for a prefix (any 256-bit secret, its checksum), nothing else.

use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::rand;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Characters of the base62 secret: 62^43 > 2^256 > 62^42.
pub const SECRET_CHARS: usize = 43;
/// Characters of the base62 CRC32 checksum: 62^6 > 2^32.
pub const CHECKSUM_CHARS: usize = 6;
/// Characters of the secret shown in the display prefix.
const DISPLAY_CHARS: usize = 4;

/// Checks a token's format offline: prefix, length, alphabet, value range
/// and checksum. No store is consulted.
pub fn check_format(prefix: &str, token: &str) -> Result<()> {
    let bad = |why: &'static str| Err(Error::PatInvalid(why.into()));
    if token.len() != prefix.len() + SECRET_CHARS + CHECKSUM_CHARS {
        return bad("wrong length");
    }
    let Some(body) = token.strip_prefix(prefix) else {
        return bad("wrong prefix");
    };
    if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return bad("character outside base62");
    }
    let (secret, checksum) = body.split_at(SECRET_CHARS);
    // Fixed width and an alphabet in ASCII order make numeric order the
    // byte order, so the range check needs no big-number decode.
    if secret.as_bytes() > max_secret() {
        return bad("secret out of range");
    }
    if checksum.as_bytes() != checksum_chars(prefix, secret) {
        return bad("checksum mismatch");
    }
    Ok(())
}

/// A new token for `prefix`: the token, and its display prefix (the prefix
/// and the first characters of the secret).
pub(crate) fn mint(prefix: &str) -> Result<(String, String)> {
    let mut raw = Zeroizing::new([0u8; 32]);
    rand::fill(&mut *raw)?;
    let secret = Zeroizing::new(base62_encode_256(&raw));
    let mut token = String::with_capacity(prefix.len() + SECRET_CHARS + CHECKSUM_CHARS);
    token.push_str(prefix);
    token.push_str(&secret);
    token.extend(checksum_chars(prefix, &secret).map(char::from));
    let display = format!("{prefix}{}", &secret[..DISPLAY_CHARS]);
    Ok((token, display))
}

/// A new token id: a random (version 4) UUID.
pub(crate) fn new_id() -> Result<[u8; 16]> {
    let mut random = [0u8; 16];
    rand::fill(&mut random)?;
    Ok(*uuid::Builder::from_random_bytes(random)
        .into_uuid()
        .as_bytes())
}

/// A token id as text: the canonical hyphenated lowercase UUID.
pub(crate) fn id_text(id: &[u8; 16]) -> String {
    Uuid::from_bytes(*id).hyphenated().to_string()
}

/// A token id from text; only the canonical form [`id_text`] writes is
/// accepted, so one id has one spelling.
pub(crate) fn parse_id(text: &str) -> Option<[u8; 16]> {
    let id = Uuid::try_parse(text).ok()?;
    let mut buf = Uuid::encode_buffer();
    (id.hyphenated().encode_lower(&mut buf) == text).then(|| *id.as_bytes())
}

/// The 6 checksum characters for a prefix and secret.
fn checksum_chars(prefix: &str, secret: &str) -> [u8; CHECKSUM_CHARS] {
    let mut h = crc32fast::Hasher::new();
    h.update(prefix.as_bytes());
    h.update(secret.as_bytes());
    let mut v = h.finalize();
    let mut out = [b'0'; CHECKSUM_CHARS];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(v % 62) as usize];
        v /= 62;
    }
    out
}

/// 32 bytes as exactly 43 base62 characters, big-endian, zero-padded.
fn base62_encode_256(bytes: &[u8; 32]) -> String {
    let mut n = *bytes;
    let mut out = [b'0'; SECRET_CHARS];
    for slot in out.iter_mut().rev() {
        let mut rem = 0u32;
        for b in n.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            // rem < 62, so cur < 62 * 256 and cur / 62 < 256.
            #[allow(clippy::expect_used)]
            let quotient = u8::try_from(cur / 62).expect("a base62 quotient fits a byte");
            *b = quotient;
            rem = cur % 62;
        }
        *slot = BASE62[rem as usize];
    }
    out.iter().map(|&b| char::from(b)).collect()
}

/// The encoding of 2^256 - 1, the largest secret.
fn max_secret() -> &'static [u8] {
    static MAX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    MAX.get_or_init(|| base62_encode_256(&[0xff; 32]))
        .as_bytes()
}

/// 43 base62 characters back to 32 bytes; `None` above 2^256 - 1.
fn base62_decode_256(text: &[u8]) -> Option<[u8; 32]> {
    if text.len() != SECRET_CHARS {
        return None;
    }
    let mut n = [0u8; 32];
    for &c in text {
        let digit = u32::try_from(BASE62.iter().position(|&d| d == c)?).ok()?;
        let mut carry = digit;
        for b in n.iter_mut().rev() {
            let cur = u32::from(*b) * 62 + carry;
            *b = (cur & 0xff) as u8;
            carry = cur >> 8;
        }
        if carry != 0 {
            return None;
        }
    }
    Some(n)
}

/// Round trips for property tests and fuzzing; not a stable API.
#[doc(hidden)]
pub mod codec {
    /// See [`super::base62_encode_256`].
    pub fn base62_encode(bytes: &[u8; 32]) -> String {
        super::base62_encode_256(bytes)
    }
    /// See [`super::base62_decode_256`].
    pub fn base62_decode(text: &str) -> Option<[u8; 32]> {
        super::base62_decode_256(text.as_bytes())
    }
    /// The checksum characters of a prefix and secret.
    pub fn checksum(prefix: &str, secret: &str) -> String {
        super::checksum_chars(prefix, secret)
            .iter()
            .map(|&b| char::from(b))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_round_trip_extremes() {
        for bytes in [[0u8; 32], [0xff; 32], [1; 32]] {
            let s = base62_encode_256(&bytes);
            assert_eq!(s.len(), SECRET_CHARS);
            assert_eq!(base62_decode_256(s.as_bytes()), Some(bytes));
        }
        assert!(
            base62_decode_256(&[b'z'; SECRET_CHARS]).is_none(),
            "above 2^256"
        );
    }

    #[test]
    fn range_check_by_bytes_agrees_with_the_numeric_decode() {
        assert!(
            BASE62.windows(2).all(|w| w[0] < w[1]),
            "alphabet in ASCII order"
        );
        let max = max_secret();
        assert_eq!(base62_decode_256(max), Some([0xff; 32]));
        // One above the maximum, in the last and in the first place.
        let mut over = max.to_vec();
        let last = over.len() - 1;
        over[last] = BASE62[BASE62.iter().position(|&c| c == over[last]).unwrap() + 1];
        assert!(over.as_slice() > max && base62_decode_256(&over).is_none());
        let mut first = vec![b'0'; SECRET_CHARS];
        first[0] = BASE62[BASE62.iter().position(|&c| c == max[0]).unwrap() + 1];
        assert!(first.as_slice() > max && base62_decode_256(&first).is_none());
    }

    #[test]
    fn uuid_round_trip() {
        let id = [0xab; 16];
        let text = id_text(&id);
        assert_eq!(text, "abababab-abab-abab-abab-abababababab");
        assert_eq!(parse_id(&text), Some(id));
        assert_eq!(parse_id("not-a-uuid"), None);
    }

    #[test]
    fn non_canonical_ids_are_refused() {
        let text = id_text(&[0xab; 16]);
        for other in [
            text.to_uppercase(),
            text.replace('-', ""),
            format!("{{{text}}}"),
            format!("urn:uuid:{text}"),
            format!("+{}", &text[1..]),
            format!(" {text}"),
        ] {
            assert_eq!(parse_id(&other), None, "{other}");
        }
    }

    #[test]
    fn new_ids_are_version_4() {
        let id = new_id().unwrap();
        assert_eq!(Uuid::from_bytes(id).get_version_num(), 4);
    }

    #[test]
    fn minted_tokens_pass_the_format_check() {
        let (token, display) = mint("tsr_pat_").unwrap();
        assert!(check_format("tsr_pat_", &token).is_ok());
        assert!(token.starts_with(&display));
        assert_eq!(display.len(), "tsr_pat_".len() + DISPLAY_CHARS);
    }

    #[test]
    fn format_check_rejects_each_kind_of_damage() {
        let secret = base62_encode_256(&[7; 32]);
        let sum = std::str::from_utf8(&checksum_chars("tsr_pat_", &secret))
            .unwrap()
            .to_owned();
        let token = format!("tsr_pat_{secret}{sum}");
        assert!(check_format("tsr_pat_", &token).is_ok());
        assert!(check_format("phub_pat_", &token).is_err());
        assert!(check_format("tsr_pat_", &token[1..]).is_err());
        let mut bad = token.clone();
        bad.replace_range(10..11, "!");
        assert_eq!(
            check_format("tsr_pat_", &bad).unwrap_err().code(),
            "pat_invalid"
        );
    }
}
