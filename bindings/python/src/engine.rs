//! `tessera.Engine`: the core engine behind a Python class.
//!
//! Every method converts its arguments, runs the core call through
//! [`Engine::call`] (without the GIL, inside the fork gate), delivers any
//! queued events, and converts the result or the error. Nothing here decides
//! anything about tokens.

use std::path::PathBuf;
use std::str::FromStr;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use tessera::{Algorithm, EngineConfig, Key, KeySet, PatConfig, StoreLocation, Validation};

use crate::errors::{self, OrRaise};
use crate::values::{Attempt, NewPat, Pat, PendingRefresh, Session, TokenPair};
use crate::verifier::Verifier;
use crate::{convert, events, fork};

/// The token engine: issues, verifies and rotates JWTs, and keeps personal
/// access tokens, in an embedded database file (`path`), in PostgreSQL
/// (`store="postgres://…"`), or in memory (neither). Safe to share between
/// threads; keeps working in a forked child when opened with
/// `multi_process=True`, on PostgreSQL, or in memory.
#[pyclass(frozen, module = "tessera")]
pub(crate) struct Engine {
    inner: tessera::Engine,
    /// Whether `events=` was given: only then is there a queue to deliver.
    has_events: bool,
    /// The store, as `StoreLocation` shows it: a URL never with credentials.
    location: StoreLocation,
    algorithm: Algorithm,
    pat_prefix: String,
}

impl Engine {
    /// Runs `f` on the engine without the GIL, then delivers its events.
    fn call<T: Send>(
        &self,
        py: Python<'_>,
        f: impl Send + FnOnce(&tessera::Engine) -> tessera::Result<T>,
    ) -> PyResult<T> {
        self.run(py, true, f)
    }

    /// Like [`Engine::call`] for a read that cannot block for long: on a
    /// redb store (file or memory), verification is a few microseconds of
    /// CPU and one read transaction, less than releasing and retaking the
    /// GIL costs. No fork can start while this thread holds the GIL, so it
    /// needs no fork gate either. On PostgreSQL the read is a network round
    /// trip, and the GIL is released as for every other call.
    fn read_call<T: Send>(
        &self,
        py: Python<'_>,
        f: impl Send + FnOnce(&tessera::Engine) -> tessera::Result<T>,
    ) -> PyResult<T> {
        self.run(py, matches!(self.location, StoreLocation::Postgres(_)), f)
    }

    /// Runs `f`, without the GIL and inside the fork gate when `detach`,
    /// then delivers its events.
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        detach: bool,
        f: impl Send + FnOnce(&tessera::Engine) -> tessera::Result<T>,
    ) -> PyResult<T> {
        let inner = &self.inner;
        let result = if detach {
            py.detach(|| fork::during_call(|| f(inner)))
        } else {
            f(inner)
        };
        if self.has_events {
            events::deliver(py)?;
        }
        result.or_raise(py)
    }
}

