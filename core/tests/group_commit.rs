//! Group commit: concurrent durable writes share commits, and every rule of
//! the engine still holds inside a batch.
// A test program: a failed setup step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use serde_json::Map;
use tessera::{Engine, ManualClock, TokenPair};

fn file_engine(dir: &tempfile::TempDir, group_commit: bool) -> Engine {
    file_engine_with(dir, group_commit, |_| {})
}

fn file_engine_with(
    dir: &tempfile::TempDir,
    group_commit: bool,
    f: impl FnOnce(&mut tessera::EngineConfig),
) -> Engine {
    let clock = ManualClock::new(T0);
    let mut cfg = config(&clock);
    cfg.group_commit = group_commit;
    f(&mut cfg);
    Engine::open(dir.path().join("gc.redb"), cfg).unwrap()
}

/// 32 threads each rotate their own session `rounds` times; returns the
/// final pairs and the write transactions used (a rotation reads its
/// family in a read transaction of its own, then writes it).
fn rotate_in_parallel(e: &Arc<Engine>, threads: usize, rounds: usize) -> (Vec<TokenPair>, u64) {
    let starts: Vec<TokenPair> = (0..threads)
        .map(|i| e.issue(&format!("u{i}"), Map::new()).unwrap())
        .collect();
    let before = e.store_transactions();
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = starts
        .into_iter()
        .map(|mut pair| {
            let (e, b) = (e.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                for _ in 0..rounds {
                    pair = e.refresh(&pair.refresh).unwrap();
                }
                pair
            })
        })
        .collect();
    let finals = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let reads = (threads * rounds) as u64;
    (finals, e.store_transactions() - before - reads)
}

#[test]
fn concurrent_rotations_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let e = Arc::new(file_engine(&dir, true));
    let (finals, transactions) = rotate_in_parallel(&e, 32, 20);
    for p in &finals {
        e.verify_access(&p.access).unwrap();
    }
    let ops = 32 * 20;
    assert!(
        transactions < ops * 3 / 4,
        "{transactions} write transactions for {ops} rotations: no batching happened"
    );
}

#[test]
fn without_group_commit_every_write_commits_alone() {
    let dir = tempfile::tempdir().unwrap();
    let e = Arc::new(file_engine(&dir, false));
    let (_, transactions) = rotate_in_parallel(&e, 8, 10);
    assert_eq!(transactions, 8 * 10);
}

#[test]
fn lone_writer_commits_once_per_operation() {
    let dir = tempfile::tempdir().unwrap();
    let e = file_engine(&dir, true);
    let mut pair = e.issue("solo", Map::new()).unwrap();
    let before = e.store_transactions();
    for _ in 0..10 {
        pair = e.refresh(&pair.refresh).unwrap();
    }
    // One read and one write transaction per rotation.
    assert_eq!(e.store_transactions() - before, 2 * 10);
}

#[test]
fn single_use_holds_inside_batches() {
    let dir = tempfile::tempdir().unwrap();
    // Without a convergence window (with one, `converge.rs` races too).
    let e = Arc::new(file_engine_with(&dir, true, |c| {
        c.reuse_grace = secs(0);
    }));
    for _ in 0..50 {
        let pair = e.issue("race", Map::new()).unwrap();
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
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        // The replays revoked the family: the winner's pair is dead too.
        let winner = results.into_iter().find_map(Result::ok).unwrap();
        assert_eq!(
            e.verify_access(&winner.access).unwrap_err().code(),
            "token_revoked"
        );
    }
}

#[test]
fn a_failing_operation_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let e = Arc::new(file_engine(&dir, true));
    let dead: Vec<TokenPair> = (0..16)
        .map(|i| {
            let p = e.issue(&format!("dead{i}"), Map::new()).unwrap();
            e.revoke(&p.refresh).unwrap();
            p
        })
        .collect();
    let live: Vec<TokenPair> = (0..16)
        .map(|i| e.issue(&format!("live{i}"), Map::new()).unwrap())
        .collect();
    let barrier = Arc::new(Barrier::new(32));
    let mut handles = Vec::new();
    for p in dead.into_iter().chain(live) {
        let (e, b) = (e.clone(), barrier.clone());
        handles.push(std::thread::spawn(move || {
            b.wait();
            (p.access.clone(), e.refresh(&p.refresh))
        }));
    }
    let mut ok = 0;
    for h in handles {
        let (old_access, r) = h.join().unwrap();
        let claims = e.verify_access(&old_access);
        match r {
            Ok(pair) => {
                ok += 1;
                e.verify_access(&pair.access).unwrap();
            }
            Err(err) => {
                assert_eq!(err.code(), "token_revoked");
                assert_eq!(claims.unwrap_err().code(), "token_revoked");
            }
        }
    }
    assert_eq!(ok, 16, "every rotation of a live session commits");
}
