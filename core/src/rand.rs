//! The crate's one source of randomness: the operating system's CSPRNG,
//! through ring. Token ids, family ids, PAT secrets and generated keys all
//! come from here.
//!
//! Invariant: a failure of the generator is reported as `random_failed`,
//! never papered over with a weaker source or a zero buffer.

use std::sync::OnceLock;

use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Error, Result};

/// The generator, for ring APIs that take one (key generation, signing).
pub(crate) fn system() -> &'static SystemRandom {
    static RNG: OnceLock<SystemRandom> = OnceLock::new();
    RNG.get_or_init(SystemRandom::new)
}

/// Fills `buf` from the operating system's CSPRNG.
pub(crate) fn fill(buf: &mut [u8]) -> Result<()> {
    system()
        .fill(buf)
        .map_err(|_| Error::random("the system random generator failed"))
}
