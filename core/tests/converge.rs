//! Converging rotation and the session rules around it: one successor per
//! refresh token, sessions that end, `auth_time`, reauthentication, new
//! extra claims on refresh, and the session controls. Runs on redb, and on
//! PostgreSQL when `TESSERA_TEST_POSTGRES` is set (`make postgres-test`).
// A test program: a failed setup step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use serde_json::{json, Map, Value};
use tessera::{Algorithm, Engine, EngineConfig, Key, KeySet, ManualClock, TokenPair};

fn no_claims() -> Map<String, Value> {
    Map::new()
}

fn claims(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn sid(e: &Engine, access: &str) -> String {
    e.verify_access(access).unwrap().family.unwrap().to_string()
}

/// `threads` callers refresh one token at once, `trials` times over: every
/// call succeeds, all return the same pair, and once the window is over
/// only that pair's refresh token is live.
fn race(e: &Arc<Engine>, clock: &ManualClock, threads: usize, trials: usize) {
    for trial in 0..trials {
        let pair = e.issue("race", no_claims()).unwrap();
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (e, b, t) = (e.clone(), barrier.clone(), pair.refresh.clone());
                std::thread::spawn(move || {
                    b.wait();
                    e.refresh(&t)
                })
            })
            .collect();
        let results: Vec<TokenPair> = handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect();
        for r in &results {
            assert_eq!(r, &results[0], "trial {trial}: two successors");
        }
        // One live refresh token in the family: the successor.
        clock.advance(10);
        assert_eq!(
            e.verify_refresh(&pair.refresh).unwrap_err().code(),
            "refresh_reused"
        );
        e.verify_refresh(&results[0].refresh).unwrap();
        e.verify_access(&results[0].access).unwrap();
    }
}

#[test]
fn sixteen_threads_refreshing_one_token_get_one_pair() {
    let (e, clock) = engine();
    race(&Arc::new(e), &clock, 16, 100);
}

#[test]
fn sixteen_threads_refreshing_one_token_get_one_pair_without_group_commit() {
    let (e, clock) = engine_with(|c| c.group_commit = false);
    race(&Arc::new(e), &clock, 16, 100);
}

