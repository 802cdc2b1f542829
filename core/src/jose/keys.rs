//! Keys and key sets: the only place key material lives.
//!
//! Invariants:
//! - every [`Key`] pins exactly one [`Algorithm`]; a token is checked only
//!   with the algorithm of the key selected for it, never with the one its
//!   header names (RFC 8725 §3.1);
//! - HMAC secrets are at least as long as the hash output (RFC 7518 §3.2);
//!   RSA moduli are at least 2048 bits;
//! - secret material (HMAC secrets and keyed states, PKCS#8 documents) is
//!   wiped on drop and never shown by `Debug`. ring's own key schedules are
//!   not wiped by ring; docs/security.md records that limit;
//! - a [`KeySet`] has at most one signing key, and kids are unique in it.

use std::fmt;
use std::str::FromStr;

use hmac::{KeyInit, Mac};
use ring::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

use super::{b64, pem};
use crate::error::{Error, Result};
use crate::rand;

type HmacSha256 = hmac::Hmac<Sha256>;
type HmacSha384 = hmac::Hmac<Sha384>;
type HmacSha512 = hmac::Hmac<Sha512>;

/// A JWS algorithm that Tessera implements (RFC 7518, RFC 8037).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// Ed25519 (RFC 8037).
    EdDSA,
    /// ECDSA on P-256 with SHA-256, fixed-width `r‖s` signatures.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 6] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::EdDSA,
        Algorithm::ES256,
        Algorithm::RS256,
    ];

    /// The JOSE name, as it appears in `alg`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::EdDSA => "EdDSA",
            Algorithm::ES256 => "ES256",
            Algorithm::RS256 => "RS256",
        }
    }

    /// Whether the algorithm uses one shared secret (HMAC).
    pub fn is_symmetric(self) -> bool {
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }

    fn hmac_len(self) -> usize {
        match self {
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => 32,
        }
    }
}

impl FromStr for Algorithm {
    type Err = Error;
    /// Exact, case-sensitive JOSE names only; `none` is never an algorithm.
    fn from_str(s: &str) -> Result<Self> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| Error::config(format!("unsupported algorithm {s:?}")))
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A key id: 1 to 128 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Kid(String);

impl Kid {
    /// Checks and wraps a key id.
    pub fn new(kid: impl Into<String>) -> Result<Self> {
        let kid = kid.into();
        if kid.is_empty() || kid.len() > 128 || !kid.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return Err(Error::config(
                "kid must be 1 to 128 visible ASCII characters",
            ));
        }
        Ok(Kid(kid))
    }

    /// The key id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One key: an algorithm, its material, and a `kid`.
pub struct Key {
    kid: Kid,
    alg: Algorithm,
    material: Material,
    /// The base64url of the header this key signs with. Verification compares
    /// a token's header segment against it first: an exact match is a header
    /// we produced ourselves, so it needs no decoding.
    header_b64: String,
}

