//! The engine's contract, one test per rule or failure mode.

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use serde_json::{json, Map};
use tessera::{Engine, EngineConfig, ManualClock, StoreLocation};

fn no_claims() -> Map<String, serde_json::Value> {
    Map::new()
}

#[test]
fn issue_then_verify_access_and_refresh() {
    let (e, _) = engine();
    let mut extra = Map::new();
    extra.insert("role".into(), json!("admin"));
    let pair = e.issue("42", extra).unwrap();
    assert_eq!(pair.access_expires_at, T0 + 900);
    assert_eq!(pair.refresh_expires_at, T0 + 14 * 86_400);
    let c = e.verify_access(&pair.access).unwrap();
    assert_eq!(c.user_id.as_str(), "42");
    assert_eq!(c.extra["role"], "admin");
    assert!(c.family.is_some());
    let r = e.verify_refresh(&pair.refresh).unwrap();
    assert_eq!(r.family, c.family);
}

#[test]
fn refresh_token_is_wrong_type_for_verify_access() {
    let (e, _) = engine();
    let pair = e.issue("42", no_claims()).unwrap();
    assert_eq!(
        e.verify_access(&pair.refresh).unwrap_err().code(),
        "token_wrong_type"
    );
    assert_eq!(
        e.verify_refresh(&pair.access).unwrap_err().code(),
        "token_wrong_type"
    );
    assert_eq!(
        e.refresh(&pair.access).unwrap_err().code(),
        "token_wrong_type"
    );
}

#[test]
fn rotation_spends_the_old_token_and_keeps_extra_claims() {
    let (e, clock) = engine();
    let mut extra = Map::new();
    extra.insert("tenant".into(), json!(7));
    let p1 = e.issue("42", extra).unwrap();
    clock.advance(10);
    let p2 = e.refresh(&p1.refresh).unwrap();
    assert_ne!(p1.refresh, p2.refresh);
    let c = e.verify_access(&p2.access).unwrap();
    assert_eq!(c.extra["tenant"], 7);
    // Past the convergence window, the spent token is no longer live.
    clock.advance(10);
    assert_eq!(
        e.verify_refresh(&p1.refresh).unwrap_err().code(),
        "refresh_reused"
    );
    let sessions = e.sessions("42").unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].last_refreshed_at, T0 + 10);
    assert_eq!(sessions[0].created_at, T0);
}

#[test]
fn replayed_refresh_revokes_family() {
    let (e, clock) = engine();
    let r1 = e.issue("42", no_claims()).unwrap();
    let other = e.issue("42", no_claims()).unwrap();
    let r2 = e.refresh(&r1.refresh).unwrap();
    // After the convergence window (default 10 s).
    clock.advance(10);
    assert_eq!(e.refresh(&r1.refresh).unwrap_err().code(), "refresh_reused");
    assert_eq!(e.refresh(&r2.refresh).unwrap_err().code(), "token_revoked");
    assert_eq!(
        e.verify_access(&r2.access).unwrap_err().code(),
        "token_revoked"
    );
    // The same user's other session is unaffected.
    e.verify_access(&other.access).unwrap();
    e.refresh(&other.refresh).unwrap();
    assert_eq!(e.sessions("42").unwrap().len(), 1);
}

/// With no convergence window, one exchange per token (the converging
/// race is in `converge.rs`).
#[test]
fn single_use_under_thread_race() {
    let (e, _) = engine_with(|c| c.reuse_grace = secs(0));
    let e = Arc::new(e);
    for _ in 0..200 {
        let pair = e.issue("race", no_claims()).unwrap();
        let barrier = Arc::new(Barrier::new(16));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (e, b, t) = (e.clone(), barrier.clone(), pair.refresh.clone());
                std::thread::spawn(move || {
                    b.wait();
                    e.refresh(&t)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "exactly one exchange per token");
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                matches!(r.code(), "refresh_reused" | "token_revoked"),
                "loser got {r}"
            );
        }
    }
}

#[test]
fn reuse_grace_allows_only_the_immediate_predecessor() {
    let (e, clock) = engine_with(|c| c.reuse_grace = secs(30));
    let p1 = e.issue("42", no_claims()).unwrap();
    let p2 = e.refresh(&p1.refresh).unwrap();
    clock.advance(5);
    // The client lost p2 and retries p1: the same pair, p2, again.
    let p3 = e.refresh(&p1.refresh).unwrap();
    assert_eq!(p3, p2);
    // p2 rotates; p1 is now a grandparent, and presenting it is reuse.
    let p4 = e.refresh(&p2.refresh).unwrap();
    assert_eq!(e.refresh(&p1.refresh).unwrap_err().code(), "refresh_reused");
    assert_eq!(
        e.verify_access(&p4.access).unwrap_err().code(),
        "token_revoked"
    );
}

