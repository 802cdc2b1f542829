//! Fixtures shared by the benchmarks.
// Bench fixtures: a failed setup step should stop the run loudly.
#![allow(clippy::unwrap_used)]

use serde_json::{Map, Value};
use tessera::Engine;

/// Fills `engine` with `n` sessions (families), 10,000 per commit, for
/// users `user0` to `user9999`.
pub fn fill(engine: &Engine, n: usize) {
    let users: Vec<String> = (0..10_000).map(|i| format!("user{i}")).collect();
    let mut left = n;
    while left > 0 {
        let take = left.min(users.len());
        let reqs: Vec<(&str, Map<String, Value>)> = users[..take]
            .iter()
            .map(|u| (u.as_str(), Map::new()))
            .collect();
        engine.issue_batch(&reqs).unwrap();
        left -= take;
    }
}
