//! Identifiers that travel in claims: [`Jti`], [`FamilyId`] and [`UserId`].
//! Each can only hold a valid value, so code past parsing never checks again.
//!
//! Invariant: a `Jti` or `FamilyId` is exactly 32 lowercase hex digits (the
//! 128 bits simplejwt writes as `uuid4().hex`); a `UserId` is 1 to 255 bytes.

use std::fmt;

use crate::error::{Error, Result};

/// Whether `s` is 32 lowercase hex digits. Every byte is tested, with
/// no early exit, so that the test compiles to a few vector operations
/// rather than a branch per byte: every jti and sid is checked this way.
fn is_hex128(s: &[u8]) -> bool {
    s.len() == 32
        && s.iter()
            .fold(true, |ok, &b| ok & matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

macro_rules! hex128 {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks and wraps 32 lowercase hex characters.
            pub fn parse(s: &str) -> Option<Self> {
                is_hex128(s.as_bytes()).then(|| $name(s.to_owned()))
            }

            /// A fresh random value (128 bits from the system CSPRNG).
            pub fn random() -> Result<Self> {
                let mut raw = [0u8; 16];
                crate::rand::fill(&mut raw)?;
                Ok($name(hex(&raw)))
            }

            /// The 32 hex characters.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The 16 raw bytes.
            pub fn to_bytes(&self) -> [u8; 16] {
                let mut out = [0u8; 16];
                for (i, pair) in self.0.as_bytes().chunks_exact(2).enumerate() {
                    out[i] = (nibble(pair[0]) << 4) | nibble(pair[1]);
                }
                out
            }

            /// From 16 raw bytes.
            pub fn from_bytes(raw: &[u8; 16]) -> Self {
                $name(hex(raw))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($what, "({})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

hex128!(
    /// A JWT id: 32 lowercase hex characters, as simplejwt's `uuid4().hex`.
    Jti,
    "Jti"
);
hex128!(
    /// A token family (session) id, carried in the `sid` claim.
    FamilyId,
    "FamilyId"
);

/// The value of one lowercase hex digit; callers pass only checked digits.
fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => 0,
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// A user id: 1 to 255 bytes of text. Integer ids (simplejwt before 5.5.1
/// wrote integer primary keys) are read as their decimal string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    /// Checks and wraps a user id.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        if id.is_empty() || id.len() > 255 {
            return Err(Error::config("user id must be 1 to 255 bytes"));
        }
        Ok(UserId(id))
    }

    /// An integer id (simplejwt before 5.5.1 wrote integer primary keys),
    /// as its decimal string: never empty, at most 20 bytes.
    pub(crate) fn from_integer(n: &serde_json::Number) -> Self {
        UserId(n.to_string())
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex128_takes_only_32_lowercase_hex_digits() {
        let good = b"0123456789abcdef0123456789abcdef";
        assert!(is_hex128(good));
        assert!(Jti::parse("0123456789abcdef0123456789abcdef").is_some());
        assert!(FamilyId::parse("fedcba9876543210fedcba9876543210").is_some());
        assert!(!is_hex128(&good[..31]));
        assert!(!is_hex128(b"0123456789abcdef0123456789abcdef0"));
        for at in [0, 7, 8, 15, 16, 31] {
            for b in 0..=255u8 {
                let mut s = *good;
                s[at] = b;
                assert_eq!(
                    is_hex128(&s),
                    b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
                    "{b:#x} at {at}"
                );
            }
        }
        assert!(Jti::parse("0123456789ABCDEF0123456789abcdef").is_none());
    }
}
