//! A database written by schema version 1 (a refresh record for every token
//! issued) keeps working after the upgrade to version 2 (a family record
//! alone holds the state of its own tokens): no session is lost, every
//! spent token is still a replay, and purging removes the old records.
// A test program: a failed setup step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::*;
use redb::{Database, ReadableDatabase, TableDefinition};
use tessera::{Engine, ManualClock};

const META: TableDefinition<&str, u64> = TableDefinition::new("tessera.v1.meta");
/// The clock of the last write in the fixture.
const WRITTEN_AT: i64 = T0 + 200;

/// Rebuilds `schema_v1.redb` from its nonzero pages (see data/README.md)
/// and reads the tokens issued into it.
fn fixture(dir: &Path) -> (PathBuf, HashMap<String, String>) {
    fixture_named(dir, "schema_v1")
}

/// Rebuilds `<name>.redb` from `<name>.redb.pages` and reads
/// `<name>_tokens.txt`.
fn fixture_named(dir: &Path, name: &str) -> (PathBuf, HashMap<String, String>) {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let packed = std::fs::read(data.join(format!("{name}.redb.pages"))).unwrap();
    assert_eq!(&packed[..8], b"TSRPAGES");
    let len = u64::from_le_bytes(packed[8..16].try_into().unwrap());
    let mut file = vec![0u8; usize::try_from(len).unwrap()];
    for entry in packed[16..].chunks(4 + 4096) {
        let page = u32::from_le_bytes(entry[..4].try_into().unwrap()) as usize;
        file[page * 4096..(page + 1) * 4096].copy_from_slice(&entry[4..]);
    }
    let path = dir.join(format!("{name}.redb"));
    std::fs::write(&path, file).unwrap();
    let tokens = std::fs::read_to_string(data.join(format!("{name}_tokens.txt")))
        .unwrap()
        .lines()
        .map(|l| {
            let (name, token) = l.split_once(' ').unwrap();
            (name.to_owned(), token.to_owned())
        })
        .collect();
    (path, tokens)
}

fn schema_version(path: &Path) -> u64 {
    let db = Database::open(path).unwrap();
    let tx = db.begin_read().unwrap();
    let meta = tx.open_table(META).unwrap();
    let v = meta.get("schema_version").unwrap().unwrap().value();
    v
}

fn open(path: &Path, clock: &ManualClock) -> Engine {
    let mut cfg = config(clock);
    cfg.reuse_grace = secs(60);
    Engine::open(path, cfg).unwrap()
}

#[test]
fn schema_v1_file_upgrades_without_losing_a_session_or_a_replay() {
    let dir = tempfile::tempdir().unwrap();
    let (path, t) = fixture(dir.path());
    assert_eq!(schema_version(&path), 1);
    let clock = ManualClock::new(WRITTEN_AT + 10);
    let e = open(&path, &clock);
    let s = e.stats().unwrap();
    // a0, a1, b0, c0, c1, the foreign token and d1; families a to d.
    assert_eq!((s.refresh_records, s.families), (7, 4));

    // Current tokens are current, spent ones spent, as version 1 left them.
    e.verify_access(&t["a1_access"]).unwrap();
    e.verify_refresh(&t["a1"]).unwrap();
    assert_eq!(
        e.verify_refresh(&t["a0"]).unwrap_err().code(),
        "refresh_reused"
    );
    e.verify_refresh(&t["b0"]).unwrap();

    // A rotation of a version 1 family, then a replay of the token spent
    // under version 1.
    let a2 = e.refresh(&t["a1"]).unwrap();
    e.verify_access(&a2.access).unwrap();
    assert_eq!(e.refresh(&t["a0"]).unwrap_err().code(), "refresh_reused");
    assert_eq!(
        e.verify_access(&a2.access).unwrap_err().code(),
        "token_revoked"
    );

    // c0 was exchanged for c1 at WRITTEN_AT by version 1, whose successors
    // were random: inside reuse_grace there is nothing to converge on, so
    // a retry is a replay.
    assert_eq!(
        e.verify_refresh(&t["c0"]).unwrap_err().code(),
        "refresh_reused"
    );
    assert_eq!(e.refresh(&t["c0"]).unwrap_err().code(), "refresh_reused");
    assert_eq!(
        e.verify_refresh(&t["c1"]).unwrap_err().code(),
        "token_revoked"
    );

    // The foreign token blacklisted under version 1 stays spent, and its
    // replay revokes the family it started.
    assert_eq!(
        e.refresh(&t["foreign"]).unwrap_err().code(),
        "refresh_reused"
    );
    assert_eq!(
        e.verify_refresh(&t["d1"]).unwrap_err().code(),
        "token_revoked"
    );

    // b's session rotates on, and keeps its replay detection once the
    // grace window is over.
    let b1 = e.refresh(&t["b0"]).unwrap();
    clock.advance(61);
    assert_eq!(e.refresh(&t["b0"]).unwrap_err().code(), "refresh_reused");
    assert_eq!(
        e.verify_refresh(&b1.refresh).unwrap_err().code(),
        "token_revoked"
    );

    // Once nothing can verify any more, purge leaves nothing behind.
    clock.set(b1.refresh_expires_at + 3600);
    assert_eq!(e.purge_expired().unwrap(), 7 + 4);
    let s = e.stats().unwrap();
    assert_eq!((s.refresh_records, s.families), (0, 0));
    e.close().unwrap();
    drop(e);
    assert_eq!(schema_version(&path), 3);
}

