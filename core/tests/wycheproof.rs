//! Project Wycheproof vectors through Tessera's public API.
//!
//! The vectors live outside the repository, in `shared/vectors/wycheproof/`
//! next to the workspace (see that folder's README). When the folder is
//! absent each test leaves a skip note (see `skips`) and returns; the test names end in
//! `_or_skip_if_absent` so a green run without vectors is never mistaken
//! for a checked one. When the folder exists, a missing file fails.
//!
//! Every case must give its labelled result, except the six mislabelled JWS
//! cases listed in [`mislabelled`], where a strict verifier is right to
//! disagree. `acceptable` cases are recorded and counted, never failed.

// A failed unwrap in test helpers is a failed test; clippy.toml's
// allow-unwrap-in-tests covers only #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod skips;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use serde_json::Value;

use tessera::internal::base64url;
use tessera::jws::{self, Limits};
use tessera::{Algorithm, Key, KeySet};

// ---------------------------------------------------------------------------
// JSON Web Signature
// ---------------------------------------------------------------------------

/// What a strict verifier does with a case whose label is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Strict {
    Accepts,
    Rejects,
}

/// The known mislabelled cases of `json_web_signature_test.json`, with the
/// reasons given in `shared/vectors/README.md`.
fn mislabelled(tc_id: u64) -> Option<(Strict, &'static str)> {
    match tc_id {
        367 | 370 => Some((
            Strict::Accepts,
            "labelled \"invalid padding\", but byte-identical to the valid case 357 \
             (an open upstream issue, #236); a strict verifier accepts them",
        )),
        372 | 373 => Some((
            Strict::Rejects,
            "a '?' is inserted into the header or payload base64, yet labelled valid; \
             a strict base64url decoder rejects them",
        )),
        346 | 350 => Some((
            Strict::Rejects,
            "the key's JWK says alg PS256 while the token header says PS384, yet labelled \
             valid; a verifier that pins one algorithm per key rejects them",
        )),
        _ => None,
    }
}

const MISLABELLED: [u64; 6] = [346, 350, 367, 370, 372, 373];

