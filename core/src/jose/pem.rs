//! PEM documents and public key structures, through RustCrypto's
//! `pem-rfc7468`, `spki` and `der`: the key import formats that ring does
//! not read itself (ring parses PKCS#8 and PKCS#1 private keys).
//!
//! Invariants:
//! - a PEM document is exactly one RFC 7468 block whose END label matches
//!   its BEGIN label, with nothing but whitespace around it;
//! - DER is read strictly (definite, minimal lengths, no trailing bytes);
//!   malformed input yields `None`, never a panic;
//! - decoded DER, which may be a private key, is wiped on drop.

use der::asn1::UintRef;
use der::{Decode, Reader, SliceReader};
use pem_rfc7468::LineEnding;
use spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

/// rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 §A.1).
pub(crate) const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-ecPublicKey, 1.2.840.10045.2.1 (RFC 5480 §2.1.1).
pub(crate) const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// prime256v1, 1.2.840.10045.3.1.7 (RFC 5480 §2.1.1.1).
pub(crate) const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// id-Ed25519, 1.3.101.112 (RFC 8410 §3).
pub(crate) const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// A SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), read.
pub(crate) struct Spki<'a> {
    pub algorithm: ObjectIdentifier,
    /// The algorithm's parameters when they are an OID (an EC curve);
    /// `None` when absent or of another type (RSA's NULL).
    pub parameters: Option<ObjectIdentifier>,
    /// Whether any parameters were present at all.
    pub has_parameters: bool,
    pub key: &'a [u8],
}

/// Decodes one PEM block: (label, DER).
pub(crate) fn decode(text: &str) -> Option<(String, Zeroizing<Vec<u8>>)> {
    let (label, der) = pem_rfc7468::decode_vec(text.trim().as_bytes()).ok()?;
    Some((label.to_owned(), Zeroizing::new(der)))
}

/// Encodes DER as a PEM block with 64-column lines.
pub(crate) fn encode(label: &str, der: &[u8]) -> Option<Zeroizing<String>> {
    pem_rfc7468::encode_string(label, LineEnding::LF, der)
        .ok()
        .map(Zeroizing::new)
}

/// Reads a SubjectPublicKeyInfo, refusing trailing bytes and a key with
/// unused bits.
pub(crate) fn spki(der: &[u8]) -> Option<Spki<'_>> {
    let info = SubjectPublicKeyInfoRef::from_der(der).ok()?;
    Some(Spki {
        algorithm: info.algorithm.oid,
        parameters: info.algorithm.parameters_oid().ok(),
        has_parameters: info.algorithm.parameters.is_some(),
        key: info.subject_public_key.as_bytes()?,
    })
}

/// Reads RSAPublicKey (RFC 8017 §A.1.1) into big-endian (n, e) without
/// leading zero bytes.
pub(crate) fn rsa_public(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut reader = SliceReader::new(der).ok()?;
    let (n, e) = reader
        .sequence(|seq| Ok((UintRef::decode(seq)?, UintRef::decode(seq)?)))
        .ok()?;
    reader.finish(()).ok()?;
    Some((n.as_bytes(), e.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip() {
        let der: Vec<u8> = (0..200u8).collect();
        let text = encode("PUBLIC KEY", &der).unwrap();
        let (label, back) = decode(&text).unwrap();
        assert_eq!(label, "PUBLIC KEY");
        assert_eq!(&back[..], &der[..]);
        assert!(decode("-----BEGIN X-----\n!!\n-----END X-----").is_none());
    }

    #[test]
    fn pem_labels_must_match_and_nothing_may_follow() {
        let der: Vec<u8> = (0..64u8).collect();
        let text = encode("PUBLIC KEY", &der).unwrap();
        assert!(
            decode(&format!("  \n{}\n\n", &*text)).is_some(),
            "whitespace"
        );
        let mismatched = text.replace("END PUBLIC KEY", "END PRIVATE KEY");
        assert!(decode(&mismatched).is_none(), "END label differs");
        assert!(
            decode(&format!("{}trailing", &*text)).is_none(),
            "text after END"
        );
        let second = format!("{}{}", &*text, &*text);
        assert!(decode(&second).is_none(), "a second block");
    }

    #[test]
    fn rsa_public_reads_minimal_integers_only() {
        // SEQUENCE { INTEGER 0x00C10203, INTEGER 0x010001 }
        let der = [
            0x30, 0x0b, 0x02, 0x04, 0x00, 0xc1, 0x02, 0x03, 0x02, 0x03, 0x01, 0x00, 0x01,
        ];
        assert_eq!(
            rsa_public(&der),
            Some((&[0xc1u8, 0x02, 0x03][..], &[1u8, 0, 1][..]))
        );
        let mut trailing = der.to_vec();
        trailing.push(0);
        assert_eq!(rsa_public(&trailing), None, "trailing bytes");
        // A redundant leading zero.
        let padded = [
            0x30, 0x0c, 0x02, 0x05, 0x00, 0x00, 0xc1, 0x02, 0x03, 0x02, 0x03, 0x01, 0x00, 0x01,
        ];
        assert_eq!(rsa_public(&padded), None, "non-minimal integer");
        // A non-minimal length: 0x81 0x0b for 11.
        let long_len = [
            0x30, 0x81, 0x0b, 0x02, 0x04, 0x00, 0xc1, 0x02, 0x03, 0x02, 0x03, 0x01, 0x00, 0x01,
        ];
        assert_eq!(rsa_public(&long_len), None, "non-minimal length");
        assert_eq!(rsa_public(&der[..5]), None, "truncated");
    }
}
