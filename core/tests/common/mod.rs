//! Shared fixtures for the engine test suites.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tessera::{
    Algorithm, Engine, EngineConfig, Event, EventSink, Key, KeySet, ManualClock, Validation,
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

/// An in-memory engine at time T0, and its clock.
pub fn engine() -> (Engine, ManualClock) {
    let clock = ManualClock::new(T0);
    (Engine::in_memory(config(&clock)).unwrap(), clock)
}

pub fn engine_with(f: impl FnOnce(&mut EngineConfig)) -> (Engine, ManualClock) {
    let clock = ManualClock::new(T0);
    let mut cfg = config(&clock);
    f(&mut cfg);
    (Engine::in_memory(cfg).unwrap(), clock)
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
