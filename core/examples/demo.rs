//! Issues, verifies and rotates tokens in a local redb file, then shows
//! what a replayed refresh token does.
//!
//! `cargo run --release -p tessera --example demo -- [path.redb]`

use serde_json::{json, Map};
use tessera::{Algorithm, Engine, EngineConfig, Key, KeySet};

fn main() -> Result<(), tessera::Error> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tessera-demo.redb".into());
    let key = Key::generate(Algorithm::EdDSA)?;
    let engine = Engine::open(&path, EngineConfig::new(KeySet::new(key)?))?;

    let mut claims = Map::new();
    claims.insert("role".into(), json!("admin"));
    let pair = engine.issue("42", claims)?;
    println!("issued a session for user 42 in {path}");
    println!("  access  token: {}…", &pair.access[..40]);
    println!("  refresh token: {}…", &pair.refresh[..40]);

    let c = engine.verify_access(&pair.access)?;
    println!(
        "verified: user {} role {} session {:?}",
        c.user_id, c.extra["role"], c.family
    );

    let next = engine.refresh(&pair.refresh)?;
    println!(
        "rotated: the new access token verifies: {}",
        engine.verify_access(&next.access).is_ok()
    );

    match engine.refresh(&pair.refresh) {
        Err(e) => println!(
            "replaying the old refresh token: {} ({})",
            e.code(),
            e.detail()
        ),
        Ok(_) => println!("BUG: a spent refresh token was accepted"),
    }
    match engine.verify_access(&next.access) {
        Err(e) => println!("the session is now revoked: {}", e.code()),
        Ok(_) => println!("BUG: the session survived a replay"),
    }
    println!("public keys (JWKS): {}", engine.jwks());
    let stats = engine.stats()?;
    println!(
        "store: {} session(s), {} bytes on disk",
        stats.families, stats.file_bytes
    );
    engine.close()
}
