//! The deterministic successor of a refresh token: what lets every
//! presentation of a token inside `reuse_grace` receive the one pair its
//! first exchange minted, with no token kept in the store.
//!
//! Invariants:
//! - the successor of the refresh token with key `K` (SHA-256 of its jti)
//!   in family `F` has the jtis HMAC-SHA256(secret, label ‖ F ‖ K), one
//!   label per token type, cut to 128 bits: the same in every process and
//!   host on one store, and unaffected by a signing-key rotation;
//! - everything else the pair carries (user, `iat` = the rotation time,
//!   `exp`s, `auth_time`, extra claims) is read from the family record, so
//!   a re-mint from the record after the rotation reproduces the pair;
//! - the secret lives in the store (created by the first opener, inside a
//!   write transaction, so concurrent openers end with one; later openers
//!   only read it) and in this
//!   process's memory, zeroed on drop; it is never logged nor shown by
//!   `Debug`.

use std::fmt;

use hmac::{KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::claims::Jti;
use crate::error::Result;
use crate::store::records::{Digest32, Id16};
use crate::store::Store;

/// Domain labels: the access and refresh jtis of one successor differ,
/// and no other use of the secret can produce either.
const ACCESS_LABEL: &[u8] = b"tessera successor access jti v1\0";
const REFRESH_LABEL: &[u8] = b"tessera successor refresh jti v1\0";

/// The store's derivation secret, held by the engine.
pub(super) struct DerivationSecret(Zeroizing<Digest32>);

impl DerivationSecret {
    /// Loads the store's secret, creating it when the store has none yet:
    /// a read, and a durable write only for the first opener.
    pub(super) fn load(store: &(dyn Store + 'static)) -> Result<Self> {
        if let Some(secret) = store.read(|tx| tx.stored_derivation_secret())? {
            return Ok(DerivationSecret(Zeroizing::new(secret)));
        }
        let mut candidate = Zeroizing::new([0u8; 32]);
        crate::rand::fill(&mut candidate[..])?;
        let secret = store.write(move |tx| tx.derivation_secret(&candidate).map(Zeroizing::new))?;
        Ok(DerivationSecret(secret))
    }

    /// The (access, refresh) jtis of the successor of the token with key
    /// `key` in family `family`.
    pub(super) fn successor_jtis(&self, family: &Id16, key: &Digest32) -> (Jti, Jti) {
        (
            self.derive(ACCESS_LABEL, family, key),
            self.derive(REFRESH_LABEL, family, key),
        )
    }

    fn derive(&self, label: &[u8], family: &Id16, key: &Digest32) -> Jti {
        // HMAC takes a key of any length.
        #[allow(clippy::expect_used)]
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.0[..])
            .expect("HMAC takes a key of any length");
        mac.update(label);
        mac.update(family);
        mac.update(key);
        let out = mac.finalize().into_bytes();
        let mut raw = [0u8; 16];
        raw.copy_from_slice(&out[..16]);
        Jti::from_bytes(&raw)
    }
}

impl fmt::Debug for DerivationSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivationSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::redb::RedbStore;

    /// The first opener stores the secret (a read, then a write); every
    /// later opener reads it, in one read transaction, and writes nothing.
    #[test]
    fn only_the_first_opener_writes_the_secret() {
        let store = RedbStore::in_memory(false).unwrap();
        let store: &(dyn Store + 'static) = &store;
        let begun = store.transactions();
        let first = DerivationSecret::load(store).unwrap();
        assert_eq!(store.transactions() - begun, 2);
        let begun = store.transactions();
        let second = DerivationSecret::load(store).unwrap();
        assert_eq!(store.transactions() - begun, 1);
        assert_eq!(*first.0, *second.0);
        let (family, key) = ([7u8; 16], [9u8; 32]);
        assert_eq!(
            first.successor_jtis(&family, &key),
            second.successor_jtis(&family, &key)
        );
    }
}