enum Material {
    Hmac(Box<HmacKey>),
    Ed25519 {
        pair: Option<Box<Ed25519KeyPair>>,
        pkcs8: Option<Zeroizing<Vec<u8>>>,
        public: Vec<u8>,
    },
    Es256 {
        pair: Option<Box<EcdsaKeyPair>>,
        pkcs8: Option<Zeroizing<Vec<u8>>>,
        /// Uncompressed SEC1 point, 65 bytes.
        public: Vec<u8>,
    },
    Rs256 {
        pair: Option<Box<RsaKeyPair>>,
        pkcs8: Option<Zeroizing<Vec<u8>>>,
        /// Big-endian, without leading zeros, as ring verifies with them.
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

/// A pre-keyed HMAC: the inner and outer pads are computed once, so each
/// token costs only the message blocks. The keyed state is as secret as the
/// key, and the hmac crate wipes it on drop (feature `zeroize`).
struct HmacKey {
    secret: Zeroizing<Vec<u8>>,
    state: HmacState,
}

#[derive(Clone)]
enum HmacState {
    S256(HmacSha256),
    S384(HmacSha384),
    S512(HmacSha512),
}

impl HmacState {
    fn new(alg: Algorithm, secret: &[u8]) -> Result<Self> {
        let bad = |_| Error::config("HMAC key rejected");
        Ok(match alg {
            Algorithm::HS256 => HmacState::S256(HmacSha256::new_from_slice(secret).map_err(bad)?),
            Algorithm::HS384 => HmacState::S384(HmacSha384::new_from_slice(secret).map_err(bad)?),
            Algorithm::HS512 => HmacState::S512(HmacSha512::new_from_slice(secret).map_err(bad)?),
            _ => return Err(Error::config("not an HMAC algorithm")),
        })
    }

    fn tag(&self, msg: &[u8]) -> Vec<u8> {
        match self.clone() {
            HmacState::S256(mut m) => {
                m.update(msg);
                m.finalize().into_bytes().to_vec()
            }
            HmacState::S384(mut m) => {
                m.update(msg);
                m.finalize().into_bytes().to_vec()
            }
            HmacState::S512(mut m) => {
                m.update(msg);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    /// Constant-time check of a full-length tag (the hmac crate compares
    /// with `subtle`; a truncated tag is rejected by length first).
    fn check(&self, msg: &[u8], tag: &[u8]) -> bool {
        match self.clone() {
            HmacState::S256(mut m) => {
                m.update(msg);
                m.verify_slice(tag).is_ok()
            }
            HmacState::S384(mut m) => {
                m.update(msg);
                m.verify_slice(tag).is_ok()
            }
            HmacState::S512(mut m) => {
                m.update(msg);
                m.verify_slice(tag).is_ok()
            }
        }
    }
}

impl Key {
    /// An HMAC key. The secret must be at least as long as the hash output:
    /// 32 bytes for HS256, 48 for HS384, 64 for HS512 (RFC 7518 §3.2).
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Key> {
        if !alg.is_symmetric() {
            return Err(Error::config(format!(
                "{alg} is not an HMAC algorithm; use Key::from_pem"
            )));
        }
        if secret.len() < alg.hmac_len() {
            return Err(Error::config(format!(
                "{alg} needs a secret of at least {} bytes, got {}",
                alg.hmac_len(),
                secret.len()
            )));
        }
        let state = HmacState::new(alg, secret)?;
        let kid = hmac_kid(secret);
        Ok(Key::assemble(
            kid,
            alg,
            Material::Hmac(Box::new(HmacKey {
                secret: Zeroizing::new(secret.to_vec()),
                state,
            })),
        ))
    }

    /// Generates a fresh key: a random secret of twice the hash length for
    /// HMAC, or a new Ed25519 or P-256 key pair. RS256 keys cannot be
    /// generated here (ring has no RSA key generation); import one.
    pub fn generate(alg: Algorithm) -> Result<Key> {
        match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let mut secret = Zeroizing::new(vec![0u8; alg.hmac_len() * 2]);
                rand::fill(&mut secret)?;
                Key::hmac(alg, &secret)
            }
            Algorithm::EdDSA => {
                let doc = Ed25519KeyPair::generate_pkcs8(rand::system())
                    .map_err(|_| Error::random("Ed25519 key generation failed"))?;
                Key::from_pkcs8_der(alg, doc.as_ref())
            }
            Algorithm::ES256 => {
                let doc = EcdsaKeyPair::generate_pkcs8(
                    &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                    rand::system(),
                )
                .map_err(|_| Error::random("P-256 key generation failed"))?;
                Key::from_pkcs8_der(alg, doc.as_ref())
            }
            Algorithm::RS256 => Err(Error::config(
                "RS256 keys cannot be generated; import a PKCS#8 RSA key",
            )),
        }
    }

    /// Imports a PEM key: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY`
    /// (PKCS#1, RS256 only) or `PUBLIC KEY` (SPKI).
    pub fn from_pem(alg: Algorithm, text: &str) -> Result<Key> {
        let (label, der) = pem::decode(text).ok_or_else(|| {
            Error::config(
                "not a PEM document: one BEGIN/END block with matching labels, nothing after it",
            )
        })?;
        match label.as_str() {
            "PRIVATE KEY" => Key::from_pkcs8_der(alg, &der),
            "PUBLIC KEY" => Key::from_spki_der(alg, &der),
            "RSA PRIVATE KEY" if alg == Algorithm::RS256 => {
                let pair = RsaKeyPair::from_der(&der)
                    .map_err(|e| Error::config(format!("RSA key rejected: {e}")))?;
                Key::rsa_from_pair(pair, None)
            }
            other => Err(Error::config(format!(
                "unsupported PEM label {other:?} for {alg}; use PKCS#8 or SPKI"
            ))),
        }
    }

    /// Imports the signing key a host keeps in its settings: the raw secret
    /// for the HMAC algorithms, a PEM document ([`Key::from_pem`]) for the
    /// others. Bindings and framework integrations read keys through this,
    /// so they agree on what a setting means.
    pub fn from_setting(alg: Algorithm, material: &[u8]) -> Result<Key> {
        if alg.is_symmetric() {
            return Key::hmac(alg, material);
        }
        let pem = std::str::from_utf8(material)
            .map_err(|_| Error::config(format!("a {alg} key must be PEM text")))?;
        Key::from_pem(alg, pem)
    }

    /// The signing key of settings that keep the secret and the PEM key in
    /// separate fields (the mobile bindings' configuration): exactly one of
    /// them must be given, the one that suits `alg`.
    pub fn from_secret_or_pem(
        alg: Algorithm,
        secret: Option<&[u8]>,
        pem: Option<&str>,
    ) -> Result<Key> {
        match (secret, pem) {
            (Some(secret), None) => Key::hmac(alg, secret),
            (None, Some(pem)) => Key::from_pem(alg, pem),
            _ => Err(Error::config(
                "give exactly one of a secret (HMAC) and a PEM private key",
            )),
        }
    }

    /// Imports a PKCS#8 private key (DER) for an asymmetric algorithm.
    pub fn from_pkcs8_der(alg: Algorithm, pkcs8: &[u8]) -> Result<Key> {
        let keep = Some(Zeroizing::new(pkcs8.to_vec()));
        match alg {
            Algorithm::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
                    .map_err(|e| Error::config(format!("Ed25519 key rejected: {e}")))?;
                let public = pair.public_key().as_ref().to_vec();
                Ok(Key::with_thumbprint(
                    alg,
                    Material::Ed25519 {
                        pair: Some(Box::new(pair)),
                        pkcs8: keep,
                        public,
                    },
                ))
            }
            Algorithm::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(
                    &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                    pkcs8,
                    rand::system(),
                )
                .map_err(|e| Error::config(format!("P-256 key rejected: {e}")))?;
                let public = pair.public_key().as_ref().to_vec();
                Ok(Key::with_thumbprint(
                    alg,
                    Material::Es256 {
                        pair: Some(Box::new(pair)),
                        pkcs8: keep,
                        public,
                    },
                ))
            }
            Algorithm::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(pkcs8)
                    .map_err(|e| Error::config(format!("RSA key rejected: {e}")))?;
                Key::rsa_from_pair(pair, keep)
            }
            _ => Err(Error::config(format!(
                "{alg} takes a secret, not a private key"
            ))),
        }
    }

