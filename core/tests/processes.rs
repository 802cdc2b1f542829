//! Many processes, one file: races, crashes and revocation across process
//! boundaries. Children are this test binary re-executed with
//! `TESSERA_CHILD` set; they run `child_entry` and report on stdout.
// A test program: a failed setup step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Map;
use tessera::{Algorithm, Engine, EngineConfig, Key, KeySet};

const SECRET: &[u8] = b"cross-process-secret-for-tessera-tests-0123456789";

fn config(multi_process: bool) -> EngineConfig {
    let mut cfg =
        EngineConfig::new(KeySet::new(Key::hmac(Algorithm::HS256, SECRET).unwrap()).unwrap());
    cfg.multi_process = multi_process;
    // A child runs with the convergence window its parent names.
    if let Ok(grace) = std::env::var("TESSERA_GRACE") {
        cfg.reuse_grace = Duration::from_secs(grace.parse().unwrap());
    }
    cfg
}

fn child(role: &str, db: &Path, arg: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env("TESSERA_CHILD", role)
        .env("TESSERA_DB", db)
        .env("TESSERA_ARG", arg)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

/// What follows the `@ ` marker on a line. libtest prints its own text, and
/// its `test child_entry ... ` has no newline, so the marker may start
/// mid-line.
fn report(line: &str) -> Option<String> {
    line.split_once("@ ").map(|(_, r)| r.to_owned())
}

fn reports(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out)
        .lines()
        .filter_map(report)
        .collect()
}

/// The child side. Does nothing when run as an ordinary test.
#[test]
fn child_entry() {
    let Ok(role) = std::env::var("TESSERA_CHILD") else {
        return;
    };
    let db = std::env::var("TESSERA_DB").unwrap();
    let arg = std::env::var("TESSERA_ARG").unwrap();
    let engine = Engine::open(&db, config(true)).unwrap();
    let out = std::io::stdout();
    let mut out = out.lock();
    match role.as_str() {
        // Refresh every token in the file, in order, reporting each outcome
        // (and the refresh token received).
        "race" => {
            let tokens = std::fs::read_to_string(&arg).unwrap();
            for (i, t) in tokens.lines().enumerate() {
                let outcome = match engine.refresh(t) {
                    Ok(pair) => format!("ok {}", pair.refresh),
                    Err(e) => e.code().to_owned(),
                };
                writeln!(out, "@ {i} {outcome}").unwrap();
            }
        }
        // Rotate forever; report each spent token only once the rotation
        // has been acknowledged (committed durably).
        "crash" => {
            let mut current = engine.issue("crash", Map::new()).unwrap().refresh;
            loop {
                let next = engine.refresh(&current).unwrap();
                writeln!(out, "@ {current}").unwrap();
                out.flush().unwrap();
                current = next.refresh;
            }
        }
        // 32 threads rotate their own sessions through group commit and
        // report each spent token once its rotation is acknowledged.
        "crash32" => {
            drop(out);
            let engine = std::sync::Arc::new(engine);
            let printer = std::sync::Arc::new(std::sync::Mutex::new(()));
            let handles: Vec<_> = (0..32)
                .map(|i| {
                    let (engine, printer) = (engine.clone(), printer.clone());
                    std::thread::spawn(move || {
                        let mut current =
                            engine.issue(&format!("t{i}"), Map::new()).unwrap().refresh;
                        loop {
                            let next = engine.refresh(&current).unwrap();
                            let _guard = printer.lock().unwrap();
                            let mut out = std::io::stdout().lock();
                            writeln!(out, "@ {current}").unwrap();
                            out.flush().unwrap();
                            current = next.refresh;
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
        }
        // Verify a PAT until it is rejected, reporting the code.
        "pat" => {
            let deadline = Instant::now() + Duration::from_secs(20);
            writeln!(out, "@ ready {}", engine.verify_pat(&arg).is_ok()).unwrap();
            out.flush().unwrap();
            while Instant::now() < deadline {
                if let Err(e) = engine.verify_pat(&arg) {
                    writeln!(out, "@ rejected {}", e.code()).unwrap();
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            writeln!(out, "@ never rejected").unwrap();
        }
        other => panic!("unknown child role {other}"),
    }
}

/// With no convergence window, a token is exchanged once across
/// processes, and every other presentation is a replay.
#[test]
fn single_use_across_four_processes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("race.redb");
    let engine = Engine::open(&db, config(true)).unwrap();
    let tokens: Vec<String> = (0..200)
        .map(|_| engine.issue("racer", Map::new()).unwrap().refresh)
        .collect();
    let list = dir.path().join("tokens.txt");
    std::fs::write(&list, tokens.join("\n")).unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut c = child("race", &db, list.to_str().unwrap());
            c.env("TESSERA_GRACE", "0");
            c.spawn().unwrap()
        })
        .collect();
    let mut wins = vec![0u32; tokens.len()];
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "child failed");
        let lines = reports(&out.stdout);
        assert_eq!(lines.len(), tokens.len());
        for line in lines {
            let (i, outcome) = line.split_once(' ').unwrap();
            let i: usize = i.parse().unwrap();
            match outcome {
                o if o.starts_with("ok ") => wins[i] += 1,
                "refresh_reused" | "token_revoked" => {}
                other => panic!("unexpected outcome {other}"),
            }
        }
    }
    assert!(wins.iter().all(|&w| w == 1), "wins per token: {wins:?}");
    // The parent's handle sees the children's commits: every token won
    // once and was then replayed, which revoked its session.
    assert_eq!(engine.stats().unwrap().families, 200);
    assert!(engine.sessions("racer").unwrap().is_empty());
}

/// Four processes refresh the same tokens at once, inside the convergence
/// window: every call succeeds, and all return one refresh token, which
/// is then the family's only live one.
#[test]
fn four_processes_refreshing_one_token_get_one_successor() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("converge.redb");
    let mut cfg = config(true);
    cfg.reuse_grace = Duration::from_secs(60);
    let engine = Engine::open(&db, cfg).unwrap();
    let tokens: Vec<String> = (0..40)
        .map(|_| engine.issue("racer", Map::new()).unwrap().refresh)
        .collect();
    let list = dir.path().join("tokens.txt");
    std::fs::write(&list, tokens.join("\n")).unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut c = child("race", &db, list.to_str().unwrap());
            c.env("TESSERA_GRACE", "60");
            c.spawn().unwrap()
        })
        .collect();
    let mut successors: Vec<Vec<String>> = vec![Vec::new(); tokens.len()];
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "child failed");
        for line in reports(&out.stdout) {
            let (i, outcome) = line.split_once(' ').unwrap();
            let i: usize = i.parse().unwrap();
            let token = outcome
                .strip_prefix("ok ")
                .unwrap_or_else(|| panic!("token {i}: {outcome}"));
            successors[i].push(token.to_owned());
        }
    }
    for (i, got) in successors.iter().enumerate() {
        assert_eq!(got.len(), 4, "token {i}");
        assert!(
            got.iter().all(|t| t == &got[0]),
            "token {i}: two successors"
        );
        // The successor is live; the spent token only converges.
        engine.verify_refresh(&got[0]).unwrap();
    }
    assert_eq!(engine.sessions("racer").unwrap().len(), tokens.len());
}