/// A file written by the release before the restructure of the crate
/// (schema version 2, commit 6c22c4b) reads the same: sessions, spent
/// tokens, logouts and PATs, whose ids keep their spelling.
#[test]
fn schema_v2_file_from_the_previous_release_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (path, t) = fixture_named(dir.path(), "schema_v2");
    assert_eq!(schema_version(&path), 2);
    let clock = ManualClock::new(T0 + 210);
    let e = open(&path, &clock);
    let s = e.stats().unwrap();
    assert_eq!((s.refresh_records, s.families, s.pats), (0, 3, 2));

    let a = e.verify_access(&t["a1_access"]).unwrap();
    assert_eq!(a.extra["role"], "admin");
    // A file from before change stamps: every user's stamp is 0.
    let (_, stamp) = e.verify_access_stamped(&t["a1_access"]).unwrap();
    assert_eq!(stamp, 0);
    assert_eq!(e.bump_user(a.user_id.as_str()).unwrap(), 1);
    assert_eq!(
        e.verify_refresh(&t["a0"]).unwrap_err().code(),
        "refresh_reused"
    );
    assert_eq!(
        e.verify_access(&t["c0_access"]).unwrap_err().code(),
        "token_revoked"
    );
    let pat = e.verify_pat(&t["pat_live"]).unwrap();
    assert_eq!(pat.id, t["pat_live_id"]);
    assert_eq!(pat.scopes, ["projects:read"]);
    assert_eq!(
        e.verify_pat(&t["pat_revoked"]).unwrap_err().code(),
        "pat_revoked"
    );
    let ids: Vec<String> = e
        .list_pats("alice")
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert!(ids.contains(&t["pat_live_id"]), "{ids:?}");
    assert!(e.revoke_pat("alice", &t["pat_live_id"]).unwrap());
    assert_eq!(
        e.verify_pat(&t["pat_live"]).unwrap_err().code(),
        "pat_revoked"
    );

    let b1 = e.refresh(&t["b0"]).unwrap();
    e.verify_access(&b1.access).unwrap();
    assert_eq!(e.refresh(&t["a0"]).unwrap_err().code(), "refresh_reused");
    assert_eq!(
        e.verify_access(&t["a1_access"]).unwrap_err().code(),
        "token_revoked"
    );
    e.close().unwrap();
    drop(e);
    assert_eq!(schema_version(&path), 3);
}

#[test]
fn a_file_from_a_newer_schema_is_refused_with_storage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = fixture(dir.path());
    {
        let db = Database::create(&path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(META)
            .unwrap()
            .insert("schema_version", 4)
            .unwrap();
        tx.commit().unwrap();
    }
    let clock = ManualClock::new(WRITTEN_AT);
    let err = Engine::open(&path, config(&clock)).unwrap_err();
    assert_eq!(err.code(), "storage_error");
    assert!(err.to_string().contains("schema version 4"), "{err}");
}
