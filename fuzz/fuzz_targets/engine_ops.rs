//! Arbitrary sequences of engine operations on an in-memory engine with a
//! manual clock, checked step by step against a model of the documented
//! semantics (a `reuse_grace` of `GRACE` seconds, leeway 0). Among the
//! properties: a refresh token has exactly one successor, which a second
//! presentation inside the window receives byte for byte and a later one
//! pays for with its session; a revoked or tampered token never verifies;
//! and every result (success or error code) is the model's.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tessera::{Engine, EngineConfig, ManualClock, PatConfig, Result};
use tessera_fuzz::keys;

const START: i64 = 1_700_000_000;
const ACCESS_TTL: i64 = 60;
const REFRESH_TTL: i64 = 600;
const MAX_PATS: usize = 3;
const TOMBSTONE: i64 = 1000;
const USERS: [&str; 3] = ["u0", "u1", "u2"];
const MAX_OPS: usize = 64;
/// The convergence window, in seconds.
const GRACE: i64 = 10;

/// One operation, read from four input bytes `[opcode, a, b, c]` so that
/// seeds are easy to write and mutations stay local.
#[derive(Debug)]
enum Op {
    Issue {
        user: u8,
    },
    Refresh {
        token: u8,
    },
    VerifyAccess {
        token: u8,
    },
    VerifyRefresh {
        token: u8,
    },
    /// A refresh token where an access token is expected.
    WrongType {
        token: u8,
    },
    Tamper {
        token: u8,
        at: u16,
        with: u8,
    },
    Revoke {
        token: u8,
    },
    RevokeUser {
        user: u8,
    },
    Sessions {
        user: u8,
    },
    CreatePat {
        user: u8,
        ttl: Option<u16>,
    },
    VerifyPat {
        pat: u8,
    },
    TamperPat {
        pat: u8,
        at: u8,
        with: u8,
    },
    RevokePat {
        user: u8,
        pat: u8,
    },
    ListPats {
        user: u8,
    },
    Purge,
    Stats,
    Advance {
        secs: u16,
    },
    Rewind {
        secs: u8,
    },
}

impl Op {
    fn decode([op, a, b, c]: [u8; 4]) -> Op {
        let wide = u16::from_le_bytes([b, c]);
        match op % 18 {
            0 => Op::Issue { user: a },
            1 => Op::Refresh { token: a },
            2 => Op::VerifyAccess { token: a },
            3 => Op::VerifyRefresh { token: a },
            4 => Op::WrongType { token: a },
            5 => Op::Tamper {
                token: a,
                at: u16::from(b) * 2 + u16::from(c & 1),
                with: c >> 1,
            },
            6 => Op::Revoke { token: a },
            7 => Op::RevokeUser { user: a },
            8 => Op::Sessions { user: a },
            9 => Op::CreatePat {
                user: a,
                ttl: (b != 0).then_some(wide),
            },
            10 => Op::VerifyPat { pat: a },
            11 => Op::TamperPat {
                pat: a,
                at: b,
                with: c,
            },
            12 => Op::RevokePat { user: a, pat: b },
            13 => Op::ListPats { user: a },
            14 => Op::Purge,
            15 => Op::Stats,
            16 => Op::Advance { secs: wide },
            _ => Op::Rewind { secs: a },
        }
    }
}

struct Family {
    user: usize,
    revoked: bool,
    purged: bool,
    /// Index of the current refresh token.
    current: usize,
    /// Index of the refresh token exchanged for the current one, if any.
    previous: Option<usize>,
    /// When the family last rotated (the current pair's `iat`).
    last_refreshed_at: i64,
}

struct Jwt {
    token: String,
    family: usize,
    iat: i64,
    exp: i64,
    /// Refresh tokens only: it expired before a purge. A token Tessera
    /// issued has no record of its own: its family's state decides.
    purged: bool,
}

struct PatModel {
    token: String,
    id: String,
    user: usize,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    purged: bool,
}

#[derive(Default)]
struct Model {
    families: Vec<Family>,
    access: Vec<Jwt>,
    refresh: Vec<Jwt>,
    pats: Vec<PatModel>,
    user_marks: [bool; 3],
}

type Outcome = std::result::Result<(), &'static str>;

fn code<T>(r: &Result<T>) -> Outcome {
    r.as_ref().map(|_| ()).map_err(|e| e.code())
}

