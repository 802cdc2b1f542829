//! `tessera.Verifier`: stateless verification with public keys (usually the
//! issuer's JWKS) or a shared secret, for services that only check tokens.

use std::str::FromStr;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use tessera::{Algorithm, Key, TokenType, Validation};

use crate::convert;
use crate::errors::OrRaise;

/// Verifies tokens without a database: signature and claims only, so a
/// logged-out session's access tokens stay valid here until they expire.
/// Build one with `Verifier.from_jwks` or `Verifier.from_key`.
#[pyclass(frozen, module = "tessera")]
pub(crate) struct Verifier {
    inner: tessera::Verifier,
    /// Whether to release the GIL while verifying: for signatures that take
    /// tens of microseconds (EdDSA, ES256, RS256), not for an HMAC check of
    /// about a microsecond, which costs less than releasing the GIL.
    detach: bool,
}

impl Verifier {
    /// The verifier an engine hands out: its keys, rules and clock.
    pub(crate) fn of_engine(engine: &tessera::Engine, algorithm: Algorithm) -> Self {
        Verifier::wrap(engine.verifier(), !algorithm.is_symmetric())
    }

    fn wrap(inner: tessera::Verifier, detach: bool) -> Self {
        Verifier { inner, detach }
    }

    fn call<T: Send>(
        &self,
        py: Python<'_>,
        f: impl Send + FnOnce(&tessera::Verifier) -> tessera::Result<T>,
    ) -> PyResult<T> {
        let inner = &self.inner;
        if self.detach {
            py.detach(|| f(inner)).or_raise(py)
        } else {
            f(inner).or_raise(py)
        }
    }

    fn claims<'py>(
        &self,
        py: Python<'py>,
        token: &str,
        expected: TokenType,
    ) -> PyResult<Bound<'py, PyDict>> {
        let claims = self.call(py, |v| v.verify(token, expected))?;
        convert::claims_dict(py, self.inner.validation(), &claims)
    }
}

#[pymethods]
impl Verifier {
    /// A verifier over the keys of a JWKS document (JSON text or a dict).
    #[classmethod]
    #[pyo3(signature = (jwks, issuer = None, audience = None, leeway = None, user_id_claim = "user_id"))]
    #[pyo3(
        text_signature = "(jwks, issuer=None, audience=None, leeway=0, user_id_claim='user_id')"
    )]
    fn from_jwks(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        jwks: &Bound<'_, PyAny>,
        issuer: Option<String>,
        audience: Option<String>,
        leeway: Option<&Bound<'_, PyAny>>,
        user_id_claim: &str,
    ) -> PyResult<Self> {
        let jwks = convert::json_text(jwks, "jwks")?;
        let validation = validation(py, issuer, audience, leeway, user_id_claim)?;
        let inner = tessera::Verifier::from_jwks(&jwks, validation).or_raise(py)?;
        // A JWKS holds public keys.
        Ok(Verifier::wrap(inner, true))
    }

    /// A verifier over one key: an HMAC secret (bytes or str), or a PEM
    /// public or private key.
    #[classmethod]
    #[pyo3(signature = (key, algorithm = "HS256", issuer = None, audience = None, leeway = None, user_id_claim = "user_id"))]
    #[pyo3(
        text_signature = "(key, algorithm='HS256', issuer=None, audience=None, leeway=0, user_id_claim='user_id')"
    )]
    #[allow(clippy::too_many_arguments)]
    fn from_key(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        algorithm: &str,
        issuer: Option<String>,
        audience: Option<String>,
        leeway: Option<&Bound<'_, PyAny>>,
        user_id_claim: &str,
    ) -> PyResult<Self> {
        let algorithm = Algorithm::from_str(algorithm).or_raise(py)?;
        let material = convert::key_material(key)?;
        let key = Key::from_setting(algorithm, &material).or_raise(py)?;
        let validation = validation(py, issuer, audience, leeway, user_id_claim)?;
        let inner = tessera::Verifier::from_keys(vec![key], validation).or_raise(py)?;
        Ok(Verifier::wrap(inner, !algorithm.is_symmetric()))
    }

    /// Verifies an access token and returns its claims.
    fn verify_access<'py>(&self, py: Python<'py>, token: &str) -> PyResult<Bound<'py, PyDict>> {
        self.claims(py, token, TokenType::Access)
    }

    /// Verifies a token of `expected_type` ("access" or "refresh") and
    /// returns its claims.
    fn verify<'py>(
        &self,
        py: Python<'py>,
        token: &str,
        expected_type: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let expected = TokenType::from_str(expected_type).or_raise(py)?;
        self.claims(py, token, expected)
    }

    /// Seconds until the token expires, after verifying it fully.
    fn seconds_until_expiry(&self, py: Python<'_>, token: &str) -> PyResult<i64> {
        self.call(py, |v| v.seconds_until_expiry(token))
    }

    fn __repr__(&self) -> String {
        let v = self.inner.validation();
        let text = |s: &Option<String>| s.as_ref().map_or("None".into(), |s| format!("{s:?}"));
        format!(
            "Verifier(issuer={}, audience={}, leeway={}, user_id_claim={:?})",
            text(&v.issuer),
            text(&v.audience),
            v.leeway,
            v.user_id_claim
        )
    }
}

fn validation(
    py: Python<'_>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: Option<&Bound<'_, PyAny>>,
    user_id_claim: &str,
) -> PyResult<Validation> {
    let leeway = match leeway {
        Some(leeway) => convert::whole_seconds(leeway, "leeway")?,
        None => 0,
    };
    Validation::from_settings(leeway, issuer, audience, user_id_claim).or_raise(py)
}
