//! Personal access tokens: format, lifecycle, limits and storage.

mod common;

use common::*;
use tessera::pat::check_format;
use tessera::{Engine, ManualClock};

fn scopes(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| (*x).to_owned()).collect()
}

#[test]
fn token_matches_the_documented_format() {
    let (e, _) = engine();
    let new = e
        .create_pat("42", "ci-sync", None, scopes(&["projects:write"]))
        .unwrap();
    let t = &new.token;
    assert_eq!(t.len(), "tsr_pat_".len() + 43 + 6);
    assert!(t.starts_with("tsr_pat_"));
    assert!(t["tsr_pat_".len()..]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(new.prefix, &t[..12]);
    assert_eq!(new.id.len(), 36);
    assert_eq!(&new.id[14..15], "4", "a version 4 UUID");
    check_format("tsr_pat_", t).unwrap();
}

#[test]
fn every_one_character_mutation_is_rejected_without_touching_the_store() {
    let (e, _) = engine();
    let t = e.create_pat("42", "ci", None, vec![]).unwrap().token;
    let before = e.store_transactions();
    let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_!";
    let mut tried = 0;
    for i in 0..t.len() {
        for &c in alphabet {
            if t.as_bytes()[i] == c {
                continue;
            }
            let mut m = t.clone().into_bytes();
            m[i] = c;
            let m = String::from_utf8(m).unwrap();
            assert_eq!(
                e.verify_pat(&m).unwrap_err().code(),
                "pat_invalid",
                "{i} {}",
                c as char
            );
            tried += 1;
        }
    }
    // Truncations and extensions too.
    for bad in [&t[..t.len() - 1], &format!("{t}0"), "", "tsr_pat_"] {
        assert_eq!(e.verify_pat(bad).unwrap_err().code(), "pat_invalid");
    }
    assert!(tried > 3000);
    assert_eq!(
        e.store_transactions(),
        before,
        "a malformed token reached the store"
    );
    // A well-formed but unknown token does reach the store, and is pat_invalid.
    let (other, _) = engine();
    let unknown = other.create_pat("42", "x", None, vec![]).unwrap().token;
    assert_eq!(e.verify_pat(&unknown).unwrap_err().code(), "pat_invalid");
    assert!(e.store_transactions() > before);
}

#[test]
fn lifecycle_create_verify_revoke() {
    let (e, _) = engine();
    let new = e
        .create_pat("42", "ci", None, scopes(&["repo:read", "repo:write"]))
        .unwrap();
    let pat = e.verify_pat(&new.token).unwrap();
    assert_eq!(pat.user_id, "42");
    assert_eq!(pat.scopes, ["repo:read", "repo:write"]);
    assert_eq!(pat.id, new.id);
    assert!(e.revoke_pat("42", &new.id).unwrap());
    assert_eq!(e.verify_pat(&new.token).unwrap_err().code(), "pat_revoked");
    assert!(!e.revoke_pat("42", &new.id).unwrap(), "already revoked");
    assert!(e.list_pats("42").unwrap().is_empty());
}

#[test]
fn scopes_allow_what_they_name_and_unrestricted_tokens_everything() {
    let (e, _) = engine();
    let limited = e
        .create_pat("42", "ci", None, scopes(&["repo:read", "repo:write"]))
        .unwrap();
    assert!(!limited.is_unrestricted());
    let limited = e.verify_pat(&limited.token).unwrap();
    assert!(limited.missing_scopes::<&str>(&[]).is_empty());
    assert!(limited.missing_scopes(&["repo:write"]).is_empty());
    assert_eq!(
        limited.missing_scopes(&["admin", "repo:read", "billing"]),
        ["admin", "billing"]
    );

    let none = e.create_pat("42", "nothing", None, vec![]).unwrap();
    let none = e.verify_pat(&none.token).unwrap();
    assert!(!none.is_unrestricted());
    assert_eq!(none.missing_scopes(&["repo:read"]), ["repo:read"]);

    let full = e
        .create_pat(
            "42",
            "full",
            None,
            scopes(&[tessera::pat::UNRESTRICTED_SCOPE]),
        )
        .unwrap();
    assert!(full.is_unrestricted());
    let full = e.verify_pat(&full.token).unwrap();
    assert!(full.is_unrestricted());
    assert!(full.missing_scopes(&["admin", "repo:read"]).is_empty());
    assert!(e
        .list_pats("42")
        .unwrap()
        .iter()
        .any(|p| p.id == full.id && p.is_unrestricted()));
}

#[test]
fn another_users_token_cannot_be_revoked() {
    let (e, _) = engine();
    let new = e.create_pat("alice", "ci", None, vec![]).unwrap();
    assert!(!e.revoke_pat("mallory", &new.id).unwrap());
    assert!(!e.revoke_pat("alice", "not-a-uuid").unwrap());
    assert!(!e
        .revoke_pat("alice", "00000000-0000-4000-8000-000000000000")
        .unwrap());
    e.verify_pat(&new.token).unwrap();
}

#[test]
fn expiry_is_pat_expired_and_purge_removes_it() {
    let (e, clock) = engine();
    let new = e.create_pat("42", "short", Some(T0 + 60), vec![]).unwrap();
    e.verify_pat(&new.token).unwrap();
    clock.advance(60);
    assert_eq!(e.verify_pat(&new.token).unwrap_err().code(), "pat_expired");
    assert_eq!(e.purge_expired().unwrap(), 1);
    assert_eq!(e.verify_pat(&new.token).unwrap_err().code(), "pat_invalid");
    assert_eq!(e.stats().unwrap().pats, 0);
}

#[test]
fn revoked_token_is_a_tombstone_until_retention_passes() {
    let (e, clock) = engine_with(|c| c.pat.tombstone_retention = secs(3600));
    let new = e.create_pat("42", "ci", None, vec![]).unwrap();
    e.revoke_pat("42", &new.id).unwrap();
    clock.advance(3599);
    assert_eq!(e.purge_expired().unwrap(), 0);
    assert_eq!(e.verify_pat(&new.token).unwrap_err().code(), "pat_revoked");
    clock.advance(1);
    assert_eq!(e.purge_expired().unwrap(), 1);
    assert_eq!(e.verify_pat(&new.token).unwrap_err().code(), "pat_invalid");
}

#[test]
fn limits_fail_with_config_invalid() {
    let (e, _) = engine_with(|c| c.pat.max_per_user = 3);
    let long_name = "n".repeat(101);
    let cases: Vec<(&str, Option<i64>, Vec<String>)> = vec![
        ("", None, vec![]),
        (&long_name, None, vec![]),
        ("bad\nname", None, vec![]),
        ("ok", Some(T0), vec![]),
        ("ok", Some(T0 - 5), vec![]),
        ("ok", None, scopes(&["UPPER"])),
        ("ok", None, scopes(&[""])),
        ("ok", None, vec!["s".repeat(65)]),
        ("ok", None, (0..33).map(|i| format!("s{i}")).collect()),
        ("ok", None, scopes(&["dup", "dup"])),
    ];
    for (i, (name, exp, sc)) in cases.into_iter().enumerate() {
        let err = e.create_pat("42", name, exp, sc).unwrap_err();
        assert_eq!(err.code(), "config_invalid", "case {i}: {err}");
    }
    let ok: Vec<_> = (0..3)
        .map(|i| e.create_pat("42", &format!("t{i}"), None, vec![]).unwrap())
        .collect();
    let err = e
        .create_pat("42", "one-too-many", None, vec![])
        .unwrap_err();
    assert_eq!(err.code(), "config_invalid");
    assert!(err.detail().contains("limit 3"), "{err}");
    // Revoking one frees a slot; another user is unaffected.
    e.revoke_pat("42", &ok[0].id).unwrap();
    e.create_pat("42", "again", None, vec![]).unwrap();
    e.create_pat("7", "other", None, vec![]).unwrap();
}

#[test]
fn listing_is_newest_first_and_never_holds_the_secret() {
    let (e, clock) = engine();
    let a = e.create_pat("42", "first", None, vec![]).unwrap();
    clock.advance(1);
    let b = e.create_pat("42", "second", None, vec![]).unwrap();
    let list = e.list_pats("42").unwrap();
    assert_eq!(
        list.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["second", "first"]
    );
    let shown = format!("{list:?} {a:?} {b:?}");
    for t in [&a.token, &b.token] {
        assert!(!shown.contains(t.as_str()));
        assert!(!shown.contains(&t[12..30]), "a piece of the secret leaked");
    }
    assert!(shown.contains("<redacted>"));
}

#[test]
fn last_used_is_written_at_most_once_a_minute() {
    let (e, clock) = engine();
    let new = e.create_pat("42", "ci", None, vec![]).unwrap();
    assert_eq!(e.verify_pat(&new.token).unwrap().last_used_at, Some(T0));
    let writes_before = e.store_transactions();
    clock.advance(30);
    assert_eq!(e.verify_pat(&new.token).unwrap().last_used_at, Some(T0));
    assert_eq!(
        e.store_transactions(),
        writes_before + 1,
        "one read, no write"
    );
    clock.advance(30);
    assert_eq!(
        e.verify_pat(&new.token).unwrap().last_used_at,
        Some(T0 + 60)
    );
}

#[test]
fn custom_prefix_and_pepper() {
    let (e, _) = engine_with(|c| {
        c.pat.prefix = "phub_pat_".into();
        c.pat.pepper = Some(zeroize::Zeroizing::new(vec![5u8; 32]));
    });
    let new = e.create_pat("42", "ci", None, vec![]).unwrap();
    assert!(new.token.starts_with("phub_pat_"));
    e.verify_pat(&new.token).unwrap();
    // Under another pepper the digest differs, so the token is unknown.
    let clock = ManualClock::new(T0);
    let store = SharedStore::new();
    let mut c1 = config(&clock);
    c1.pat.pepper = Some(zeroize::Zeroizing::new(vec![1u8; 32]));
    let token = {
        let e1 = store.open(c1);
        e1.create_pat("42", "ci", None, vec![]).unwrap().token
    };
    let mut c2 = config(&clock);
    c2.pat.pepper = Some(zeroize::Zeroizing::new(vec![2u8; 32]));
    let e2 = store.open(c2);
    assert_eq!(e2.verify_pat(&token).unwrap_err().code(), "pat_invalid");
}

#[test]
fn database_file_holds_no_plaintext_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.redb");
    let clock = ManualClock::new(T0);
    let mut tokens = Vec::new();
    {
        let e = Engine::open(&path, config(&clock)).unwrap();
        for i in 0..1000 {
            let user = format!("user{}", i % 50);
            tokens.push(e.create_pat(&user, "ci", None, vec![]).unwrap().token);
        }
        e.close().unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    for t in &tokens {
        // The display prefix (prefix + 4 characters) is stored on purpose;
        // the 39 characters after it must appear nowhere.
        assert!(!contains(&t.as_bytes()[12..]), "secret found in the file");
    }
    // The check can fail: the display prefixes are in the file.
    assert!(contains(&tokens[0].as_bytes()[..12]));
}