    fn rsa_from_pair(pair: RsaKeyPair, pkcs8: Option<Zeroizing<Vec<u8>>>) -> Result<Key> {
        let sig::RsaPublicKeyComponents { n, e } =
            sig::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
        Key::check_rsa_size(&n)?;
        Ok(Key::with_thumbprint(
            Algorithm::RS256,
            Material::Rs256 {
                pair: Some(Box::new(pair)),
                pkcs8,
                n,
                e,
            },
        ))
    }

    fn check_rsa_size(n: &[u8]) -> Result<()> {
        if n.len() < 256 || n.len() > 1024 {
            return Err(Error::config("RSA modulus must be 2048 to 8192 bits"));
        }
        Ok(())
    }

    /// Imports a SubjectPublicKeyInfo public key (DER); the key verifies only.
    pub fn from_spki_der(alg: Algorithm, spki: &[u8]) -> Result<Key> {
        let info = pem::spki(spki).ok_or_else(|| Error::config("malformed SPKI public key"))?;
        let material = match (alg, info.algorithm, info.parameters) {
            (Algorithm::EdDSA, pem::OID_ED25519, None)
                if !info.has_parameters && info.key.len() == 32 =>
            {
                Material::Ed25519 {
                    pair: None,
                    pkcs8: None,
                    public: info.key.to_vec(),
                }
            }
            (Algorithm::ES256, pem::OID_EC, Some(pem::OID_P256)) => ec_public(info.key.to_vec())?,
            (Algorithm::RS256, pem::OID_RSA, _) => {
                let (n, e) = pem::rsa_public(info.key)
                    .ok_or_else(|| Error::config("malformed RSA public key"))?;
                rsa_public(n, e)?
            }
            _ => return Err(Error::config(format!("the public key is not a {alg} key"))),
        };
        Ok(Key::with_thumbprint(alg, material))
    }