#[test]
fn without_a_window_a_token_is_exchanged_once() {
    let (e, _) = engine_with(|c| c.reuse_grace = secs(0));
    let e = Arc::new(e);
    for _ in 0..20 {
        let pair = e.issue("race", no_claims()).unwrap();
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (e, b, t) = (e.clone(), barrier.clone(), pair.refresh.clone());
                std::thread::spawn(move || {
                    b.wait();
                    e.refresh(&t)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(matches!(r.code(), "refresh_reused" | "token_revoked"));
        }
    }
}

#[test]
fn a_second_presentation_inside_the_window_returns_the_same_pair() {
    let (e, clock) = engine();
    let p1 = e.issue("42", claims(json!({"role": "admin"}))).unwrap();
    clock.advance(100);
    let p2 = e.refresh(&p1.refresh).unwrap();
    clock.advance(9);
    let again = e.refresh(&p1.refresh).unwrap();
    assert_eq!(again, p2);
    let c = e.verify_access(&again.access).unwrap();
    assert_eq!(c.iat, Some(T0 + 100));
    assert_eq!(c.extra["role"], "admin");
    // The successor rotates as usual, and its own successor converges.
    let p3 = e.refresh(&p2.refresh).unwrap();
    assert_eq!(e.refresh(&p2.refresh).unwrap(), p3);
}

#[test]
fn a_replay_after_the_window_revokes_the_family() {
    let (e, clock) = engine();
    let p1 = e.issue("42", no_claims()).unwrap();
    let p2 = e.refresh(&p1.refresh).unwrap();
    clock.advance(10);
    assert_eq!(e.refresh(&p1.refresh).unwrap_err().code(), "refresh_reused");
    assert_eq!(e.refresh(&p2.refresh).unwrap_err().code(), "token_revoked");
    assert_eq!(
        e.verify_access(&p2.access).unwrap_err().code(),
        "token_revoked"
    );
}

#[test]
fn a_grandparent_inside_the_window_is_reuse() {
    let (e, _) = engine();
    let p1 = e.issue("42", no_claims()).unwrap();
    let p2 = e.refresh(&p1.refresh).unwrap();
    let p3 = e.refresh(&p2.refresh).unwrap();
    assert_eq!(e.refresh(&p1.refresh).unwrap_err().code(), "refresh_reused");
    assert_eq!(
        e.verify_access(&p3.access).unwrap_err().code(),
        "token_revoked"
    );
}

#[test]
fn reuse_grace_defaults_to_ten_seconds_and_stops_at_sixty() {
    assert_eq!(EngineConfig::new(keys()).reuse_grace, secs(10));
    let clock = ManualClock::new(T0);
    let mut cfg = config(&clock);
    cfg.reuse_grace = secs(61);
    assert_eq!(Engine::in_memory(cfg).unwrap_err().code(), "config_invalid");
    let mut cfg = config(&clock);
    cfg.reuse_grace = secs(60);
    Engine::in_memory(cfg).unwrap();
}

/// Engines over one store (processes, hosts) derive the same successor.
#[test]
fn engines_sharing_a_store_converge_on_one_successor() {
    let store = SharedStore::new();
    let clock = ManualClock::new(T0);
    let shared = || {
        let mut cfg = config(&clock);
        cfg.multi_process = true;
        cfg
    };
    let a = store.open(shared());
    let b = store.open(shared());
    let p1 = a.issue("42", no_claims()).unwrap();
    let from_a = a.refresh(&p1.refresh).unwrap();
    let from_b = b.refresh(&p1.refresh).unwrap();
    assert_eq!(from_a, from_b);
}

/// A signing-key rotation does not change the successor's claims.
#[test]
fn the_successor_is_byte_identical_for_deterministic_signatures() {
    let rsa = include_str!("data/rsa2048.pem");
    let keys = [
        Key::generate(Algorithm::HS256).unwrap(),
        Key::generate(Algorithm::HS512).unwrap(),
        Key::generate(Algorithm::EdDSA).unwrap(),
        Key::from_pem(Algorithm::RS256, rsa).unwrap(),
    ];
    for key in keys {
        let alg = key.algorithm();
        let (e, clock) = engine_with(move |c| c.keys = KeySet::new(key).unwrap());
        let p1 = e
            .issue("42", claims(json!({"a": [1, 2], "z": "x"})))
            .unwrap();
        let p2 = e.refresh(&p1.refresh).unwrap();
        clock.advance(5);
        assert_eq!(e.refresh(&p1.refresh).unwrap(), p2, "{alg:?}");
    }
}

#[test]
fn es256_successors_carry_the_same_claims() {
    let key = Key::generate(Algorithm::ES256).unwrap();
    let (e, clock) = engine_with(move |c| c.keys = KeySet::new(key).unwrap());
    let p1 = e.issue("42", claims(json!({"role": "x"}))).unwrap();
    let p2 = e.refresh(&p1.refresh).unwrap();
    clock.advance(3);
    let again = e.refresh(&p1.refresh).unwrap();
    // ECDSA signatures are randomised: compare what the tokens say.
    assert_eq!(
        e.verify_refresh(&again.refresh).unwrap(),
        e.verify_refresh(&p2.refresh).unwrap()
    );
    assert_eq!(
        e.verify_access(&again.access).unwrap(),
        e.verify_access(&p2.access).unwrap()
    );
    assert_eq!(again.refresh_expires_at, p2.refresh_expires_at);
}

#[test]
fn no_token_outlives_the_session_end() {
    let (e, clock) = engine_with(|c| c.session_max_lifetime = Some(secs(3600)));
    let p = e.issue("42", no_claims()).unwrap();
    assert_eq!(p.access_expires_at, T0 + 900);
    assert_eq!(p.refresh_expires_at, T0 + 3600);
    clock.advance(3000);
    let p2 = e.refresh(&p.refresh).unwrap();
    assert_eq!(p2.access_expires_at, T0 + 3600);
    assert_eq!(p2.refresh_expires_at, T0 + 3600);
    assert_eq!(e.sessions("42").unwrap()[0].expires_at, T0 + 3600);
    clock.advance(600);
    // Past the end the token does not even verify.
    assert_eq!(e.refresh(&p2.refresh).unwrap_err().code(), "token_expired");
}

#[test]
fn a_refresh_after_a_lowered_session_lifetime_is_expired() {
    let store = SharedStore::new();
    let clock = ManualClock::new(T0);
    let p = store.open(config(&clock)).issue("42", no_claims()).unwrap();
    clock.advance(120);
    let mut cfg = config(&clock);
    cfg.session_max_lifetime = Some(secs(60));
    let e = store.open(cfg);
    assert_eq!(e.refresh(&p.refresh).unwrap_err().code(), "token_expired");
}

#[test]
fn session_max_lifetime_must_be_positive_whole_seconds() {
    let clock = ManualClock::new(T0);
    for bad in [
        std::time::Duration::ZERO,
        std::time::Duration::from_millis(1500),
    ] {
        let mut cfg = config(&clock);
        cfg.session_max_lifetime = Some(bad);
        assert_eq!(Engine::in_memory(cfg).unwrap_err().code(), "config_invalid");
    }
}

#[test]
fn auth_time_is_set_at_issue_and_kept_by_rotation() {
    let (e, clock) = engine();
    let p1 = e.issue("42", no_claims()).unwrap();
    assert_eq!(e.verify_access(&p1.access).unwrap().auth_time, Some(T0));
    clock.advance(500);
    let p2 = e.refresh(&p1.refresh).unwrap();
    let c = e.verify_access(&p2.access).unwrap();
    assert_eq!((c.auth_time, c.iat), (Some(T0), Some(T0 + 500)));
    assert_eq!(e.verify_refresh(&p2.refresh).unwrap().auth_time, Some(T0));
}

#[test]
fn auth_time_is_reserved() {
    let (e, _) = engine();
    assert_eq!(
        e.issue("42", claims(json!({"auth_time": 1})))
            .unwrap_err()
            .code(),
        "config_invalid"
    );
    let p = e.issue("42", no_claims()).unwrap();
    assert_eq!(
        e.refresh_with(&p.refresh, Some(claims(json!({"auth_time": 1}))))
            .unwrap_err()
            .code(),
        "config_invalid"
    );
}

#[test]
fn a_non_integer_auth_time_is_refused() {
    let (e, _) = engine();
    let jwt = |auth_time: Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &json!({"token_type": "access", "exp": T0 + 60, "iat": T0,
                    "jti": "0123456789abcdef0123456789abcdef", "user_id": "42",
                    "auth_time": auth_time}),
            &jsonwebtoken::EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    };
    for bad in [json!(1.5), json!("1"), json!(-1)] {
        assert_eq!(
            e.verify_access(&jwt(bad)).unwrap_err().code(),
            "token_invalid"
        );
    }
    assert_eq!(
        e.verify_access(&jwt(json!(T0))).unwrap().auth_time,
        Some(T0)
    );
}

