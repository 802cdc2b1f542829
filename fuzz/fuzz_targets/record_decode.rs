//! Arbitrary bytes read as a stored record of every table: the engine's
//! refresh, family and PAT records, and the client-side keeper's pair
//! record (with the `exp` of both tokens, as opening a keeper file reads
//! them). The result is a value or an error, never a panic or an unbounded
//! allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tessera::internal::decode_record(data);
    let _ = tessera::internal::decode_keeper_record(data);
});
