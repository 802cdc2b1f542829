//! Introspection, revocation by the presenter, and leak reports: what other
//! services and secret scanners see of a token.

mod common;

use std::sync::Arc;

use common::*;
use serde_json::Map;
use tessera::{EventSink, PatLeak, TokenKind};

#[test]
fn introspection_names_each_kind_and_spends_nothing() {
    let (e, clock) = engine();
    let pair = e.issue("7", Map::new()).unwrap();
    let access = e.introspect(&pair.access).unwrap().unwrap();
    assert_eq!(access.kind, TokenKind::Access);
    assert_eq!(access.user_id, "7");
    assert!(access.jti.is_some() && access.session_id.is_some());
    for _ in 0..3 {
        let refresh = e.introspect(&pair.refresh).unwrap().unwrap();
        assert_eq!(refresh.kind, TokenKind::Refresh);
        assert_eq!(refresh.session_id, access.session_id);
    }
    let next = e.refresh(&pair.refresh).unwrap();
    // Spent, but inside the convergence window it would still be exchanged
    // (for the same pair): active.
    assert!(e.introspect(&pair.refresh).unwrap().is_some());
    // Past the window: inactive, and asking again revokes nothing.
    clock.advance(10);
    assert_eq!(e.introspect(&pair.refresh).unwrap(), None);
    assert!(e.introspect(&next.refresh).unwrap().is_some());
    e.refresh(&next.refresh).unwrap();
}

#[test]
fn introspection_of_a_pat_leaves_last_used_alone() {
    let (e, _) = engine();
    let pat = e
        .create_pat("7", "ci", None, vec!["a:b".into(), "c".into()])
        .unwrap();
    let found = e.introspect(&pat.token).unwrap().unwrap();
    assert_eq!(found.kind, TokenKind::Pat);
    assert_eq!(found.scopes, ["a:b", "c"]);
    assert_eq!(found.jti, None);
    assert_eq!(e.list_pats("7").unwrap()[0].last_used_at, None);
}

#[test]
fn anything_not_valid_now_is_inactive_without_a_reason() {
    let (e, clock) = engine();
    let pair = e.issue("7", Map::new()).unwrap();
    let pat = e.create_pat("7", "ci", None, vec![]).unwrap();
    e.revoke_user("7").unwrap();
    assert!(e.revoke_pat_token(&pat.token).unwrap());
    for token in [&pair.access, &pair.refresh, &pat.token, "x", "tsr_pat_"] {
        assert_eq!(e.introspect(token).unwrap(), None, "{token}");
    }
    let fresh = e.issue("7", Map::new()).unwrap();
    clock.advance(3600);
    assert_eq!(e.introspect(&fresh.access).unwrap(), None);
}

#[test]
fn revoking_by_token_ends_the_session_of_either_jwt() {
    let (e, _) = engine();
    for use_access in [true, false] {
        let pair = e.issue("7", Map::new()).unwrap();
        let other = e.issue("7", Map::new()).unwrap();
        let token = if use_access {
            &pair.access
        } else {
            &pair.refresh
        };
        e.revoke_token(token).unwrap();
        assert_eq!(
            e.verify_access(&pair.access).unwrap_err().code(),
            "token_revoked"
        );
        e.verify_access(&other.access).unwrap();
        // Again, and nonsense: no error either way.
        e.revoke_token(token).unwrap();
    }
    e.revoke_token("nonsense").unwrap();
    e.revoke_token("tsr_pat_nonsense").unwrap();
}

#[test]
fn a_leak_report_revokes_a_live_pat_once_and_names_the_url() {
    let rec = Arc::new(Recorder::default());
    let sink: Arc<dyn EventSink> = rec.clone();
    let (e, _) = engine_with(move |c| c.events = Some(sink));
    let pat = e.create_pat("7", "ci", None, vec![]).unwrap();
    let url = "https://github.com/o/r/blob/main/.env\n";
    assert_eq!(
        e.report_leaked_pat(&pat.token, Some(url)).unwrap(),
        PatLeak::Revoked
    );
    assert_eq!(e.verify_pat(&pat.token).unwrap_err().code(), "pat_revoked");
    assert_eq!(
        e.report_leaked_pat(&pat.token, Some(url)).unwrap(),
        PatLeak::Inactive
    );
    let other = e.create_pat("8", "ci", None, vec![]).unwrap().token;
    let last = if other.ends_with('x') { 'y' } else { 'x' };
    let foreign = format!("{}{last}", &other[..other.len() - 1]);
    assert_eq!(
        e.report_leaked_pat(&foreign, None).unwrap(),
        PatLeak::Unknown
    );
    assert_eq!(
        e.report_leaked_pat("ghp_x", None).unwrap(),
        PatLeak::Unknown
    );
    let events = rec.0.lock().unwrap();
    let leaks: Vec<_> = events
        .iter()
        .filter(|ev| ev.kind.as_str() == "pat_leaked")
        .collect();
    assert_eq!(leaks.len(), 1);
    assert_eq!(leaks[0].pat_prefix.as_deref(), Some(pat.prefix.as_str()));
    assert_eq!(leaks[0].user_id.as_deref(), Some("7"));
    // Control characters from outside are dropped.
    assert_eq!(
        leaks[0].url.as_deref(),
        Some("https://github.com/o/r/blob/main/.env")
    );
    assert!(!format!("{events:?}").contains(&pat.token));
}