#[test]
fn reauthenticate_keeps_the_session_and_renews_auth_time() {
    let (e, clock) = engine();
    let p1 = e.issue("42", claims(json!({"role": "a"}))).unwrap();
    clock.advance(600);
    let p2 = e.reauthenticate(&p1.access, None).unwrap();
    let c = e.verify_access(&p2.access).unwrap();
    assert_eq!(c.auth_time, Some(T0 + 600));
    assert_eq!(c.extra["role"], "a");
    assert_eq!(sid(&e, &p2.access), sid(&e, &p1.access));
    assert_eq!(e.sessions("42").unwrap().len(), 1);
    // The refresh token still in the client's cookie converges on it.
    clock.advance(2);
    assert_eq!(e.refresh(&p1.refresh).unwrap(), p2);
    // After the window it is a replay.
    clock.advance(10);
    assert_eq!(e.refresh(&p1.refresh).unwrap_err().code(), "refresh_reused");
}

#[test]
fn reauthenticate_takes_new_claims_and_needs_a_live_session() {
    let (e, _) = engine();
    let p1 = e.issue("42", claims(json!({"role": "a"}))).unwrap();
    let p2 = e
        .reauthenticate(&p1.access, Some(claims(json!({"role": "b"}))))
        .unwrap();
    assert_eq!(e.verify_access(&p2.access).unwrap().extra["role"], "b");
    let p3 = e.refresh(&p2.refresh).unwrap();
    assert_eq!(e.verify_access(&p3.access).unwrap().extra["role"], "b");
    e.revoke(&p3.refresh).unwrap();
    assert_eq!(
        e.reauthenticate(&p3.access, None).unwrap_err().code(),
        "token_revoked"
    );
    assert_eq!(
        e.reauthenticate(&p3.refresh, None).unwrap_err().code(),
        "token_wrong_type"
    );
}