    /// Imports a JWK (RFC 7517): a public `OKP`/`EC`/`RSA` key, or an `oct`
    /// secret. `alg`, when present, must name a supported algorithm and agree
    /// with the key type; `kid` is kept, or derived when absent. Private
    /// asymmetric members (`d`) are refused: import private keys as PKCS#8.
    pub fn from_jwk(jwk: &Value) -> Result<Key> {
        let obj = jwk
            .as_object()
            .ok_or_else(|| Error::config("a JWK must be a JSON object"))?;
        let text = |name: &str| -> Result<Option<&str>> {
            match obj.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(Error::config(format!("JWK member {name} must be a string"))),
            }
        };
        let bytes = |name: &str| -> Result<Vec<u8>> {
            let s = text(name)?.ok_or_else(|| Error::config(format!("JWK lacks {name}")))?;
            b64::decode(s.as_bytes())
                .ok_or_else(|| Error::config(format!("JWK member {name} is not base64url")))
        };
        let alg = text("alg")?.map(Algorithm::from_str).transpose()?;
        if let Some(u) = text("use")? {
            if u != "sig" {
                return Err(Error::config("JWK use must be sig"));
            }
        }
        // RFC 7517 §4.3: a key whose key_ops leave out "verify" is not meant
        // for checking signatures, whatever else it may be for.
        if let Some(ops) = obj.get("key_ops") {
            if !ops
                .as_array()
                .is_some_and(|ops| ops.iter().any(|op| op == "verify"))
            {
                return Err(Error::config("JWK key_ops must include verify"));
            }
        }
        let kty = text("kty")?.ok_or_else(|| Error::config("JWK lacks kty"))?;
        if kty != "oct" && obj.contains_key("d") {
            return Err(Error::config(
                "private JWKs are not imported; use a PKCS#8 PEM",
            ));
        }
        let crv = text("crv")?;
        let (alg, material) = match (kty, crv, alg) {
            ("oct", None, Some(a)) if a.is_symmetric() => {
                let secret = Zeroizing::new(bytes("k")?);
                let mut key = Key::hmac(a, &secret)?;
                if let Some(kid) = text("kid")? {
                    key = key.with_kid(kid)?;
                }
                return Ok(key);
            }
            ("oct", _, _) => {
                return Err(Error::config("an oct JWK needs alg HS256, HS384 or HS512"))
            }
            ("OKP", Some("Ed25519"), None | Some(Algorithm::EdDSA)) => {
                let public = bytes("x")?;
                if public.len() != 32 {
                    return Err(Error::config("Ed25519 x must be 32 bytes"));
                }
                (
                    Algorithm::EdDSA,
                    Material::Ed25519 {
                        pair: None,
                        pkcs8: None,
                        public,
                    },
                )
            }
            ("EC", Some("P-256"), None | Some(Algorithm::ES256)) => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(Error::config("P-256 x and y must be 32 bytes each"));
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                (Algorithm::ES256, ec_public(point)?)
            }
            ("RSA", None, None | Some(Algorithm::RS256)) => {
                let (n, e) = (bytes("n")?, bytes("e")?);
                if n.first() == Some(&0) || e.first() == Some(&0) {
                    return Err(Error::config("RSA n and e must have no leading zero"));
                }
                (Algorithm::RS256, rsa_public(&n, &e)?)
            }
            _ => {
                return Err(Error::config(format!(
                    "unsupported JWK: kty {kty:?}, crv {crv:?}, alg {:?}",
                    alg.map(Algorithm::name)
                )))
            }
        };
        let key = Key::with_thumbprint(alg, material);
        match text("kid")? {
            Some(kid) => key.with_kid(kid),
            None => Ok(key),
        }
    }

    /// Replaces the key id.
    pub fn with_kid(mut self, kid: &str) -> Result<Key> {
        self.kid = Kid::new(kid)?;
        self.header_b64 = header_b64(self.alg, &self.kid);
        Ok(self)
    }

    /// The key id.
    pub fn kid(&self) -> &Kid {
        &self.kid
    }

    /// The one algorithm this key is used with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Whether the key can sign (an HMAC secret or a private key).
    pub fn can_sign(&self) -> bool {
        match &self.material {
            Material::Hmac(_) => true,
            Material::Ed25519 { pair, .. } => pair.is_some(),
            Material::Es256 { pair, .. } => pair.is_some(),
            Material::Rs256 { pair, .. } => pair.is_some(),
        }
    }

    /// The public JWK with `kid`, `alg` and `use`; `None` for HMAC keys,
    /// which have no public half.
    pub fn public_jwk(&self) -> Option<Value> {
        let mut jwk = match self.thumbprint_members()? {
            Value::Object(m) => m,
            _ => return None,
        };
        jwk.insert("kid".into(), Value::String(self.kid.0.clone()));
        jwk.insert("alg".into(), Value::String(self.alg.name().into()));
        jwk.insert("use".into(), Value::String("sig".into()));
        Some(Value::Object(jwk))
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url); `None` for HMAC keys.
    pub fn thumbprint(&self) -> Option<String> {
        // serde_json's map keeps keys sorted, which is the canonical order
        // RFC 7638 §3 asks for; the members carry no characters to escape.
        let canonical = serde_json::to_vec(&self.thumbprint_members()?).ok()?;
        Some(b64::encode(&Sha256::digest(&canonical)))
    }

    /// The private key as PKCS#8 PEM, or the HMAC secret as base64url, for
    /// writing into a host's settings. The result is wiped on drop. `None`
    /// for verify-only keys.
    pub fn export_secret(&self) -> Option<Zeroizing<String>> {
        match &self.material {
            Material::Hmac(h) => Some(Zeroizing::new(b64::encode(&h.secret))),
            Material::Ed25519 { pkcs8, .. }
            | Material::Es256 { pkcs8, .. }
            | Material::Rs256 { pkcs8, .. } => {
                pkcs8.as_ref().and_then(|d| pem::encode("PRIVATE KEY", d))
            }
        }
    }

    /// Signs `msg` (a JWS signing input).
    pub(crate) fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        let no_private = || Error::config(format!("key {} is verify-only", self.kid));
        match &self.material {
            Material::Hmac(h) => Ok(h.state.tag(msg)),
            Material::Ed25519 { pair, .. } => Ok(pair
                .as_ref()
                .ok_or_else(no_private)?
                .sign(msg)
                .as_ref()
                .to_vec()),
            Material::Es256 { pair, .. } => pair
                .as_ref()
                .ok_or_else(no_private)?
                .sign(rand::system(), msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| Error::random("ECDSA signing failed: the random generator failed")),
            Material::Rs256 { pair, .. } => {
                let pair = pair.as_ref().ok_or_else(no_private)?;
                let mut out = vec![0u8; pair.public().modulus_len()];
                pair.sign(&sig::RSA_PKCS1_SHA256, rand::system(), msg, &mut out)
                    .map_err(|_| {
                        Error::random("RSA signing failed: the random generator failed")
                    })?;
                Ok(out)
            }
        }
    }

    /// The exact signature length this key produces and accepts.
    pub(crate) fn signature_len(&self) -> usize {
        match &self.material {
            Material::Hmac(_) => self.alg.hmac_len(),
            Material::Ed25519 { .. } | Material::Es256 { .. } => 64,
            Material::Rs256 { n, .. } => n.len(),
        }
    }

    /// Checks `signature` over `msg`. Lengths are checked first; HMAC tags
    /// are compared in constant time.
    pub(crate) fn verify(&self, msg: &[u8], signature: &[u8]) -> bool {
        if signature.len() != self.signature_len() {
            return false;
        }
        match &self.material {
            Material::Hmac(h) => h.state.check(msg, signature),
            Material::Ed25519 { public, .. } => sig::UnparsedPublicKey::new(&sig::ED25519, public)
                .verify(msg, signature)
                .is_ok(),
            Material::Es256 { public, .. } => {
                sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, public)
                    .verify(msg, signature)
                    .is_ok()
            }
            Material::Rs256 { n, e, .. } => sig::RsaPublicKeyComponents { n, e }
                .verify(&sig::RSA_PKCS1_2048_8192_SHA256, msg, signature)
                .is_ok(),
        }
    }

    /// Checks `signature` over raw `msg` bytes, outside any JWS, with the same
    /// length rule and constant-time comparison as token verification.
    ///
    /// For test vectors and fuzzing; not a stable API.
    #[doc(hidden)]
    pub fn verify_raw(&self, msg: &[u8], signature: &[u8]) -> bool {
        self.verify(msg, signature)
    }

    /// The base64url header this key signs with.
    pub(crate) fn header_b64(&self) -> &str {
        &self.header_b64
    }

    fn assemble(kid: Kid, alg: Algorithm, material: Material) -> Key {
        Key {
            header_b64: header_b64(alg, &kid),
            kid,
            alg,
            material,
        }
    }

    fn with_thumbprint(alg: Algorithm, material: Material) -> Key {
        let mut key = Key::assemble(Kid(String::new()), alg, material);
        // `with_thumbprint` is only called with asymmetric material, which
        // always has thumbprint members.
        #[allow(clippy::expect_used)]
        let kid = key
            .thumbprint()
            .expect("asymmetric material has a thumbprint");
        key.kid = Kid(kid);
        key.header_b64 = header_b64(alg, &key.kid);
        key
    }

    /// The RFC 7638 required members, which are also the public JWK.
    fn thumbprint_members(&self) -> Option<Value> {
        Some(match &self.material {
            Material::Hmac(_) => return None,
            Material::Ed25519 { public, .. } => json!({
                "crv": "Ed25519", "kty": "OKP", "x": b64::encode(public),
            }),
            Material::Es256 { public, .. } => json!({
                "crv": "P-256", "kty": "EC",
                "x": b64::encode(&public[1..33]), "y": b64::encode(&public[33..65]),
            }),
            Material::Rs256 { n, e, .. } => json!({
                "e": b64::encode(e), "kty": "RSA", "n": b64::encode(n),
            }),
        })
    }
}

