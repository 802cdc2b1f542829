//! Arbitrary strings through the offline PAT format check, with the default
//! prefix and a short one. It never panics, and accepts exactly what the
//! independent reading of the format accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::pat::check_format;
use tessera_fuzz::pat_check::well_formed;

const PREFIXES: [&str; 2] = ["tsr_pat_", "x_"];

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    for prefix in PREFIXES {
        let tessera = check_format(prefix, &token);
        if let Err(e) = &tessera {
            assert_eq!(e.code(), "pat_invalid", "{e}");
        }
        assert_eq!(
            tessera.is_ok(),
            well_formed(prefix, &token),
            "prefix {prefix:?}, token {token:?}: Tessera says {tessera:?}"
        );
    }
});
