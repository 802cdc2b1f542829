//! The client side of rotation: the app's current token pair, refreshed
//! single-flight.
//!
//! With strict single-use rotation, an app that refreshes twice at once
//! (two requests answered 401 together) presents one refresh token twice;
//! the server takes the second as a replay and ends the session. The keeper
//! holds the pair and lets one refresh run at a time.
//!
//! Invariants:
//! - at most one refresh (a *flight*) is in progress per keeper. Every
//!   caller that needs a new token while it runs waits for it and receives
//!   exactly its outcome, failures included: nothing is retried in a loop;
//! - no lock is held while the refresher runs. The state lock is held while
//!   the file is written, so memory and file change together; the order is
//!   always state lock, then file;
//! - a flight's result is kept only if the session it started from is still
//!   the current one: `set` and `clear` bump the epoch, and a flight that
//!   lands in a later epoch is dropped;
//! - expiry comes from the tokens' own `exp`, read without checking the
//!   signature (the app may not have the server's key). It is a scheduling
//!   hint, never a security check: the server verifies every token it gets.
//!   The reading is still strict and bounded, as for a verified token.
//!
//! The file is this module's own format, not the engine's: it lives on the
//! client and holds bearer tokens (the engine's records hold only digests).
//! Its table and record version are defined here, next to the code that
//! reads them.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};
use std::time::Duration;

use redb::{Builder, Database, Durability, ReadableDatabase, TableDefinition};

use crate::claims::{unverified_exp, TokenPair};
use crate::clock::{system_clock, SharedClock};
use crate::error::{Error, Result};
use crate::jose::Limits;

/// The keeper's one table: `"pair"` → the current pair's record.
const KEEPER: TableDefinition<&str, &[u8]> = TableDefinition::new("tessera.v1.keeper");
const PAIR_KEY: &str = "pair";
/// The record format version this code writes and reads.
const RECORD_V1: u8 = 1;

/// Default of [`TokenKeeper::with_margin`].
const DEFAULT_MARGIN: Duration = Duration::from_secs(30);

/// What the app supplies to exchange a refresh token with its server,
/// usually one HTTP request.
pub trait Refresher {
    /// Exchanges `refresh_token` for a new pair. Fail with the server's
    /// stable code: `refresh_reused`, `token_revoked` and `token_expired`
    /// end the session; any other error (`storage_error` for a network
    /// failure, say) keeps the pair for a later try.
    ///
    /// Only the two tokens of the returned pair are kept; their expiry times
    /// are read from the tokens themselves, so the `*_expires_at` fields may
    /// be left at 0. The refresher must not call back into the keeper.
    fn refresh(&self, refresh_token: &str) -> Result<TokenPair>;
}

impl<F: Fn(&str) -> Result<TokenPair>> Refresher for F {
    fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        self(refresh_token)
    }
}

/// What [`TokenKeeper::access_token`] gives the app.
///
/// Exhaustive on purpose: an app either has a token or must sign in, and a
/// binding must never guess what a third outcome means.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// An access token, valid for at least the margin as far as its `exp`
    /// tells.
    Token(String),
    /// No session is held: the app must sign in again. `reason` is the
    /// server's refusal when a refresh ended the session; `None` when the
    /// app never signed in or signed out with [`TokenKeeper::clear`].
    SignInRequired {
        /// The error that ended the session, if a refresh did.
        reason: Option<Error>,
    },
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Access::Token(_) => f.write_str("Token(<redacted>)"),
            Access::SignInRequired { reason } => f
                .debug_struct("SignInRequired")
                .field("reason", reason)
                .finish(),
        }
    }
}

/// Holds an app's token pair, in memory or in a small redb file, and
/// refreshes it single-flight. `Send + Sync`; share it behind an `Arc`.
pub struct TokenKeeper {
    state: Mutex<State>,
    /// `None` for a keeper in memory.
    file: Option<Database>,
    /// Seconds an access token must still be valid to be handed out.
    margin: i64,
    clock: SharedClock,
    limits: Limits,
}

/// Everything the state lock guards.
struct State {
    pair: Option<Held>,
    /// The refresh in progress, if any; waiters clone it and wait outside
    /// the state lock.
    flight: Option<Arc<Flight>>,
    /// Bumped by every `set` and `clear`.
    epoch: u64,
}

/// A pair whose tokens were read (not verified) when it was stored.
#[derive(Clone)]
struct Held {
    access: String,
    refresh: String,
    access_exp: i64,
}

impl TokenKeeper {
    /// A keeper that holds the pair in memory only: the app signs in again
    /// after a restart.
    pub fn in_memory() -> TokenKeeper {
        TokenKeeper::assemble(None, None)
    }

