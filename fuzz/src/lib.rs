//! Shared pieces of the fuzz targets: fixed keys (so that seeds written by
//! `examples/gen_seeds.rs` select the same keys the targets hold), and the
//! independent checkers the targets compare Tessera against.
//!
//! The checkers are written from the rules, not from Tessera's code: where
//! they agree with Tessera only because they share a bug, fuzzing finds
//! nothing, so they share no helper with the crate under test.

pub mod claims_check;
pub mod keys;
pub mod pat_check;
