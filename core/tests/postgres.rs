//! The PostgreSQL store's own failure modes: races between hosts, schema
//! migrations, outages and fork. The engine and PAT suites run against
//! PostgreSQL too (through `common::engine`); these cover what only a
//! server brings.
//!
//! Needs `TESSERA_TEST_POSTGRES` (tests/pg/with-postgres.sh sets it); the
//! outage test also needs `TESSERA_TEST_PG_CTL` to stop and start the
//! server. Without them each test leaves a skip note (see `skips`) and
//! passes.
#![cfg(feature = "postgres")]
// The helpers below are test code too; clippy only knows it inside #[test].
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod skips;

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Barrier, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Map};
use tessera::internal::postgres_testing::{execute, fresh_schema, hold, query_i64};
use tessera::{Engine, ManualClock};

/// Tests that stop the server or fork take this for writing; every other
/// test holds it for reading, so none runs into the outage.
static SERVER: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    SERVER.read().unwrap_or_else(|e| e.into_inner())
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    SERVER.write().unwrap_or_else(|e| e.into_inner())
}

const NO_SERVER: &str =
    "TESSERA_TEST_POSTGRES is not set: no server (make postgres-test runs these against one)";

/// A fresh schema's URL, or `None` (and a skip note) when no server is given.
fn schema_url(test: &str) -> Option<String> {
    let Some(url) = postgres_url() else {
        skips::skip("postgres", test, NO_SERVER);
        return None;
    };
    Some(fresh_schema(&url, "tessera_pgtest").unwrap())
}

fn connect(url: &str, clock: &ManualClock) -> Engine {
    Engine::connect(url, config(clock)).unwrap()
}

/// Runs `f` on `threads` threads released together, one engine per
/// thread chosen round-robin from `engines`.
fn race<T: Send + 'static>(
    engines: &[Arc<Engine>],
    threads: usize,
    f: impl Fn(&Engine) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(threads));
    let f = Arc::new(f);
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (e, b, f) = (
                engines[i % engines.len()].clone(),
                barrier.clone(),
                f.clone(),
            );
            std::thread::spawn(move || {
                b.wait();
                f(&e)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn refresh_race_between_two_hosts_converges_on_one_successor() {
    let _server = shared();
    let Some(url) = schema_url("refresh_race_between_two_hosts_converges") else {
        return;
    };
    let clock = ManualClock::new(T0);
    let hosts = [
        Arc::new(connect(&url, &clock)),
        Arc::new(connect(&url, &clock)),
    ];
    for round in 0..40 {
        let pair = hosts[round % 2].issue("race", Map::new()).unwrap();
        let results = race(&hosts, 16, move |e| e.refresh(&pair.refresh));
        let first = results[0].as_ref().unwrap();
        for r in &results {
            assert_eq!(r.as_ref().unwrap(), first, "round {round}: two successors");
        }
        hosts[round % 2].verify_refresh(&first.refresh).unwrap();
    }
}

#[test]
fn refresh_race_between_two_hosts_without_a_window_has_one_winner() {
    let _server = shared();
    let Some(url) = schema_url("refresh_race_between_two_hosts_has_one_winner") else {
        return;
    };
    let clock = ManualClock::new(T0);
    // Two engines, two pools: two hosts behind a load balancer.
    let no_window = || {
        let mut cfg = config(&clock);
        cfg.reuse_grace = Duration::ZERO;
        Engine::connect(&url, cfg).unwrap()
    };
    let hosts = [Arc::new(no_window()), Arc::new(no_window())];
    for round in 0..40 {
        let pair = hosts[round % 2].issue("race", Map::new()).unwrap();
        let results = race(&hosts, 16, move |e| e.refresh(&pair.refresh));
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: exactly one exchange per token");
        for e in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                matches!(e.code(), "refresh_reused" | "token_revoked"),
                "round {round}: loser got {e}"
            );
        }
    }
}