    /// A keeper persisted in the redb file at `path` (created if missing),
    /// resuming the pair stored there. Put the file in the app's private
    /// storage: it holds bearer tokens. A file written by a newer format
    /// fails with `storage_error` rather than being discarded.
    pub fn open(path: impl AsRef<Path>) -> Result<TokenKeeper> {
        let path = path.as_ref();
        let db = Builder::new().create(path).map_err(|e| {
            Error::storage(format!(
                "cannot open the keeper file {}: {e}",
                path.display()
            ))
        })?;
        let limits = Limits::default();
        let stored = load(&db, &limits)?;
        Ok(TokenKeeper::assemble(Some(db), stored))
    }

    fn assemble(file: Option<Database>, pair: Option<Held>) -> TokenKeeper {
        TokenKeeper {
            state: Mutex::new(State {
                pair,
                flight: None,
                epoch: 0,
            }),
            file,
            margin: secs(DEFAULT_MARGIN),
            clock: system_clock(),
            limits: Limits::default(),
        }
    }

    /// Sets how long an access token must still be valid to be handed out
    /// (default 30 s); a token closer to its `exp` is refreshed first.
    pub fn with_margin(mut self, margin: Duration) -> TokenKeeper {
        self.margin = secs(margin);
        self
    }

    /// Replaces the clock (tests move time with [`crate::ManualClock`]).
    pub fn with_clock(mut self, clock: SharedClock) -> TokenKeeper {
        self.clock = clock;
        self
    }

    /// Stores the pair from a sign-in, replacing any other. Both tokens must
    /// be well-formed JWTs with an `exp`; their signatures are not checked.
    pub fn set(&self, pair: &TokenPair) -> Result<()> {
        let held = self.read_pair(pair)?;
        let mut state = self.lock();
        self.save(&state, Some(&held))?;
        state.pair = Some(held);
        state.epoch = state.epoch.wrapping_add(1);
        Ok(())
    }

    /// An access token valid for at least the margin. When the held one is
    /// closer to its expiry, the pair is refreshed with `refresher` first:
    /// one call, whose outcome every concurrent caller shares.
    ///
    /// `Err` means this refresh failed and the pair is kept; a later call
    /// tries again. [`Access::SignInRequired`] means no session is left.
    pub fn access_token(&self, refresher: &dyn Refresher) -> Result<Access> {
        let (flight, refresh_token, epoch) = {
            let mut state = self.lock();
            if let Some(flight) = state.flight.clone() {
                drop(state);
                if flight.leader == thread::current().id() {
                    return Err(Error::config(
                        "the refresher called back into its token keeper",
                    ));
                }
                return flight.wait();
            }
            let Some(held) = &state.pair else {
                return Ok(Access::SignInRequired { reason: None });
            };
            if held.access_exp.saturating_sub(self.clock.now()) >= self.margin {
                return Ok(Access::Token(held.access.clone()));
            }
            let refresh_token = held.refresh.clone();
            let flight = Arc::new(Flight::new());
            state.flight = Some(Arc::clone(&flight));
            (flight, refresh_token, state.epoch)
        };
        // Lands the flight even if the refresher panics, so no waiter hangs.
        let mut landing = Landing {
            keeper: self,
            flight,
            epoch,
            landed: false,
        };
        let returned = refresher.refresh(&refresh_token);
        landing.land(returned)
    }

    /// Signs out on this device: forgets the pair, in memory and on disk.
    /// Revoke the session at the server too, with [`TokenKeeper::refresh_token`]
    /// read before this call.
    pub fn clear(&self) -> Result<()> {
        let mut state = self.lock();
        self.save(&state, None)?;
        state.pair = None;
        state.epoch = state.epoch.wrapping_add(1);
        Ok(())
    }

    /// The held refresh token, for the server's logout call.
    pub fn refresh_token(&self) -> Option<String> {
        self.lock().pair.as_ref().map(|h| h.refresh.clone())
    }

    /// Whether a pair is held.
    pub fn is_signed_in(&self) -> bool {
        self.lock().pair.is_some()
    }

    /// Seconds until the held access token's `exp` (0 once passed), or
    /// `None` when no pair is held. Read from the token without checking its
    /// signature: a hint for scheduling a refresh, not a security check.
    pub fn seconds_until_expiry(&self) -> Option<i64> {
        let exp = self.lock().pair.as_ref()?.access_exp;
        Some(exp.saturating_sub(self.clock.now()).max(0))
    }

