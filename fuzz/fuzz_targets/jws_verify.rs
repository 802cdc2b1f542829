//! Arbitrary bytes as a compact JWS, against HS256, EdDSA and ES256 key
//! sets under the default and under tight limits. Nobody signed the input,
//! so nothing may verify; nothing may panic either.
//!
//! The same bytes also go to the client-side keeper, which reads `exp`
//! from tokens it cannot verify: that reading must never panic either.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tessera::{jws, KeySet, Limits, TokenKeeper, TokenPair};
use tessera_fuzz::keys;

struct Setup {
    sets: [KeySet; 4],
    limits: [Limits; 2],
    keeper: TokenKeeper,
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let mut tight = Limits::default();
    tight.max_token_bytes = 512;
    tight.max_header_bytes = 128;
    tight.max_json_depth = 2;
    tight.max_claims = 8;
    tight.max_string_bytes = 32;
    tight.check().expect("the tight limits still admit tokens");
    Setup {
        sets: [
            keys::single(keys::hs256()),
            keys::single(keys::eddsa()),
            keys::single(keys::es256()),
            keys::mixed(),
        ],
        limits: [Limits::default(), tight],
        keeper: TokenKeeper::in_memory(),
    }
});

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let setup = &*SETUP;
    for set in &setup.sets {
        for limits in &setup.limits {
            if let Ok(v) = jws::verify(set, token, limits) {
                panic!("accepted a token nobody signed, with key {:?}", v.key);
            }
        }
    }
    let pair = TokenPair {
        access: token.to_owned(),
        refresh: token.to_owned(),
        access_expires_at: 0,
        refresh_expires_at: 0,
    };
    let _ = setup.keeper.set(&pair);
});