fn ec_public(point: Vec<u8>) -> Result<Material> {
    if point.len() != 65 || point[0] != 4 {
        return Err(Error::config(
            "P-256 public key must be an uncompressed point",
        ));
    }
    Ok(Material::Es256 {
        pair: None,
        pkcs8: None,
        public: point,
    })
}

fn rsa_public(n: &[u8], e: &[u8]) -> Result<Material> {
    Key::check_rsa_size(n)?;
    if e.is_empty() || e.len() > 4 {
        return Err(Error::config("RSA exponent out of range"));
    }
    Ok(Material::Rs256 {
        pair: None,
        pkcs8: None,
        n: n.to_vec(),
        e: e.to_vec(),
    })
}

/// A kid for an HMAC secret: a keyed hash, so it reveals nothing about the
/// secret that a signed token does not already.
fn hmac_kid(secret: &[u8]) -> Kid {
    #[allow(clippy::expect_used)]
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(b"tessera kid v1");
    let tag = mac.finalize().into_bytes();
    Kid(format!("hs-{}", b64::encode(&tag[..12])))
}

fn header_b64(alg: Algorithm, kid: &Kid) -> String {
    // Serialising a JSON value built here, with string keys, cannot fail.
    #[allow(clippy::expect_used)]
    let header = serde_json::to_string(&json!({
        "alg": alg.name(), "kid": kid.as_str(), "typ": "JWT",
    }))
    .expect("a JSON object serialises");
    b64::encode(header.as_bytes())
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid.0)
            .field("alg", &self.alg)
            .field("can_sign", &self.can_sign())
            .finish_non_exhaustive()
    }
}

