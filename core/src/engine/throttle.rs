//! Attempt counters: how often something was tried under a key (a login
//! for one account from one address, say), shared by every thread,
//! process and host that uses the same store, so that a limit holds
//! whichever worker answers.
//!
//! The counter is a **fixed window**: the first attempt under a key opens a
//! window of `window` seconds; attempts are counted in it up to `limit`;
//! beyond that they are refused, and not counted, until the window ends,
//! when the count starts from 0 again. Chosen over the alternatives because:
//! - it is one small record per key (a count and the window's end), read
//!   and written in one transaction, so it is exact under any concurrency
//!   (redb's single writer; a locked row in PostgreSQL);
//! - its answer is exact and simple to state: "10 attempts per 15 minutes",
//!   and `Retry-After` is the window's end, after which a try is allowed;
//! - the window's end is also the record's expiry, so records expire by
//!   themselves and `purge_expired` needs no index;
//! - a sliding log would be exact over every interval but holds up to
//!   `limit` times per key; a token bucket (or GCRA) smooths the rate but
//!   lets one guess through every `window / limit` seconds once spent,
//!   which is harder to explain and no slower for an attacker in the long
//!   run.
//!
//! The price is the edge of a window: up to `2 × limit` attempts can fall
//! within `window` seconds when they straddle two windows. For password
//! guessing the long-run rate is what matters, and it is `limit` per
//! `window`.
//!
//! Invariants:
//! - the store holds SHA-256 of the key, never the key (an account name
//!   or an address);
//! - a refused attempt changes nothing, so hammering a closed window does
//!   not extend it;
//! - counters are written with the store's relaxed commit
//!   ([`crate::store`]): a crash may forget the last counts, which only
//!   lets a few more attempts through; it never touches token state, and a
//!   counter write never shares a transaction with a token write.

use sha2::{Digest, Sha256};

use super::handle::{Commit, Engine};
use crate::error::{Error, Result};
use crate::store::records::{AttemptRecord, Digest32};

/// The longest window accepted: a year, in seconds.
const MAX_WINDOW: i64 = 366 * 24 * 3600;
/// The longest key accepted, in bytes (it is hashed, never stored).
const MAX_KEY: usize = 1024;

/// What [`Engine::record_attempt`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt {
    /// Whether this attempt may go ahead; it was counted if so.
    pub allowed: bool,
    /// Attempts counted in the current window, this one included.
    pub count: u32,
    /// Attempts still allowed in the current window.
    pub remaining: u32,
    /// Seconds until an attempt is allowed again: 0 when this one was,
    /// at least 1 when it was refused.
    pub retry_after: u64,
    /// When the current window ends (seconds since the epoch).
    pub resets_at: i64,
}

impl Engine {
    /// Counts an attempt under `key`, unless `limit` attempts were already
    /// counted in its window of `window` seconds, and says which.
    ///
    /// `key` names what is limited (a site might use
    /// `"login:alice@example.com|203.0.113.7"`); only its SHA-256 is stored.
    /// A `limit` of 0 refuses everything. `config_invalid` when `key` is
    /// empty or longer than 1024 bytes, or `window` is 0 or over a year.
    pub fn record_attempt(&self, key: &str, limit: u32, window: u64) -> Result<Attempt> {
        let digest = attempt_key(key)?;
        let window = i64::try_from(window)
            .ok()
            .filter(|w| (1..=MAX_WINDOW).contains(w))
            .ok_or_else(|| Error::config("the window must be 1 s to a year"))?;
        let now = self.clock.now();
        self.store.write_relaxed(move |tx| {
            let open = tx.attempts(&digest)?.filter(|r| r.resets_at > now);
            let rec = open.unwrap_or(AttemptRecord {
                count: 0,
                resets_at: now.saturating_add(window),
            });
            if rec.count >= limit {
                return Ok(Attempt {
                    allowed: false,
                    count: rec.count,
                    remaining: 0,
                    retry_after: seconds_until(rec.resets_at, now),
                    resets_at: rec.resets_at,
                });
            }
            let rec = AttemptRecord {
                count: rec.count + 1,
                ..rec
            };
            tx.put_attempts(&digest, &rec)?;
            Ok(Attempt {
                allowed: true,
                count: rec.count,
                remaining: limit - rec.count,
                retry_after: 0,
                resets_at: rec.resets_at,
            })
        })
    }

    /// Takes one counted attempt under `key` back (an attempt that turned
    /// out not to count, such as a successful login against a per-address
    /// limit). Does nothing when there is none.
    pub fn release_attempt(&self, key: &str) -> Result<()> {
        let digest = attempt_key(key)?;
        let now = self.clock.now();
        self.store
            .write_relaxed(move |tx| match tx.attempts(&digest)? {
                Some(rec) if rec.resets_at > now && rec.count > 1 => tx.put_attempts(
                    &digest,
                    &AttemptRecord {
                        count: rec.count - 1,
                        ..rec
                    },
                ),
                Some(_) => tx.delete_attempts(&digest),
                None => Ok(()),
            })
    }

