//! What rejecting hostile input costs. A 1 MB token must be refused before
//! any byte of it is decoded, for about what a 1 KB token costs, so that
//! size is no lever for an attacker.
//!
//! Cases, all refused:
//! - `1kb_bad_signature`: a well-formed 1 KB token whose signature is wrong:
//!   split, header matched, payload and signature decoded, HMAC computed;
//! - `1kb_garbage` and `1mb_garbage`: the same number of bytes of `A`,
//!   with no dots;
//! - `1mb_token`: a well-formed 1 MB token (header, a huge payload,
//!   signature): refused by the size check;
//! - `pat_1mb` against `pat_bad_checksum`: the PAT format check.
//!
//! Run: `cargo bench -p tessera --bench hostile`; results in
//! docs/security.md.

// A failed unwrap in a benchmark's set-up is a failed benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use tessera::internal::base64url;
use tessera::internal::pat_codec as codec;
use tessera::pat::check_format;
use tessera::{Algorithm, Jwt, Key, KeySet, Validation};

const SECRET: &[u8] = b"hostile-input benchmark secret, 32+ bytes";
const NOW: i64 = 1_700_000_000;

/// A token with a payload of about `bytes` bytes and a signature that does
/// not verify.
fn token_of(jwt: &Jwt, bytes: usize) -> String {
    let key = jwt.keys().signing_key().unwrap();
    let header = base64url::encode(
        format!(r#"{{"alg":"HS256","kid":"{}","typ":"JWT"}}"#, key.kid()).as_bytes(),
    );
    let filler = "x".repeat(bytes * 3 / 4);
    let payload = base64url::encode(
        format!(
            r#"{{"token_type":"access","exp":{},"jti":"0123456789abcdef0123456789abcdef","user_id":"42","pad":"{filler}"}}"#,
            NOW + 600
        )
        .as_bytes(),
    );
    format!("{header}.{payload}.{}", base64url::encode(&[7u8; 32]))
}

fn reject(c: &mut Criterion) {
    let jwt = Jwt::new(
        KeySet::new(Key::hmac(Algorithm::HS256, SECRET).unwrap()).unwrap(),
        Validation::default(),
    )
    .unwrap();
    let small = token_of(&jwt, 1024 - 200);
    let big = token_of(&jwt, 1 << 20);
    assert!((900..=1100).contains(&small.len()), "{}", small.len());
    assert!(big.len() >= 1 << 20);
    let garbage_small = "A".repeat(1024);
    let garbage_big = "A".repeat(1 << 20);
    let detail = |t: &str| jwt.verify(t, None, NOW).unwrap_err().detail().to_owned();
    assert_eq!(detail(&small), "signature does not verify");
    assert_eq!(detail(&big), "token exceeds the size limit");
    assert_eq!(detail(&garbage_big), "token exceeds the size limit");

    let mut g = c.benchmark_group("hostile_jwt_reject");
    for (name, token) in [
        ("1kb_bad_signature", &small),
        ("1kb_garbage", &garbage_small),
        ("1mb_token", &big),
        ("1mb_garbage", &garbage_big),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| jwt.verify(black_box(token), None, NOW).unwrap_err())
        });
    }
    g.finish();

    let secret = codec::base62_encode(&[0x42; 32]);
    let good = format!("tsr_pat_{secret}{}", codec::checksum("tsr_pat_", &secret));
    let mut bad = good.clone();
    bad.replace_range(bad.len() - 1.., if good.ends_with('0') { "1" } else { "0" });
    let big_pat = format!("tsr_pat_{}", "A".repeat(1 << 20));
    assert!(check_format("tsr_pat_", &good).is_ok());
    let mut g = c.benchmark_group("hostile_pat_reject");
    g.bench_function("pat_bad_checksum", |b| {
        b.iter(|| check_format("tsr_pat_", black_box(&bad)).unwrap_err())
    });
    g.bench_function("pat_1mb", |b| {
        b.iter(|| check_format("tsr_pat_", black_box(&big_pat)).unwrap_err())
    });
    g.finish();
}

criterion_group!(benches, reject);
criterion_main!(benches);
