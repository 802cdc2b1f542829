//! An independent reading of the PAT format (`core/src/engine/pat_token.rs` module
//! docs): `<prefix><43 base62 secret chars><6 base62 CRC32 chars>`.
//!
//! Written without Tessera's helpers: the secret's range is checked by
//! comparing text (the base62 alphabet is in ASCII order and the width is
//! fixed, so text order is numeric order), and CRC32 is computed bit by bit.

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// 2^256 - 1 in 43 base62 digits, computed outside Rust.
const MAX_SECRET: &str = "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1";

/// Whether `token` is a well-formed PAT for `prefix`.
pub fn well_formed(prefix: &str, token: &str) -> bool {
    let Some(body) = token.strip_prefix(prefix) else {
        return false;
    };
    if body.len() != 49 || !body.bytes().all(|b| ALPHABET.contains(&b)) {
        return false;
    }
    let (secret, sum) = body.split_at(43);
    secret <= MAX_SECRET && sum == checksum(prefix, secret)
}

/// The 6-character checksum of a prefix and secret.
pub fn checksum(prefix: &str, secret: &str) -> String {
    let mut crc = 0xffff_ffffu32;
    for &b in prefix.as_bytes().iter().chain(secret.as_bytes()) {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    let mut v = !crc;
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(v % 62) as usize];
        v /= 62;
    }
    String::from_utf8(out.to_vec()).expect("base62 digits are ASCII")
}