/// Two hosts counting attempts under one key at once: exactly `limit` are
/// allowed between them, whichever host each lands on; the count is
/// stored under a digest of the key, never the key.
#[test]
fn attempt_limit_is_shared_between_two_hosts() {
    // Alone: its 16 threads queue on one row, and the tests that watch
    // for their own lock waits count ungranted locks server-wide.
    let _server = exclusive();
    let Some(url) = schema_url("attempt_limit_is_shared_between_two_hosts") else {
        return;
    };
    let clock = ManualClock::new(T0);
    let hosts = [
        Arc::new(connect(&url, &clock)),
        Arc::new(connect(&url, &clock)),
    ];
    for round in 0..10 {
        let key = format!("login:alice@example.com|203.0.113.{round}");
        let k = key.clone();
        let results = race(&hosts, 16, move |e| e.record_attempt(&k, 10, 900).unwrap());
        let allowed = results.iter().filter(|a| a.allowed).count();
        assert_eq!(allowed, 10, "round {round}: the limit across both hosts");
        assert!(results
            .iter()
            .filter(|a| !a.allowed)
            .all(|a| a.retry_after >= 1 && a.retry_after <= 900));
        let refused = hosts[round % 2].record_attempt(&key, 10, 900).unwrap();
        assert!(!refused.allowed, "round {round}: the other host agrees");
        hosts[(round + 1) % 2].clear_attempts(&key).unwrap();
        assert!(
            hosts[round % 2]
                .record_attempt(&key, 10, 900)
                .unwrap()
                .allowed
        );
    }
    assert_eq!(
        query_i64(
            &url,
            "SELECT count(*) FROM tessera_attempts WHERE octet_length(digest) = 32"
        )
        .unwrap(),
        [10]
    );
    clock.advance(900);
    assert_eq!(hosts[0].purge_expired().unwrap(), 10);
}

#[test]
fn first_sight_race_of_a_simplejwt_token_has_one_winner() {
    let _server = shared();
    let Some(url) = schema_url("first_sight_race_of_a_simplejwt_token_has_one_winner") else {
        return;
    };
    let clock = ManualClock::new(T0);
    let hosts = [
        Arc::new(connect(&url, &clock)),
        Arc::new(connect(&url, &clock)),
    ];
    for round in 0..20u32 {
        // A token no engine has seen: every caller finds no record and
        // tries to insert one.
        let jti = format!("{round:032x}");
        let token = simplejwt_refresh(json!(42), T0 - 60, &jti);
        let results = race(&hosts, 16, move |e| e.refresh(&token));
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: exactly one migration per token");
        for e in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                matches!(e.code(), "refresh_reused" | "token_revoked"),
                "round {round}: loser got {e}"
            );
        }
    }
}

#[test]
fn logout_everywhere_racing_a_simplejwt_migration_leaves_no_live_session() {
    let _server = shared();
    let Some(url) =
        schema_url("logout_everywhere_racing_a_simplejwt_migration_leaves_no_live_session")
    else {
        return;
    };
    let clock = ManualClock::new(T0);
    let host_a = Arc::new(connect(&url, &clock));
    let host_b = connect(&url, &clock);
    for round in 0..30u32 {
        let user = format!("user{round}");
        // Issued before the logout, so it must not outlive it: either the
        // migration sees the logout mark, or the logout sees the family.
        let token = simplejwt_refresh(json!(user.clone()), T0 - 60, &format!("{round:032x}"));
        let barrier = Arc::new(Barrier::new(2));
        let logout = {
            let (e, barrier, user) = (host_a.clone(), barrier.clone(), user.clone());
            std::thread::spawn(move || {
                barrier.wait();
                e.revoke_user(&user).unwrap();
            })
        };
        barrier.wait();
        let migrated = host_b.refresh(&token);
        logout.join().unwrap();
        match migrated {
            Ok(pair) => assert_eq!(
                host_a.verify_access(&pair.access).unwrap_err().code(),
                "token_revoked",
                "round {round}: a session survived logout everywhere"
            ),
            Err(e) => assert_eq!(e.code(), "token_revoked", "round {round}: {e}"),
        }
        assert!(host_a.sessions(&user).unwrap().is_empty(), "round {round}");
    }
}