#[test]
fn reuse_grace_expires() {
    let (e, clock) = engine_with(|c| c.reuse_grace = secs(30));
    let p1 = e.issue("42", no_claims()).unwrap();
    let _p2 = e.refresh(&p1.refresh).unwrap();
    clock.advance(31);
    assert_eq!(e.refresh(&p1.refresh).unwrap_err().code(), "refresh_reused");
}

#[test]
fn reuse_grace_does_not_cover_older_ancestors() {
    let (e, _) = engine_with(|c| c.reuse_grace = secs(30));
    let p1 = e.issue("42", no_claims()).unwrap();
    let p2 = e.refresh(&p1.refresh).unwrap();
    let _p3 = e.refresh(&p2.refresh).unwrap();
    assert_eq!(e.refresh(&p1.refresh).unwrap_err().code(), "refresh_reused");
}

#[test]
fn revoke_logs_the_session_out() {
    let (e, _) = engine();
    let p = e.issue("42", no_claims()).unwrap();
    e.revoke(&p.refresh).unwrap();
    assert_eq!(e.refresh(&p.refresh).unwrap_err().code(), "token_revoked");
    assert_eq!(
        e.verify_access(&p.access).unwrap_err().code(),
        "token_revoked"
    );
    e.revoke(&p.refresh).unwrap();
    assert!(e.sessions("42").unwrap().is_empty());
}

#[test]
fn revoke_user_revokes_same_second_tokens_but_not_later_ones() {
    let (e, _) = engine();
    let a = e.issue("42", no_claims()).unwrap();
    let b = e.issue("42", no_claims()).unwrap();
    let other_user = e.issue("7", no_claims()).unwrap();
    // All in the same second as the logout.
    assert_eq!(e.revoke_user("42").unwrap(), 2);
    for p in [&a, &b] {
        assert_eq!(
            e.verify_access(&p.access).unwrap_err().code(),
            "token_revoked"
        );
        assert_eq!(e.refresh(&p.refresh).unwrap_err().code(), "token_revoked");
    }
    let after = e.issue("42", no_claims()).unwrap();
    e.verify_access(&after.access).unwrap();
    e.verify_access(&other_user.access).unwrap();
    assert_eq!(e.sessions("42").unwrap().len(), 1);
}

#[test]
fn revoke_session_ends_only_that_session_of_that_user() {
    let (e, _) = engine();
    let a = e.issue("42", no_claims()).unwrap();
    let b = e.issue("42", no_claims()).unwrap();
    let other_user = e.issue("7", no_claims()).unwrap();
    let sid = e
        .verify_access(&a.access)
        .unwrap()
        .family
        .unwrap()
        .to_string();
    let others = e.verify_access(&other_user.access).unwrap().family.unwrap();
    // Another user's session is not found, and stays live.
    assert!(!e.revoke_session("42", &others.to_string()).unwrap());
    e.verify_access(&other_user.access).unwrap();

    assert!(e.revoke_session("42", &sid).unwrap());
    assert_eq!(
        e.verify_access(&a.access).unwrap_err().code(),
        "token_revoked"
    );
    assert_eq!(e.refresh(&a.refresh).unwrap_err().code(), "token_revoked");
    e.verify_access(&b.access).unwrap();
    assert_eq!(e.sessions("42").unwrap().len(), 1);
    // Already over: nothing to end.
    assert!(!e.revoke_session("42", &sid).unwrap());
    assert_eq!(
        e.revoke_session("42", "not-a-session").unwrap_err().code(),
        "config_invalid"
    );
}

#[test]
fn revoke_user_revokes_simplejwt_access_tokens_issued_before() {
    let (e, clock) = engine();
    let before = simplejwt_access("42", T0, "0123456789abcdef0123456789abcdef");
    e.verify_access(&before).unwrap();
    e.revoke_user("42").unwrap();
    assert_eq!(
        e.verify_access(&before).unwrap_err().code(),
        "token_revoked"
    );
    clock.advance(1);
    let after = simplejwt_access("42", T0 + 1, "1123456789abcdef0123456789abcdef");
    e.verify_access(&after).unwrap();
}

