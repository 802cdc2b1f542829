//! Shared fixtures for the engine test suites.
// Fixtures are test code; clippy only knows that inside #[test].
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tessera::{
    Algorithm, Engine, EngineConfig, Event, EventSink, Key, KeySet, ManualClock, StoreLocation,
    Validation,
};

pub const SECRET: &[u8] = b"test-secret-for-tessera-engine-suites-0123456789";
pub const T0: i64 = 1_700_000_000;

pub fn keys() -> KeySet {
    KeySet::new(Key::hmac(Algorithm::HS256, SECRET).unwrap()).unwrap()
}

pub fn config(clock: &ManualClock) -> EngineConfig {
    let mut cfg = EngineConfig::new(keys());
    cfg.clock = Arc::new(clock.clone());
    cfg
}

/// An engine at time T0 over the store under test, and its clock.
pub fn engine() -> (Engine, ManualClock) {
    engine_with(|_| {})
}

pub fn engine_with(f: impl FnOnce(&mut EngineConfig)) -> (Engine, ManualClock) {
    let clock = ManualClock::new(T0);
    let mut cfg = config(&clock);
    f(&mut cfg);
    (store_engine(cfg), clock)
}

/// The PostgreSQL URL the suites run against, from `TESSERA_TEST_POSTGRES`
/// (set by tests/pg/with-postgres.sh); without it they run on redb.
pub fn postgres_url() -> Option<String> {
    std::env::var("TESSERA_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Whether the suites run against PostgreSQL.
pub fn on_postgres() -> bool {
    postgres_url().is_some()
}

/// A fresh engine over the store under test: redb in memory, or a schema
/// of its own in the PostgreSQL database.
fn store_engine(cfg: EngineConfig) -> Engine {
    match postgres_url() {
        None => Engine::in_memory(cfg).unwrap(),
        Some(url) => postgres_engine(&url, cfg),
    }
}

/// One store that several engines open in turn or at once, as several
/// processes or hosts would: a redb file, or a PostgreSQL schema.
pub struct SharedStore {
    location: StoreLocation,
    _dir: Option<tempfile::TempDir>,
}

impl SharedStore {
    pub fn new() -> SharedStore {
        match postgres_url() {
            #[cfg(feature = "postgres")]
            Some(url) => SharedStore {
                location: StoreLocation::Postgres(
                    tessera::internal::postgres_testing::fresh_schema(&url, "tessera_test")
                        .unwrap(),
                ),
                _dir: None,
            },
            _ => {
                let dir = tempfile::tempdir().unwrap();
                SharedStore {
                    location: StoreLocation::File(dir.path().join("shared.redb")),
                    _dir: Some(dir),
                }
            }
        }
    }

    pub fn open(&self, cfg: EngineConfig) -> Engine {
        Engine::open_location(self.location.clone(), cfg).unwrap()
    }
}

#[cfg(feature = "postgres")]
fn postgres_engine(url: &str, cfg: EngineConfig) -> Engine {
    let url = tessera::internal::postgres_testing::fresh_schema(url, "tessera_test").unwrap();
    Engine::connect(&url, cfg).unwrap()
}

#[cfg(not(feature = "postgres"))]
fn postgres_engine(_: &str, _: EngineConfig) -> Engine {
    panic!("TESSERA_TEST_POSTGRES is set, but the tests were built without the postgres feature")
}

pub fn validation() -> Validation {
    Validation::default()
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// An event sink that keeps everything it receives.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<Event>>);

impl EventSink for Recorder {
    fn emit(&self, event: &Event) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Recorder {
    pub fn kinds(&self) -> Vec<&'static str> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.kind.as_str())
            .collect()
    }
}

/// A simplejwt-shaped refresh token (no `sid`), signed by jsonwebtoken with
/// the shared secret, as djangorestframework-simplejwt would mint it.
pub fn simplejwt_refresh(user_id: serde_json::Value, iat: i64, jti: &str) -> String {
    let claims = serde_json::json!({
        "token_type": "refresh",
        "exp": iat + 14 * 86_400,
        "iat": iat,
        "jti": jti,
        "user_id": user_id,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

pub fn simplejwt_access(user_id: &str, iat: i64, jti: &str) -> String {
    let claims = serde_json::json!({
        "token_type": "access",
        "exp": iat + 300,
        "iat": iat,
        "jti": jti,
        "user_id": user_id,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}
