//! Engine and PAT benchmarks: durable and in-memory rotation, a converging
//! refresh against a normal rotation, verify_access with its revocation
//! read, rotation cost against store size, bytes on disk per family,
//! single-process against multi_process, and PATs.
//!
//! `cargo bench -p tessera --bench engine`
//! (`-- converge` runs the converging refresh alone)
//! Set `TESSERA_BENCH_BIG=0` to skip the 1,000,000-record fixtures.
// A test program: a failed setup step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::fill;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::Map;
use tessera::{Algorithm, Engine, EngineConfig, Key, KeySet};

const SECRET: &[u8] = b"benchmark-secret-for-tessera-0123456789abcdef";

fn config(multi_process: bool) -> EngineConfig {
    let mut cfg =
        EngineConfig::new(KeySet::new(Key::hmac(Algorithm::HS256, SECRET).unwrap()).unwrap());
    cfg.multi_process = multi_process;
    cfg
}

fn big() -> bool {
    std::env::var("TESSERA_BENCH_BIG").map_or(true, |v| v != "0")
}

fn rotation(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("rotation");
    g.measurement_time(Duration::from_secs(8));
    for (name, engine) in [
        ("in_memory", Engine::in_memory(config(false)).unwrap()),
        (
            "durable_file_single_process",
            Engine::open(dir.path().join("single.redb"), config(false)).unwrap(),
        ),
        (
            "durable_file_multi_process",
            Engine::open(dir.path().join("multi.redb"), config(true)).unwrap(),
        ),
    ] {
        let mut current = engine.issue("bench", Map::new()).unwrap().refresh;
        g.bench_function(name, |b| {
            b.iter(|| {
                current = engine.refresh(&current).unwrap().refresh;
            })
        });
    }
    g.finish();
}

/// The second tab: a refresh token presented again inside `reuse_grace`
/// re-mints its successor from the family record (one read, two
/// signatures, no write), against the normal rotation of the same store.
fn converge(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("converge");
    g.measurement_time(Duration::from_secs(8));
    let with_window = |multi_process| {
        let mut cfg = config(multi_process);
        cfg.reuse_grace = Duration::from_secs(60);
        cfg
    };
    for (store, engine) in [
        ("in_memory", Engine::in_memory(with_window(false)).unwrap()),
        (
            "durable_file",
            Engine::open(dir.path().join("converge.redb"), with_window(false)).unwrap(),
        ),
    ] {
        fill(&engine, 10_000);
        let mut current = engine.issue("bench", Map::new()).unwrap().refresh;
        g.bench_function(format!("{store}/normal_rotation"), |b| {
            b.iter(|| current = engine.refresh(&current).unwrap().refresh)
        });
        // Warm-up and measurement (about 11 s) stay inside the 60 s window.
        let spent = engine.issue("bench", Map::new()).unwrap().refresh;
        let successor = engine.refresh(&spent).unwrap();
        g.bench_function(format!("{store}/converging_refresh"), |b| {
            b.iter(|| assert_eq!(engine.refresh(&spent).unwrap(), successor))
        });
    }
    g.finish();
}

fn verify_access(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("verify_access");
    for (name, engine) in [
        ("in_memory", Engine::in_memory(config(false)).unwrap()),
        (
            "file_single_process",
            Engine::open(dir.path().join("v1.redb"), config(false)).unwrap(),
        ),
        (
            "file_multi_process",
            Engine::open(dir.path().join("v2.redb"), config(true)).unwrap(),
        ),
    ] {
        fill(&engine, 10_000);
        let pair = engine.issue("bench", Map::new()).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| engine.verify_access(&pair.access).unwrap())
        });
    }
    // The same token through the stateless verifier: the JWT work alone,
    // so the difference is the revocation read.
    let engine = Engine::in_memory(config(false)).unwrap();
    let pair = engine.issue("bench", Map::new()).unwrap();
    let verifier = tessera::Verifier::new(
        KeySet::new(Key::hmac(Algorithm::HS256, SECRET).unwrap()).unwrap(),
        tessera::Validation::default(),
    )
    .unwrap();
    g.bench_function("jwt_only_no_store", |b| {
        b.iter(|| verifier.verify_access(&pair.access).unwrap())
    });
    g.finish();
}

