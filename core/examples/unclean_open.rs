//! How long does `Engine::open` take after an unclean stop of a large file?
//!
//! `cargo run --release -p tessera --example unclean_open -- DIR [MB] [multi]`
//!
//! A child process fills DIR/unclean.redb to MB megabytes (default 1024)
//! and keeps rotating refresh tokens; it is killed with SIGKILL mid-write,
//! then the file is reopened and the open is timed. A clean close and
//! reopen is timed too, for comparison.
// A test program: a failed setup step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{Map, Value};
use tessera::{Algorithm, Engine, EngineConfig, Key, KeySet};

fn config(multi: bool) -> EngineConfig {
    let key = Key::hmac(
        Algorithm::HS256,
        b"unclean-open-secret-0123456789abcdefghij",
    )
    .unwrap();
    let mut cfg = EngineConfig::new(KeySet::new(key).unwrap());
    cfg.multi_process = multi;
    cfg
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        return child(&args[2], args[3].parse().unwrap(), args[4] == "multi");
    }
    let dir = args.get(1).expect("usage: unclean_open DIR [MB] [multi]");
    let mb: u64 = args.get(2).map_or(1024, |s| s.parse().unwrap());
    let mode = args.get(3).cloned().unwrap_or_else(|| "single".into());
    let multi = mode == "multi";
    let path = format!("{dir}/unclean-{mode}.redb");
    let _ = std::fs::remove_file(&path);

    let mut proc = Command::new(std::env::current_exe().unwrap())
        .args(["--child", &path, &mb.to_string(), &mode])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(proc.stdout.take().unwrap()).lines();
    // The child says "rotating" once the file is full, then rotates.
    for line in lines.by_ref() {
        if line.unwrap() == "rotating" {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    proc.kill().unwrap();
    proc.wait().unwrap();
    let size = std::fs::metadata(&path).unwrap().len();

    let t = Instant::now();
    let engine = Engine::open(&path, config(multi)).unwrap();
    let unclean = t.elapsed();
    let families = engine.stats().unwrap().families;
    engine.close().unwrap();
    drop(engine);
    let t = Instant::now();
    let engine = Engine::open(&path, config(multi)).unwrap();
    let clean = t.elapsed();
    drop(engine);
    println!(
        "mode={mode} file={:.0} MiB families={families} open_after_sigkill={:.3}s open_after_clean_close={:.3}s",
        size as f64 / 1048576.0,
        unclean.as_secs_f64(),
        clean.as_secs_f64()
    );
    let _ = std::fs::remove_file(&path);
}

fn child(path: &str, mb: u64, multi: bool) {
    let engine = Engine::open(path, config(multi)).unwrap();
    let batch: Vec<(String, Map<String, Value>)> = (0..20_000)
        .map(|i| (format!("user{i}"), Map::new()))
        .collect();
    let reqs: Vec<(&str, Map<String, Value>)> =
        batch.iter().map(|(u, m)| (u.as_str(), m.clone())).collect();
    let mut last = None;
    while std::fs::metadata(path).unwrap().len() < mb * 1024 * 1024 {
        last = engine.issue_batch(&reqs).unwrap().pop();
    }
    println!("rotating");
    let mut current = last.unwrap().refresh;
    loop {
        current = engine.refresh(&current).unwrap().refresh;
    }
}
