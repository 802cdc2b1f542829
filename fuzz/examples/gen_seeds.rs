//! Writes the seed corpora of every fuzz target into `fuzz/corpus/<target>/`,
//! using Tessera's own code to make valid tokens, PATs and records.
//!
//! Run from the repository root: `make fuzz-seeds`. Seeds are small and
//! committed; libFuzzer adds what it finds next to them (`make fuzz` keeps
//! those out of git by writing to a scratch copy).

use std::fs;
use std::path::{Path, PathBuf};

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::{json, Map, Value};
use tessera::internal::base64url;
use tessera::internal::pat_codec as codec;
use tessera::{jws, Claims, Jti, TokenType, UserId, Validation};
use tessera::{Engine, EngineConfig, FamilyId, ManualClock, TokenKeeper};
use tessera_fuzz::keys;

fn main() {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("fuzz/corpus"));
    jws_verify(&root.join("jws_verify"));
    claims_seeds(&root.join("claims"));
    differential(&root.join("differential_hs256"));
    json_strict(&root.join("json_strict"));
    pat_parse(&root.join("pat_parse"));
    record_decode(&root.join("record_decode"));
    engine_ops(&root.join("engine_ops"));
}

/// Writes each seed under a name made from its label.
fn write(dir: &Path, seeds: &[(String, Vec<u8>)]) {
    fs::create_dir_all(dir).expect("create the corpus folder");
    for (label, bytes) in seeds {
        fs::write(dir.join(format!("seed-{label}")), bytes).expect("write a seed");
    }
    println!("{}: {} seeds", dir.display(), seeds.len());
}

const NOW: i64 = 1_700_000_000;

fn claims(token_type: TokenType) -> Claims {
    Claims {
        token_type,
        user_id: UserId::new("42").expect("a short user id"),
        jti: Jti::parse("0123456789abcdef0123456789abcdef").expect("32 hex digits"),
        exp: NOW + 900,
        iat: Some(NOW),
        nbf: None,
        iss: None,
        aud: vec![],
        family: None,
        auth_time: None,
        extra: Default::default(),
    }
}