/// Runs `role` children that report each spent token once its rotation is
/// acknowledged, kills each with SIGKILL at a pseudo-random moment within
/// `window_ms` after `min_ms`, and checks after every reopen that each
/// reported token is spent and that none was reported twice. Returns how
/// many were reported in all.
fn kill_and_check(role: &str, rounds: u32, min_ms: u64, window_ms: u64) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(format!("{role}.redb"));
    drop(Engine::open(&db, config(true)).unwrap());
    let mut seed = u64::from(std::process::id()) ^ 0x9e37_79b9_7f4a_7c15;
    let mut total = 0;
    for round in 0..rounds {
        // Without a convergence window, a spent token is refused at once.
        let mut proc = child(role, &db, "")
            .env("TESSERA_GRACE", "0")
            .spawn()
            .unwrap();
        let stdout = proc.stdout.take().unwrap();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(min_ms + (seed >> 33) % window_ms);
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| report(&l))
                .collect::<Vec<_>>()
        });
        std::thread::sleep(delay);
        // Child::kill sends SIGKILL on Unix.
        proc.kill().unwrap();
        proc.wait().unwrap();
        let spent = reader.join().unwrap();
        let mut unique = spent.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            spent.len(),
            "round {round}: a token was spent twice"
        );
        let mut cfg = config(true);
        cfg.reuse_grace = Duration::ZERO;
        let engine =
            Engine::open(&db, cfg).unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        for t in &spent {
            let err = engine.verify_refresh(t).unwrap_err();
            assert_eq!(
                err.code(),
                "refresh_reused",
                "round {round}: an acknowledged rotation was lost"
            );
        }
        total += spent.len();
    }
    total
}

#[test]
fn acknowledged_rotations_survive_sigkill() {
    let total = kill_and_check("crash", 20, 30, 300);
    assert!(
        total > 20,
        "the children rotated too little to test anything: {total}"
    );
}

#[test]
fn group_commit_loses_nothing_acknowledged_under_sigkill_with_32_threads() {
    let total = kill_and_check("crash32", 10, 50, 400);
    assert!(
        total > 100,
        "the children rotated too little to test anything: {total}"
    );
}

#[test]
fn pat_revocation_is_seen_by_another_process_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pat.redb");
    let engine = Engine::open(&db, config(true)).unwrap();
    let pat = engine
        .create_pat("42", "ci", None, vec!["repo:read".into()])
        .unwrap();
    let mut proc = child("pat", &db, &pat.token).spawn().unwrap();
    let mut lines = BufReader::new(proc.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| report(&l));
    assert_eq!(lines.next().as_deref(), Some("ready true"));
    assert!(engine.revoke_pat("42", &pat.id).unwrap());
    assert_eq!(lines.next().as_deref(), Some("rejected pat_revoked"));
    assert!(proc.wait().unwrap().success());
}

#[test]
fn second_process_without_multi_process_gets_storage_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("excl.redb");
    let _held = Engine::open(&db, config(false)).unwrap();
    let mut cmd = child("race", &db, "/nonexistent");
    cmd.stderr(Stdio::piped());
    let out = cmd.output().unwrap();
    assert!(
        !out.status.success(),
        "an exclusive file must not open twice"
    );
}