#[test]
fn expired_refresh_token_is_token_expired() {
    let (e, clock) = engine();
    let p = e.issue("42", no_claims()).unwrap();
    clock.advance(14 * 86_400);
    assert_eq!(e.refresh(&p.refresh).unwrap_err().code(), "token_expired");
    assert_eq!(
        e.verify_access(&p.access).unwrap_err().code(),
        "token_expired"
    );
}

#[test]
fn replay_is_recognised_until_the_token_expires_then_purged() {
    let (e, clock) = engine_with(|c| c.validation.leeway = 10);
    let p1 = e.issue("42", no_claims()).unwrap();
    clock.advance(100);
    let p2 = e.refresh(&p1.refresh).unwrap();
    // Just before p1's exp + leeway, purge keeps its state and a replay is
    // still detected.
    clock.set(p1.refresh_expires_at + 9);
    assert_eq!(e.purge_expired().unwrap(), 0);
    assert_eq!(
        e.verify_refresh(&p1.refresh).unwrap_err().code(),
        "refresh_reused"
    );
    // p1 has no record of its own: its family, which lives as long as
    // p2 can verify, is what recognises it.
    clock.set(p1.refresh_expires_at + 10);
    assert_eq!(e.purge_expired().unwrap(), 0);
    assert_eq!(e.refresh(&p1.refresh).unwrap_err().code(), "token_expired");
    assert_eq!(
        e.verify_refresh(&p2.refresh).unwrap().user_id.as_str(),
        "42"
    );
    clock.set(p2.refresh_expires_at + 9);
    assert_eq!(e.purge_expired().unwrap(), 0);
    assert_eq!(
        e.verify_refresh(&p1.refresh).unwrap_err().code(),
        "token_expired"
    );
    clock.set(p2.refresh_expires_at + 10);
    assert_eq!(e.purge_expired().unwrap(), 1, "the family");
    let s = e.stats().unwrap();
    assert_eq!((s.refresh_records, s.families), (0, 0));
}

#[test]
fn purge_keeps_the_store_bounded_over_many_cycles() {
    let (e, clock) = engine_with(|c| {
        c.access_ttl = secs(60);
        c.refresh_ttl = secs(120);
    });
    // PostgreSQL commits over a socket; a tenth of the cycles still runs
    // ten purges.
    let cycles = if on_postgres() { 10_000 } else { 100_000u32 };
    let mut peak = 0;
    for i in 0..cycles {
        let p = e.issue("cycler", no_claims()).unwrap();
        e.refresh(&p.refresh).unwrap();
        clock.advance(1);
        if i % 1000 == 999 {
            e.purge_expired().unwrap();
            let s = e.stats().unwrap();
            peak = peak.max(s.refresh_records + s.families);
        }
    }
    clock.advance(1000);
    e.purge_expired().unwrap();
    let s = e.stats().unwrap();
    assert_eq!((s.refresh_records, s.families), (0, 0));
    // About 120 s of state at one family per cycle and a cycle per
    // second, plus the 1000 cycles between purges.
    assert!(peak < 120 + 1000 + 10, "peak {peak}");
}

#[test]
fn simplejwt_refresh_token_migrates_once_into_a_new_family() {
    let (e, _) = engine();
    let old = simplejwt_refresh(json!(42), T0 - 60, "abcdefabcdefabcdefabcdefabcdef01");
    e.verify_refresh(&old).unwrap();
    let pair = e.refresh(&old).unwrap();
    let c = e.verify_access(&pair.access).unwrap();
    assert_eq!(c.user_id.as_str(), "42");
    assert!(c.family.is_some());
    // Its jti is now blacklisted: presenting it again is a replay, and the
    // family it started is revoked.
    assert_eq!(e.refresh(&old).unwrap_err().code(), "refresh_reused");
    assert_eq!(
        e.verify_access(&pair.access).unwrap_err().code(),
        "token_revoked"
    );
}

#[test]
fn simplejwt_refresh_token_logged_out_is_blacklisted() {
    let (e, _) = engine();
    let old = simplejwt_refresh(json!("42"), T0 - 60, "abcdefabcdefabcdefabcdefabcdef02");
    e.revoke(&old).unwrap();
    assert_eq!(e.refresh(&old).unwrap_err().code(), "token_revoked");
    assert_eq!(e.verify_refresh(&old).unwrap_err().code(), "token_revoked");
}

