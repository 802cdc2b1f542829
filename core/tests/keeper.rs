//! The token keeper: single-flight refresh, sign-out, persistence. One test
//! per rule or failure mode.

// A failed unwrap in test helpers is a failed test; clippy.toml's
// allow-unwrap-in-tests covers only #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::*;
use serde_json::Map;
use tessera::{Access, Engine, Error, ManualClock, Refresher, Result, TokenKeeper, TokenPair};

/// An engine, a keeper on the same clock holding a fresh session, and the
/// clock.
fn signed_in() -> (Arc<Engine>, TokenKeeper, ManualClock) {
    let (engine, clock) = engine();
    let keeper = TokenKeeper::in_memory().with_clock(Arc::new(clock.clone()));
    keeper
        .set(&engine.issue("42", Map::new()).unwrap())
        .unwrap();
    (Arc::new(engine), keeper, clock)
}

/// A refresher that exchanges with `engine`, counting calls, and lingers so
/// that concurrent callers pile up behind it.
struct CountingRefresher {
    engine: Arc<Engine>,
    calls: AtomicUsize,
    linger: Duration,
}

impl CountingRefresher {
    fn new(engine: &Arc<Engine>) -> Self {
        CountingRefresher {
            engine: Arc::clone(engine),
            calls: AtomicUsize::new(0),
            linger: Duration::from_millis(100),
        }
    }
}

impl Refresher for CountingRefresher {
    fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        thread::sleep(self.linger);
        self.engine.refresh(refresh_token)
    }
}

fn never(_: &str) -> Result<TokenPair> {
    panic!("the refresher must not be called")
}

fn token(access: Result<Access>) -> String {
    match access.unwrap() {
        Access::Token(t) => t,
        other => panic!("expected a token, got {other:?}"),
    }
}

fn sign_in_reason(access: Result<Access>) -> Option<&'static str> {
    match access.unwrap() {
        Access::SignInRequired { reason } => reason.map(|e| e.code()),
        other => panic!("expected sign-in, got {other:?}"),
    }
}

#[test]
fn sixteen_threads_after_expiry_make_one_refresher_call() {
    let (engine, keeper, clock) = signed_in();
    clock.advance(901);
    let refresher = CountingRefresher::new(&engine);
    let barrier = Barrier::new(16);
    let tokens: Vec<String> = thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    token(keeper.access_token(&refresher))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(refresher.calls.load(Ordering::SeqCst), 1);
    assert!(tokens.iter().all(|t| *t == tokens[0]), "one shared outcome");
    assert!(engine.verify_access(&tokens[0]).is_ok());
    // The new pair is held: the next call needs no refresh.
    assert_eq!(token(keeper.access_token(&never)), tokens[0]);
}