fn scaling(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let sizes: &[usize] = if big() {
        &[10_000, 1_000_000]
    } else {
        &[10_000]
    };
    let mut g = c.benchmark_group("refresh_vs_store_size");
    g.measurement_time(Duration::from_secs(8));
    for &n in sizes {
        let path = dir.path().join(format!("scale{n}.redb"));
        let engine = Engine::open(&path, config(false)).unwrap();
        fill(&engine, n);
        let bytes = std::fs::metadata(&path).unwrap().len();
        eprintln!(
            "store of {n} families: {bytes} bytes on disk, {:.0} bytes per family",
            bytes as f64 / n as f64
        );
        let mut current = engine.issue("bench", Map::new()).unwrap().refresh;
        g.bench_with_input(BenchmarkId::new("durable_file", n), &n, |b, _| {
            b.iter(|| current = engine.refresh(&current).unwrap().refresh)
        });
        drop(engine);
        let mem = Engine::in_memory(config(false)).unwrap();
        fill(&mem, n);
        let mut current = mem.issue("bench", Map::new()).unwrap().refresh;
        g.bench_with_input(BenchmarkId::new("in_memory", n), &n, |b, _| {
            b.iter(|| current = mem.refresh(&current).unwrap().refresh)
        });
    }
    g.finish();
}

fn pats(c: &mut Criterion) {
    let stored = if big() { 1_000_000 } else { 10_000 };
    let engine = Engine::in_memory(config(false)).unwrap();
    let mut sample = Vec::new();
    for i in 0..stored {
        let t = engine
            .create_pat(&format!("user{}", i % 10_000), "bench", None, vec![])
            .unwrap();
        if i % (stored / 1000) == 0 {
            sample.push(t.token);
        }
    }
    // Record each sampled token's first use, so the loop measures reads.
    for t in &sample {
        engine.verify_pat(t).unwrap();
    }
    let mut g = c.benchmark_group("pat");
    let mut i = 0;
    g.bench_function(BenchmarkId::new("verify_pat", stored), |b| {
        b.iter(|| {
            i = (i + 1) % sample.len();
            engine.verify_pat(&sample[i]).unwrap()
        })
    });
    let mut bad = sample[0].clone().into_bytes();
    let last = bad.len() - 1;
    bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
    let bad = String::from_utf8(bad).unwrap();
    g.bench_function("reject_bad_checksum", |b| {
        b.iter(|| engine.verify_pat(&bad).unwrap_err())
    });
    let mut n = 0u64;
    g.bench_function("create_in_memory", |b| {
        b.iter(|| {
            n += 1;
            engine
                .create_pat(&format!("creator{}", n / 50), "bench", None, vec![])
                .unwrap()
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let durable = Engine::open(dir.path().join("pat.redb"), config(false)).unwrap();
    g.bench_function("create_durable_file", |b| {
        b.iter(|| {
            n += 1;
            durable
                .create_pat(&format!("creator{}", n / 50), "bench", None, vec![])
                .unwrap()
        })
    });
    g.finish();
}

/// fsync cost of the disk under test, for reading the durable figures.
fn fsync(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fsync.bin");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(Path::new(&path))
        .unwrap();
    let mut g = c.benchmark_group("disk");
    g.bench_function("write_4k_and_fsync", |b| {
        use std::io::Write;
        let mut f = &f;
        b.iter(|| {
            f.write_all(&[7u8; 4096]).unwrap();
            f.sync_data().unwrap();
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    rotation,
    converge,
    verify_access,
    scaling,
    pats,
    fsync
);
criterion_main!(benches);
