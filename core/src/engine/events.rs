//! Audit events: what the engine reports to a host-installed sink.
//!
//! Invariant: an event names the user, the family id or the PAT display
//! prefix, a code, and for a leak the public url where it was found; it
//! never carries a token, a digest or a secret.
//! With no sink installed, emitting costs one branch.

use std::fmt;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// `issue` started a session (token family).
    SessionIssued,
    /// A refresh token was exchanged for a new pair.
    RefreshRotated,
    /// A rotated refresh token was replayed; its family is now revoked.
    ReuseDetected,
    /// One session logged out.
    Logout,
    /// Every session of a user logged out (but the one kept, if any).
    LogoutAll,
    /// `issue` went past `max_sessions_per_user`: the session this event
    /// names, the user's least recently refreshed, was revoked.
    SessionLimit,
    /// `reauthenticate` gave the session a new pair with a fresh
    /// `auth_time`.
    Reauthenticated,
    /// A personal access token was created.
    PatCreated,
    /// A personal access token was used (reported with its `last_used_at`
    /// update, so at most once a minute per token).
    PatUsed,
    /// A personal access token was revoked.
    PatRevoked,
    /// A live personal access token was reported found in public (by a
    /// secret scanner) and revoked: the event carries the `url`. It stands
    /// for the revocation too; no `PatRevoked` is reported with it.
    PatLeaked,
    /// A token or PAT failed verification; `code` says why.
    VerificationFailed,
}

impl EventKind {
    /// A stable snake_case name, for logs and signals.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SessionIssued => "session_issued",
            EventKind::RefreshRotated => "refresh_rotated",
            EventKind::ReuseDetected => "reuse_detected",
            EventKind::Logout => "logout",
            EventKind::LogoutAll => "logout_all",
            EventKind::SessionLimit => "session_limit",
            EventKind::Reauthenticated => "reauthenticated",
            EventKind::PatCreated => "pat_created",
            EventKind::PatUsed => "pat_used",
            EventKind::PatRevoked => "pat_revoked",
            EventKind::PatLeaked => "pat_leaked",
            EventKind::VerificationFailed => "verification_failed",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One security event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// When, in seconds since the epoch.
    pub at: i64,
    /// The user, when known.
    pub user_id: Option<String>,
    /// The token family (session), for JWT events.
    pub family_id: Option<String>,
    /// The PAT display prefix, for PAT events.
    pub pat_prefix: Option<String>,
    /// The stable error code, for failures and reuse.
    pub code: Option<&'static str>,
    /// Where a leaked token was found, as its reporter says (`PatLeaked`).
    pub url: Option<String>,
}

/// Receives audit events. Called synchronously on the calling thread after
/// the change is durable; keep it quick, and never panic in it.
pub trait EventSink: Send + Sync {
    /// Handles one event.
    fn emit(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync> EventSink for F {
    fn emit(&self, event: &Event) {
        self(event)
    }
}
