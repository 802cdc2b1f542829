//! Personal access tokens: opaque, checksummed, scoped, stored as digests.
//!
//! Format: `<prefix><secret><checksum>`, where the secret is 32 bytes from
//! the system CSPRNG written as exactly 43 base62 characters (`0-9A-Za-z`,
//! most significant first, zero-padded), and the checksum is the CRC32 of
//! the prefix and secret characters, written as exactly 6 base62 characters.
//! With the default prefix a token matches `tsr_pat_[0-9A-Za-z]{49}`.
//!
//! Invariants:
//! - a token whose prefix, length, alphabet, value range or checksum is wrong
//!   is refused with `pat_invalid` before any store access;
//! - the store holds SHA-256(token), or HMAC-SHA256(pepper, token) when the
//!   host sets a pepper; the plaintext exists only in [`NewPat`];
//! - `last_used_at` is written at most once per `last_used_interval` per
//!   token, so a busy token does not cost a durable write per request;
//! - a revoked token stays as a tombstone until its `expires_at`, or for
//!   `tombstone_retention` when it has none, so it reports `pat_revoked`.

use std::fmt;
use std::time::Duration;

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::keys::random_bytes;
use crate::records::{Digest32, Id16, PatRecord};
use crate::store::WriteTx;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Characters of the base62 secret: 62^43 > 2^256 > 62^42.
pub const SECRET_CHARS: usize = 43;
/// Characters of the base62 CRC32 checksum: 62^6 > 2^32.
pub const CHECKSUM_CHARS: usize = 6;
/// Characters of the secret shown in the display prefix.
const DISPLAY_CHARS: usize = 4;
/// How many records one PAT purge transaction examines.
const PURGE_BATCH: usize = 1000;

/// Personal access token settings.
#[non_exhaustive]
pub struct PatConfig {
    /// Token prefix (default `tsr_pat_`): 2 to 32 of `[a-z0-9_]`, starting
    /// with a letter and ending with `_`.
    pub prefix: String,
    /// Server-side pepper; when set, digests are HMAC-SHA256 under it.
    pub pepper: Option<Zeroizing<Vec<u8>>>,
    /// Longest name, in characters (default 100).
    pub max_name_chars: usize,
    /// Most live (unrevoked, unexpired) tokens per user (default 100).
    pub max_per_user: usize,
    /// Most scopes per token (default 32).
    pub max_scopes: usize,
    /// Longest scope, in characters of `[a-z0-9:._-]` (default 64).
    pub max_scope_chars: usize,
    /// How long a revoked token without expiry is kept as a tombstone
    /// (default 30 days).
    pub tombstone_retention: Duration,
    /// Least time between two `last_used_at` writes (default 60 s).
    pub last_used_interval: Duration,
}

impl Default for PatConfig {
    fn default() -> Self {
        PatConfig {
            prefix: "tsr_pat_".into(),
            pepper: None,
            max_name_chars: 100,
            max_per_user: 100,
            max_scopes: 32,
            max_scope_chars: 64,
            tombstone_retention: Duration::from_secs(30 * 86_400),
            last_used_interval: Duration::from_secs(60),
        }
    }
}

impl fmt::Debug for PatConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatConfig")
            .field("prefix", &self.prefix)
            .field("pepper", &self.pepper.as_ref().map(|_| "<redacted>"))
            .field("max_name_chars", &self.max_name_chars)
            .field("max_per_user", &self.max_per_user)
            .field("max_scopes", &self.max_scopes)
            .field("max_scope_chars", &self.max_scope_chars)
            .field("tombstone_retention", &self.tombstone_retention)
            .field("last_used_interval", &self.last_used_interval)
            .finish()
    }
}

impl PatConfig {
    pub(crate) fn check(&self) -> Result<()> {
        let p = self.prefix.as_bytes();
        let ok = (2..=32).contains(&p.len())
            && p[0].is_ascii_lowercase()
            && p[p.len() - 1] == b'_'
            && p.iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
        if !ok {
            return Err(Error::config(format!(
                "PAT prefix {:?} must be 2 to 32 of [a-z0-9_], start with a letter and end with _",
                self.prefix
            )));
        }
        if self.pepper.as_ref().is_some_and(|p| p.len() < 32) {
            return Err(Error::config("the PAT pepper must be at least 32 bytes"));
        }
        if self.max_name_chars == 0 || self.max_per_user == 0 || self.max_scope_chars == 0 {
            return Err(Error::config("PAT limits must be positive"));
        }
        Ok(())
    }