/// One signing key plus any number of verify-only keys, so that keys rotate
/// without logging anyone out.
///
/// Invariant: kids are unique; `signing` and `kidless`, when set, index into
/// `keys`, and the signing key can sign.
#[derive(Debug)]
pub struct KeySet {
    keys: Vec<Key>,
    signing: Option<usize>,
    kidless: Option<usize>,
}

impl KeySet {
    /// A set whose signing key is `signing`. Tokens without a `kid` are
    /// checked with it too, until [`KeySet::set_kidless`] says otherwise.
    pub fn new(signing: Key) -> Result<KeySet> {
        if !signing.can_sign() {
            return Err(Error::config(format!(
                "key {} has no private half and cannot sign",
                signing.kid
            )));
        }
        Ok(KeySet {
            keys: vec![signing],
            signing: Some(0),
            kidless: Some(0),
        })
    }

    /// A set that only verifies. When it holds exactly one key, kid-less
    /// tokens are checked with that key.
    pub fn verify_only(keys: Vec<Key>) -> Result<KeySet> {
        let mut set = KeySet {
            keys: Vec::with_capacity(keys.len()),
            signing: None,
            kidless: None,
        };
        for k in keys {
            set.add(k)?;
        }
        if set.keys.len() == 1 {
            set.kidless = Some(0);
        }
        Ok(set)
    }

