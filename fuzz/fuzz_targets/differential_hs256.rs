//! Differential check against jsonwebtoken: whenever Tessera accepts an
//! HS256 token, jsonwebtoken with the same key and the same rules accepts
//! it too.
//!
//! Input: `header JSON 0xFF payload JSON`, or a payload alone (then the
//! header is the one Tessera signs with). 0xFF never occurs in UTF-8, so
//! the split is unambiguous. The target signs the input itself, so every
//! input gets past the signature. Both sides read the system clock.
#![no_main]

use std::sync::LazyLock;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use libfuzzer_sys::fuzz_target;
use tessera::internal::base64url;
use tessera::{jws, Clock, Jwt, SystemClock, Validation};
use tessera_fuzz::keys;

struct Setup {
    tessera: Vec<Jwt>,
    jwt: Vec<jsonwebtoken::Validation>,
    decoding: DecodingKey,
    encoding: EncodingKey,
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let mut strict = Validation::default();
    strict.issuer = Some("https://id.example".into());
    strict.audience = Some("api".into());
    strict.leeway = 30;
    let mut reference = Vec::new();
    for v in [&Validation::default(), &strict] {
        let mut r = jsonwebtoken::Validation::new(Algorithm::HS256);
        r.leeway = v.leeway;
        r.validate_exp = true;
        r.validate_nbf = true;
        r.validate_aud = true;
        r.set_required_spec_claims(&["exp"]);
        if let Some(iss) = &v.issuer {
            r.set_issuer(&[iss]);
        }
        if let Some(aud) = &v.audience {
            r.set_audience(&[aud]);
        }
        reference.push(r);
    }
    Setup {
        tessera: [Validation::default(), strict]
            .into_iter()
            .map(|v| Jwt::new(keys::single(keys::hs256()), v).expect("valid rules"))
            .collect(),
        jwt: reference,
        decoding: DecodingKey::from_secret(keys::HS256_SECRET),
        encoding: EncodingKey::from_secret(keys::HS256_SECRET),
    }
});

fuzz_target!(|data: &[u8]| {
    let setup = &*SETUP;
    let token = match data.iter().position(|&b| b == 0xff) {
        None => jws::sign(&keys::hs256(), data).expect("HMAC signing cannot fail"),
        Some(i) => {
            let signed = format!(
                "{}.{}",
                base64url::encode(&data[..i]),
                base64url::encode(&data[i + 1..])
            );
            let sig =
                jsonwebtoken::crypto::sign(signed.as_bytes(), &setup.encoding, Algorithm::HS256)
                    .expect("HMAC signing cannot fail");
            format!("{signed}.{sig}")
        }
    };
    for (jwt, reference) in setup.tessera.iter().zip(&setup.jwt) {
        let now = SystemClock.now();
        let Ok(claims) = jwt.verify(&token, None, now) else {
            continue;
        };
        if let Err(e) =
            jsonwebtoken::decode::<serde_json::Value>(&token, &setup.decoding, reference)
        {
            panic!(
                "Tessera accepted, jsonwebtoken refused: {e:?}\nclaims: {claims:?}\ntoken: {token}\nheader: {:?}",
                token
                    .split('.')
                    .next()
                    .and_then(|h| base64url::decode(h.as_bytes()))
                    .map(|h| String::from_utf8_lossy(&h).into_owned())
            );
        }
    }
});
