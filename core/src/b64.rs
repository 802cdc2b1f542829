//! Strict base64url (RFC 4648 §5) as JWS requires it (RFC 7515 §2).
//!
//! Invariant: a string decodes only if it is the one canonical encoding of
//! its bytes: URL-safe alphabet, no padding, no whitespace, zero trailing
//! bits. So two different strings never decode to the same bytes.
//!
//! Decoding is hand-written (a table lookup per character, four characters
//! to three bytes) because it sits on every verification's path; encoding
//! goes through the `base64` crate, whose strict engine the decoder is
//! tested against.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

const STRICT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Marks a byte outside the alphabet in [`DECODE`]; every sextet is below
/// 64, so one test of the high bit catches any invalid byte in a group.
const INVALID: u8 = 0x80;

/// The sextet of each alphabet byte, [`INVALID`] for every other byte.
static DECODE: [u8; 256] = decode_table();

const fn decode_table() -> [u8; 256] {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut table = [INVALID; 256];
    let mut i = 0u8;
    while i < 64 {
        table[ALPHABET[i as usize] as usize] = i;
        i += 1;
    }
    table
}

/// Encodes bytes as unpadded base64url.
pub fn encode(bytes: &[u8]) -> String {
    STRICT.encode(bytes)
}

/// Appends the unpadded base64url encoding of `bytes` to `out`.
pub fn encode_into(bytes: &[u8], out: &mut String) {
    STRICT.encode_string(bytes, out);
}

/// Decodes canonical unpadded base64url; anything else is `None`.
pub fn decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    decode_into(text, &mut out).then_some(out)
}

/// Decodes into `out`, returning the decoded length; `None` for anything
/// that is not canonical, or when `out` is too small to hold the result.
pub fn decode_slice(text: &[u8], out: &mut [u8]) -> Option<usize> {
    let len = decoded_len(text.len())?;
    decode_exact(text, out.get_mut(..len)?)?;
    Some(len)
}

/// Decodes into a caller's buffer, replacing its contents.
pub fn decode_into(text: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    let Some(len) = decoded_len(text.len()) else {
        return false;
    };
    out.resize(len, 0);
    if decode_exact(text, out).is_none() {
        out.clear();
        return false;
    }
    true
}

/// The length of the bytes that `chars` characters decode to, or `None` for
/// a length no unpadded encoding has (one character past a whole group).
fn decoded_len(chars: usize) -> Option<usize> {
    let whole = chars / 4 * 3;
    match chars % 4 {
        0 => Some(whole),
        2 => Some(whole + 1),
        3 => Some(whole + 2),
        _ => None,
    }
}