    /// The length of every token with this prefix.
    pub fn token_len(&self) -> usize {
        self.prefix.len() + SECRET_CHARS + CHECKSUM_CHARS
    }

    /// A regular expression matching exactly the well-formed tokens' shape
    /// (the checksum still has to be computed).
    pub fn regex(&self) -> String {
        format!(
            "{}[0-9A-Za-z]{{{}}}",
            self.prefix,
            SECRET_CHARS + CHECKSUM_CHARS
        )
    }

    fn digest(&self, token: &str) -> Digest32 {
        match &self.pepper {
            Some(pepper) => match <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(pepper) {
                Ok(mut mac) => {
                    mac.update(token.as_bytes());
                    mac.finalize().into_bytes().into()
                }
                // HMAC accepts keys of any length; unreachable in practice.
                Err(_) => Sha256::digest(token.as_bytes()).into(),
            },
            None => Sha256::digest(token.as_bytes()).into(),
        }
    }
}

/// A freshly created token: the only value that ever holds the plaintext.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPat {
    /// The token's id (a UUID), for listing and revocation.
    pub id: String,
    /// The owner's label.
    pub name: String,
    /// Display prefix: the token prefix and 4 characters of the secret.
    pub prefix: String,
    /// The token itself. Show it once; it cannot be recovered.
    pub token: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Creation time.
    pub created_at: i64,
    /// Expiry, if any.
    pub expires_at: Option<i64>,
}

impl fmt::Debug for NewPat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewPat")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("token", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A stored token's metadata; never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pat {
    /// The token's id (a UUID).
    pub id: String,
    /// The owner.
    pub user_id: String,
    /// The owner's label.
    pub name: String,
    /// Display prefix.
    pub prefix: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Creation time.
    pub created_at: i64,
    /// Expiry, if any.
    pub expires_at: Option<i64>,
    /// Last use, to within `last_used_interval`.
    pub last_used_at: Option<i64>,
}

impl Pat {
    fn from_record(r: PatRecord) -> Pat {
        Pat {
            id: uuid_text(&r.id),
            user_id: r.user_id,
            name: r.name,
            prefix: r.prefix,
            scopes: r.scopes,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
        }
    }
}

/// Checks a token's format offline: prefix, length, alphabet, value range
/// and checksum. No store is consulted.
pub fn check_format(prefix: &str, token: &str) -> Result<()> {
    let bad = |why: &'static str| Err(Error::PatInvalid(why.into()));
    if token.len() != prefix.len() + SECRET_CHARS + CHECKSUM_CHARS {
        return bad("wrong length");
    }
    let Some(body) = token.strip_prefix(prefix) else {
        return bad("wrong prefix");
    };
    if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return bad("character outside base62");
    }
    let (secret, checksum) = body.split_at(SECRET_CHARS);
    // Fixed width and an alphabet in ASCII order make numeric order the
    // byte order, so the range check needs no big-number decode.
    if secret.as_bytes() > max_secret() {
        return bad("secret out of range");
    }
    if checksum.as_bytes() != checksum_chars(prefix, secret) {
        return bad("checksum mismatch");
    }
    Ok(())
}

