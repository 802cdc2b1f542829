//! The result objects: frozen copies of core's values.
//!
//! Invariant: a `repr` never shows a token. `TokenPair.access`,
//! `TokenPair.refresh` and `NewPat.token` are readable attributes, and
//! appear in no `repr`, so that logging a result leaks nothing.

use std::sync::{Mutex, PoisonError};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::convert;

/// An access token and a refresh token from one issue or rotation.
#[pyclass(frozen, module = "tessera")]
pub(crate) struct TokenPair {
    /// The access token.
    #[pyo3(get)]
    access: String,
    /// The refresh token.
    #[pyo3(get)]
    refresh: String,
    /// `exp` of the access token, in seconds since the epoch.
    #[pyo3(get)]
    access_expires_at: i64,
    /// `exp` of the refresh token, in seconds since the epoch.
    #[pyo3(get)]
    refresh_expires_at: i64,
}

#[pymethods]
impl TokenPair {
    fn __repr__(&self) -> String {
        format!(
            "TokenPair(access=<redacted>, refresh=<redacted>, access_expires_at={}, refresh_expires_at={})",
            self.access_expires_at, self.refresh_expires_at
        )
    }
}

impl From<tessera::TokenPair> for TokenPair {
    fn from(p: tessera::TokenPair) -> Self {
        TokenPair {
            access: p.access,
            refresh: p.refresh,
            access_expires_at: p.access_expires_at,
            refresh_expires_at: p.refresh_expires_at,
        }
    }
}

/// One live session (token family) of a user.
#[pyclass(frozen, module = "tessera")]
pub(crate) struct Session {
    /// The family id, as carried in the tokens' `sid` claim.
    #[pyo3(get)]
    family_id: String,
    /// When `issue` started it.
    #[pyo3(get)]
    created_at: i64,
    /// When it last rotated (its creation time if never).
    #[pyo3(get)]
    last_refreshed_at: i64,
    /// When its current refresh token expires.
    #[pyo3(get)]
    expires_at: i64,
}

#[pymethods]
impl Session {
    fn __repr__(&self) -> String {
        format!(
            "Session(family_id={:?}, created_at={}, last_refreshed_at={}, expires_at={})",
            self.family_id, self.created_at, self.last_refreshed_at, self.expires_at
        )
    }
}

impl From<tessera::Session> for Session {
    fn from(s: tessera::Session) -> Self {
        Session {
            family_id: s.family_id.as_str().to_owned(),
            created_at: s.created_at,
            last_refreshed_at: s.last_refreshed_at,
            expires_at: s.expires_at,
        }
    }
}

/// What `Engine.record_attempt` decided.
#[pyclass(frozen, module = "tessera")]
pub(crate) struct Attempt {
    /// Whether this attempt may go ahead; it was counted if so.
    #[pyo3(get)]
    allowed: bool,
    /// Attempts counted in the current window, this one included.
    #[pyo3(get)]
    count: u32,
    /// Attempts still allowed in the current window.
    #[pyo3(get)]
    remaining: u32,
    /// Seconds until an attempt is allowed again (0 when this one was).
    #[pyo3(get)]
    retry_after: u64,
    /// When the current window ends, in seconds since the epoch.
    #[pyo3(get)]
    resets_at: i64,
}

#[pymethods]
impl Attempt {
    fn __repr__(&self) -> String {
        format!(
            "Attempt(allowed={}, count={}, remaining={}, retry_after={}, resets_at={})",
            if self.allowed { "True" } else { "False" },
            self.count,
            self.remaining,
            self.retry_after,
            self.resets_at
        )
    }
}

impl From<tessera::Attempt> for Attempt {
    fn from(a: tessera::Attempt) -> Self {
        Attempt {
            allowed: a.allowed,
            count: a.count,
            remaining: a.remaining,
            retry_after: a.retry_after,
            resets_at: a.resets_at,
        }
    }
}