#[test]
fn json_web_signature_or_skip_if_absent() {
    let Some(doc) = load("json_web_signature_test.json") else {
        return;
    };
    let limits = Limits::default();
    let case_357 = find_case(&doc, 357)["jws"].as_str().unwrap().to_owned();

    let mut failures = Vec::new();
    let mut accepted_valid = 0;
    let mut rejected_invalid = 0;
    let mut rejected_at_import = 0;
    let mut special_applied = Vec::new();
    let mut skipped_alg: BTreeMap<String, usize> = BTreeMap::new();
    let mut skipped_json = 0;
    let mut seen_special = Vec::new();

    for group in groups(&doc) {
        let tests = group["tests"].as_array().unwrap();
        for t in tests {
            let id = tc_id(t);
            if MISLABELLED.contains(&id) {
                seen_special.push(id);
            }
        }
        // Asymmetric groups carry both halves; from_jwk refuses private
        // asymmetric JWKs, so the public one is used. `oct` groups carry only
        // the secret.
        let jwk = match group.get("public") {
            Some(public) => public,
            None => {
                let private = &group["private"];
                assert_eq!(private["kty"], "oct", "a group without a public JWK");
                private
            }
        };
        let Some(alg) = tessera_algorithm(jwk) else {
            let name = jwk["alg"].as_str().unwrap_or("(no alg)").to_owned();
            *skipped_alg.entry(name).or_default() += tests.len();
            continue;
        };
        let keys = match Key::from_jwk(jwk) {
            Ok(key) => {
                assert_eq!(
                    key.algorithm(),
                    alg,
                    "JWK imported with the wrong algorithm"
                );
                KeySet::verify_only(vec![key]).unwrap()
            }
            Err(e) => {
                // Refusing a key is only right when its JWK says it is not
                // for verifying signatures; then every case must be invalid.
                assert!(
                    not_for_verifying(jwk),
                    "JWK for supported {alg} failed to import: {e} ({jwk})"
                );
                assert_eq!(e.code(), "config_invalid", "{e}");
                for t in tests {
                    assert_eq!(
                        t["result"],
                        "invalid",
                        "tcId {}: key refused but case labelled {}",
                        tc_id(t),
                        t["result"]
                    );
                    rejected_at_import += 1;
                }
                continue;
            }
        };

        for t in tests {
            let id = tc_id(t);
            let token = t["jws"]
                .as_str()
                .unwrap_or_else(|| panic!("tcId {id}: jws is not a string"));
            let label = t["result"].as_str().unwrap();
            let outcome = catch_unwind(AssertUnwindSafe(|| jws::verify(&keys, token, &limits)));
            let Ok(outcome) = outcome else {
                failures.push(format!("tcId {id}: verify panicked"));
                continue;
            };
            let is_json = token.trim_start().starts_with('{')
                || flags(t).iter().any(|f| f == "JsonSerialization");
            if is_json {
                // Our API is compact-only: the case is skipped as far as its
                // label goes, but a compact verifier must still refuse it.
                skipped_json += 1;
                if outcome.map_err(|e| e.code()).err() != Some("token_invalid") {
                    failures.push(format!("tcId {id}: JSON serialisation not refused"));
                }
                continue;
            }
            let want_accept = match mislabelled(id) {
                Some((strict, reason)) => {
                    special_applied.push(format!("tcId {id} ({label}, we {strict:?}): {reason}"));
                    if matches!(id, 367 | 370) {
                        assert_eq!(token, case_357, "tcId {id} no longer equals case 357");
                    }
                    strict == Strict::Accepts
                }
                None => match label {
                    "valid" => true,
                    "invalid" => false,
                    other => panic!("tcId {id}: unexpected result {other:?} in the JWS file"),
                },
            };
            match (want_accept, outcome) {
                (true, Ok(v)) => {
                    let segment = token.split('.').nth(1).unwrap();
                    if base64url::decode(segment.as_bytes()).as_deref() != Some(&v.payload[..]) {
                        failures.push(format!("tcId {id}: payload differs from the token's"));
                    } else {
                        accepted_valid += 1;
                    }
                }
                (true, Err(e)) => failures.push(format!("tcId {id}: valid case rejected: {e}")),
                (false, Ok(_)) => failures.push(format!(
                    "tcId {id}: invalid case accepted ({})",
                    t["comment"]
                )),
                (false, Err(e)) if e.code() == "token_invalid" => rejected_invalid += 1,
                (false, Err(e)) => failures.push(format!(
                    "tcId {id}: rejected with {} not token_invalid",
                    e.code()
                )),
            }
        }
    }

    seen_special.sort_unstable();
    assert_eq!(
        seen_special, MISLABELLED,
        "the mislabelled cases moved; re-check them against the README"
    );
    let skipped_unsupported: usize = skipped_alg.values().sum();
    let mut report = format!(
        "json_web_signature_test.json: {} passed ({accepted_valid} accepted, \
         {rejected_invalid} rejected, {rejected_at_import} refused at key import \
         because the JWK is not for verifying); skipped {} ({skipped_unsupported} \
         unsupported algorithm {skipped_alg:?}, {skipped_json} JSON serialisation)",
        accepted_valid + rejected_invalid + rejected_at_import,
        skipped_unsupported + skipped_json,
    );
    for line in &special_applied {
        let _ = write!(report, "\n  mislabelled, special-cased: {line}");
    }
    for id in MISLABELLED {
        if !special_applied
            .iter()
            .any(|l| l.starts_with(&format!("tcId {id} ")))
        {
            let _ = write!(
                report,
                "\n  mislabelled tcId {id}: in a skipped group ({})",
                mislabelled(id).unwrap().1
            );
        }
    }
    eprintln!("{report}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        accepted_valid > 0 && rejected_invalid > 0,
        "nothing was checked"
    );
}