fn pick<T>(items: &[T], i: u8) -> Option<usize> {
    (!items.is_empty()).then(|| usize::from(i) % items.len())
}

impl Model {
    /// The time rules every JWT meets first.
    fn time(t: &Jwt, now: i64) -> Outcome {
        if now >= t.exp {
            Err("token_expired")
        } else if t.iat > now {
            Err("token_not_yet_valid")
        } else {
            Ok(())
        }
    }

    fn add_pair(&mut self, pair: &tessera::TokenPair, family: usize, now: i64) -> usize {
        assert_eq!(pair.access_expires_at, now + ACCESS_TTL);
        assert_eq!(pair.refresh_expires_at, now + REFRESH_TTL);
        self.access.push(Jwt {
            token: pair.access.clone(),
            family,
            iat: now,
            exp: now + ACCESS_TTL,
            purged: false,
        });
        self.refresh.push(Jwt {
            token: pair.refresh.clone(),
            family,
            iat: now,
            exp: now + REFRESH_TTL,
            purged: false,
        });
        self.refresh.len() - 1
    }

    /// Refresh token `i` is its family's predecessor, presented inside
    /// the window (a rewound clock counts as inside).
    fn converges(&self, i: usize, now: i64) -> bool {
        let fam = &self.families[self.refresh[i].family];
        fam.previous == Some(i) && now.saturating_sub(fam.last_refreshed_at) < GRACE
    }

    /// What the family's state says of refresh token `i` (after the time
    /// rules): revoked or purged, reused, or live.
    fn refresh_state(&self, i: usize, now: i64) -> Outcome {
        let fam = &self.families[self.refresh[i].family];
        if fam.revoked || fam.purged {
            Err("token_revoked")
        } else if fam.current != i && !self.converges(i, now) {
            Err("refresh_reused")
        } else {
            Ok(())
        }
    }

    fn live_families(&self, user: usize, now: i64) -> usize {
        self.families
            .iter()
            .filter(|f| {
                f.user == user && !f.revoked && !f.purged && self.refresh[f.current].exp > now
            })
            .count()
    }

    fn live_pats(&self, user: usize, now: i64) -> usize {
        self.pats
            .iter()
            .filter(|p| {
                p.user == user
                    && !p.purged
                    && p.revoked_at.is_none()
                    && p.expires_at.is_none_or(|e| e > now)
            })
            .count()
    }
}