    /// Reads a JWKS document (`{"keys":[...]}`) into a verify-only set.
    pub fn from_jwks(jwks: &str) -> Result<KeySet> {
        let doc: Value = serde_json::from_str(jwks)
            .map_err(|e| Error::config(format!("JWKS is not JSON: {e}")))?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::config("JWKS lacks a keys array"))?;
        KeySet::verify_only(keys.iter().map(Key::from_jwk).collect::<Result<_>>()?)
    }

    /// Adds a verify-only key (for example a retired signing key).
    pub fn add(&mut self, key: Key) -> Result<()> {
        if self.find(key.kid.as_str()).is_some() {
            return Err(Error::config(format!("duplicate kid {}", key.kid)));
        }
        self.keys.push(key);
        Ok(())
    }

    /// Makes `key` the signing key; the old one stays as verify-only, and
    /// kid-less tokens keep using whichever key they used before.
    pub fn rotate(&mut self, key: Key) -> Result<()> {
        if !key.can_sign() {
            return Err(Error::config("the new signing key cannot sign"));
        }
        self.add(key)?;
        self.signing = Some(self.keys.len() - 1);
        Ok(())
    }

    /// Removes a key; tokens it signed stop verifying. The signing key cannot
    /// be removed.
    pub fn remove(&mut self, kid: &str) -> Result<bool> {
        let Some(i) = self.keys.iter().position(|k| k.kid.0 == kid) else {
            return Ok(false);
        };
        if self.signing == Some(i) {
            return Err(Error::config("the signing key cannot be removed"));
        }
        self.keys.remove(i);
        let shift = |slot: &mut Option<usize>| match *slot {
            Some(j) if j == i => *slot = None,
            Some(j) if j > i => *slot = Some(j - 1),
            _ => {}
        };
        shift(&mut self.signing);
        shift(&mut self.kidless);
        Ok(true)
    }

    /// Chooses the key for tokens without `kid` (simplejwt mints them so).
    pub fn set_kidless(&mut self, kid: Option<&str>) -> Result<()> {
        self.kidless = match kid {
            None => None,
            Some(kid) => Some(
                self.keys
                    .iter()
                    .position(|k| k.kid.0 == kid)
                    .ok_or_else(|| Error::config(format!("unknown kid {kid}")))?,
            ),
        };
        Ok(())
    }

    /// The signing key, if the set has one.
    pub fn signing_key(&self) -> Option<&Key> {
        self.signing.map(|i| &self.keys[i])
    }

    /// The key for kid-less tokens, if any.
    pub fn kidless_key(&self) -> Option<&Key> {
        self.kidless.map(|i| &self.keys[i])
    }

    /// The key with this kid.
    pub fn find(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.kid.0 == kid)
    }

    /// Every key, signing key included.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// The public keys as a JWKS document (RFC 7517 §5). HMAC keys are left
    /// out: they have no public half.
    pub fn jwks(&self) -> String {
        let keys: Vec<Value> = self.keys.iter().filter_map(Key::public_jwk).collect();
        let mut doc = Map::new();
        doc.insert("keys".into(), Value::Array(keys));
        Value::Object(doc).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_are_exact() {
        assert_eq!("HS256".parse::<Algorithm>().unwrap(), Algorithm::HS256);
        for bad in ["hs256", "none", "None", "EDDSA", "ES256K", ""] {
            assert_eq!(
                bad.parse::<Algorithm>().unwrap_err().code(),
                "config_invalid"
            );
        }
    }

    #[test]
    fn short_hmac_secret_is_config_invalid() {
        let e = Key::hmac(Algorithm::HS256, &[7u8; 31]).unwrap_err();
        assert_eq!(e.code(), "config_invalid");
        assert!(e.detail().contains("32 bytes"));
        assert!(Key::hmac(Algorithm::HS512, &[7u8; 63]).is_err());
        assert!(Key::hmac(Algorithm::HS512, &[7u8; 64]).is_ok());
    }

    #[test]
    fn setting_is_a_secret_for_hmac_and_pem_otherwise() {
        let hs = Key::from_setting(Algorithm::HS256, &[9u8; 32]).unwrap();
        assert_eq!(
            hs.kid(),
            Key::hmac(Algorithm::HS256, &[9u8; 32]).unwrap().kid()
        );
        let ed = Key::generate(Algorithm::EdDSA).unwrap();
        let pem = ed.export_secret().unwrap();
        let back = Key::from_setting(Algorithm::EdDSA, pem.as_bytes()).unwrap();
        assert_eq!(back.kid(), ed.kid());
        for (alg, bad) in [
            (Algorithm::EdDSA, &b"\xff\xfe not text"[..]),
            (Algorithm::ES256, b"not a PEM document"),
            (Algorithm::HS512, &[1u8; 63]),
        ] {
            let e = Key::from_setting(alg, bad).unwrap_err();
            assert_eq!(e.code(), "config_invalid", "{alg}");
        }
    }

    #[test]
    fn hmac_kid_reveals_nothing_and_is_stable() {
        let a = Key::hmac(Algorithm::HS256, &[1u8; 32]).unwrap();
        let b = Key::hmac(Algorithm::HS256, &[1u8; 32]).unwrap();
        let c = Key::hmac(Algorithm::HS256, &[2u8; 32]).unwrap();
        assert_eq!(a.kid(), b.kid());
        assert_ne!(a.kid(), c.kid());
        assert!(!a.kid().as_str().contains("AQEB"));
    }

    #[test]
    fn debug_shows_no_secret() {
        let secret = b"super-secret-value-that-must-not-leak-0123";
        let key = Key::hmac(Algorithm::HS256, secret).unwrap();
        let shown = format!("{key:?}");
        let shown = format!("{shown} {:?}", KeySet::new(key).unwrap());
        assert!(!shown.contains("super-secret"));
        let encoded = b64::encode(secret);
        assert!(!shown.contains(&encoded[..20]));
    }

    #[test]
    fn generated_keys_sign_and_verify() {
        for alg in [
            Algorithm::HS256,
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::EdDSA,
            Algorithm::ES256,
        ] {
            let key = Key::generate(alg).unwrap();
            let s = key.sign(b"msg").unwrap();
            assert_eq!(s.len(), key.signature_len());
            assert!(key.verify(b"msg", &s), "{alg}");
            assert!(!key.verify(b"msh", &s), "{alg}");
        }
    }

    #[test]
    fn jwk_round_trip_keeps_kid_and_verifies() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256] {
            let key = Key::generate(alg).unwrap();
            let public = Key::from_jwk(&key.public_jwk().unwrap()).unwrap();
            assert_eq!(public.kid(), key.kid());
            assert!(!public.can_sign());
            let s = key.sign(b"m").unwrap();
            assert!(public.verify(b"m", &s));
        }
    }

    #[test]
    fn jwk_whose_key_ops_lack_verify_is_refused() {
        let mut jwk = Key::generate(Algorithm::ES256)
            .unwrap()
            .public_jwk()
            .unwrap();
        jwk["key_ops"] = json!(["verify"]);
        assert!(Key::from_jwk(&jwk).is_ok());
        for ops in [json!(["encrypt"]), json!([]), json!("verify")] {
            jwk["key_ops"] = ops;
            assert_eq!(Key::from_jwk(&jwk).unwrap_err().code(), "config_invalid");
        }
    }

    #[test]
    fn keyset_rotation_and_removal() {
        let old = Key::generate(Algorithm::EdDSA).unwrap();
        let old_kid = old.kid().clone();
        let mut set = KeySet::new(old).unwrap();
        set.rotate(Key::generate(Algorithm::EdDSA).unwrap())
            .unwrap();
        assert_ne!(set.signing_key().unwrap().kid(), &old_kid);
        assert_eq!(set.kidless_key().unwrap().kid(), &old_kid);
        assert!(set.find(old_kid.as_str()).is_some());
        assert!(set.remove(old_kid.as_str()).unwrap());
        assert!(set.find(old_kid.as_str()).is_none());
        assert!(set.kidless_key().is_none());
        let signing = set.signing_key().unwrap().kid().as_str().to_owned();
        assert!(set.remove(&signing).is_err());
    }

    #[test]
    fn jwks_lists_public_keys_only() {
        let mut set = KeySet::new(Key::generate(Algorithm::ES256).unwrap()).unwrap();
        set.add(Key::generate(Algorithm::HS256).unwrap()).unwrap();
        let doc: Value = serde_json::from_str(&set.jwks()).unwrap();
        let keys = doc["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0]["kty"], "EC");
        assert!(keys[0].get("d").is_none());
        let back = KeySet::from_jwks(&set.jwks()).unwrap();
        assert_eq!(back.keys().len(), 1);
    }
}