/// The Tessera algorithm a JWK is for, or `None` when Tessera has none.
/// Without `alg`, the key type decides (RFC 7517 §4.4 makes `alg` optional).
fn tessera_algorithm(jwk: &Value) -> Option<Algorithm> {
    match jwk.get("alg").and_then(Value::as_str) {
        Some(name) => name.parse().ok(),
        None => match (jwk["kty"].as_str(), jwk.get("crv").and_then(Value::as_str)) {
            (Some("EC"), Some("P-256")) => Some(Algorithm::ES256),
            (Some("RSA"), None) => Some(Algorithm::RS256),
            (Some("OKP"), Some("Ed25519")) => Some(Algorithm::EdDSA),
            _ => None,
        },
    }
}

/// Whether the JWK declares itself unfit for verifying signatures
/// (RFC 7517 §4.2 `use`, §4.3 `key_ops`).
fn not_for_verifying(jwk: &Value) -> bool {
    let wrong_use = jwk.get("use").is_some_and(|u| u.as_str() != Some("sig"));
    let wrong_ops = jwk.get("key_ops").is_some_and(|ops| {
        !ops.as_array()
            .is_some_and(|ops| ops.iter().any(|op| op == "verify"))
    });
    wrong_use || wrong_ops
}

// ---------------------------------------------------------------------------
// HMAC-SHA256
// ---------------------------------------------------------------------------

#[test]
fn hmac_sha256_or_skip_if_absent() {
    let Some(doc) = load("hmac_sha256_test.json") else {
        return;
    };
    let mut tally = Tally::default();
    let mut short_keys_refused = 0;
    let mut truncated_rejected = 0;
    for group in groups(&doc) {
        let tag_size = group["tagSize"].as_u64().unwrap();
        assert!(
            tag_size == 256 || tag_size == 128,
            "unexpected tagSize {tag_size}"
        );
        for t in group["tests"].as_array().unwrap() {
            let id = tc_id(t);
            let key = hex(&t["key"]);
            let msg = hex(&t["msg"]);
            let tag = hex(&t["tag"]);
            let key = match Key::hmac(Algorithm::HS256, &key) {
                Ok(k) => {
                    assert!(
                        key.len() >= 32,
                        "tcId {id}: {}-byte key accepted",
                        key.len()
                    );
                    k
                }
                Err(e) => {
                    // RFC 7518 §3.2: an HS256 key is at least 32 bytes.
                    assert!(
                        key.len() < 32,
                        "tcId {id}: {}-byte key refused: {e}",
                        key.len()
                    );
                    assert_eq!(e.code(), "config_invalid", "tcId {id}");
                    short_keys_refused += 1;
                    continue;
                }
            };
            let accepted = key.verify_raw(&msg, &tag);
            if tag_size == 128 {
                // A truncated tag is never a JWS HS256 signature, even when
                // it is the correct prefix.
                assert!(!accepted, "tcId {id}: truncated tag accepted");
                truncated_rejected += 1;
            } else {
                tally.check("hmac", id, label(t), accepted);
            }
        }
    }
    tally.finish(&format!(
        "hmac_sha256_test.json (tagSize 256): {}; {short_keys_refused} short keys \
         refused with config_invalid; {truncated_rejected} truncated (tagSize 128) \
         tags rejected",
        tally.summary()
    ));
    assert!(short_keys_refused > 0 && truncated_rejected > 0);
}

// ---------------------------------------------------------------------------
// Signature primitives, through the key layer
// ---------------------------------------------------------------------------

#[test]
fn ecdsa_p256_sha256_p1363_or_skip_if_absent() {
    signature_file("ecdsa_secp256r1_sha256_p1363_test.json", Algorithm::ES256);
}

#[test]
fn ed25519_or_skip_if_absent() {
    signature_file("ed25519_test.json", Algorithm::EdDSA);
}

#[test]
fn rsa_pkcs1_2048_sha256_or_skip_if_absent() {
    signature_file("rsa_signature_2048_sha256_test.json", Algorithm::RS256);
}

