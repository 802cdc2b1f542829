//! Arbitrary bytes read as a stored record of every table. The result is a
//! value or an error, never a panic or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tessera::decode_record(data);
});