impl Engine {
    /// Creates a token for `user_id`. The returned [`NewPat`] is the only
    /// place the token ever appears.
    pub fn create_pat(
        &self,
        user_id: &str,
        name: &str,
        expires_at: Option<i64>,
        scopes: Vec<String>,
    ) -> Result<NewPat> {
        let user = crate::claims::UserId::new(user_id)?;
        let now = self.clock.now();
        self.check_pat_request(name, expires_at, &scopes, now)?;

        let mut raw = Zeroizing::new([0u8; 32]);
        random_bytes(&mut *raw)?;
        let secret = Zeroizing::new(base62_encode_256(&raw));
        let mut token = String::with_capacity(self.pat.token_len());
        token.push_str(&self.pat.prefix);
        token.push_str(&secret);
        token.push_str(
            std::str::from_utf8(&checksum_chars(&self.pat.prefix, &secret)).unwrap_or_default(),
        );
        let mut id = [0u8; 16];
        random_bytes(&mut id)?;
        id[6] = (id[6] & 0x0f) | 0x40;
        id[8] = (id[8] & 0x3f) | 0x80;
        let record = PatRecord {
            id,
            user_id: user.as_str().to_owned(),
            name: name.to_owned(),
            prefix: format!("{}{}", self.pat.prefix, &secret[..DISPLAY_CHARS]),
            scopes,
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        let digest = self.pat.digest(&token);
        let max = self.pat.max_per_user;
        let stored = record.clone();
        self.store.write(move |tx| {
            let live = tx
                .user_pats(&stored.user_id)?
                .iter()
                .filter_map(|id| live_record(tx, id, now).transpose())
                .count();
            if live >= max {
                return Err(Error::config(format!(
                    "user already has {live} live personal access tokens (limit {max})"
                )));
            }
            tx.put_pat(&digest, &stored)
        })?;
        self.emit_pat(
            EventKind::PatCreated,
            now,
            &record.user_id,
            &record.prefix,
            None,
        );
        Ok(NewPat {
            id: uuid_text(&record.id),
            name: record.name,
            prefix: record.prefix,
            token,
            scopes: record.scopes,
            created_at: now,
            expires_at,
        })
    }

    /// Verifies a token: format and checksum offline, then one point read.
    /// Updates `last_used_at` at most once per `last_used_interval`.
    pub fn verify_pat(&self, token: &str) -> Result<Pat> {
        let now = self.clock.now();
        let result = self.verify_pat_at(token, now);
        if let Err(e) = &result {
            self.report(e, now, None, None);
        }
        result
    }

    fn verify_pat_at(&self, token: &str, now: i64) -> Result<Pat> {
        check_format(&self.pat.prefix, token)?;
        let digest = self.pat.digest(token);
        let record = self
            .store
            .read(|tx| tx.pat(&digest))?
            .ok_or_else(|| Error::PatInvalid("unknown token".into()))?;
        check_usable(&record, now)?;
        let interval = i64::try_from(self.pat.last_used_interval.as_secs()).unwrap_or(60);
        if record
            .last_used_at
            .is_none_or(|t| now.saturating_sub(t) >= interval)
        {
            let updated = self.store.write(move |tx| {
                let Some(mut rec) = tx.pat(&digest)? else {
                    return Err(Error::PatInvalid("unknown token".into()));
                };
                check_usable(&rec, now)?;
                if rec
                    .last_used_at
                    .is_none_or(|t| now.saturating_sub(t) >= interval)
                {
                    rec.last_used_at = Some(now);
                    tx.put_pat(&digest, &rec)?;
                }
                Ok(rec)
            })?;
            self.emit_pat(
                EventKind::PatUsed,
                now,
                &updated.user_id,
                &updated.prefix,
                None,
            );
            return Ok(Pat::from_record(updated));
        }
        Ok(Pat::from_record(record))
    }

    /// The user's tokens, newest first, revoked ones left out. No secrets.
    pub fn list_pats(&self, user_id: &str) -> Result<Vec<Pat>> {
        let user = crate::claims::UserId::new(user_id)?;
        self.store.read(|tx| {
            let mut out = Vec::new();
            for id in tx.user_pats(user.as_str())?.iter().rev() {
                let Some(digest) = tx.pat_digest(id)? else {
                    continue;
                };
                if let Some(rec) = tx.pat(&digest)? {
                    if rec.revoked_at.is_none() {
                        out.push(Pat::from_record(rec));
                    }
                }
            }
            Ok(out)
        })
    }

    /// Revokes token `id` of `user_id`, at once and for every process.
    /// Returns false when there is no such live token of that user.
    pub fn revoke_pat(&self, user_id: &str, id: &str) -> Result<bool> {
        let user = crate::claims::UserId::new(user_id)?;
        let Some(id) = parse_uuid(id) else {
            return Ok(false);
        };
        let now = self.clock.now();
        let owner = user.as_str().to_owned();
        let revoked = self.store.write(move |tx| {
            let Some(digest) = tx.pat_digest(&id)? else {
                return Ok(None);
            };
            match tx.pat(&digest)? {
                // Only a live token is revoked: an expired one keeps
                // reporting `pat_expired`, and the call returns false.
                Some(mut rec) if rec.user_id == owner && check_usable(&rec, now).is_ok() => {
                    rec.revoked_at = Some(now);
                    tx.put_pat(&digest, &rec)?;
                    Ok(Some(rec.prefix))
                }
                _ => Ok(None),
            }
        })?;
        match revoked {
            Some(prefix) => {
                self.emit_pat(EventKind::PatRevoked, now, user.as_str(), &prefix, None);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Removes expired tokens and stale tombstones; part of `purge_expired`.
    pub(crate) fn purge_pats(&self, now: i64) -> Result<u64> {
        let retention = i64::try_from(self.pat.tombstone_retention.as_secs()).unwrap_or(i64::MAX);
        let mut removed = 0;
        let mut after = None;
        loop {
            let (n, last, seen) = self.store.write(move |tx| {
                let batch = tx.pat_digests(after, PURGE_BATCH)?;
                let mut n = 0u64;
                for digest in &batch {
                    let Some(rec) = tx.pat(digest)? else { continue };
                    let gone = match (rec.expires_at, rec.revoked_at) {
                        (Some(exp), _) => exp <= now,
                        (None, Some(at)) => at.saturating_add(retention) <= now,
                        (None, None) => false,
                    };
                    if gone {
                        tx.delete_pat(digest, &rec)?;
                        n += 1;
                    }
                }
                Ok((n, batch.last().copied(), batch.len()))
            })?;
            removed += n;
            after = last;
            if seen < PURGE_BATCH {
                break;
            }
        }
        Ok(removed)
    }

    fn check_pat_request(
        &self,
        name: &str,
        expires_at: Option<i64>,
        scopes: &[String],
        now: i64,
    ) -> Result<()> {
        let chars = name.chars().count();
        if chars == 0 || chars > self.pat.max_name_chars || name.chars().any(char::is_control) {
            return Err(Error::config(format!(
                "the name must be 1 to {} printable characters",
                self.pat.max_name_chars
            )));
        }
        if expires_at.is_some_and(|t| t <= now) {
            return Err(Error::config("expires_at must be in the future"));
        }
        if expires_at.is_some_and(|t| t > crate::claims::MAX_NUMERIC_DATE) {
            return Err(Error::config("expires_at is beyond year 9999"));
        }
        if scopes.len() > self.pat.max_scopes {
            return Err(Error::config(format!(
                "at most {} scopes are allowed",
                self.pat.max_scopes
            )));
        }
        for s in scopes {
            let ok = (1..=self.pat.max_scope_chars).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b":._-".contains(&b));
            if !ok {
                return Err(Error::config(format!(
                    "scope {s:?} must be 1 to {} characters of [a-z0-9:._-]",
                    self.pat.max_scope_chars
                )));
            }
        }
        let mut sorted: Vec<&String> = scopes.iter().collect();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != scopes.len() {
            return Err(Error::config("scopes must not repeat"));
        }
        Ok(())
    }
}

fn check_usable(rec: &PatRecord, now: i64) -> Result<()> {
    if rec.revoked_at.is_some() {
        return Err(Error::PatRevoked("the token was revoked".into()));
    }
    if rec.expires_at.is_some_and(|t| t <= now) {
        return Err(Error::PatExpired("the token has expired".into()));
    }
    Ok(())
}

fn live_record(tx: &dyn WriteTx, id: &Id16, now: i64) -> Result<Option<PatRecord>> {
    let Some(digest) = tx.pat_digest(id)? else {
        return Ok(None);
    };
    Ok(tx.pat(&digest)?.filter(|r| check_usable(r, now).is_ok()))
}

/// The 6 checksum characters for a prefix and secret.
fn checksum_chars(prefix: &str, secret: &str) -> [u8; CHECKSUM_CHARS] {
    let mut h = crc32fast::Hasher::new();
    h.update(prefix.as_bytes());
    h.update(secret.as_bytes());
    let mut v = h.finalize();
    let mut out = [b'0'; CHECKSUM_CHARS];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(v % 62) as usize];
        v /= 62;
    }
    out
}

/// 32 bytes as exactly 43 base62 characters, big-endian, zero-padded.
fn base62_encode_256(bytes: &[u8; 32]) -> String {
    let mut n = *bytes;
    let mut out = [b'0'; SECRET_CHARS];
    for slot in out.iter_mut().rev() {
        let mut rem = 0u32;
        for b in n.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = u8::try_from(cur / 62).unwrap_or(0);
            rem = cur % 62;
        }
        *slot = BASE62[rem as usize];
    }
    out.iter().map(|&b| char::from(b)).collect()
}