/// The interleaving the per-user lock exists for, forced: the migration
/// of a simplejwt token has read "no logout mark" and is held before its
/// writes, while a logout everywhere runs. Without the lock the logout would
/// commit in between, miss the new family, and leave it live.
#[test]
fn logout_everywhere_waits_for_a_migration_that_read_no_mark() {
    let _server = shared();
    let Some(url) = schema_url("logout_everywhere_waits_for_a_migration_that_read_no_mark") else {
        return;
    };
    let clock = ManualClock::new(T0);
    let host_a = Arc::new(connect(&url, &clock));
    let host_b = Arc::new(connect(&url, &clock));
    let token = simplejwt_refresh(json!("held"), T0 - 60, &format!("{:032x}", 7));
    let waiting = || query_i64(&url, "SELECT count(*) FROM pg_locks WHERE NOT granted").unwrap()[0];
    let wait_until = |what: &str, done: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < Duration::from_secs(20), "{what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    // Refresh-table writes wait for this; reads and other tables do not.
    let held = hold(&url, "LOCK TABLE tessera_refresh IN SHARE MODE").unwrap();
    let migration = {
        let (e, token) = (host_b.clone(), token.clone());
        std::thread::spawn(move || e.refresh(&token))
    };
    wait_until("the migration never blocked", &|| waiting() >= 1);
    let logout = {
        let e = host_a.clone();
        std::thread::spawn(move || e.revoke_user("held").unwrap())
    };
    // The logout either finishes (the anomaly) or queues behind the
    // migration's user lock.
    wait_until("the logout neither finished nor blocked", &|| {
        logout.is_finished() || waiting() >= 2
    });
    drop(held);
    let migrated = migration.join().unwrap();
    logout.join().unwrap();
    let pair = migrated.unwrap();
    assert_eq!(
        host_a.verify_access(&pair.access).unwrap_err().code(),
        "token_revoked",
        "a session survived logout everywhere"
    );
    assert!(host_a.sessions("held").unwrap().is_empty());
}

