//! Strict base64url (RFC 4648 §5) as JWS requires it (RFC 7515 §2), over
//! the `base64` crate's engine configured to refuse every other spelling.
//!
//! Invariant: a string decodes only if it is the one canonical encoding of
//! its bytes: URL-safe alphabet, no padding, no whitespace, zero trailing
//! bits. So two different strings never decode to the same bytes.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// The one engine every token segment goes through.
const STRICT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

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
    STRICT.decode(text).ok()
}

/// Decodes into `out`, returning the decoded length; `None` for anything
/// that is not canonical, or when `out` is too small to hold the result.
pub fn decode_slice(text: &[u8], out: &mut [u8]) -> Option<usize> {
    STRICT.decode_slice(text, out).ok()
}

/// Decodes into a caller's buffer, replacing its contents; on failure the
/// buffer is left empty.
pub fn decode_into(text: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    if STRICT.decode_vec(text, out).is_err() {
        out.clear();
        return false;
    }
    true
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
    /// bytes most likely to be mistaken for it, decodes if and only if it is
    /// the canonical encoding of what it decodes to, and every decoder
    /// agrees.
    #[test]
    fn short_texts_decode_only_when_canonical() {
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
        let mut decoded = 0;
        for text in &texts {
            let got = decode(text);
            if let Some(bytes) = &got {
                assert_eq!(encode(bytes).as_bytes(), &text[..], "{text:?}");
                decoded += 1;
            }
            let mut out = [0u8; 4];
            let sliced = decode_slice(text, &mut out).map(|n| out[..n].to_vec());
            assert_eq!(sliced, got, "{text:?}");
            let mut vec = vec![1, 2, 3];
            assert_eq!(decode_into(text, &mut vec), got.is_some(), "{text:?}");
            assert_eq!(Some(vec), got.or(Some(vec![])), "{text:?}");
        }
        // Each accepted text spells the bytes it decodes to, so they are
        // distinct; there are as many as byte strings of up to two bytes,
        // each of whose spellings is among these texts. So every refused
        // text spells no byte string.
        assert_eq!(decoded, 1 + 256 + 65536);
    }
}