/// A freshly created personal access token: the only object that ever holds
/// the token itself. Show `token` once; it cannot be recovered.
#[pyclass(frozen, module = "tessera")]
pub(crate) struct NewPat {
    /// The token's id (a UUID), for listing and revocation.
    #[pyo3(get)]
    id: String,
    /// The owner's label.
    #[pyo3(get)]
    name: String,
    /// Display prefix: the token prefix and 4 characters of the secret.
    #[pyo3(get)]
    prefix: String,
    /// The token.
    #[pyo3(get)]
    token: String,
    scopes: Vec<String>,
    /// Creation time, in seconds since the epoch.
    #[pyo3(get)]
    created_at: i64,
    /// Expiry, in seconds since the epoch, or None.
    #[pyo3(get)]
    expires_at: Option<i64>,
}

#[pymethods]
impl NewPat {
    /// Granted scopes.
    #[getter]
    fn scopes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.scopes)
    }

    /// Whether the token acts with its user's full rights (it holds
    /// `UNRESTRICTED_SCOPE`).
    #[getter]
    fn unrestricted(&self) -> bool {
        tessera::pat::is_unrestricted(&self.scopes)
    }

    fn __repr__(&self) -> String {
        format!(
            "NewPat(id={:?}, name={:?}, prefix={:?}, token=<redacted>, scopes={}, created_at={}, expires_at={})",
            self.id,
            self.name,
            self.prefix,
            scopes_repr(&self.scopes),
            self.created_at,
            optional(self.expires_at)
        )
    }
}

impl From<tessera::NewPat> for NewPat {
    fn from(p: tessera::NewPat) -> Self {
        NewPat {
            id: p.id,
            name: p.name,
            prefix: p.prefix,
            token: p.token,
            scopes: p.scopes,
            created_at: p.created_at,
            expires_at: p.expires_at,
        }
    }
}

/// A stored personal access token's metadata; never the token.
#[pyclass(frozen, module = "tessera")]
pub(crate) struct Pat(tessera::Pat);

#[pymethods]
impl Pat {
    /// The token's id (a UUID).
    #[getter]
    fn id(&self) -> &str {
        &self.0.id
    }

    /// The owner.
    #[getter]
    fn user_id(&self) -> &str {
        &self.0.user_id
    }

    /// The owner's label.
    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }

    /// Display prefix.
    #[getter]
    fn prefix(&self) -> &str {
        &self.0.prefix
    }

    /// Granted scopes.
    #[getter]
    fn scopes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.0.scopes)
    }

    /// Whether the token acts with its user's full rights (it holds
    /// `UNRESTRICTED_SCOPE`).
    #[getter]
    fn unrestricted(&self) -> bool {
        self.0.is_unrestricted()
    }

    /// Creation time, in seconds since the epoch.
    #[getter]
    fn created_at(&self) -> i64 {
        self.0.created_at
    }

    /// Expiry, in seconds since the epoch, or None.
    #[getter]
    fn expires_at(&self) -> Option<i64> {
        self.0.expires_at
    }

    /// Last use, to within a minute, or None.
    #[getter]
    fn last_used_at(&self) -> Option<i64> {
        self.0.last_used_at
    }

    /// The scopes of `required` this token lacks, in their order: an empty
    /// list when it holds them all or is unrestricted.
    fn missing_scopes(&self, required: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
        let required = convert::scopes(Some(required))?;
        Ok(self.0.missing_scopes(&required))
    }

    fn __repr__(&self) -> String {
        let p = &self.0;
        format!(
            "Pat(id={:?}, user_id={:?}, name={:?}, prefix={:?}, scopes={}, created_at={}, expires_at={}, last_used_at={})",
            p.id,
            p.user_id,
            p.name,
            p.prefix,
            scopes_repr(&p.scopes),
            p.created_at,
            optional(p.expires_at),
            optional(p.last_used_at)
        )
    }
}

