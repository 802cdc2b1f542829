//! Fixed test keys. They sign nothing outside fuzzing and are public.

use tessera::{Algorithm, Key, KeySet};

/// The HS256 secret of every HMAC target.
pub const HS256_SECRET: &[u8; 32] = b"tessera-fuzz-hs256-secret-32byte";

/// A P-256 private key (PKCS#8), generated once with `openssl genpkey`.
pub const ES256_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0oy4gU5hhRpahP7b
3LIRGSbxIfSk/ViDiZWAw0/cbeehRANCAAQg58PxAAUOBQZvu4ylyKHSnsSCmzyq
Q97fwWlg1n2SdJUQN5wUVeXEIfrmAgeCJiLBKSgv06kk1cLgJxc70NM6
-----END PRIVATE KEY-----
";

/// An Ed25519 private key (PKCS#8), generated once with `openssl genpkey`.
pub const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIG2Dh8Wky6Fk+pBRRDB6Ivtj7Zbb6NAWGdcSKVdXJomt
-----END PRIVATE KEY-----
";

/// The HS256 key.
pub fn hs256() -> Key {
    Key::hmac(Algorithm::HS256, HS256_SECRET).expect("a 32-byte HS256 secret is valid")
}

/// The EdDSA key.
pub fn eddsa() -> Key {
    Key::from_pem(Algorithm::EdDSA, ED25519_PEM).expect("the fixed Ed25519 key parses")
}

/// The ES256 key.
pub fn es256() -> Key {
    Key::from_pem(Algorithm::ES256, ES256_PEM).expect("the fixed P-256 key parses")
}

/// A signing set of one key.
pub fn single(key: Key) -> KeySet {
    KeySet::new(key).expect("a private key can sign")
}

/// All three keys in one set: HS256 signs, the others verify by `kid`.
pub fn mixed() -> KeySet {
    let mut set = single(hs256());
    set.add(eddsa()).expect("kids differ");
    set.add(es256()).expect("kids differ");
    set
}