fuzz_target!(|data: &[u8]| {
    let ops = data
        .chunks_exact(4)
        .map(|c| Op::decode([c[0], c[1], c[2], c[3]]));
    let clock = ManualClock::new(START);
    let mut config = EngineConfig::new(keys::single(keys::hs256()));
    config.access_ttl = Duration::from_secs(ACCESS_TTL as u64);
    config.refresh_ttl = Duration::from_secs(REFRESH_TTL as u64);
    config.reuse_grace = Duration::from_secs(GRACE as u64);
    config.clock = std::sync::Arc::new(clock.clone());
    let mut pat = PatConfig::default();
    pat.max_per_user = MAX_PATS;
    pat.tombstone_retention = Duration::from_secs(TOMBSTONE as u64);
    config.pat = pat;
    let engine = Engine::in_memory(config).expect("a valid configuration");
    let mut m = Model::default();
    let mut now = START;

    for op in ops.take(MAX_OPS) {
        match op {
            Op::Issue { user } => {
                let u = usize::from(user) % USERS.len();
                let pair = engine
                    .issue(USERS[u], Default::default())
                    .expect("issue always succeeds");
                let family = m.families.len();
                let current = m.add_pair(&pair, family, now);
                m.families.push(Family {
                    user: u,
                    revoked: false,
                    purged: false,
                    current,
                    previous: None,
                    last_refreshed_at: now,
                });
            }
            Op::Refresh { token } => {
                let Some(i) = pick(&m.refresh, token) else {
                    continue;
                };
                let t = &m.refresh[i];
                let f = t.family;
                let want = Model::time(t, now).and(m.refresh_state(i, now));
                let converges = m.converges(i, now);
                let got = engine.refresh(&t.token);
                assert_eq!(code(&got), want, "refresh of token {i}");
                match (got, want) {
                    (Ok(pair), _) if converges => {
                        // The pair the first exchange minted, byte for
                        // byte (HS256 is deterministic), and nothing moves.
                        let c = m.families[f].current;
                        assert_eq!(pair.access, m.access[c].token, "converged access");
                        assert_eq!(pair.refresh, m.refresh[c].token, "converged refresh");
                    }
                    (Ok(pair), _) => {
                        let current = m.add_pair(&pair, f, now);
                        let fam = &mut m.families[f];
                        fam.previous = Some(i);
                        fam.last_refreshed_at = now;
                        fam.current = current;
                    }
                    (Err(_), Err("refresh_reused")) => m.families[f].revoked = true,
                    _ => {}
                }
            }
            Op::VerifyAccess { token } => {
                let Some(i) = pick(&m.access, token) else {
                    continue;
                };
                let t = &m.access[i];
                let fam = &m.families[t.family];
                let want = Model::time(t, now).and({
                    if fam.revoked || fam.purged {
                        Err("token_revoked")
                    } else {
                        Ok(())
                    }
                });
                let got = engine.verify_access(&t.token);
                assert_eq!(code(&got), want, "verify_access of token {i}");
                if let Ok(c) = got {
                    assert_eq!(c.user_id.as_str(), USERS[fam.user]);
                }
            }
            Op::VerifyRefresh { token } => {
                let Some(i) = pick(&m.refresh, token) else {
                    continue;
                };
                let t = &m.refresh[i];
                // Nothing is revoked by a verification, reused or not.
                let want = Model::time(t, now).and(m.refresh_state(i, now));
                let got = engine.verify_refresh(&t.token);
                assert_eq!(code(&got), want, "verify_refresh of token {i}");
            }
            Op::WrongType { token } => {
                let Some(i) = pick(&m.refresh, token) else {
                    continue;
                };
                let t = &m.refresh[i];
                // The type is checked before the time rules.
                assert_eq!(
                    code(&engine.verify_access(&t.token)),
                    Err("token_wrong_type")
                );
            }
            Op::Tamper { token, at, with } => {
                let all: Vec<&str> = m
                    .access
                    .iter()
                    .chain(&m.refresh)
                    .map(|t| t.token.as_str())
                    .collect();
                let Some(i) = pick(&all, token) else { continue };
                let original = all[i];
                let mut bytes = original.as_bytes().to_vec();
                let at = usize::from(at) % bytes.len();
                bytes[at] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.="
                    [usize::from(with) % 66];
                let tampered = String::from_utf8(bytes).expect("ASCII");
                if tampered == original {
                    continue;
                }
                assert!(engine.verify_access(&tampered).is_err(), "{tampered}");
                assert!(engine.verify_refresh(&tampered).is_err(), "{tampered}");
                assert!(engine.refresh(&tampered).is_err(), "{tampered}");
                assert!(engine.revoke(&tampered).is_err(), "{tampered}");
            }
            Op::Revoke { token } => {
                let Some(i) = pick(&m.refresh, token) else {
                    continue;
                };
                let t = &m.refresh[i];
                let want = Model::time(t, now);
                assert_eq!(code(&engine.revoke(&t.token)), want, "revoke of token {i}");
                let f = t.family;
                if want.is_ok() && !m.families[f].purged {
                    m.families[f].revoked = true;
                }
            }
            Op::RevokeUser { user } => {
                let u = usize::from(user) % USERS.len();
                let live = m.live_families(u, now);
                let got = engine.revoke_user(USERS[u]).expect("revoke_user");
                assert_eq!(got, live as u64, "sessions revoked");
                for f in m.families.iter_mut().filter(|f| f.user == u) {
                    f.revoked = true;
                }
                m.user_marks[u] = true;
            }
            Op::Sessions { user } => {
                let u = usize::from(user) % USERS.len();
                let got = engine.sessions(USERS[u]).expect("sessions");
                assert_eq!(got.len(), m.live_families(u, now));
            }
            Op::CreatePat { user, ttl } => {
                let u = usize::from(user) % USERS.len();
                let expires_at = ttl.map(|t| now + 1 + i64::from(t));
                let want = if m.live_pats(u, now) >= MAX_PATS {
                    Err("config_invalid")
                } else {
                    Ok(())
                };
                let got = engine.create_pat(USERS[u], "fuzz", expires_at, vec![]);
                assert_eq!(code(&got), want, "create_pat");
                if let Ok(new) = got {
                    assert!(tessera::pat::check_format("tsr_pat_", &new.token).is_ok());
                    m.pats.push(PatModel {
                        token: new.token,
                        id: new.id,
                        user: u,
                        expires_at,
                        revoked_at: None,
                        purged: false,
                    });
                }
            }
            Op::VerifyPat { pat } => {
                let Some(i) = pick(&m.pats, pat) else {
                    continue;
                };
                let p = &m.pats[i];
                let want = if p.purged {
                    Err("pat_invalid")
                } else if p.revoked_at.is_some() {
                    Err("pat_revoked")
                } else if p.expires_at.is_some_and(|e| e <= now) {
                    Err("pat_expired")
                } else {
                    Ok(())
                };
                let got = engine.verify_pat(&p.token);
                assert_eq!(code(&got), want, "verify_pat {i}");
                if let Ok(found) = got {
                    assert_eq!(found.id, p.id);
                    assert_eq!(found.user_id, USERS[p.user]);
                }
            }
            Op::TamperPat { pat, at, with } => {
                let Some(i) = pick(&m.pats, pat) else {
                    continue;
                };
                let mut bytes = m.pats[i].token.clone().into_bytes();
                let at = usize::from(at) % bytes.len();
                bytes[at] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"
                    [usize::from(with) % 64];
                let tampered = String::from_utf8(bytes).expect("ASCII");
                if m.pats.iter().any(|p| p.token == tampered) {
                    continue;
                }
                assert_eq!(code(&engine.verify_pat(&tampered)), Err("pat_invalid"));
            }
            Op::RevokePat { user, pat } => {
                let Some(i) = pick(&m.pats, pat) else {
                    continue;
                };
                let u = usize::from(user) % USERS.len();
                let p = &m.pats[i];
                let live =
                    !p.purged && p.revoked_at.is_none() && p.expires_at.is_none_or(|e| e > now);
                let want = p.user == u && live;
                let got = engine.revoke_pat(USERS[u], &p.id).expect("revoke_pat");
                assert_eq!(got, want, "revoke_pat {i} as {u}");
                if got {
                    m.pats[i].revoked_at = Some(now);
                }
            }
            Op::ListPats { user } => {
                let u = usize::from(user) % USERS.len();
                let mut got: Vec<String> = engine
                    .list_pats(USERS[u])
                    .expect("list_pats")
                    .into_iter()
                    .map(|p| p.id)
                    .collect();
                let mut want: Vec<String> = m
                    .pats
                    .iter()
                    .filter(|p| p.user == u && !p.purged && p.revoked_at.is_none())
                    .map(|p| p.id.clone())
                    .collect();
                got.sort();
                want.sort();
                assert_eq!(got, want, "list_pats of {u}");
            }
            Op::Purge => {
                let mut want = 0u64;
                // A token Tessera issued has no record of its own (its
                // family holds its state): only families count.
                for t in m.refresh.iter_mut().filter(|t| !t.purged && t.exp <= now) {
                    t.purged = true;
                }
                for f in m.families.iter_mut().filter(|f| !f.purged) {
                    if m.refresh[f.current].purged {
                        f.purged = true;
                        want += 1;
                    }
                }
                for p in m.pats.iter_mut().filter(|p| !p.purged) {
                    let gone = match (p.expires_at, p.revoked_at) {
                        (Some(e), _) => e <= now,
                        (None, Some(at)) => at + TOMBSTONE <= now,
                        (None, None) => false,
                    };
                    if gone {
                        p.purged = true;
                        want += 1;
                    }
                }
                assert_eq!(engine.purge_expired().expect("purge"), want, "purged");
            }
            Op::Stats => {
                let s = engine.stats().expect("stats");
                let count = |n: usize| n as u64;
                assert_eq!(s.refresh_records, 0, "no records for tokens we issued");
                assert_eq!(
                    s.families,
                    count(m.families.iter().filter(|f| !f.purged).count())
                );
                assert_eq!(s.pats, count(m.pats.iter().filter(|p| !p.purged).count()));
                assert_eq!(
                    s.user_marks,
                    count(m.user_marks.iter().filter(|&&b| b).count())
                );
            }
            Op::Advance { secs } => {
                let d = i64::from(secs % 2000);
                clock.advance(d);
                now += d;
            }
            Op::Rewind { secs } => {
                let d = i64::from(secs % 200);
                clock.advance(-d);
                now -= d;
            }
        }
    }
});