#[pymethods]
impl Engine {
    // The lifetimes default to None in Rust, meaning core's defaults, which
    // the text signature shows.
    #[new]
    #[pyo3(
        text_signature = "(path=None, *, store=None, signing_key, algorithm='HS256', \
        previous_signing_keys=(), access_lifetime=900, \
        refresh_lifetime=1209600, leeway=0, issuer=None, audience=None, user_id_claim='user_id', \
        reuse_grace=10, session_max_lifetime=None, max_sessions_per_user=None, \
        pat_prefix='tsr_pat_', multi_process=False, events=None)"
    )]
    #[pyo3(signature = (
        path = None,
        *,
        store = None,
        signing_key,
        algorithm = "HS256",
        previous_signing_keys = None,
        access_lifetime = None,
        refresh_lifetime = None,
        leeway = None,
        issuer = None,
        audience = None,
        user_id_claim = "user_id",
        reuse_grace = None,
        session_max_lifetime = None,
        max_sessions_per_user = None,
        pat_prefix = "tsr_pat_",
        multi_process = false,
        events = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: Option<PathBuf>,
        store: Option<&str>,
        signing_key: &Bound<'_, PyAny>,
        algorithm: &str,
        previous_signing_keys: Option<&Bound<'_, PyAny>>,
        access_lifetime: Option<&Bound<'_, PyAny>>,
        refresh_lifetime: Option<&Bound<'_, PyAny>>,
        leeway: Option<&Bound<'_, PyAny>>,
        issuer: Option<String>,
        audience: Option<String>,
        user_id_claim: &str,
        reuse_grace: Option<&Bound<'_, PyAny>>,
        session_max_lifetime: Option<&Bound<'_, PyAny>>,
        max_sessions_per_user: Option<&Bound<'_, PyAny>>,
        pat_prefix: &str,
        multi_process: bool,
        events: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let location = match (path, store) {
            (Some(_), Some(_)) => {
                return Err(errors::config(
                    py,
                    "give the engine a path or a store, not both",
                ))
            }
            (Some(p), None) => StoreLocation::File(p),
            (None, Some(s)) if s.trim().is_empty() => {
                return Err(errors::config(py, "store is empty"))
            }
            (None, Some(s)) => StoreLocation::parse(s),
            (None, None) => StoreLocation::Memory,
        };
        let algorithm = Algorithm::from_str(algorithm).or_raise(py)?;
        let material = convert::key_material(signing_key)?;
        let key = Key::from_setting(algorithm, &material).or_raise(py)?;
        let mut keys = KeySet::new(key).or_raise(py)?;
        // Retired signing keys: they verify the tokens they signed (picked by
        // kid) and never sign again.
        for material in convert::key_materials(previous_signing_keys)? {
            let previous = Key::from_setting(algorithm, &material).or_raise(py)?;
            keys.add(previous).or_raise(py)?;
        }
        let leeway = match leeway {
            Some(v) => convert::whole_seconds(v, "leeway")?,
            None => 0,
        };
        let mut config = EngineConfig::new(keys);
        config.validation =
            Validation::from_settings(leeway, issuer, audience, user_id_claim).or_raise(py)?;
        if let Some(v) = access_lifetime {
            config.access_ttl = convert::duration(v, "access_lifetime")?;
        }
        if let Some(v) = refresh_lifetime {
            config.refresh_ttl = convert::duration(v, "refresh_lifetime")?;
        }
        if let Some(v) = reuse_grace {
            config.reuse_grace = convert::duration(v, "reuse_grace")?;
        }
        if let Some(v) = session_max_lifetime.filter(|v| !v.is_none()) {
            config.session_max_lifetime = Some(convert::duration(v, "session_max_lifetime")?);
        }
        if let Some(v) = max_sessions_per_user.filter(|v| !v.is_none()) {
            config.max_sessions_per_user = Some(convert::positive_u32(v, "max_sessions_per_user")?);
        }
        config.multi_process = multi_process;
        let mut pat = PatConfig::default();
        pat.prefix = pat_prefix.to_owned();
        config.pat = pat;
        let has_events = match events {
            Some(handler) if handler.bind(py).is_callable() => {
                config.events = Some(events::sink(handler));
                true
            }
            Some(handler) => {
                return Err(PyTypeError::new_err(format!(
                    "events must be a callable taking a tessera.Event, not {}",
                    convert::type_name(handler.bind(py))
                )))
            }
            None => false,
        };
        let inner = py
            .detach(|| {
                fork::during_call(|| tessera::Engine::open_location(location.clone(), config))
            })
            .or_raise(py)?;
        Ok(Engine {
            inner,
            has_events,
            location,
            algorithm,
            pat_prefix: pat_prefix.to_owned(),
        })
    }

    /// Starts a session for `user_id` and returns its first token pair.
    /// `claims` are copied into both tokens and kept across rotations.
    #[pyo3(signature = (user_id, claims = None))]
    fn issue(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        claims: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<TokenPair> {
        let user = convert::user_id(user_id)?;
        let extra = convert::claims(claims)?;
        self.call(py, |e| e.issue(&user, extra))
            .map(TokenPair::from)
    }

    /// Verifies an access token and returns its claims.
    fn verify_access<'py>(&self, py: Python<'py>, token: &str) -> PyResult<Bound<'py, PyDict>> {
        let claims = self.read_call(py, |e| e.verify_access(token))?;
        convert::claims_dict(py, self.inner.validation(), &claims)
    }

    /// Verifies an access token; returns its claims and its user's change
    /// stamp, read in the same store read.
    fn verify_access_stamped<'py>(
        &self,
        py: Python<'py>,
        token: &str,
    ) -> PyResult<(Bound<'py, PyDict>, u64)> {
        let (claims, stamp) = self.read_call(py, |e| e.verify_access_stamped(token))?;
        Ok((
            convert::claims_dict(py, self.inner.validation(), &claims)?,
            stamp,
        ))
    }

    /// Verifies a refresh token without spending it and returns its claims.
    fn verify_refresh<'py>(&self, py: Python<'py>, token: &str) -> PyResult<Bound<'py, PyDict>> {
        let claims = self.read_call(py, |e| e.verify_refresh(token))?;
        convert::claims_dict(py, self.inner.validation(), &claims)
    }

    /// Exchanges a refresh token for a new pair. A token has one
    /// successor: presented again within `reuse_grace` it returns that same
    /// pair; later, it revokes its session (RefreshReused). `extra_claims`
    /// (a dict) replace the session's extra claims in the successor; None
    /// keeps them.
    #[pyo3(signature = (refresh_token, extra_claims = None))]
    fn refresh(
        &self,
        py: Python<'_>,
        refresh_token: &str,
        extra_claims: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<TokenPair> {
        let extra = convert::optional_claims(extra_claims)?;
        self.call(py, |e| e.refresh_with(refresh_token, extra))
            .map(TokenPair::from)
    }

    /// A new pair in the same session with a fresh `auth_time`, for the
    /// session of `access_token`; the caller checked the credential first.
    /// The session's current refresh token converges on this pair within
    /// `reuse_grace`. `extra_claims` as for `refresh`.
    #[pyo3(signature = (access_token, extra_claims = None))]
    fn reauthenticate(
        &self,
        py: Python<'_>,
        access_token: &str,
        extra_claims: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<TokenPair> {
        let extra = convert::optional_claims(extra_claims)?;
        self.call(py, |e| e.reauthenticate(access_token, extra))
            .map(TokenPair::from)
    }

    /// Verifies a refresh token (signature and claims) without touching the
    /// store. A host that checks the claims before the rotation (is the
    /// token's user still active?) reads them from the result, then calls
    /// `complete_refresh` with it; nothing is spent until then.
    fn begin_refresh(&self, py: Python<'_>, refresh_token: &str) -> PyResult<PendingRefresh> {
        let verified = self.read_call(py, |e| e.begin_refresh(refresh_token))?;
        let claims = convert::claims_dict(py, self.inner.validation(), verified.claims())?;
        Ok(PendingRefresh::new(claims, verified))
    }

    /// Exchanges the refresh token `pending` verified, as `refresh` does.
    /// A `PendingRefresh` completes once; again is a ConfigError.
    #[pyo3(signature = (pending, extra_claims = None))]
    fn complete_refresh(
        &self,
        py: Python<'_>,
        pending: &PendingRefresh,
        extra_claims: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<TokenPair> {
        let extra = convert::optional_claims(extra_claims)?;
        let verified = pending
            .take()
            .ok_or_else(|| errors::config(py, "this refresh was completed already"))?;
        self.call(py, |e| e.complete_refresh_with(verified, extra))
            .map(TokenPair::from)
    }

    /// Logs out the session of `refresh_token`. Idempotent.
    fn revoke(&self, py: Python<'_>, refresh_token: &str) -> PyResult<()> {
        self.call(py, |e| e.revoke(refresh_token))
    }

    /// Logs `user_id` out everywhere but the session `keep_session` (a
    /// session id), when given; returns how many sessions were revoked.
    #[pyo3(signature = (user_id, keep_session = None))]
    fn revoke_user(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        keep_session: Option<&str>,
    ) -> PyResult<u64> {
        let user = convert::user_id(user_id)?;
        self.call(py, |e| match keep_session {
            Some(keep) => e.revoke_user_except(&user, keep),
            None => e.revoke_user(&user),
        })
    }

    /// Revokes every live personal access token of `user_id`; returns how
    /// many.
    fn revoke_user_pats(&self, py: Python<'_>, user_id: &Bound<'_, PyAny>) -> PyResult<u64> {
        let user = convert::user_id(user_id)?;
        self.call(py, |e| e.revoke_user_pats(&user))
    }

    /// Records that something that authenticates `user_id` changed: bumps
    /// the user's change stamp (one durable write) and returns the new one.
    fn bump_user(&self, py: Python<'_>, user_id: &Bound<'_, PyAny>) -> PyResult<u64> {
        let user = convert::user_id(user_id)?;
        self.call(py, |e| e.bump_user(&user))
    }

    /// Logs out one session of `user_id` by its id (`Session.family_id`);
    /// False when the user has no such live session.
    fn revoke_session(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        session_id: &str,
    ) -> PyResult<bool> {
        let user = convert::user_id(user_id)?;
        self.call(py, |e| e.revoke_session(&user, session_id))
    }

    /// The live sessions of `user_id`, oldest first.
    fn sessions(&self, py: Python<'_>, user_id: &Bound<'_, PyAny>) -> PyResult<Vec<Session>> {
        let user = convert::user_id(user_id)?;
        let sessions = self.call(py, |e| e.sessions(&user))?;
        Ok(sessions.into_iter().map(Session::from).collect())
    }

    /// Creates a personal access token. `expires_at` is an int timestamp,
    /// an aware datetime, or None (never expires).
    #[pyo3(signature = (user_id, name, expires_at = None, scopes = None))]
    #[pyo3(text_signature = "(self, user_id, name, expires_at=None, scopes=())")]
    fn create_pat(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        name: &str,
        expires_at: Option<&Bound<'_, PyAny>>,
        scopes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<NewPat> {
        let user = convert::user_id(user_id)?;
        let scopes = convert::scopes(scopes)?;
        let expires_at = expires_at
            .filter(|v| !v.is_none())
            .map(|v| convert::timestamp(v, "expires_at"))
            .transpose()?;
        self.call(py, |e| e.create_pat(&user, name, expires_at, scopes))
            .map(NewPat::from)
    }

    /// Verifies a personal access token and returns its metadata.
    fn verify_pat(&self, py: Python<'_>, token: &str) -> PyResult<Pat> {
        self.call(py, |e| e.verify_pat(token)).map(Pat::from)
    }

    /// Verifies a personal access token; returns its metadata and its
    /// user's change stamp, read in the same store read.
    fn verify_pat_stamped(&self, py: Python<'_>, token: &str) -> PyResult<(Pat, u64)> {
        self.call(py, |e| e.verify_pat_stamped(token))
            .map(|(pat, stamp)| (Pat::from(pat), stamp))
    }

    /// The personal access tokens of `user_id`.
    fn list_pats(&self, py: Python<'_>, user_id: &Bound<'_, PyAny>) -> PyResult<Vec<Pat>> {
        let user = convert::user_id(user_id)?;
        let pats = self.call(py, |e| e.list_pats(&user))?;
        Ok(pats.into_iter().map(Pat::from).collect())
    }

    /// Revokes the token `pat_id` of `user_id`; False if there is none.
    fn revoke_pat(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        pat_id: &str,
    ) -> PyResult<bool> {
        let user = convert::user_id(user_id)?;
        self.call(py, |e| e.revoke_pat(&user, pat_id))
    }

    /// Revokes a personal access token by the token itself (RFC 7009):
    /// True when a live token was revoked, False for anything else.
    fn revoke_pat_token(&self, py: Python<'_>, token: &str) -> PyResult<bool> {
        self.call(py, |e| e.revoke_pat_token(token))
    }

    /// A secret scanner found `token` at `url`: a live PAT is revoked and
    /// reported as `pat_leaked`. Returns `"revoked"`, `"inactive"` (a token
    /// of this store, already revoked or expired) or `"unknown"`.
    #[pyo3(signature = (token, url = None))]
    fn report_leaked_pat(
        &self,
        py: Python<'_>,
        token: &str,
        url: Option<&str>,
    ) -> PyResult<&'static str> {
        let leak = self.call(py, |e| e.report_leaked_pat(token, url))?;
        Ok(match leak {
            tessera::PatLeak::Revoked => "revoked",
            tessera::PatLeak::Inactive => "inactive",
            _ => "unknown",
        })
    }

    /// RFC 7662: None unless `token` (access, refresh or PAT) is active
    /// now; else a dict with `token_type` (`access_token`, `refresh_token`
    /// or `pat`), `user_id`, `exp`, `iat`, `jti`, `sid` and `scopes`.
    /// Read-only: nothing is spent, revoked or marked used.
    fn introspect<'py>(
        &self,
        py: Python<'py>,
        token: &str,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(found) = self.read_call(py, |e| e.introspect(token))? else {
            return Ok(None);
        };
        let dict = PyDict::new(py);
        dict.set_item("token_type", found.kind.as_str())?;
        dict.set_item("user_id", found.user_id)?;
        dict.set_item("exp", found.exp)?;
        dict.set_item("iat", found.iat)?;
        dict.set_item("jti", found.jti)?;
        dict.set_item("sid", found.session_id)?;
        dict.set_item("scopes", PyTuple::new(py, found.scopes)?)?;
        Ok(Some(dict))
    }

    /// Revokes what `token` grants, for whoever presents it (RFC 7009): a
    /// refresh or access token ends its session, a PAT is revoked. Silent
    /// for a token that is malformed, unknown or already over.
    fn revoke_token(&self, py: Python<'_>, token: &str) -> PyResult<()> {
        self.call(py, |e| e.revoke_token(token))
    }

    /// Counts an attempt under `key` unless `limit` were already counted in
    /// its window of `window` seconds; says which. Shared by every process
    /// and host on the same store.
    fn record_attempt(
        &self,
        py: Python<'_>,
        key: String,
        limit: u32,
        window: u64,
    ) -> PyResult<Attempt> {
        self.call(py, move |e| e.record_attempt(&key, limit, window))
            .map(Attempt::from)
    }

    /// Takes one counted attempt under `key` back.
    fn release_attempt(&self, py: Python<'_>, key: String) -> PyResult<()> {
        self.call(py, move |e| e.release_attempt(&key))
    }

    /// Forgets every attempt counted under `key`.
    fn clear_attempts(&self, py: Python<'_>, key: String) -> PyResult<()> {
        self.call(py, move |e| e.clear_attempts(&key))
    }

    /// Removes state that can no longer matter; returns how many records.
    fn purge_expired(&self, py: Python<'_>) -> PyResult<u64> {
        self.call(py, |e| e.purge_expired())
    }

    /// Record counts and the database file's size in bytes.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.call(py, |e| e.stats())?;
        let dict = PyDict::new(py);
        dict.set_item("refresh_records", s.refresh_records)?;
        dict.set_item("families", s.families)?;
        dict.set_item("user_marks", s.user_marks)?;
        dict.set_item("pats", s.pats)?;
        dict.set_item("attempt_counters", s.attempt_counters)?;
        dict.set_item("file_bytes", s.file_bytes)?;
        Ok(dict)
    }

    /// The public keys as a JWKS document (JSON text). HMAC keys have no
    /// public half, so their set is empty.
    fn jwks(&self, py: Python<'_>) -> PyResult<String> {
        self.call(py, |e| Ok(e.jwks()))
    }

    /// A stateless `Verifier` with this engine's keys, rules and clock. It
    /// checks signatures and claims and never reads the store, so it does
    /// not see logouts or rotations: use it to read a token's claims, not
    /// to decide that its session is still good.
    fn verifier(&self) -> Verifier {
        Verifier::of_engine(&self.inner, self.algorithm)
    }

    /// Closes the database; later calls raise StorageError.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.call(py, |e| e.close())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    /// The signing algorithm.
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.algorithm.name()
    }

    /// The claim that carries the user id.
    #[getter]
    fn user_id_claim(&self) -> &str {
        &self.inner.validation().user_id_claim
    }

    /// The required issuer, or None.
    #[getter]
    fn issuer(&self) -> Option<&str> {
        self.inner.validation().issuer.as_deref()
    }

    /// The required audience, or None.
    #[getter]
    fn audience(&self) -> Option<&str> {
        self.inner.validation().audience.as_deref()
    }

    /// Seconds of clock skew tolerated.
    #[getter]
    fn leeway(&self) -> u64 {
        self.inner.validation().leeway
    }

    /// Where the engine keeps its state: "memory", the database file's
    /// path, or a PostgreSQL URL without its user, password and parameters.
    #[getter]
    fn store(&self) -> String {
        self.location.to_string()
    }

    /// The prefix of every personal access token.
    #[getter]
    fn pat_prefix(&self) -> &str {
        &self.pat_prefix
    }

    fn __repr__(&self) -> String {
        let store = match &self.location {
            StoreLocation::Memory => "None".to_owned(),
            StoreLocation::File(_) => format!("{:?}", self.location.to_string()),
            _ => format!("store={:?}", self.location.to_string()),
        };
        format!(
            "Engine({store}, algorithm={:?}, user_id_claim={:?})",
            self.algorithm.name(),
            self.inner.validation().user_id_claim
        )
    }
}