    fn read_pair(&self, pair: &TokenPair) -> Result<Held> {
        let access_exp = unverified_exp(&pair.access, &self.limits)?;
        unverified_exp(&pair.refresh, &self.limits)?;
        Ok(Held {
            access: pair.access.clone(),
            refresh: pair.refresh.clone(),
            access_exp,
        })
    }

    /// The state; its invariants hold whenever the lock is released, so a
    /// panic elsewhere cannot leave it half-changed.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes (or, with `None`, deletes) the stored pair. The state lock,
    /// whose guard the caller passes, orders file writes like the memory
    /// changes.
    fn save(&self, _locked: &MutexGuard<'_, State>, pair: Option<&Held>) -> Result<()> {
        let Some(db) = &self.file else {
            return Ok(());
        };
        let mut txn = db.begin_write().map_err(storage("begin a write"))?;
        txn.set_durability(Durability::Immediate)
            .map_err(storage("set durability"))?;
        {
            let mut table = txn.open_table(KEEPER).map_err(storage("open table"))?;
            match pair {
                Some(held) => {
                    let bytes = encode(&held.access, &held.refresh)?;
                    table
                        .insert(PAIR_KEY, bytes.as_slice())
                        .map_err(storage("write"))?;
                }
                None => {
                    table.remove(PAIR_KEY).map_err(storage("write"))?;
                }
            }
        }
        txn.commit().map_err(storage("commit"))
    }

    /// What a flight that lands in a later epoch reports: the session now
    /// held, if any.
    fn current(&self, state: &State) -> Access {
        match &state.pair {
            Some(held) => Access::Token(held.access.clone()),
            None => Access::SignInRequired { reason: None },
        }
    }
}

impl fmt::Debug for TokenKeeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeeper")
            .field("signed_in", &self.is_signed_in())
            .field("persisted", &self.file.is_some())
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

/// One refresh in progress and, once landed, its outcome.
struct Flight {
    /// The thread running the refresher; it must not wait for itself.
    leader: ThreadId,
    outcome: Mutex<Option<Result<Access>>>,
    landed: Condvar,
}

impl Flight {
    fn new() -> Flight {
        Flight {
            leader: thread::current().id(),
            outcome: Mutex::new(None),
            landed: Condvar::new(),
        }
    }

    fn wait(&self) -> Result<Access> {
        let mut outcome = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(done) = &*outcome {
                return done.clone();
            }
            outcome = self
                .landed
                .wait(outcome)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn publish(&self, result: Result<Access>) {
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
        self.landed.notify_all();
    }
}

/// Ends a flight exactly once: with the refresher's result, or, if the
/// refresher unwound, with an error.
struct Landing<'k> {
    keeper: &'k TokenKeeper,
    flight: Arc<Flight>,
    epoch: u64,
    landed: bool,
}

impl Landing<'_> {
    fn land(&mut self, returned: Result<TokenPair>) -> Result<Access> {
        let keeper = self.keeper;
        // Read outside the lock; the tokens are the server's answer.
        let returned = returned.map(|pair| keeper.read_pair(&pair));
        let outcome = {
            let mut state = keeper.lock();
            state.flight = None;
            if state.epoch != self.epoch {
                Ok(keeper.current(&state))
            } else {
                match returned {
                    Ok(Ok(held)) => {
                        let access = held.access.clone();
                        // Memory takes the new pair even if the file write
                        // fails: the old refresh token is spent either way.
                        let saved = keeper.save(&state, Some(&held));
                        state.pair = Some(held);
                        saved.map(|()| Access::Token(access))
                    }
                    Ok(Err(unreadable)) => {
                        // The server rotated but the new pair is unusable;
                        // presenting the spent token again would only raise a
                        // reuse alarm.
                        end_session(keeper, &mut state, unreadable)
                    }
                    Err(e) if e.ends_session() => end_session(keeper, &mut state, e),
                    Err(e) => Err(e),
                }
            }
        };
        self.landed = true;
        self.flight.publish(outcome.clone());
        outcome
    }
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        if !self.landed {
            self.keeper.lock().flight = None;
            self.flight.publish(Err(Error::storage(
                "the refresh did not complete: the refresher panicked",
            )));
        }
    }
}

fn end_session(
    keeper: &TokenKeeper,
    state: &mut MutexGuard<'_, State>,
    reason: Error,
) -> Result<Access> {
    let saved = keeper.save(state, None);
    state.pair = None;
    state.epoch = state.epoch.wrapping_add(1);
    saved.map(|()| Access::SignInRequired {
        reason: Some(reason),
    })
}

fn storage<E: fmt::Display>(what: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::storage(format!("keeper file: {what}: {e}"))
}