/// Decodes `text` into `out`, which is exactly `decoded_len(text.len())`
/// bytes long.
fn decode_exact(text: &[u8], out: &mut [u8]) -> Option<()> {
    let sextet = |b: u8| u32::from(DECODE[usize::from(b)]);
    let whole = text.len() / 4;
    let (groups, tail) = text.split_at(whole * 4);
    let (dst, rest) = out.split_at_mut(whole * 3);
    // Invalid bytes are collected over the whole text and checked once:
    // what was written before the check is discarded with the result.
    let mut seen = 0;
    // Eight characters (six bytes) at a time, then the last group of four
    // if there is one.
    let mut pairs = groups.chunks_exact(8);
    let mut out_pairs = dst.chunks_exact_mut(6);
    for (g, o) in (&mut pairs).zip(&mut out_pairs) {
        let s = |i: usize| u64::from(DECODE[usize::from(g[i])]);
        let (a, b, c, d, e, f, h, k) = (s(0), s(1), s(2), s(3), s(4), s(5), s(6), s(7));
        seen |= a | b | c | d | e | f | h | k;
        let n = a << 42 | b << 36 | c << 30 | d << 24 | e << 18 | f << 12 | h << 6 | k;
        o.copy_from_slice(&n.to_be_bytes()[2..]);
    }
    if let ([w, x, y, z], [p, q, r]) = (pairs.remainder(), out_pairs.into_remainder()) {
        let (a, b, c, d) = (sextet(*w), sextet(*x), sextet(*y), sextet(*z));
        seen |= u64::from(a | b | c | d);
        let [_, n0, n1, n2] = (a << 18 | b << 12 | c << 6 | d).to_be_bytes();
        (*p, *q, *r) = (n0, n1, n2);
    }
    match *tail {
        [] => {}
        [a, b] => {
            let (a, b) = (sextet(a), sextet(b));
            // The low four bits of the last sextet are padding and must be
            // zero, or a second spelling would decode to the same byte.
            seen |= u64::from(a | b);
            if b & 0x0f != 0 {
                return None;
            }
            let [_, x, _, _] = (a << 18 | b << 12).to_be_bytes();
            rest[0] = x;
        }
        [a, b, c] => {
            let (a, b, c) = (sextet(a), sextet(b), sextet(c));
            // Likewise the low two bits.
            seen |= u64::from(a | b | c);
            if c & 0x03 != 0 {
                return None;
            }
            let [_, x, y, _] = (a << 18 | b << 12 | c << 6).to_be_bytes();
            rest[0] = x;
            rest[1] = y;
        }
        // `decoded_len` rejected a remainder of one character.
        _ => return None,
    }
    (seen & u64::from(INVALID) == 0).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for n in 0..40u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(
                decode(encode(&bytes).as_bytes()).as_deref(),
                Some(&bytes[..])
            );
        }
    }

    #[test]
    fn rejects_non_canonical_forms() {
        assert_eq!(decode(b"YQ"), Some(b"a".to_vec()));
        assert!(decode(b"YQ==").is_none(), "padding");
        assert!(decode(b"YR").is_none(), "non-zero trailing bits");
        assert!(decode(b"YWJ").is_none(), "non-zero trailing bits");
        assert!(decode(b"Y Q").is_none(), "whitespace");
        assert!(decode(b"YQ\n").is_none(), "newline");
        assert!(decode(b"+/").is_none(), "standard alphabet");
        assert!(decode(b"Y").is_none(), "impossible length");
        assert!(decode(b"YWJjY").is_none(), "impossible length");
        assert!(decode(b"YW\xffj").is_none(), "non-ASCII");
    }

    #[test]
    fn decode_slice_is_as_strict_and_bounded() {
        let mut out = [0u8; 2];
        assert_eq!(decode_slice(b"YWI", &mut out), Some(2));
        assert_eq!(&out, b"ab");
        assert_eq!(decode_slice(b"YWJj", &mut out), None, "too small");
        for bad in [&b"YQ=="[..], b"YR", b"Y Q", b"+/", b"Y"] {
            assert_eq!(decode_slice(bad, &mut [0u8; 8]), None, "{bad:?}");
        }
    }

    #[test]
    fn decode_into_replaces_and_clears_on_failure() {
        let mut out = b"old".to_vec();
        assert!(decode_into(b"YWJj", &mut out));
        assert_eq!(out, b"abc");
        assert!(!decode_into(b"YWJ=", &mut out));
        assert!(out.is_empty());
    }

    /// One byte outside the alphabet is caught wherever it stands, in the
    /// eight-character blocks, the last group of four and the tail alike.
    #[test]
    fn a_bad_byte_anywhere_is_refused() {
        for len in 0..40u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(91)).collect();
            let text = encode(&bytes).into_bytes();
            for at in 0..text.len() {
                for bad in [b'=', b'+', b'.', 0x80, 0xff] {
                    let mut t = text.clone();
                    t[at] = bad;
                    assert_eq!(decode(&t), None, "{t:?}");
                }
            }
        }
    }

    /// Every text of up to three characters, over the alphabet and the
    /// bytes most likely to be mistaken for it, decodes exactly as the
    /// `base64` crate's strict engine decodes it.
    #[test]
    fn short_texts_decode_as_the_strict_engine_does() {
        let mut symbols: Vec<u8> =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".to_vec();
        symbols.extend_from_slice(b"=+/. \n\r\t\0");
        symbols.extend_from_slice(&[0x7f, 0x80, 0xc3, 0xff]);
        let mut texts: Vec<Vec<u8>> = vec![vec![]];
        let mut last = texts.clone();
        for _ in 0..3 {
            last = last
                .iter()
                .flat_map(|t| {
                    symbols.iter().map(move |&s| {
                        let mut t = t.clone();
                        t.push(s);
                        t
                    })
                })
                .collect();
            texts.extend(last.iter().cloned());
        }
        for text in &texts {
            let want = STRICT.decode(text).ok();
            assert_eq!(decode(text), want, "{text:?}");
            let mut out = [0u8; 4];
            let got = decode_slice(text, &mut out).map(|n| out[..n].to_vec());
            assert_eq!(got, want, "{text:?}");
        }
    }
}