#[test]
fn migrations_run_once_under_concurrent_opens() {
    let _server = shared();
    let Some(url) = schema_url("migrations_run_once_under_concurrent_opens") else {
        return;
    };
    let barrier = Arc::new(Barrier::new(8));
    let opened: Vec<_> = (0..8)
        .map(|_| {
            let (url, b) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                Engine::connect(&url, config(&ManualClock::new(T0)))
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    // Each migration recorded once: a second run would have failed on the
    // version table's key, and its opener with it.
    assert_eq!(
        query_i64(
            &url,
            "SELECT count(*) FROM tessera_schema_version GROUP BY version ORDER BY version"
        )
        .unwrap(),
        [1, 1, 1, 1],
        "versions 1 to 4, once each"
    );
    let pair = opened[0].issue("42", Map::new()).unwrap();
    opened[7].verify_access(&pair.access).unwrap();
}

#[test]
fn schema_version_1_is_upgraded_in_place() {
    let _server = shared();
    let Some(url) = schema_url("schema_version_1_is_upgraded_in_place") else {
        return;
    };
    let clock = ManualClock::new(T0);
    let p1 = {
        let e = connect(&url, &clock);
        let p0 = e.issue("42", Map::new()).unwrap();
        e.refresh(&p0.refresh).unwrap()
    };
    // Version 2 changed no layout, version 3 only added a table, and
    // version 4 added columns, a table and a reason: without their rows
    // and those, the schema is what a version 1 build left.
    execute(
        &url,
        "DELETE FROM tessera_schema_version WHERE version >= 2; DROP TABLE tessera_attempts; \
         DROP TABLE tessera_secret; \
         ALTER TABLE tessera_family DROP COLUMN auth_time, DROP COLUMN extra, \
         DROP CONSTRAINT tessera_family_reason_check, \
         ADD CONSTRAINT tessera_family_reason_check \
         CHECK (reason IN ('logout', 'logout_all', 'reuse'))",
    )
    .unwrap();
    let e = connect(&url, &clock);
    e.verify_refresh(&p1.refresh).unwrap();
    assert_eq!(
        query_i64(
            &url,
            "SELECT max(version)::bigint FROM tessera_schema_version"
        )
        .unwrap(),
        [4]
    );
    assert!(e.record_attempt("upgraded", 1, 60).unwrap().allowed);
}

#[test]
fn newer_schema_version_is_refused() {
    let _server = shared();
    let Some(url) = schema_url("newer_schema_version_is_refused") else {
        return;
    };
    drop(connect(&url, &ManualClock::new(T0)));
    execute(
        &url,
        "INSERT INTO tessera_schema_version (version) VALUES (999)",
    )
    .unwrap();
    let err = Engine::connect(&url, config(&ManualClock::new(T0))).unwrap_err();
    assert_eq!(err.code(), "storage_error");
    assert!(err.detail().contains("999"), "{err}");
}

#[test]
fn records_are_stored_in_typed_columns() {
    let _server = shared();
    let Some(url) = schema_url("records_are_stored_in_typed_columns") else {
        return;
    };
    let clock = ManualClock::new(T0);
    let e = connect(&url, &clock);
    let p1 = e.issue("42", Map::new()).unwrap();
    clock.advance(5);
    e.refresh(&p1.refresh).unwrap();
    let q = |sql: &str| query_i64(&url, sql).unwrap();
    assert_eq!(
        q("SELECT last_refreshed_at FROM tessera_family WHERE user_id = '42'"),
        [T0 + 5]
    );
    // The spent token converges inside the window; a grandparent is a
    // replay.
    let p2 = e.refresh(&p1.refresh).unwrap();
    e.refresh(&p2.refresh).unwrap();
    e.refresh(&p1.refresh).unwrap_err();
    // A simplejwt token is blacklisted in its own row.
    e.refresh(&simplejwt_refresh(
        json!("9"),
        T0 - 60,
        &format!("{:032x}", 9),
    ))
    .unwrap();
    assert_eq!(
        q("SELECT state_at FROM tessera_refresh WHERE state = 'blacklisted'"),
        [T0 + 5]
    );
    assert_eq!(
        q("SELECT count(*) FROM tessera_family \
           WHERE user_id = '42' AND state = 'revoked' AND reason = 'reuse'"),
        [1],
        "the replayed token revoked its family"
    );
    e.revoke_user("7").unwrap();
    assert_eq!(
        q("SELECT revoked_at FROM tessera_user_revoked WHERE user_id = '7'"),
        [T0 + 5]
    );
    let pat = e
        .create_pat("42", "ci", Some(T0 + 60), vec!["repo:read".into()])
        .unwrap();
    assert_eq!(
        q("SELECT expires_at FROM tessera_pat \
           WHERE user_id = '42' AND scopes = ARRAY['repo:read'] AND name = 'ci'"),
        [T0 + 60]
    );
    assert_eq!(e.verify_pat(&pat.token).unwrap().last_used_at, Some(T0 + 5));
    assert!(e.stats().unwrap().file_bytes > 0);
}

#[test]
fn user_id_with_nul_is_refused_not_stored() {
    let _server = shared();
    let Some(url) = schema_url("user_id_with_nul_is_refused_not_stored") else {
        return;
    };
    let e = connect(&url, &ManualClock::new(T0));
    assert_eq!(
        e.issue("a\0b", Map::new()).unwrap_err().code(),
        "config_invalid"
    );
    assert!(e.sessions("a\0b").unwrap().is_empty());
    assert_eq!(e.stats().unwrap().families, 0);
}

#[test]
fn closed_engine_fails_with_storage_error() {
    let _server = shared();
    let Some(url) = schema_url("closed_engine_fails_with_storage_error") else {
        return;
    };
    let e = connect(&url, &ManualClock::new(T0));
    let pair = e.issue("42", Map::new()).unwrap();
    e.close().unwrap();
    let err = e.verify_access(&pair.access).unwrap_err();
    assert_eq!(err.code(), "storage_error");
    assert!(err.detail().contains("closed"), "{err}");
    // The data stays for the next engine.
    connect(&url, &ManualClock::new(T0))
        .verify_access(&pair.access)
        .unwrap();
}

#[test]
fn unreachable_server_is_a_prompt_storage_error() {
    let _server = shared();
    if postgres_url().is_none() {
        skips::skip(
            "postgres",
            "unreachable_server_is_a_prompt_storage_error",
            NO_SERVER,
        );
        return;
    }
    // Port 1 on loopback: nothing listens, the connection is refused.
    let start = Instant::now();
    let err = Engine::connect(
        "postgres://tessera@127.0.0.1:1/tessera?connect_timeout=2",
        config(&ManualClock::new(T0)),
    )
    .unwrap_err();
    assert_eq!(err.code(), "storage_error");
    assert!(err.detail().contains("unreachable"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

/// Runs the cluster's pg_ctl with `args`.
fn pg_ctl(args: &[&str]) {
    let ctl = std::env::var("TESSERA_TEST_PG_CTL").unwrap();
    let status = std::process::Command::new(ctl)
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "pg_ctl {args:?} failed");
}

#[test]
fn outage_fails_calls_then_recovers_without_reopening() {
    let _server = exclusive();
    let Some(url) = schema_url("outage_fails_calls_then_recovers_without_reopening") else {
        return;
    };
    if std::env::var_os("TESSERA_TEST_PG_CTL").is_none() {
        skips::skip(
            "postgres",
            "outage_fails_calls_then_recovers_without_reopening",
            "TESSERA_TEST_PG_CTL is not set (tests/pg/with-postgres.sh sets it)",
        );
        return;
    }
    let clock = ManualClock::new(T0);
    let e = Arc::new(connect(&format!("{url}&connect_timeout=2"), &clock));
    let pair = e.issue("42", Map::new()).unwrap();
    let pat = e.create_pat("42", "ci", None, vec![]).unwrap();
    // Several pooled connections, all of which the restart will break.
    let warm = race(std::slice::from_ref(&e), 8, {
        let access = pair.access.clone();
        move |e| e.verify_access(&access).is_ok()
    });
    assert!(warm.iter().all(|ok| *ok));

    pg_ctl(&["stop", "-m", "fast"]);
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        clock.advance(61);
        for (what, result) in [
            ("verify_access", e.verify_access(&pair.access).map(drop)),
            ("refresh", e.refresh(&pair.refresh).map(drop)),
            ("verify_pat", e.verify_pat(&pat.token).map(drop)),
            ("issue", e.issue("42", Map::new()).map(drop)),
        ] {
            let err = result.expect_err(what);
            assert_eq!(err.code(), "storage_error", "{what}: {err}");
            assert!(err.detail().contains("PostgreSQL"), "{what}: {err}");
        }
        let start = Instant::now();
        let err = e.verify_access(&pair.access).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "a call hung for {:?}: {err}",
            start.elapsed()
        );
    }));
    pg_ctl(&["start"]);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }

    // The same engine, without reopening: stale connections are replaced.
    let results = race(std::slice::from_ref(&e), 8, {
        let access = pair.access.clone();
        move |e| e.verify_access(&access).map(drop)
    });
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    // The refresh that failed during the outage did not spend the token.
    e.refresh(&pair.refresh).unwrap();
    assert_eq!(
        e.verify_pat(&pat.token).unwrap().last_used_at,
        Some(T0 + 61)
    );
}