#[test]
fn simplejwt_refresh_token_before_logout_everywhere_is_revoked() {
    let (e, _) = engine();
    let old = simplejwt_refresh(json!("42"), T0 - 60, "abcdefabcdefabcdefabcdefabcdef03");
    e.revoke_user("42").unwrap();
    assert_eq!(e.refresh(&old).unwrap_err().code(), "token_revoked");
}

#[test]
fn reserved_extra_claims_are_config_invalid() {
    let (e, _) = engine();
    for name in ["exp", "sid", "user_id", "token_type", "jti"] {
        let mut extra = Map::new();
        extra.insert(name.into(), json!(1));
        assert_eq!(e.issue("42", extra).unwrap_err().code(), "config_invalid");
    }
}

#[test]
fn claims_that_would_not_verify_are_refused_at_issue() {
    let (e, _) = engine();
    let deep = (0..10).fold(json!(1), |v, _| json!([v]));
    let cases = [
        ("deep", deep),
        ("long", json!("x".repeat(2000))),
        (
            "big",
            json!((0..40)
                .map(|i| "y".repeat(200) + &i.to_string())
                .collect::<Vec<_>>()),
        ),
    ];
    for (name, value) in cases {
        let mut extra = Map::new();
        extra.insert(name.into(), value);
        let err = e.issue("42", extra).unwrap_err();
        assert_eq!(err.code(), "config_invalid", "{name}: {err}");
    }
    assert_eq!(e.stats().unwrap().families, 0, "nothing was stored");
}