#[test]
fn fresh_token_is_served_until_the_margin() {
    let (engine, keeper, clock) = signed_in();
    let first = token(keeper.access_token(&never));
    clock.advance(900 - 30);
    assert_eq!(token(keeper.access_token(&never)), first);
    clock.advance(1);
    let refresher = CountingRefresher::new(&engine);
    assert_ne!(token(keeper.access_token(&refresher)), first);
    assert_eq!(refresher.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn margin_is_configurable() {
    let (engine, clock) = engine();
    let keeper = TokenKeeper::in_memory()
        .with_clock(Arc::new(clock.clone()))
        .with_margin(Duration::from_secs(600));
    keeper
        .set(&engine.issue("42", Map::new()).unwrap())
        .unwrap();
    clock.advance(299);
    assert!(keeper.access_token(&never).is_ok());
    clock.advance(2);
    let engine = Arc::new(engine);
    let refresher = CountingRefresher::new(&engine);
    keeper.access_token(&refresher).unwrap();
    assert_eq!(refresher.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn refresher_failure_reaches_every_waiter_without_retry() {
    let (_engine, keeper, clock) = signed_in();
    clock.advance(901);
    let calls = AtomicUsize::new(0);
    let offline = |_: &str| -> Result<TokenPair> {
        calls.fetch_add(1, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(100));
        Err(Error::Storage("network unreachable".into()))
    };
    let barrier = Barrier::new(8);
    let codes: Vec<&str> = thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    keeper.access_token(&offline).unwrap_err().code()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(codes.iter().all(|c| *c == "storage_error"));
    // The pair is kept; a later call tries once more.
    assert!(keeper.is_signed_in());
    assert!(keeper.access_token(&offline).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn reused_refresh_token_clears_the_pair_and_asks_for_sign_in() {
    let (engine, keeper, clock) = signed_in();
    // Another client (or a thief) spent the refresh token first.
    engine.refresh(&keeper.refresh_token().unwrap()).unwrap();
    clock.advance(901);
    let refresher = CountingRefresher::new(&engine);
    assert_eq!(
        sign_in_reason(keeper.access_token(&refresher)),
        Some("refresh_reused")
    );
    assert!(!keeper.is_signed_in());
    assert_eq!(keeper.seconds_until_expiry(), None);
    // Signed out now: no further refresher call.
    assert_eq!(sign_in_reason(keeper.access_token(&refresher)), None);
    assert_eq!(refresher.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn revoked_session_clears_the_pair() {
    let (engine, keeper, clock) = signed_in();
    engine.revoke(&keeper.refresh_token().unwrap()).unwrap();
    clock.advance(901);
    let refresher = CountingRefresher::new(&engine);
    assert_eq!(
        sign_in_reason(keeper.access_token(&refresher)),
        Some("token_revoked")
    );
    assert!(!keeper.is_signed_in());
}

#[test]
fn clear_signs_out() {
    let (_engine, keeper, _clock) = signed_in();
    assert!(keeper.is_signed_in());
    keeper.clear().unwrap();
    assert!(!keeper.is_signed_in());
    assert_eq!(keeper.refresh_token(), None);
    assert_eq!(sign_in_reason(keeper.access_token(&never)), None);
}

#[test]
fn pair_persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keeper.redb");
    let (engine, clock) = engine();
    let pair = engine.issue("42", Map::new()).unwrap();
    {
        let keeper = TokenKeeper::open(&path).unwrap();
        assert!(!keeper.is_signed_in());
        keeper.set(&pair).unwrap();
    }
    let keeper = TokenKeeper::open(&path)
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    assert_eq!(
        keeper.refresh_token().as_deref(),
        Some(pair.refresh.as_str())
    );
    assert_eq!(token(keeper.access_token(&never)), pair.access);

    // A refresh is persisted too.
    clock.advance(901);
    let engine = Arc::new(engine);
    let refreshed = token(keeper.access_token(&CountingRefresher::new(&engine)));
    drop(keeper);
    let keeper = TokenKeeper::open(&path)
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    assert_eq!(token(keeper.access_token(&never)), refreshed);

    // And so is signing out.
    keeper.clear().unwrap();
    drop(keeper);
    assert!(!TokenKeeper::open(&path).unwrap().is_signed_in());
}

#[test]
fn seconds_until_expiry_reads_exp_without_a_key() {
    let (_engine, keeper, clock) = signed_in();
    assert_eq!(keeper.seconds_until_expiry(), Some(900));
    clock.advance(100);
    assert_eq!(keeper.seconds_until_expiry(), Some(800));
    clock.advance(10_000);
    assert_eq!(keeper.seconds_until_expiry(), Some(0));
}

#[test]
fn malformed_tokens_are_refused_by_set() {
    let (engine, _) = engine();
    let good = engine.issue("42", Map::new()).unwrap();
    let keeper = TokenKeeper::in_memory();
    let b64 = tessera::internal::base64url::encode;
    let with_payload = |payload: &str| format!("{}.{}.c2ln", b64(b"{}"), b64(payload.as_bytes()));
    let cases = [
        "".to_owned(),
        "a.b".to_owned(),
        "a.b.c.d".to_owned(),
        format!("{}=", good.access),
        "x".repeat(9000),
        with_payload(r#"{"exp":1.5e9}"#),
        with_payload(r#"{"exp":"1700000000"}"#),
        with_payload(r#"{"exp":1,"exp":2}"#),
        with_payload(r#"{"sub":"no exp"}"#),
        with_payload("[1]"),
    ];
    for bad in cases {
        let pair = TokenPair {
            access: bad.clone(),
            ..good.clone()
        };
        assert_eq!(
            keeper.set(&pair).unwrap_err().code(),
            "token_invalid",
            "{bad:.40}"
        );
    }
    assert!(!keeper.is_signed_in());
    // Only the tokens matter; the expiry fields may be left at zero.
    let bare = TokenPair {
        access_expires_at: 0,
        refresh_expires_at: 0,
        ..good
    };
    keeper.set(&bare).unwrap();
    assert!(keeper.is_signed_in());
}

#[test]
fn unreadable_pair_from_the_refresher_ends_the_session() {
    let (_engine, keeper, clock) = signed_in();
    clock.advance(901);
    let garbage = |_: &str| -> Result<TokenPair> {
        Ok(TokenPair {
            access: "not a token".into(),
            refresh: "neither".into(),
            access_expires_at: 0,
            refresh_expires_at: 0,
        })
    };
    assert_eq!(
        sign_in_reason(keeper.access_token(&garbage)),
        Some("token_invalid")
    );
    assert!(!keeper.is_signed_in());
}

#[test]
fn clear_during_a_refresh_drops_its_result() {
    let (engine, keeper, clock) = signed_in();
    clock.advance(901);
    let keeper = &keeper;
    let engine = &engine;
    let started = Barrier::new(2);
    let resume = Barrier::new(2);
    let slow = |rt: &str| -> Result<TokenPair> {
        started.wait();
        resume.wait();
        engine.refresh(rt)
    };
    thread::scope(|s| {
        let leader = s.spawn(|| keeper.access_token(&slow));
        started.wait();
        keeper.clear().unwrap();
        resume.wait();
        assert_eq!(sign_in_reason(leader.join().unwrap()), None);
    });
    assert!(!keeper.is_signed_in(), "signing out wins over the refresh");
}

#[test]
fn refresher_calling_back_into_the_keeper_is_refused() {
    let (_engine, keeper, clock) = signed_in();
    clock.advance(901);
    let reentrant = |_: &str| -> Result<TokenPair> {
        let inner = keeper.access_token(&never).unwrap_err();
        assert_eq!(inner.code(), "config_invalid");
        Err(inner)
    };
    assert_eq!(
        keeper.access_token(&reentrant).unwrap_err().code(),
        "config_invalid"
    );
    assert!(keeper.is_signed_in());
}

#[test]
fn panicking_refresher_releases_its_waiters() {
    let (_engine, keeper, clock) = signed_in();
    clock.advance(901);
    let started = Barrier::new(2);
    let panics = |_: &str| -> Result<TokenPair> {
        started.wait();
        thread::sleep(Duration::from_millis(100));
        panic!("refresher bug")
    };
    thread::scope(|s| {
        let leader = s.spawn(|| catch_unwind(AssertUnwindSafe(|| keeper.access_token(&panics))));
        started.wait();
        let waiter = keeper.access_token(&never);
        assert_eq!(waiter.unwrap_err().code(), "storage_error");
        assert!(leader.join().unwrap().is_err());
    });
    // The keeper is usable afterwards.
    assert!(keeper.is_signed_in());
}