/// The encoding of 2^256 - 1, the largest secret.
fn max_secret() -> &'static [u8] {
    static MAX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    MAX.get_or_init(|| base62_encode_256(&[0xff; 32]))
        .as_bytes()
}

/// 43 base62 characters back to 32 bytes; `None` above 2^256 - 1.
fn base62_decode_256(text: &[u8]) -> Option<[u8; 32]> {
    if text.len() != SECRET_CHARS {
        return None;
    }
    let mut n = [0u8; 32];
    for &c in text {
        let digit = u32::try_from(BASE62.iter().position(|&d| d == c)?).ok()?;
        let mut carry = digit;
        for b in n.iter_mut().rev() {
            let cur = u32::from(*b) * 62 + carry;
            *b = (cur & 0xff) as u8;
            carry = cur >> 8;
        }
        if carry != 0 {
            return None;
        }
    }
    Some(n)
}

fn uuid_text(id: &Id16) -> String {
    let h = crate::claims::hex(id);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn parse_uuid(s: &str) -> Option<Id16> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let hex: Vec<u8> = b.iter().copied().filter(|&c| c != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// Round trips for property tests and fuzzing; not a stable API.
#[doc(hidden)]
pub mod codec {
    /// See [`super::base62_encode_256`].
    pub fn base62_encode(bytes: &[u8; 32]) -> String {
        super::base62_encode_256(bytes)
    }
    /// See [`super::base62_decode_256`].
    pub fn base62_decode(text: &str) -> Option<[u8; 32]> {
        super::base62_decode_256(text.as_bytes())
    }
    /// The checksum characters of a prefix and secret.
    pub fn checksum(prefix: &str, secret: &str) -> String {
        super::checksum_chars(prefix, secret)
            .iter()
            .map(|&b| char::from(b))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_round_trip_extremes() {
        for bytes in [[0u8; 32], [0xff; 32], [1; 32]] {
            let s = base62_encode_256(&bytes);
            assert_eq!(s.len(), SECRET_CHARS);
            assert_eq!(base62_decode_256(s.as_bytes()), Some(bytes));
        }
        assert!(
            base62_decode_256(&[b'z'; SECRET_CHARS]).is_none(),
            "above 2^256"
        );
    }

    #[test]
    fn range_check_by_bytes_agrees_with_the_numeric_decode() {
        assert!(
            BASE62.windows(2).all(|w| w[0] < w[1]),
            "alphabet in ASCII order"
        );
        let max = max_secret();
        assert_eq!(base62_decode_256(max), Some([0xff; 32]));
        // One above the maximum, in the last and in the first place.
        let mut over = max.to_vec();
        let last = over.len() - 1;
        over[last] = BASE62[BASE62.iter().position(|&c| c == over[last]).unwrap() + 1];
        assert!(over.as_slice() > max && base62_decode_256(&over).is_none());
        let mut first = vec![b'0'; SECRET_CHARS];
        first[0] = BASE62[BASE62.iter().position(|&c| c == max[0]).unwrap() + 1];
        assert!(first.as_slice() > max && base62_decode_256(&first).is_none());
    }

    #[test]
    fn uuid_round_trip() {
        let id = [0xab; 16];
        let text = uuid_text(&id);
        assert_eq!(text.len(), 36);
        assert_eq!(parse_uuid(&text), Some(id));
        assert_eq!(parse_uuid("not-a-uuid"), None);
    }

    #[test]
    fn format_check_rejects_each_kind_of_damage() {
        let secret = base62_encode_256(&[7; 32]);
        let sum = std::str::from_utf8(&checksum_chars("tsr_pat_", &secret))
            .unwrap()
            .to_owned();
        let token = format!("tsr_pat_{secret}{sum}");
        assert!(check_format("tsr_pat_", &token).is_ok());
        assert!(check_format("phub_pat_", &token).is_err());
        assert!(check_format("tsr_pat_", &token[1..]).is_err());
        let mut bad = token.clone();
        bad.replace_range(10..11, "!");
        assert_eq!(
            check_format("tsr_pat_", &bad).unwrap_err().code(),
            "pat_invalid"
        );
    }
}