/// The token with one bit of its signature flipped: still canonical, never
/// valid. ECDSA signatures are randomised; a fixed stand-in of the right
/// length keeps the seed files stable from one generation to the next.
fn break_signature(token: &str) -> String {
    let (signed, sig) = token.rsplit_once('.').expect("a compact JWS");
    let mut raw = base64url::decode(sig.as_bytes()).expect("canonical base64url");
    if signed.starts_with(&base64url::encode(br#"{"alg":"ES256""#)[..16]) {
        raw = (0..64u8).map(|i| i.wrapping_mul(97) ^ 0x5a).collect();
    }
    raw[0] ^= 1;
    format!("{signed}.{}", base64url::encode(&raw))
}

fn jws_verify(dir: &Path) {
    let v = Validation::default();
    let payload = v.encode(&claims(TokenType::Access));
    let mut seeds = Vec::new();
    for (name, key) in [
        ("hs256", keys::hs256()),
        ("eddsa", keys::eddsa()),
        ("es256", keys::es256()),
    ] {
        let token = break_signature(&jws::sign(&key, &payload).expect("sign"));
        seeds.push((format!("{name}-bad-sig"), token.clone().into_bytes()));
        // The same token with a header Tessera did not write itself, so the
        // header parser runs: no kid, then a lowercase typ.
        let (_, rest) = token.split_once('.').expect("a compact JWS");
        let alg = key.algorithm().name();
        for (label, header) in [
            ("no-kid", format!(r#"{{"alg":"{alg}"}}"#)),
            (
                "typ",
                format!(r#"{{"typ":"jwt","alg":"{alg}","kid":"{}"}}"#, key.kid()),
            ),
        ] {
            let t = format!("{}.{rest}", base64url::encode(header.as_bytes()));
            seeds.push((format!("{name}-{label}"), t.into_bytes()));
        }
    }
    seeds.push(("none".into(), b"eyJhbGciOiJub25lIn0.e30.".to_vec()));
    write(dir, &seeds);
}

fn full_claims(token_type: TokenType) -> Claims {
    let mut c = claims(token_type);
    c.nbf = Some(NOW - 10);
    c.family = Some(FamilyId::parse("fedcba9876543210fedcba9876543210").expect("32 hex digits"));
    c.extra =
        json!({"role": "admin", "perms": ["a", "b"], "meta": {"n": 1.5, "ok": true, "x": null}})
            .as_object()
            .cloned()
            .expect("an object");
    c
}

fn claims_seeds(dir: &Path) {
    let plain = Validation::default();
    let mut strict = Validation::default();
    strict.issuer = Some("https://id.example".into());
    strict.audience = Some("api".into());
    strict.user_id_claim = "sub".into();
    strict.token_type_claim = "typ".into();
    let mut seeds = Vec::new();
    for (label, t) in [
        ("access", TokenType::Access),
        ("refresh", TokenType::Refresh),
    ] {
        seeds.push((label.to_string(), plain.encode(&claims(t))));
        seeds.push((format!("{label}-full"), plain.encode(&full_claims(t))));
        let mut c = claims(t);
        c.iss = strict.issuer.clone();
        c.aud = vec!["web".into(), "api".into()];
        seeds.push((format!("{label}-strict"), strict.encode(&c)));
    }
    let mut with_aud = claims(TokenType::Access);
    with_aud.aud = vec!["api".into()];
    with_aud.iss = Some("https://id.example".into());
    let mut aud_rules = Validation::default();
    aud_rules.audience = Some("api".into());
    seeds.push(("aud".into(), aud_rules.encode(&with_aud)));
    seeds.push((
        "integer-user-id".into(),
        br#"{"token_type":"access","exp":1700000900,"jti":"0123456789abcdef0123456789abcdef","user_id":42}"#
            .to_vec(),
    ));
    seeds.push((
        "escapes".into(),
        br#" {"token_type":"access","exp":1700000900,"jti":"0123456789abcdef0123456789abcdef","user_id":"\u00e9\ud83d\ude00\n","x\/y":"\"\\"} "#
            .to_vec(),
    ));
    write(dir, &seeds);
}

/// Documents for the strict JSON parser: a choice byte (see the
/// target) and a document that reaches one rule of the parser, accepted or
/// refused.
fn json_strict(dir: &Path) {
    let plain = Validation::default();
    let mut docs: Vec<(&str, u8, Vec<u8>)> = vec![
        ("access", 0, plain.encode(&claims(TokenType::Access))),
        ("full", 0, plain.encode(&full_claims(TokenType::Refresh))),
        (
            "header",
            1,
            br#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#.to_vec(),
        ),
    ];
    let texts: &[(&str, u8, &str)] = &[
        (
            "whitespace",
            0,
            " \t\r\n{ \"a\" : [ 1 , { \"b\" : null } ] , \"c\" :\"x\" }\n ",
        ),
        (
            "escapes",
            0,
            r#"{"s":"\"\\\/\b\f\n\r\t\u0041\u00e9\ud83d\ude00","\u0061":1}"#,
        ),
        ("lone-surrogate", 0, r#"{"s":"\ud800"}"#),
        ("trailing-surrogate", 0, r#"{"s":"\udc00\ud800"}"#),
        (
            "numbers",
            2,
            r#"{"a":[0,-0,1.5,-1e-7,1E+2,18446744073709551615,18446744073709551616,-9223372036854775808,-9223372036854775809,1e308,2.5e-324]}"#,
        ),
        ("number-range", 2, r#"{"a":1e400}"#),
        ("leading-zero", 2, r#"{"a":01}"#),
        ("duplicate-nested", 0, r#"{"o":{"k":1,"\u006b":2}}"#),
        ("duplicate-slot", 0, r#"{"exp":1,"exp":2}"#),
        ("depth-at-limit", 1, r#"{"a":[1]}"#),
        ("depth-over", 1, r#"{"a":[[1]]}"#),
        (
            "deep",
            2,
            &format!("{{\"a\":{}1{}}}", "[".repeat(130), "]".repeat(130)),
        ),
        ("members", 1, r#"{"a":1,"b":2,"c":3,"d":4}"#),
        ("items", 1, r#"{"a":[1,2,3,4]}"#),
        ("long-name", 3, r#"{"ab":1}"#),
        ("long-string", 1, r#"{"alg":"0123456789"}"#),
        ("trailing-comma", 0, r#"{"a":[1,],"b":2,}"#),
        ("not-object", 0, "[1]"),
        ("trailing-data", 0, "{} x"),
        ("control-char", 0, "{\"a\":\"\u{1}\"}"),
    ];
    for (label, choice, text) in texts {
        docs.push((label, *choice, text.as_bytes().to_vec()));
    }
    let seeds: Vec<(String, Vec<u8>)> = docs
        .into_iter()
        .map(|(label, choice, doc)| {
            let mut bytes = vec![choice];
            bytes.extend_from_slice(&doc);
            (label.to_string(), bytes)
        })
        .collect();
    write(dir, &seeds);
}

fn differential(dir: &Path) {
    let v = Validation::default();
    let far = |mut c: Claims| {
        c.exp = 4_102_444_800;
        c
    };
    let key = keys::hs256();
    let mut seeds = Vec::new();
    seeds.push(("payload".into(), v.encode(&far(claims(TokenType::Access)))));
    seeds.push((
        "payload-full".into(),
        v.encode(&far(full_claims(TokenType::Refresh))),
    ));
    let mut with_aud = far(claims(TokenType::Access));
    with_aud.aud = vec!["web".into(), "api".into()];
    with_aud.iss = Some("https://id.example".into());
    let mut aud_rules = Validation::default();
    aud_rules.audience = Some("api".into());
    seeds.push(("payload-aud".into(), aud_rules.encode(&with_aud)));
    for (label, header) in [
        ("bare", json!({"alg": "HS256"})),
        ("typ", json!({"alg": "HS256", "typ": "JWT"})),
        ("kid", json!({"alg": "HS256", "kid": key.kid().as_str()})),
        ("x5t", json!({"alg": "HS256", "x5t": "AAAA", "cty": "JWT"})),
    ] {
        let mut bytes = header.to_string().into_bytes();
        bytes.push(0xff);
        bytes.extend(v.encode(&far(claims(TokenType::Access))));
        seeds.push((format!("header-{label}"), bytes));
    }
    write(dir, &seeds);
}

fn pat_parse(dir: &Path) {
    let mut seeds = Vec::new();
    for (label, raw) in [
        ("zero", [0u8; 32]),
        ("max", [0xff; 32]),
        ("mixed", [0x5a; 32]),
    ] {
        let secret = codec::base62_encode(&raw);
        for prefix in ["tsr_pat_", "x_"] {
            let token = format!("{prefix}{secret}{}", codec::checksum(prefix, &secret));
            seeds.push((
                format!("{}{label}", prefix.replace('_', "-")),
                token.into_bytes(),
            ));
        }
    }
    write(dir, &seeds);
}

/// Runs an engine on a scratch file, then copies every stored record value
/// out of its tables; then the same for a client-side keeper's file.
fn record_decode(dir: &Path) {
    let path = std::env::temp_dir().join(format!("tessera-seeds-{}.redb", std::process::id()));
    let _ = fs::remove_file(&path);
    let keeper_pair;
    {
        let mut config = EngineConfig::new(keys::single(keys::hs256()));
        config.clock = std::sync::Arc::new(ManualClock::new(NOW));
        let engine = Engine::open(&path, config).expect("open a scratch database");
        let extra: Map<String, Value> = Map::new();
        let first = engine.issue("alice", extra.clone()).expect("issue");
        let second = engine.refresh(&first.refresh).expect("rotate");
        assert!(engine.refresh(&first.refresh).is_err(), "replay revokes");
        let other = engine.issue("bob", extra).expect("issue");
        engine.revoke(&other.refresh).expect("logout");
        // Only tokens Tessera did not issue get refresh records: one
        // simplejwt-shaped token exchanged, one logged out.
        for (jti, exchange) in [
            ("0123456789abcdef0123456789abcdef", true),
            ("fedcba9876543210fedcba9876543210", false),
        ] {
            let foreign = jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &serde_json::json!({
                    "token_type": "refresh",
                    "exp": NOW + 86_400,
                    "iat": NOW - 60,
                    "jti": jti,
                    "user_id": "carol",
                }),
                &jsonwebtoken::EncodingKey::from_secret(keys::HS256_SECRET),
            )
            .expect("sign a simplejwt-shaped token");
            if exchange {
                engine.refresh(&foreign).expect("exchange a foreign token");
            } else {
                engine.revoke(&foreign).expect("log a foreign token out");
            }
        }
        keeper_pair = second;
        let pat = engine
            .create_pat("alice", "ci", Some(NOW + 86_400), vec!["repo:read".into()])
            .expect("create a PAT");
        engine
            .create_pat("bob", "laptop", None, vec![])
            .expect("create a PAT");
        engine.revoke_pat("alice", &pat.id).expect("revoke a PAT");
        engine.verify_pat(&pat.token).expect_err("revoked");
        engine.close().expect("close");
    }
    let db = redb::Database::open(&path).expect("reopen the scratch database");
    let txn = db.begin_read().expect("read");
    let mut seeds = Vec::new();
    let mut dump = |name: &str, values: Vec<Vec<u8>>| {
        for (i, v) in values.into_iter().enumerate() {
            seeds.push((format!("{name}-{i}"), v));
        }
    };
    let refresh: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("tessera.v1.refresh");
    let family: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("tessera.v1.family");
    let pat: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("tessera.v1.pat");
    macro_rules! values {
        ($txn:expr, $def:expr) => {
            $txn.open_table($def)
                .expect("the engine created this table")
                .iter()
                .expect("scan")
                .map(|r| r.expect("scan").1.value().to_vec())
                .collect::<Vec<_>>()
        };
    }
    dump("refresh", values!(txn, refresh));
    dump("family", values!(txn, family));
    dump("pat", values!(txn, pat));
    drop(txn);
    drop(db);
    let _ = fs::remove_file(&path);

    // The client-side keeper's file, holding the last pair above.
    {
        let keeper = TokenKeeper::open(&path).expect("open a scratch keeper file");
        keeper.set(&keeper_pair).expect("keep a pair");
    }
    let db = redb::Database::open(&path).expect("reopen the keeper file");
    let txn = db.begin_read().expect("read");
    let keeper: TableDefinition<&str, &[u8]> = TableDefinition::new("tessera.v1.keeper");
    let values = values!(txn, keeper);
    assert_eq!(values.len(), 1, "the keeper holds one pair");
    dump("keeper", values);
    drop(txn);
    drop(db);
    let _ = fs::remove_file(&path);
    write(dir, &seeds);
}

/// Scenarios in the target's four-byte encoding: `[opcode, a, b, c]`.
fn engine_ops(dir: &Path) {
    const ISSUE: u8 = 0;
    const REFRESH: u8 = 1;
    const VERIFY_ACCESS: u8 = 2;
    const VERIFY_REFRESH: u8 = 3;
    const WRONG_TYPE: u8 = 4;
    const TAMPER: u8 = 5;
    const REVOKE: u8 = 6;
    const REVOKE_USER: u8 = 7;
    const SESSIONS: u8 = 8;
    const CREATE_PAT: u8 = 9;
    const VERIFY_PAT: u8 = 10;
    const TAMPER_PAT: u8 = 11;
    const REVOKE_PAT: u8 = 12;
    const LIST_PATS: u8 = 13;
    const PURGE: u8 = 14;
    const STATS: u8 = 15;
    const ADVANCE: u8 = 16;
    const REWIND: u8 = 17;
    let scenarios: [(&str, &[[u8; 4]]); 6] = [
        (
            "rotate-and-replay",
            &[
                [ISSUE, 0, 0, 0],
                [REFRESH, 0, 0, 0],
                [VERIFY_REFRESH, 1, 0, 0],
                [REFRESH, 0, 0, 0],
                [VERIFY_ACCESS, 1, 0, 0],
                [REFRESH, 1, 0, 0],
                [STATS, 0, 0, 0],
            ],
        ),
        (
            "logout",
            &[
                [ISSUE, 0, 0, 0],
                [ISSUE, 0, 0, 0],
                [ISSUE, 1, 0, 0],
                [REVOKE, 0, 0, 0],
                [VERIFY_ACCESS, 0, 0, 0],
                [SESSIONS, 0, 0, 0],
                [REVOKE_USER, 0, 0, 0],
                [VERIFY_ACCESS, 2, 0, 0],
                [SESSIONS, 1, 0, 0],
            ],
        ),
        (
            "expiry-and-purge",
            &[
                [ISSUE, 2, 0, 0],
                [ADVANCE, 0, 61, 0],
                [VERIFY_ACCESS, 0, 0, 0],
                [REFRESH, 0, 0, 0],
                [ADVANCE, 0, 0x58, 2],
                [PURGE, 0, 0, 0],
                [STATS, 0, 0, 0],
                [REWIND, 100, 0, 0],
                [VERIFY_REFRESH, 1, 0, 0],
            ],
        ),
        (
            "tamper",
            &[
                [ISSUE, 0, 0, 0],
                [TAMPER, 0, 10, 3],
                [TAMPER, 1, 120, 40],
                [WRONG_TYPE, 0, 0, 0],
                [CREATE_PAT, 0, 0, 0],
                [TAMPER_PAT, 0, 20, 7],
            ],
        ),
        (
            "pats",
            &[
                [CREATE_PAT, 0, 0, 0],
                [CREATE_PAT, 0, 100, 0],
                [CREATE_PAT, 0, 0, 0],
                [CREATE_PAT, 0, 0, 0],
                [VERIFY_PAT, 1, 0, 0],
                [REVOKE_PAT, 1, 0, 0],
                [REVOKE_PAT, 0, 1, 0],
                [LIST_PATS, 0, 0, 0],
                [ADVANCE, 0, 200, 0],
                [VERIFY_PAT, 1, 0, 0],
                [PURGE, 0, 0, 0],
                [VERIFY_PAT, 1, 0, 0],
                [CREATE_PAT, 0, 0, 0],
            ],
        ),
        (
            "tombstones",
            &[
                [CREATE_PAT, 1, 0, 0],
                [REVOKE_PAT, 1, 0, 0],
                [ADVANCE, 0, 0xe8, 3],
                [PURGE, 0, 0, 0],
                [VERIFY_PAT, 0, 0, 0],
                [STATS, 0, 0, 0],
            ],
        ),
    ];
    let seeds: Vec<(String, Vec<u8>)> = scenarios
        .iter()
        .map(|(name, ops)| (name.to_string(), ops.concat()))
        .collect();
    write(dir, &seeds);
}