#[test]
fn fork_child_uses_its_own_connections() {
    let _server = exclusive();
    let Some(url) = schema_url("fork_child_uses_its_own_connections") else {
        return;
    };
    let app = format!("tessera_fork_{}", std::process::id());
    let clock = ManualClock::new(T0);
    let e = connect(&format!("{url}&application_name={app}"), &clock);
    let tokens: Vec<String> = (0..20)
        .map(|_| e.issue("forked", Map::new()).unwrap().refresh)
        .collect();
    let backends = |url: &str| {
        query_i64(
            url,
            &format!("SELECT pid::bigint FROM pg_stat_activity WHERE application_name = '{app}'"),
        )
        .unwrap()
    };
    let before = backends(&url);
    assert_eq!(before.len(), 1, "the parent holds one connection");

    // SAFETY: the child only uses the engine, which builds its own pool
    // after fork, and leaves with _exit, running no destructors of
    // state shared with the parent.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = tokens.iter().all(|t| e.refresh(t).is_ok());
        // Drops the child's pool and leaks the inherited one.
        drop(e);
        // SAFETY: ends the child without unwinding into parent state.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let status = wait_child(pid, Duration::from_secs(60));
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child failed (wait status {status})"
    );
    // The parent's connection survived the child: had the child dropped
    // it, the server would have ended that backend. Past the convergence
    // window, the spent tokens are refused.
    clock.advance(10);
    for t in &tokens {
        assert_eq!(
            e.verify_refresh(t).unwrap_err().code(),
            "refresh_reused",
            "the child's rotations are visible"
        );
    }
    assert!(
        backends(&url).contains(&before[0]),
        "the parent's backend is gone"
    );
}

/// The child's wait status; kills it and fails if it runs past `limit`
/// (a child that touches its parent's pool can hang).
fn wait_child(pid: libc::pid_t, limit: Duration) -> libc::c_int {
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: polling our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return status;
        }
        assert_eq!(r, 0, "waitpid failed");
        if start.elapsed() > limit {
            // SAFETY: signalling and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("the forked child hung for {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
