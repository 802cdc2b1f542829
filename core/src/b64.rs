//! Strict base64url (RFC 4648 §5) as JWS requires it (RFC 7515 §2).
//!
//! Invariant: a string decodes only if it is the one canonical encoding of
//! its bytes: URL-safe alphabet, no padding, no whitespace, zero trailing
//! bits. So two different strings never decode to the same bytes.

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

/// Decodes into a caller's buffer, replacing its contents.
pub fn decode_into(text: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    STRICT.decode_vec(text, out).is_ok()
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
        assert!(decode(b"Y Q").is_none(), "whitespace");
        assert!(decode(b"YQ\n").is_none(), "newline");
        assert!(decode(b"+/").is_none(), "standard alphabet");
        assert!(decode(b"Y").is_none(), "impossible length");
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
}
