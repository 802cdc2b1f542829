//! An engine opened before `fork()` keeps working in the children, as under
//! gunicorn `--preload`: each child opens its own handle and never uses or
//! drops the inherited one.
//!
//! Runs without the libtest harness, so no other test threads exist when
//! the process forks.
// A test program: a failed setup step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Map;
use tessera::{Algorithm, Engine, EngineConfig, Key, KeySet};

const CHILDREN: usize = 3;
const PER_CHILD: usize = 200;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fork.redb");
    let mut cfg = EngineConfig::new(
        KeySet::new(
            Key::hmac(
                Algorithm::HS256,
                b"fork-test-secret-0123456789abcdefghijklmnop",
            )
            .unwrap(),
        )
        .unwrap(),
    );
    cfg.multi_process = true;
    // Without a convergence window, a spent token is refused at once.
    cfg.reuse_grace = std::time::Duration::ZERO;
    let engine = Engine::open(&db, cfg).unwrap();
    let tokens: Vec<String> = (0..CHILDREN * PER_CHILD)
        .map(|_| engine.issue("forked", Map::new()).unwrap().refresh)
        .collect();

    let mut pids = Vec::new();
    for c in 0..CHILDREN {
        // SAFETY: this binary runs no other threads; the child only uses
        // the engine and exits with _exit, running no parent destructors.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let mine = &tokens[c * PER_CHILD..(c + 1) * PER_CHILD];
            let ok = mine.iter().all(|t| engine.refresh(t).is_ok());
            // Dropping in the child must close only the child's own handle.
            drop(engine);
            // SAFETY: ends the child without unwinding into parent state.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        pids.push(pid);
    }
    for pid in pids {
        let mut status = 0;
        // SAFETY: waiting on our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(r, pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "a child failed"
        );
    }

    // Every rotation the children made is visible to, and persisted for, the parent.
    for t in &tokens {
        assert_eq!(
            engine.verify_refresh(t).unwrap_err().code(),
            "refresh_reused"
        );
    }
    assert_eq!(engine.sessions("forked").unwrap().len(), tokens.len());
    // The parent's handle still works after its children exited.
    engine.issue("forked", Map::new()).unwrap();
    engine.close().unwrap();
    let reopened = Engine::open(&db, {
        let mut c = EngineConfig::new(
            KeySet::new(
                Key::hmac(
                    Algorithm::HS256,
                    b"fork-test-secret-0123456789abcdefghijklmnop",
                )
                .unwrap(),
            )
            .unwrap(),
        );
        c.multi_process = true;
        c.reuse_grace = std::time::Duration::ZERO;
        c
    })
    .unwrap();
    assert_eq!(reopened.sessions("forked").unwrap().len(), tokens.len() + 1);
    for t in &tokens {
        assert_eq!(
            reopened.verify_refresh(t).unwrap_err().code(),
            "refresh_reused"
        );
    }
    println!(
        "fork: {} rotations from {CHILDREN} forked children persisted",
        tokens.len()
    );
    println!("1 passed, 0 failed");
}