    /// Forgets every attempt under `key` (a successful login clears its
    /// account and address's count).
    pub fn clear_attempts(&self, key: &str) -> Result<()> {
        let digest = attempt_key(key)?;
        self.store.write_relaxed(move |tx| {
            if tx.attempts(&digest)?.is_some() {
                tx.delete_attempts(&digest)?;
            }
            Ok(())
        })
    }

    /// Removes counters whose window has ended; part of `purge_expired`.
    pub(crate) fn purge_attempts(&self, now: i64) -> Result<u64> {
        self.purge_scan(
            Commit::Relaxed,
            |tx, after, limit| tx.attempt_keys(after, limit),
            move |tx, key| {
                let gone = tx.attempts(key)?.is_some_and(|r| r.resets_at <= now);
                if gone {
                    tx.delete_attempts(key)?;
                }
                Ok(gone)
            },
            || {},
        )
    }
}

/// The stored key of `key`: its SHA-256, after checking its length.
fn attempt_key(key: &str) -> Result<Digest32> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(Error::config("an attempt key must be 1 to 1024 bytes"));
    }
    let mut h = Sha256::new();
    h.update(b"tessera.attempts\0");
    h.update(key.as_bytes());
    Ok(h.finalize().into())
}

/// Whole seconds from `now` to `end`, at least 1.
fn seconds_until(end: i64, now: i64) -> u64 {
    u64::try_from(end.saturating_sub(now)).unwrap_or(0).max(1)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::engine::EngineConfig;
    use crate::{Algorithm, Key, KeySet};

    fn engine(clock: Arc<ManualClock>) -> Engine {
        let key = Key::generate(Algorithm::EdDSA).unwrap();
        let mut config = EngineConfig::new(KeySet::new(key).unwrap());
        config.clock = clock;
        Engine::in_memory(config).unwrap()
    }

    #[test]
    fn the_attempt_past_the_limit_is_refused_until_the_window_ends() {
        let clock = Arc::new(ManualClock::new(1_000));
        let e = engine(clock.clone());
        for i in 1..=3 {
            let a = e.record_attempt("k", 3, 60).unwrap();
            assert!(a.allowed);
            assert_eq!((a.count, a.remaining), (i, 3 - i));
        }
        clock.advance(59);
        let refused = e.record_attempt("k", 3, 60).unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, 1);
        assert_eq!(refused.count, 3, "a refused attempt is not counted");
        clock.advance(1);
        assert!(e.record_attempt("k", 3, 60).unwrap().allowed);
        assert!(e.record_attempt("other", 3, 60).unwrap().allowed);
    }

    #[test]
    fn clearing_and_releasing_give_attempts_back() {
        let clock = Arc::new(ManualClock::new(1_000));
        let e = engine(clock);
        for _ in 0..2 {
            e.record_attempt("k", 2, 60).unwrap();
        }
        assert!(!e.record_attempt("k", 2, 60).unwrap().allowed);
        e.release_attempt("k").unwrap();
        assert!(e.record_attempt("k", 2, 60).unwrap().allowed);
        e.clear_attempts("k").unwrap();
        assert_eq!(e.record_attempt("k", 2, 60).unwrap().count, 1);
        e.clear_attempts("never seen").unwrap();
        e.release_attempt("never seen").unwrap();
    }

    #[test]
    fn expired_counters_are_purged_and_no_live_one() {
        let clock = Arc::new(ManualClock::new(1_000));
        let e = engine(clock.clone());
        e.record_attempt("short", 5, 10).unwrap();
        e.record_attempt("long", 5, 100).unwrap();
        assert_eq!(e.stats().unwrap().attempt_counters, 2);
        clock.advance(10);
        assert_eq!(e.purge_expired().unwrap(), 1);
        assert_eq!(e.stats().unwrap().attempt_counters, 1);
        assert_eq!(e.record_attempt("long", 5, 100).unwrap().count, 2);
    }

    #[test]
    fn bad_keys_and_windows_are_config_invalid() {
        let e = engine(Arc::new(ManualClock::new(0)));
        for (key, window) in [("", 60), (&"x".repeat(1025)[..], 60), ("k", 0)] {
            let err = e.record_attempt(key, 1, window).unwrap_err();
            assert_eq!(err.code(), "config_invalid");
        }
        let too_long = u64::try_from(MAX_WINDOW).unwrap() + 1;
        assert!(e.record_attempt("k", 1, too_long).is_err());
        assert!(!e.record_attempt("k", 0, 60).unwrap().allowed);
    }
}