#[test]
fn bad_configuration_fails_at_construction() {
    let clock = ManualClock::new(T0);
    type Tweak = Box<dyn Fn(&mut EngineConfig)>;
    let cases: Vec<Tweak> = vec![
        Box::new(|c| c.access_ttl = secs(0)),
        Box::new(|c| c.access_ttl = secs(100_000_000_000)),
        Box::new(|c| c.access_ttl = std::time::Duration::from_millis(1500)),
        Box::new(|c| c.refresh_ttl = secs(10)),
        Box::new(|c| c.reuse_grace = secs(10_000)),
        Box::new(|c| c.validation.user_id_claim = "exp".into()),
        Box::new(|c| c.validation.user_id_claim = String::new()),
        Box::new(|c| c.validation.audience = Some(String::new())),
        Box::new(|c| c.pat.prefix = "Bad-".into()),
    ];
    for (i, f) in cases.iter().enumerate() {
        let mut cfg = config(&clock);
        f(&mut cfg);
        let err = Engine::in_memory(cfg).unwrap_err();
        assert_eq!(err.code(), "config_invalid", "case {i}: {err}");
    }
    let verify_only = tessera::KeySet::from_jwks(r#"{"keys":[]}"#).unwrap();
    let err = Engine::in_memory(EngineConfig::new(verify_only)).unwrap_err();
    assert_eq!(err.code(), "config_invalid");
}

#[test]
fn open_in_a_missing_folder_is_config_invalid() {
    let clock = ManualClock::new(T0);
    let err = Engine::open("/nonexistent-folder-for-tessera/x.redb", config(&clock)).unwrap_err();
    assert_eq!(err.code(), "config_invalid");
}

#[test]
fn store_location_picks_the_store() {
    for url in [
        "postgres://u:pw@db:5432/app",
        "POSTGRESQL://db/app?password=pw",
    ] {
        let loc = StoreLocation::parse(url);
        assert_eq!(loc, StoreLocation::Postgres(url.into()));
        let shown = format!("{loc:?}");
        assert!(!shown.contains("pw"), "{shown}");
        assert!(shown.contains("db"), "{shown}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loc.redb");
    let loc = StoreLocation::parse(path.to_str().unwrap());
    assert_eq!(loc, StoreLocation::File(path.clone()));
    let clock = ManualClock::new(T0);
    let e = Engine::open_location(loc, config(&clock)).unwrap();
    e.issue("42", no_claims()).unwrap();
    assert!(path.exists());
    let e = Engine::open_location(StoreLocation::Memory, config(&clock)).unwrap();
    assert_eq!(e.stats().unwrap().file_bytes, 0);
}

#[cfg(not(feature = "postgres"))]
#[test]
fn postgres_location_without_the_feature_is_config_invalid() {
    let clock = ManualClock::new(T0);
    let loc = StoreLocation::parse("postgres://localhost/tessera");
    let err = Engine::open_location(loc, config(&clock)).unwrap_err();
    assert_eq!(err.code(), "config_invalid");
    assert!(err.detail().contains("postgres feature"), "{err}");
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_url_demanding_tls_is_config_invalid() {
    let clock = ManualClock::new(T0);
    let loc = StoreLocation::parse("postgres://u:pw@127.0.0.1:1/app?sslmode=require");
    let err = Engine::open_location(loc, config(&clock)).unwrap_err();
    assert_eq!(err.code(), "config_invalid");
    assert!(err.detail().contains("no TLS"), "{err}");
    assert!(!err.to_string().contains("pw@"), "{err}");
}

#[test]
fn file_persists_across_reopen_and_close_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.redb");
    let clock = ManualClock::new(T0);
    let (p, p1) = {
        let e = Engine::open(&path, config(&clock)).unwrap();
        let p = e.issue("42", no_claims()).unwrap();
        let p1 = e.refresh(&p.refresh).unwrap();
        e.close().unwrap();
        assert_eq!(
            e.verify_access(&p1.access).unwrap_err().code(),
            "storage_error"
        );
        // A write after close fails too (through group commit, on by
        // default: its batch cannot begin a transaction), twice, so the
        // first failed batch left the queue able to lead again.
        for _ in 0..2 {
            assert_eq!(e.refresh(&p1.refresh).unwrap_err().code(), "storage_error");
        }
        (p, p1)
    };
    let e = Engine::open(&path, config(&clock)).unwrap();
    e.verify_access(&p1.access).unwrap();
    clock.advance(10);
    let s = e.stats().unwrap();
    // The family alone holds its tokens' state: no refresh records.
    assert_eq!((s.families, s.refresh_records), (1, 0));
    // The rotation was kept: p is spent and p1 current.
    e.verify_refresh(&p1.refresh).unwrap();
    assert_eq!(
        e.verify_refresh(&p.refresh).unwrap_err().code(),
        "refresh_reused"
    );
    assert!(s.file_bytes > 0);
}

#[test]
fn engine_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
}

#[test]
fn audit_events_name_users_and_families_never_tokens() {
    let rec = Arc::new(Recorder::default());
    let sink = rec.clone();
    let (e, clock) = engine_with(move |c| c.events = Some(sink));
    let p1 = e.issue("42", no_claims()).unwrap();
    let p2 = e.refresh(&p1.refresh).unwrap();
    clock.advance(10);
    let _ = e.refresh(&p1.refresh);
    let _ = e.verify_access("garbage");
    let p3 = e.issue("42", no_claims()).unwrap();
    e.revoke(&p3.refresh).unwrap();
    e.revoke_user("42").unwrap();
    let pat = e.create_pat("42", "ci", None, vec![]).unwrap();
    e.verify_pat(&pat.token).unwrap();
    e.revoke_pat("42", &pat.id).unwrap();
    assert_eq!(
        rec.kinds(),
        [
            "session_issued",
            "refresh_rotated",
            "reuse_detected",
            "verification_failed",
            "session_issued",
            "logout",
            "logout_all",
            "pat_created",
            "pat_used",
            "pat_revoked",
        ]
    );
    let events = rec.0.lock().unwrap();
    assert_eq!(events[2].code, Some("refresh_reused"));
    assert_eq!(events[3].code, Some("token_invalid"));
    assert_eq!(events[0].user_id.as_deref(), Some("42"));
    assert_eq!(events[7].pat_prefix.as_deref(), Some(&pat.prefix[..]));
    let shown = format!("{events:?}");
    for secret in [&p1.access, &p1.refresh, &p2.refresh, &pat.token] {
        assert!(!shown.contains(secret.as_str()));
    }
    assert!(!shown.contains(&pat.token[8..20]));
}

#[test]
fn debug_output_redacts_tokens() {
    let (e, _) = engine();
    let p = e.issue("42", no_claims()).unwrap();
    let shown = format!("{p:?} {e:?}");
    assert!(!shown.contains(&p.access));
    assert!(!shown.contains(&p.refresh));
    assert!(shown.contains("<redacted>"));
}

/// A single-process engine remembers active sessions, so a repeated
/// `verify_access` needs no store read; every way a session ends is still
/// seen by the very next verification.
#[test]
fn cached_sessions_still_see_every_revocation_at_once() {
    let (e, clock) = engine();
    let check_cache = !on_postgres();
    let warm = |access: &str| {
        e.verify_access(access).unwrap();
        let before = e.store_transactions();
        e.verify_access(access).unwrap();
        if check_cache {
            assert_eq!(
                e.store_transactions(),
                before,
                "the second check read the store"
            );
        }
    };

    // Logout of one session.
    let a = e.issue("1", no_claims()).unwrap();
    let b = e.issue("1", no_claims()).unwrap();
    warm(&a.access);
    warm(&b.access);
    e.revoke(&a.refresh).unwrap();
    assert_eq!(
        e.verify_access(&a.access).unwrap_err().code(),
        "token_revoked"
    );
    e.verify_access(&b.access).unwrap();

    // Reuse detection revokes the family.
    let c = e.issue("2", no_claims()).unwrap();
    clock.advance(1);
    let c2 = e.refresh(&c.refresh).unwrap();
    warm(&c.access);
    warm(&c2.access);
    clock.advance(10);
    assert_eq!(e.refresh(&c.refresh).unwrap_err().code(), "refresh_reused");
    for access in [&c.access, &c2.access] {
        assert_eq!(e.verify_access(access).unwrap_err().code(), "token_revoked");
    }

    // Logout everywhere.
    warm(&b.access);
    e.revoke_user("1").unwrap();
    assert_eq!(
        e.verify_access(&b.access).unwrap_err().code(),
        "token_revoked"
    );

    // Closing: nothing is answered from memory any more.
    let d = e.issue("3", no_claims()).unwrap();
    warm(&d.access);
    e.close().unwrap();
    assert_eq!(
        e.verify_access(&d.access).unwrap_err().code(),
        "storage_error"
    );
}

/// Verifications race a logout: once `revoke` has returned, no verification
/// that starts afterwards succeeds, in any thread.
#[test]
fn no_verification_after_a_logout_returns_succeeds() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let (e, _) = engine();
    let e = Arc::new(e);
    for round in 0..40 {
        let pair = e.issue(&format!("u{round}"), no_claims()).unwrap();
        e.verify_access(&pair.access).unwrap();
        let revoked = Arc::new(AtomicBool::new(false));
        let stale = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(5));
        let checkers: Vec<_> = (0..4)
            .map(|_| {
                let (e, access) = (e.clone(), pair.access.clone());
                let (revoked, stale, start) = (revoked.clone(), stale.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    for _ in 0..2_000 {
                        let after_logout = revoked.load(Ordering::SeqCst);
                        if e.verify_access(&access).is_ok() && after_logout {
                            stale.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        start.wait();
        e.revoke(&pair.refresh).unwrap();
        revoked.store(true, Ordering::SeqCst);
        for c in checkers {
            c.join().unwrap();
        }
        assert_eq!(stale.load(Ordering::SeqCst), 0, "round {round}");
        assert_eq!(
            e.verify_access(&pair.access).unwrap_err().code(),
            "token_revoked"
        );
    }
}

/// A host checks the claims between the two halves of a refresh: nothing
/// is spent by the first, and the second rotates exactly as `refresh` does.
#[test]
fn begin_writes_nothing_and_complete_rotates_once() {
    let (e, clock) = engine();
    let pair = e.issue("42", no_claims()).unwrap();
    let before = e.store_transactions();
    let verified = e.begin_refresh(&pair.refresh).unwrap();
    assert_eq!(verified.claims().user_id.as_str(), "42");
    assert_eq!(e.store_transactions(), before, "begin touched the store");
    // Abandoned after a host's refusal: the token still works.
    drop(verified);
    let again = e.begin_refresh(&pair.refresh).unwrap();
    let next = e.complete_refresh(again).unwrap();
    e.verify_access(&next.access).unwrap();
    // The spent token verifies in the first half, and, past the window,
    // is a replay in the second, which revokes the family.
    clock.advance(10);
    let replay = e.begin_refresh(&pair.refresh).unwrap();
    assert_eq!(
        e.complete_refresh(replay).unwrap_err().code(),
        "refresh_reused"
    );
    assert_eq!(
        e.verify_access(&next.access).unwrap_err().code(),
        "token_revoked"
    );
    assert_eq!(
        e.begin_refresh(&pair.access).unwrap_err().code(),
        "token_wrong_type"
    );
}

#[test]
fn a_refresh_verified_by_another_engine_is_refused() {
    let (a, _) = engine();
    let (b, _) = engine();
    let pair = a.issue("42", no_claims()).unwrap();
    let verified = a.begin_refresh(&pair.refresh).unwrap();
    assert_eq!(
        b.complete_refresh(verified).unwrap_err().code(),
        "config_invalid"
    );
    a.refresh(&pair.refresh).unwrap();
}