/// Runs a Wycheproof signature-verification file whose groups carry the
/// public key as SubjectPublicKeyInfo DER (`publicKeyDer`, hex).
fn signature_file(name: &str, alg: Algorithm) {
    let Some(doc) = load(name) else {
        return;
    };
    let mut tally = Tally::default();
    for group in groups(&doc) {
        let der = hex(&group["publicKeyDer"]);
        let key = Key::from_spki_der(alg, &der)
            .unwrap_or_else(|e| panic!("{name}: a group's {alg} key failed to import: {e}"));
        assert!(!key.can_sign());
        for t in group["tests"].as_array().unwrap() {
            let id = tc_id(t);
            let (msg, sig) = (hex(&t["msg"]), hex(&t["sig"]));
            let accepted = catch_unwind(AssertUnwindSafe(|| key.verify_raw(&msg, &sig)))
                .unwrap_or_else(|_| panic!("{name} tcId {id}: verify panicked"));
            tally.check(name, id, label(t), accepted);
        }
    }
    tally.finish(&format!("{name}: {}", tally.summary()));
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Per-file counts of checked cases and recorded `acceptable` ones.
#[derive(Default)]
struct Tally {
    valid_accepted: usize,
    invalid_rejected: usize,
    acceptable: Vec<String>,
    failures: Vec<String>,
}

impl Tally {
    fn check(&mut self, file: &str, id: u64, label: &str, accepted: bool) {
        match (label, accepted) {
            ("valid", true) => self.valid_accepted += 1,
            ("invalid", false) => self.invalid_rejected += 1,
            ("acceptable", _) => self.acceptable.push(format!(
                "tcId {id} {}",
                if accepted { "accepted" } else { "rejected" }
            )),
            (label, accepted) => self.failures.push(format!(
                "{file} tcId {id}: labelled {label} but {}",
                if accepted { "accepted" } else { "rejected" }
            )),
        }
    }

    fn summary(&self) -> String {
        format!(
            "{} passed ({} valid accepted, {} invalid rejected), {} acceptable recorded [{}], 0 skipped",
            self.valid_accepted + self.invalid_rejected,
            self.valid_accepted,
            self.invalid_rejected,
            self.acceptable.len(),
            self.acceptable.join(", "),
        )
    }

    fn finish(&self, report: &str) {
        eprintln!("{report}");
        assert!(self.failures.is_empty(), "{}", self.failures.join("\n"));
        assert!(
            self.valid_accepted > 0 && self.invalid_rejected > 0,
            "nothing was checked"
        );
    }
}

/// `shared/vectors/wycheproof` beside the workspace, or the folder
/// `TESSERA_TEST_VECTORS` names (which holds `wycheproof/`).
fn vectors_dir() -> PathBuf {
    match std::env::var_os("TESSERA_TEST_VECTORS").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("wycheproof"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/wycheproof"),
    }
}

/// Reads one vector file; `None` (after leaving a skip note) only when the
/// whole vectors folder is absent.
fn load(name: &str) -> Option<Value> {
    let dir = vectors_dir();
    if !dir.is_dir() {
        let reason = format!("the Wycheproof vectors are not at {}", dir.display());
        skips::skip("wycheproof", name, &reason);
        return None;
    }
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} exists but {name} is unreadable: {e}", dir.display()));
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}")))
}

fn groups(doc: &Value) -> &[Value] {
    doc["testGroups"].as_array().unwrap()
}

fn find_case(doc: &Value, id: u64) -> &Value {
    groups(doc)
        .iter()
        .flat_map(|g| g["tests"].as_array().unwrap())
        .find(|t| tc_id(t) == id)
        .unwrap_or_else(|| panic!("tcId {id} not in the file"))
}

fn tc_id(t: &Value) -> u64 {
    t["tcId"].as_u64().unwrap()
}

fn label(t: &Value) -> &str {
    t["result"].as_str().unwrap()
}

fn flags(t: &Value) -> Vec<String> {
    t["flags"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn hex(v: &Value) -> Vec<u8> {
    let s = v.as_str().unwrap().as_bytes();
    assert!(s.len() % 2 == 0, "odd-length hex");
    let digit = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("bad hex digit {c}"),
    };
    s.chunks_exact(2)
        .map(|p| (digit(p[0]) << 4) | digit(p[1]))
        .collect()
}