#[test]
fn refresh_with_new_claims_and_the_window_returns_the_first_pair() {
    let (e, clock) = engine();
    let p1 = e.issue("42", claims(json!({"role": "viewer"}))).unwrap();
    let p2 = e
        .refresh_with(&p1.refresh, Some(claims(json!({"role": "editor"}))))
        .unwrap();
    assert_eq!(e.verify_access(&p2.access).unwrap().extra["role"], "editor");
    clock.advance(1);
    let again = e
        .refresh_with(&p1.refresh, Some(claims(json!({"role": "owner"}))))
        .unwrap();
    assert_eq!(again, p2);
    // Without new claims the session keeps the last ones.
    let p3 = e.refresh(&p2.refresh).unwrap();
    assert_eq!(e.verify_access(&p3.access).unwrap().extra["role"], "editor");
    let pending = e.begin_refresh(&p3.refresh).unwrap();
    let p4 = e
        .complete_refresh_with(pending, Some(claims(json!({"role": "x"}))))
        .unwrap();
    assert_eq!(e.verify_access(&p4.access).unwrap().extra["role"], "x");
}

#[test]
fn revoke_user_except_keeps_the_named_session() {
    let (e, _) = engine();
    let keep = e.issue("42", no_claims()).unwrap();
    let other = e.issue("42", no_claims()).unwrap();
    let legacy = simplejwt_access("42", T0, "0123456789abcdef0123456789abcdef");
    let kept = sid(&e, &keep.access);
    assert_eq!(e.revoke_user_except("42", &kept).unwrap(), 1);
    e.verify_access(&keep.access).unwrap();
    e.refresh(&keep.refresh).unwrap();
    assert_eq!(
        e.verify_access(&other.access).unwrap_err().code(),
        "token_revoked"
    );
    // Tokens without a session are revoked by the user's mark.
    assert_eq!(
        e.verify_access(&legacy).unwrap_err().code(),
        "token_revoked"
    );
    assert_eq!(
        e.revoke_user_except("42", "not-a-session")
            .unwrap_err()
            .code(),
        "config_invalid"
    );
}

#[test]
fn revoke_user_pats_revokes_every_live_pat_of_the_user() {
    let (e, _) = engine();
    let a = e.create_pat("42", "a", None, vec![]).unwrap();
    let b = e.create_pat("42", "b", None, vec![]).unwrap();
    let theirs = e.create_pat("7", "c", None, vec![]).unwrap();
    assert!(e.revoke_pat("42", &b.id).unwrap());
    assert_eq!(e.revoke_user_pats("42").unwrap(), 1);
    assert_eq!(e.verify_pat(&a.token).unwrap_err().code(), "pat_revoked");
    e.verify_pat(&theirs.token).unwrap();
    assert_eq!(e.revoke_user_pats("42").unwrap(), 0);
}