impl From<tessera::Pat> for Pat {
    fn from(p: tessera::Pat) -> Self {
        Pat(p)
    }
}

/// One audit event, as passed to an engine's `events` callable. It names
/// the user, the session or the PAT display prefix, and a code; never a
/// token or a secret.
#[pyclass(frozen, module = "tessera")]
pub(crate) struct Event {
    /// What happened: `session_issued`, `refresh_rotated`, `reuse_detected`,
    /// `logout`, `logout_all`, `session_limit`, `reauthenticated`,
    /// `pat_created`, `pat_used`, `pat_revoked`, `pat_leaked` or
    /// `verification_failed`.
    #[pyo3(get)]
    kind: &'static str,
    /// When, in seconds since the epoch.
    #[pyo3(get)]
    at: i64,
    /// The user, when known.
    #[pyo3(get)]
    user_id: Option<String>,
    /// The session (token family), for JWT events.
    #[pyo3(get)]
    family_id: Option<String>,
    /// The PAT display prefix, for PAT events.
    #[pyo3(get)]
    pat_prefix: Option<String>,
    /// The error code, for failures and reuse.
    #[pyo3(get)]
    code: Option<&'static str>,
    /// Where a leaked PAT was found (`pat_leaked`), as its reporter says.
    #[pyo3(get)]
    url: Option<String>,
}

#[pymethods]
impl Event {
    fn __repr__(&self) -> String {
        format!(
            "Event(kind={:?}, at={}, user_id={}, family_id={}, pat_prefix={}, code={}, url={})",
            self.kind,
            self.at,
            optional_text(self.user_id.as_deref()),
            optional_text(self.family_id.as_deref()),
            optional_text(self.pat_prefix.as_deref()),
            optional_text(self.code),
            optional_text(self.url.as_deref())
        )
    }
}

impl From<tessera::Event> for Event {
    fn from(e: tessera::Event) -> Self {
        Event {
            kind: e.kind.as_str(),
            at: e.at,
            user_id: e.user_id,
            family_id: e.family_id,
            pat_prefix: e.pat_prefix,
            code: e.code,
            url: e.url,
        }
    }
}

fn optional(v: Option<i64>) -> String {
    v.map_or_else(|| "None".to_owned(), |v| v.to_string())
}

fn optional_text(v: Option<&str>) -> String {
    v.map_or_else(|| "None".to_owned(), |v| format!("{v:?}"))
}

/// Python's repr of a tuple of str.
fn scopes_repr(scopes: &[String]) -> String {
    let items: Vec<String> = scopes.iter().map(|s| format!("{s:?}")).collect();
    match items.as_slice() {
        [one] => format!("({one},)"),
        all => format!("({})", all.join(", ")),
    }
}

/// A refresh token whose signature and claims verified, not yet exchanged:
/// what `Engine.begin_refresh` returns. Read `claims`, then rotate with
/// `Engine.complete_refresh`, once.
#[pyclass(frozen, module = "tessera")]
pub(crate) struct PendingRefresh {
    /// The token's verified claims, under their wire names.
    #[pyo3(get)]
    claims: Py<PyDict>,
    /// Taken by the one completion.
    verified: Mutex<Option<tessera::VerifiedRefresh>>,
}

impl PendingRefresh {
    pub(crate) fn new(claims: Bound<'_, PyDict>, verified: tessera::VerifiedRefresh) -> Self {
        PendingRefresh {
            claims: claims.unbind(),
            verified: Mutex::new(Some(verified)),
        }
    }

    /// The verification, for its one completion; `None` once taken.
    pub(crate) fn take(&self) -> Option<tessera::VerifiedRefresh> {
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

#[pymethods]
impl PendingRefresh {
    fn __repr__(&self) -> String {
        let done = self
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none();
        format!(
            "PendingRefresh(completed={})",
            if done { "True" } else { "False" }
        )
    }
}
