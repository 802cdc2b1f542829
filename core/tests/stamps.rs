//! Users' change stamps: bumps, the stamped verifications, and that a bump
//! is seen by every engine on the store (another handle, another process,
//! another host on PostgreSQL) at its next verification, at the cost of
//! one store read. Children are this test binary re-executed with
//! `TESSERA_CHILD` set.
// A test program: a failed setup step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::*;
use serde_json::Map;
use tessera::{Engine, ManualClock};

fn shared_config(clock: &ManualClock) -> tessera::EngineConfig {
    let mut cfg = config(clock);
    cfg.multi_process = true;
    cfg
}

/// The child side. Does nothing when run as an ordinary test.
#[test]
fn child_entry() {
    let Ok(role) = std::env::var("TESSERA_CHILD") else {
        return;
    };
    let db = std::env::var("TESSERA_DB").unwrap();
    let user = std::env::var("TESSERA_ARG").unwrap();
    let clock = ManualClock::new(T0);
    let engine = Engine::open(&db, shared_config(&clock)).unwrap();
    match role.as_str() {
        "bump" => println!("@ {}", engine.bump_user(&user).unwrap()),
        other => panic!("unknown child role {other}"),
    }
}

#[test]
fn bump_returns_each_new_stamp_and_verifications_return_it() {
    let (e, _clock) = engine();
    let pair = e.issue("42", Map::new()).unwrap();
    let pat = e.create_pat("42", "ci", None, vec![]).unwrap().token;
    assert_eq!(e.verify_access_stamped(&pair.access).unwrap().1, 0);
    assert_eq!(e.verify_pat_stamped(&pat).unwrap().1, 0);
    assert_eq!(e.bump_user("42").unwrap(), 1);
    assert_eq!(e.bump_user("42").unwrap(), 2);
    let (claims, stamp) = e.verify_access_stamped(&pair.access).unwrap();
    assert_eq!((claims.user_id.as_str(), stamp), ("42", 2));
    let (found, stamp) = e.verify_pat_stamped(&pat).unwrap();
    assert_eq!((found.user_id.as_str(), stamp), ("42", 2));
}

#[test]
fn stamps_are_per_user() {
    let (e, _clock) = engine();
    let other = e.issue("7", Map::new()).unwrap();
    e.bump_user("42").unwrap();
    assert_eq!(e.verify_access_stamped(&other.access).unwrap().1, 0);
    assert_eq!(e.bump_user("7").unwrap(), 1);
}

#[test]
fn revoke_user_bumps_the_stamp() {
    let (e, _clock) = engine();
    let pat = e.create_pat("42", "ci", None, vec![]).unwrap().token;
    e.bump_user("42").unwrap();
    e.revoke_user("42").unwrap();
    assert_eq!(e.verify_pat_stamped(&pat).unwrap().1, 2);
    assert_eq!(e.bump_user("42").unwrap(), 3);
}

#[test]
fn bump_of_an_invalid_user_id_is_config_invalid() {
    let (e, _clock) = engine();
    assert_eq!(e.bump_user("").unwrap_err().code(), "config_invalid");
}

#[test]
fn stamped_verifications_refuse_what_the_plain_ones_refuse() {
    let (e, _clock) = engine();
    let pair = e.issue("42", Map::new()).unwrap();
    e.revoke(&pair.refresh).unwrap();
    assert_eq!(
        e.verify_access_stamped(&pair.access).unwrap_err().code(),
        "token_revoked"
    );
    assert_eq!(
        e.verify_access_stamped("not.a.token").unwrap_err().code(),
        e.verify_access("not.a.token").unwrap_err().code()
    );
    let pat = e.create_pat("42", "ci", None, vec![]).unwrap();
    e.revoke_pat("42", &pat.id).unwrap();
    assert_eq!(
        e.verify_pat_stamped(&pat.token).unwrap_err().code(),
        e.verify_pat(&pat.token).unwrap_err().code()
    );
}

#[test]
fn bump_is_seen_by_another_engine_on_the_same_store_with_one_read() {
    let store = SharedStore::new();
    let clock = ManualClock::new(T0);
    let a = store.open(shared_config(&clock));
    let b = store.open(shared_config(&clock));
    let pair = a.issue("42", Map::new()).unwrap();
    let pat = a.create_pat("42", "ci", None, vec![]).unwrap().token;
    // The first use writes last_used_at; later ones within the interval
    // only read.
    a.verify_pat(&pat).unwrap();
    for expected in 0..3u64 {
        let before = b.store_transactions();
        assert_eq!(b.verify_access_stamped(&pair.access).unwrap().1, expected);
        assert_eq!(
            b.store_transactions() - before,
            1,
            "one read per access token"
        );
        let before = b.store_transactions();
        assert_eq!(b.verify_pat_stamped(&pat).unwrap().1, expected);
        assert_eq!(b.store_transactions() - before, 1, "one read per PAT");
        assert_eq!(a.bump_user("42").unwrap(), expected + 1);
    }
}

#[test]
fn only_writer_engine_answers_from_memory_until_a_bump() {
    if on_postgres() {
        return; // a shared server is never written by one process alone
    }
    let (e, _clock) = engine();
    let pair = e.issue("42", Map::new()).unwrap();
    assert_eq!(e.verify_access_stamped(&pair.access).unwrap().1, 0);
    let before = e.store_transactions();
    assert_eq!(e.verify_access_stamped(&pair.access).unwrap().1, 0);
    assert_eq!(e.store_transactions(), before, "both caches answered");
    e.bump_user("42").unwrap();
    let before = e.store_transactions();
    assert_eq!(e.verify_access_stamped(&pair.access).unwrap().1, 1);
    assert_eq!(
        e.store_transactions() - before,
        1,
        "the bump emptied the cache"
    );
    e.revoke_user("42").unwrap();
    assert_eq!(
        e.verify_access_stamped(&pair.access).unwrap_err().code(),
        "token_revoked"
    );
    let other = e.issue("42", Map::new()).unwrap();
    assert_eq!(e.verify_access_stamped(&other.access).unwrap().1, 2);
}

#[test]
fn bump_in_another_process_is_seen_at_the_next_verification() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stamps.redb");
    let clock = ManualClock::new(T0);
    let e = Engine::open(&db, shared_config(&clock)).unwrap();
    let pair = e.issue("42", Map::new()).unwrap();
    assert_eq!(e.verify_access_stamped(&pair.access).unwrap().1, 0);
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env("TESSERA_CHILD", "bump")
        .env("TESSERA_DB", &db)
        .env("TESSERA_ARG", "42")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("@ 1"), "child printed {text}");
    assert_eq!(e.verify_access_stamped(&pair.access).unwrap().1, 1);
}
