//! `tessera.generate_key`: new signing keys for a host's settings.

use std::str::FromStr;

use pyo3::prelude::*;
use tessera::{Algorithm, Key};

use crate::errors::{self, OrRaise};

/// Generates a signing key for `algorithm` and returns it as text for a
/// settings file: the HMAC secret (base64url, used as-is as the key) or a
/// PKCS#8 PEM private key. RS256 keys cannot be generated; import one.
#[pyfunction]
pub(crate) fn generate_key(py: Python<'_>, algorithm: &str) -> PyResult<String> {
    let algorithm = Algorithm::from_str(algorithm).or_raise(py)?;
    let key = py.detach(|| Key::generate(algorithm)).or_raise(py)?;
    key.export_secret()
        .map(|s| s.as_str().to_owned())
        .ok_or_else(|| errors::config(py, "the generated key has no secret to export"))
}
