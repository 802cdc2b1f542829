//! Placeholder until the JWT benchmarks land.
fn main() {}