/// Whole seconds; a margin beyond i64 seconds means "always refresh",
/// which the largest value does.
fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn load(db: &Database, limits: &Limits) -> Result<Option<Held>> {
    // Creates the table in a new file, so reads never meet a missing table.
    let txn = db.begin_write().map_err(storage("begin a write"))?;
    txn.open_table(KEEPER).map_err(storage("create table"))?;
    txn.commit().map_err(storage("commit"))?;
    let txn = db.begin_read().map_err(storage("begin a read"))?;
    let table = txn.open_table(KEEPER).map_err(storage("open table"))?;
    let Some(bytes) = table.get(PAIR_KEY).map_err(storage("read"))? else {
        return Ok(None);
    };
    let (access, refresh) = decode(bytes.value(), limits.max_token_bytes)?;
    let corrupt = |_| Error::storage("keeper file holds an unreadable token");
    let access_exp = unverified_exp(&access, limits).map_err(corrupt)?;
    unverified_exp(&refresh, limits).map_err(corrupt)?;
    Ok(Some(Held {
        access,
        refresh,
        access_exp,
    }))
}

/// Reads `bytes` as the keeper's stored record and both tokens' `exp`, as
/// [`TokenKeeper::open`] does with what it finds in the file. For fuzzing;
/// not a stable API. Every outcome is a value, never a panic.
#[doc(hidden)]
pub fn decode_record(bytes: &[u8]) -> bool {
    let limits = Limits::default();
    decode(bytes, limits.max_token_bytes).is_ok_and(|(access, refresh)| {
        unverified_exp(&access, &limits).is_ok() && unverified_exp(&refresh, &limits).is_ok()
    })
}

/// `[version 1] ++ u32le len ++ access ++ u32le len ++ refresh`, UTF-8.
fn encode(access: &str, refresh: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(9 + access.len() + refresh.len());
    out.push(RECORD_V1);
    for token in [access, refresh] {
        let len = u32::try_from(token.len()).map_err(|_| Error::invalid("token too long"))?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(token.as_bytes());
    }
    Ok(out)
}

/// Reads a record, refusing unknown versions, oversized or non-UTF-8
/// tokens, and trailing bytes.
fn decode(bytes: &[u8], max_token: usize) -> Result<(String, String)> {
    let corrupt = |why: &str| Error::storage(format!("corrupt keeper record: {why}"));
    let (version, mut rest) = bytes.split_first().ok_or_else(|| corrupt("empty"))?;
    if *version != RECORD_V1 {
        return Err(Error::storage(format!(
            "the keeper file has record format {version}; this build reads {RECORD_V1}"
        )));
    }
    let mut take = || -> Result<String> {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("truncated"))?;
        let len = usize::try_from(u32::from_le_bytes(*len)).map_err(|_| corrupt("length"))?;
        if len > max_token || len > tail.len() {
            return Err(corrupt("length"));
        }
        let (text, tail) = tail.split_at(len);
        rest = tail;
        String::from_utf8(text.to_vec()).map_err(|_| corrupt("not UTF-8"))
    };
    let access = take()?;
    let refresh = take()?;
    if !rest.is_empty() {
        return Err(corrupt("trailing bytes"));
    }
    Ok((access, refresh))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes written by record format 1. If this test fails, the on-disk
    /// format changed: add a version and read the old one too.
    #[test]
    fn decodes_bytes_written_by_format_v1() {
        let mut v1 = vec![1u8];
        v1.extend(3u32.to_le_bytes());
        v1.extend(b"a.b");
        v1.extend(5u32.to_le_bytes());
        v1.extend(b"c.d.e");
        assert_eq!(encode("a.b", "c.d.e").unwrap(), v1);
        assert_eq!(decode(&v1, 8192).unwrap(), ("a.b".into(), "c.d.e".into()));
    }

    #[test]
    fn refuses_unknown_version_truncation_and_trailing_bytes() {
        let good = encode("a.b", "c.d.e").unwrap();
        let mut newer = good.clone();
        newer[0] = 2;
        assert_eq!(decode(&newer, 8192).unwrap_err().code(), "storage_error");
        for cut in 0..good.len() {
            assert!(decode(&good[..cut], 8192).is_err(), "cut at {cut}");
        }
        let mut long = good.clone();
        long.push(0);
        assert!(decode(&long, 8192).is_err());
        assert!(decode(&good, 4).is_err(), "token over the size limit");
        let mut bad_utf8 = good;
        bad_utf8[5] = 0xff;
        assert!(decode(&bad_utf8, 8192).is_err());
    }
}