#[test]
fn a_session_beyond_the_limit_ends_the_least_recently_refreshed() {
    let recorder = Arc::new(Recorder::default());
    let sink = recorder.clone();
    let (e, clock) = engine_with(move |c| {
        c.max_sessions_per_user = Some(2);
        c.events = Some(sink);
    });
    let oldest = e.issue("42", no_claims()).unwrap();
    clock.advance(10);
    let second = e.issue("42", no_claims()).unwrap();
    clock.advance(10);
    // Refreshing the oldest makes the second the least recently refreshed.
    let oldest = e.refresh(&oldest.refresh).unwrap();
    let theirs = e.issue("7", no_claims()).unwrap();
    clock.advance(10);
    let third = e.issue("42", no_claims()).unwrap();
    assert_eq!(
        e.verify_access(&second.access).unwrap_err().code(),
        "token_revoked"
    );
    for p in [&oldest, &third, &theirs] {
        e.verify_access(&p.access).unwrap();
    }
    assert_eq!(e.sessions("42").unwrap().len(), 2);
    let events = recorder.0.lock().unwrap();
    let limit: Vec<_> = events
        .iter()
        .filter(|ev| ev.kind.as_str() == "session_limit")
        .collect();
    assert_eq!(limit.len(), 1);
    let second_sid = e
        .verifier()
        .verify_access(&second.access)
        .unwrap()
        .family
        .unwrap()
        .to_string();
    assert_eq!(limit[0].family_id.as_deref(), Some(second_sid.as_str()));
    assert_eq!(limit[0].user_id.as_deref(), Some("42"));
}

#[test]
fn max_sessions_per_user_must_be_positive() {
    let clock = ManualClock::new(T0);
    let mut cfg = config(&clock);
    cfg.max_sessions_per_user = Some(0);
    assert_eq!(Engine::in_memory(cfg).unwrap_err().code(), "config_invalid");
}

#[test]
fn sessions_lists_only_live_sessions() {
    let (e, clock) = engine_with(|c| c.session_max_lifetime = Some(secs(100)));
    let a = e.issue("42", no_claims()).unwrap();
    let b = e.issue("42", no_claims()).unwrap();
    e.revoke(&a.refresh).unwrap();
    let listed = e.sessions("42").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].family_id.to_string(), sid(&e, &b.access));
    clock.advance(100);
    assert!(e.sessions("42").unwrap().is_empty());
}

/// The successor's jtis are HMAC-SHA256 of the session and the spent
/// token under the secret the store keeps, which no `Debug` shows.
#[test]
fn successor_jtis_derive_from_the_store_secret() {
    use hmac::{KeyInit, Mac};
    use redb::{Database, ReadableDatabase, TableDefinition};
    use sha2::{Digest, Sha256};

    if on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.redb");
    let clock = ManualClock::new(T0);
    let (first, second, shown) = {
        let e = Engine::open(&path, config(&clock)).unwrap();
        let first = e.issue("42", no_claims()).unwrap();
        let second = e.refresh(&first.refresh).unwrap();
        let shown = format!("{e:?}");
        (first, second, shown)
    };
    const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("tessera.v1.secret");
    let db = Database::open(&path).unwrap();
    let secret = {
        let tx = db.begin_read().unwrap();
        let table = tx.open_table(SECRETS).unwrap();
        let value = table.get("derivation").unwrap().unwrap();
        value.value().to_vec()
    };
    drop(db);
    assert_eq!(secret.len(), 32);
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert!(!shown.contains(&hex(&secret)), "{shown}");

    let e = Engine::open(&path, config(&clock)).unwrap();
    let old = e.verify_refresh(&second.refresh).unwrap();
    let spent = e
        .verifier()
        .verify(&first.refresh, tessera::TokenType::Refresh)
        .unwrap();
    let family = old.family.as_ref().unwrap().to_bytes();
    let key = Sha256::digest(spent.jti.as_str().as_bytes());
    let derive = |label: &[u8]| {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&secret).unwrap();
        mac.update(label);
        mac.update(&family);
        mac.update(&key);
        hex(&mac.finalize().into_bytes()[..16])
    };
    assert_eq!(
        old.jti.as_str(),
        derive(b"tessera successor refresh jti v1\0")
    );
    let access = e.verify_access(&second.access).unwrap();
    assert_eq!(
        access.jti.as_str(),
        derive(b"tessera successor access jti v1\0")
    );
    // Reopening keeps the secret: the spent token still converges.
    assert_eq!(e.refresh(&first.refresh).unwrap(), second);
}
