//! The little DER and PEM reading that key import needs: SubjectPublicKeyInfo
//! (RFC 5280 §4.1) and RSAPublicKey (RFC 8017 §A.1.1). ring parses PKCS#8
//! itself.
//!
//! Invariant: only definite, minimally encoded lengths are accepted, and
//! every read is bounds-checked; malformed input yields `None`, never a panic.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use zeroize::Zeroizing;

pub(crate) const TAG_INTEGER: u8 = 0x02;
pub(crate) const TAG_BIT_STRING: u8 = 0x03;
pub(crate) const TAG_OID: u8 = 0x06;
pub(crate) const TAG_SEQUENCE: u8 = 0x30;

/// rsaEncryption, 1.2.840.113549.1.1.1
pub(crate) const OID_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
/// id-ecPublicKey, 1.2.840.10045.2.1
pub(crate) const OID_EC: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
/// prime256v1, 1.2.840.10045.3.1.7
pub(crate) const OID_P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// id-Ed25519, 1.3.101.112
pub(crate) const OID_ED25519: &[u8] = &[0x2B, 0x65, 0x70];

/// Splits one TLV off the front of `input`: (tag, contents, rest).
pub(crate) fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n || rest[0] == 0 {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        if len < 0x80 {
            return None;
        }
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Reads a TLV that must carry `tag`.
pub(crate) fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match tlv(input)? {
        (t, body, rest) if t == tag => Some((body, rest)),
        _ => None,
    }
}

/// A parsed SubjectPublicKeyInfo.
pub(crate) struct Spki<'a> {
    pub algorithm: &'a [u8],
    pub parameters: Option<&'a [u8]>,
    pub key: &'a [u8],
}

pub(crate) fn spki(der: &[u8]) -> Option<Spki<'_>> {
    let (body, rest) = expect(der, TAG_SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let (alg, body) = expect(body, TAG_SEQUENCE)?;
    let (oid, params) = expect(alg, TAG_OID)?;
    let parameters = if params.is_empty() {
        None
    } else {
        let (tag, p, tail) = tlv(params)?;
        if !tail.is_empty() {
            return None;
        }
        // NULL parameters (RSA) carry nothing we need.
        (tag == TAG_OID).then_some(p)
    };
    let (bits, rest) = expect(body, TAG_BIT_STRING)?;
    if !rest.is_empty() {
        return None;
    }
    let (&unused, key) = bits.split_first()?;
    if unused != 0 {
        return None;
    }
    Some(Spki {
        algorithm: oid,
        parameters,
        key,
    })
}

/// Reads RSAPublicKey into big-endian (n, e) without leading zero bytes.
pub(crate) fn rsa_public(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (body, rest) = expect(der, TAG_SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let (n, body) = expect(body, TAG_INTEGER)?;
    let (e, body) = expect(body, TAG_INTEGER)?;
    if !body.is_empty() {
        return None;
    }
    Some((unsigned(n)?, unsigned(e)?))
}

fn unsigned(int: &[u8]) -> Option<&[u8]> {
    match int {
        [] => None,
        [0, rest @ ..] if rest.first().is_some_and(|b| b & 0x80 != 0) => Some(rest),
        [b, ..] if b & 0x80 != 0 => None,
        _ => Some(int),
    }
}

/// Encodes RSAPublicKey from big-endian unsigned (n, e).
pub(crate) fn encode_rsa_public(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    encode_integer(n, &mut body);
    encode_integer(e, &mut body);
    let mut out = Vec::with_capacity(body.len() + 4);
    encode_header(TAG_SEQUENCE, body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}

fn encode_integer(value: &[u8], out: &mut Vec<u8>) {
    let start = value.iter().position(|&b| b != 0).unwrap_or(value.len());
    let v = &value[start..];
    let pad = v.first().is_none_or(|b| b & 0x80 != 0);
    encode_header(TAG_INTEGER, v.len() + usize::from(pad), out);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(v);
}

fn encode_header(tag: u8, len: usize, out: &mut Vec<u8>) {
    out.push(tag);
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    if len < 0x80 {
        out.push(bytes[bytes.len() - 1]);
    } else {
        let n = bytes.len() - skip;
        out.push(0x80 | u8::try_from(n).unwrap_or(0));
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Decodes the first PEM block: (label, DER). Lines between the armour are
/// standard base64; the DER copy is wiped on drop since it may be private.
pub(crate) fn pem(text: &str) -> Option<(String, Zeroizing<Vec<u8>>)> {
    let text = text.trim();
    let rest = text.strip_prefix("-----BEGIN ")?;
    let (label, rest) = rest.split_once("-----")?;
    let end = format!("-----END {label}-----");
    let (body, _) = rest.split_once(end.as_str())?;
    let b64: Zeroizing<String> =
        Zeroizing::new(body.chars().filter(|c| !c.is_ascii_whitespace()).collect());
    let der = STANDARD.decode(b64.as_bytes()).ok()?;
    Some((label.to_owned(), Zeroizing::new(der)))
}

/// Encodes DER as a PEM block with 64-column lines.
pub(crate) fn to_pem(label: &str, der: &[u8]) -> Zeroizing<String> {
    let b64 = Zeroizing::new(STANDARD.encode(der));
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 64);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    Zeroizing::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_public_round_trip() {
        let n = [0x00, 0xC1, 0x02, 0x03];
        let der = encode_rsa_public(&n, &[1, 0, 1]);
        assert_eq!(rsa_public(&der), Some((&n[1..], &[1u8, 0, 1][..])));
    }

    #[test]
    fn rejects_truncated_and_non_minimal_lengths() {
        assert!(tlv(&[0x30, 0x05, 1, 2]).is_none());
        assert!(tlv(&[0x30, 0x81, 0x05, 1, 2, 3, 4, 5]).is_none());
        assert!(tlv(&[0x30]).is_none());
        assert!(tlv(&[]).is_none());
    }

    #[test]
    fn pem_round_trip() {
        let der: Vec<u8> = (0..200u8).collect();
        let text = to_pem("PUBLIC KEY", &der);
        let (label, back) = pem(&text).unwrap();
        assert_eq!(label, "PUBLIC KEY");
        assert_eq!(&back[..], &der[..]);
        assert!(pem("-----BEGIN X-----\n!!\n-----END X-----").is_none());
    }
}
