//! Typed JWT claims, wire-compatible with djangorestframework-simplejwt, and
//! the rules that validate them.
//!
//! Invariants:
//! - a [`Claims`] value read from a token has passed every rule in
//!   [`Validation`]: token type, user id, `jti`, NumericDates, `iss`, `aud`
//!   and time, in that order;
//! - NumericDates are JSON integers in `0..=253402300799` (the last second of
//!   year 9999). Floats are refused even when integral: simplejwt and PyJWT
//!   write integers, and refusing floats keeps one spelling per instant;
//! - extra claims never shadow a registered or configured claim name.

use std::fmt;

use serde_json::{Map, Value};

use super::ids::{FamilyId, Jti, UserId};
use crate::error::{Error, Result};
use crate::jose::json::{self, Slot};
use crate::jose::{jws, Limits};

/// The latest NumericDate accepted: 9999-12-31T23:59:59Z.
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// Names Tessera itself writes; extra claims may not use them.
const REGISTERED: [&str; 8] = ["exp", "iat", "nbf", "jti", "iss", "aud", "sid", "auth_time"];

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenType {
    /// A short-lived token presented on each request.
    Access,
    /// A long-lived, single-use token exchanged for a new pair.
    Refresh,
}

impl TokenType {
    /// The claim value, as simplejwt writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Access => "access",
            TokenType::Refresh => "refresh",
        }
    }
}

impl std::str::FromStr for TokenType {
    type Err = Error;

    /// The claim value, as simplejwt writes it: `access` or `refresh`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "access" => Ok(TokenType::Access),
            "refresh" => Ok(TokenType::Refresh),
            _ => Err(Error::config(format!(
                "unknown token type {s:?}: expected \"access\" or \"refresh\""
            ))),
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The claims of a verified token.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// `access` or `refresh`.
    pub token_type: TokenType,
    /// The subject, from the configured user id claim.
    pub user_id: UserId,
    /// The token's unique id.
    pub jti: Jti,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, when present (Tessera always writes it).
    pub iat: Option<i64>,
    /// Not-before time, when present.
    pub nbf: Option<i64>,
    /// Issuer, when present.
    pub iss: Option<String>,
    /// Audiences; empty when the token carries none.
    pub aud: Vec<String>,
    /// The token family (session), for tokens Tessera issued.
    pub family: Option<FamilyId>,
    /// When the credential check that started the session happened
    /// (seconds since the epoch); every token Tessera issues carries it,
    /// unchanged by rotation and renewed by `reauthenticate`.
    pub auth_time: Option<i64>,
    /// Every other claim, as received.
    pub extra: Map<String, Value>,
}

/// The rules a token's claims must meet, and the names they travel under.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Validation {
    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat` (default 0).
    pub leeway: u64,
    /// Required issuer; when `None`, `iss` is not checked.
    pub issuer: Option<String>,
    /// Required audience; when `None`, a token carrying `aud` is refused.
    pub audience: Option<String>,
    /// Name of the user id claim (default `user_id`, as simplejwt).
    pub user_id_claim: String,
    /// Name of the token type claim (default `token_type`, as simplejwt).
    pub token_type_claim: String,
    /// Size and shape bounds.
    pub limits: Limits,
}

impl Default for Validation {
    fn default() -> Self {
        Validation {
            leeway: 0,
            issuer: None,
            audience: None,
            user_id_claim: "user_id".into(),
            token_type_claim: "token_type".into(),
            limits: Limits::default(),
        }
    }
}

impl Validation {
    /// The rules a host's settings name (simplejwt's `LEEWAY`, `ISSUER`,
    /// `AUDIENCE` and `USER_ID_CLAIM`), with the other members at their
    /// defaults; checked. Every binding builds its rules here.
    pub fn from_settings(
        leeway: u64,
        issuer: Option<String>,
        audience: Option<String>,
        user_id_claim: &str,
    ) -> Result<Validation> {
        let v = Validation {
            leeway,
            issuer,
            audience,
            user_id_claim: user_id_claim.to_owned(),
            ..Validation::default()
        };
        v.check()?;
        Ok(v)
    }

    /// Checks the settings themselves.
    pub fn check(&self) -> Result<()> {
        for (what, name) in [
            ("user id claim", &self.user_id_claim),
            ("token type claim", &self.token_type_claim),
        ] {
            if name.is_empty() || name.len() > 64 || REGISTERED.contains(&name.as_str()) {
                return Err(Error::config(format!(
                    "{what} {name:?} must be 1 to 64 bytes and not a registered claim"
                )));
            }
        }
        if self.user_id_claim == self.token_type_claim {
            return Err(Error::config("user id and token type claims must differ"));
        }
        if self.issuer.as_deref() == Some("") || self.audience.as_deref() == Some("") {
            return Err(Error::config(
                "issuer and audience, when set, must not be empty",
            ));
        }
        if self.leeway > 86_400 {
            return Err(Error::config("leeway above one day is not a clock skew"));
        }
        self.limits.check()
    }

    /// Refuses extra claims that would shadow a registered or configured name.
    pub fn check_extra(&self, extra: &Map<String, Value>) -> Result<()> {
        if let Some(name) = extra.keys().find(|k| self.is_reserved(k)) {
            return Err(Error::config(format!("claim {name:?} is reserved")));
        }
        if extra.len() + 10 > self.limits.max_claims {
            return Err(Error::config("too many extra claims"));
        }
        // Whatever is issued must verify: the same strict parser and bounds
        // (nesting, string lengths, members) that verification applies.
        let bytes = serde_json::to_vec(extra)
            .map_err(|e| Error::config(format!("extra claims are not JSON: {e}")))?;
        json::parse_object(&bytes, self.limits.json())
            .map_err(|reason| Error::config(format!("extra claims would not verify: {reason}")))?;
        Ok(())
    }

    fn is_reserved(&self, name: &str) -> bool {
        REGISTERED.contains(&name) || name == self.user_id_claim || name == self.token_type_claim
    }

    /// Parses and validates a payload at time `now`. When `expected` is set,
    /// a token of the other type fails with `token_wrong_type`.
    pub fn validate(
        &self,
        payload: &[u8],
        expected: Option<TokenType>,
        now: i64,
    ) -> Result<Claims> {
        // The known claims are parsed into slots, in `read`'s order, so only
        // extra claims go through a map.
        let names = [
            self.token_type_claim.as_str(),
            self.user_id_claim.as_str(),
            "jti",
            "exp",
            "iat",
            "nbf",
            "iss",
            "aud",
            "sid",
            "auth_time",
        ];
        let mut known: [Option<Slot<'_>>; 10] = Default::default();
        let extra = json::parse_object_into(payload, self.limits.json(), &names, &mut known)
            .map_err(|reason| Error::TokenInvalid(format!("payload: {reason}").into()))?;
        let claims = self.read(known)?;
        self.check_claims(&claims, expected, now)?;
        Ok(Claims { extra, ..claims })
    }

    /// The time rules alone, for a value already parsed.
    pub(crate) fn check_claims(
        &self,
        c: &Claims,
        expected: Option<TokenType>,
        now: i64,
    ) -> Result<()> {
        if let Some(want) = &self.issuer {
            if c.iss.as_ref() != Some(want) {
                return Err(Error::invalid("issuer does not match"));
            }
        }
        match &self.audience {
            Some(want) if !c.aud.iter().any(|a| a == want) => {
                return Err(Error::invalid("audience does not match"))
            }
            None if !c.aud.is_empty() => {
                return Err(Error::invalid(
                    "token has an audience but none is configured",
                ))
            }
            _ => {}
        }
        if let Some(want) = expected {
            if c.token_type != want {
                return Err(Error::TokenWrongType(
                    format!("expected an {want} token, got {}", c.token_type).into(),
                ));
            }
        }
        let leeway =
            i64::try_from(self.leeway).map_err(|_| Error::config("leeway is too large"))?;
        if now >= c.exp.saturating_add(leeway) {
            return Err(Error::TokenExpired("token has expired".into()));
        }
        if c.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(Error::TokenNotYetValid("nbf is in the future".into()));
        }
        if c.iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
            return Err(Error::TokenNotYetValid("iat is in the future".into()));
        }
        Ok(())
    }

    /// Types the known claims, given in the order `validate` names them.
    fn read(&self, known: [Option<Slot<'_>>; 10]) -> Result<Claims> {
        let [token_type, user_id, jti, exp, iat, nbf, iss, aud, sid, auth_time] = known;
        let token_type = match token_type {
            Some(Slot::Str(s)) if s == "access" => TokenType::Access,
            Some(Slot::Str(s)) if s == "refresh" => TokenType::Refresh,
            Some(_) => return Err(Error::invalid("unknown token type")),
            None => return Err(Error::invalid("token type claim missing")),
        };
        let user_id = match user_id {
            Some(Slot::Str(s)) => UserId::new(s.into_owned())
                .map_err(|_| Error::invalid("user id must be 1 to 255 bytes"))?,
            Some(Slot::Other(Value::Number(n))) if n.is_i64() || n.is_u64() => {
                UserId::from_integer(&n)
            }
            Some(_) => return Err(Error::invalid("user id claim is not a string or integer")),
            None => return Err(Error::invalid("user id claim missing")),
        };
        let jti = match jti {
            Some(Slot::Str(s)) => {
                Jti::parse(&s).ok_or_else(|| Error::invalid("jti is not 32 lowercase hex"))?
            }
            Some(_) => return Err(Error::invalid("jti is not a string")),
            None => return Err(Error::invalid("jti missing")),
        };
        let exp = numeric_date(exp.map(Slot::into_value), "exp")?
            .ok_or_else(|| Error::invalid("exp missing"))?;
        let iat = numeric_date(iat.map(Slot::into_value), "iat")?;
        let nbf = numeric_date(nbf.map(Slot::into_value), "nbf")?;
        let auth_time = numeric_date(auth_time.map(Slot::into_value), "auth_time")?;
        let iss = match iss {
            None => None,
            Some(Slot::Str(s)) => Some(s.into_owned()),
            Some(_) => return Err(Error::invalid("iss is not a string")),
        };
        let aud = match aud {
            None => Vec::new(),
            Some(Slot::Str(s)) => vec![s.into_owned()],
            // An empty array would carry `aud` yet name no audience, and
            // slip past "no audience configured ⇒ refuse tokens with aud".
            Some(Slot::Other(Value::Array(items))) if items.is_empty() => {
                return Err(Error::invalid("aud is an empty array"))
            }
            Some(Slot::Other(Value::Array(items))) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(Error::invalid("aud holds a non-string")),
                })
                .collect::<Result<_>>()?,
            Some(_) => return Err(Error::invalid("aud is not a string or array")),
        };
        let family = match sid {
            None => None,
            Some(Slot::Str(s)) => Some(
                FamilyId::parse(&s).ok_or_else(|| Error::invalid("sid is not 32 lowercase hex"))?,
            ),
            Some(_) => return Err(Error::invalid("sid is not a string")),
        };
        Ok(Claims {
            token_type,
            user_id,
            jti,
            exp,
            iat,
            nbf,
            iss,
            aud,
            family,
            auth_time,
            extra: Map::new(),
        })
    }

    /// Every member of the payload for `c`, under its wire name: the token
    /// type, `exp`, `iat`, `jti`, the user id, then `sid`, `auth_time`, `nbf`, `iss`,
    /// `aud` (a string for one audience, a list for more) and the extra
    /// claims. [`Validation::encode`] writes these and nothing else; hosts
    /// that hand claims to another language read them here rather than
    /// restating the layout. Stops at the first error `member` returns.
    pub fn wire_members<'a, E>(
        &'a self,
        c: &'a Claims,
        mut member: impl FnMut(&'a str, WireValue<'a>) -> Result<(), E>,
    ) -> Result<(), E> {
        member(
            &self.token_type_claim,
            WireValue::Str(c.token_type.as_str()),
        )?;
        member("exp", WireValue::Int(c.exp))?;
        if let Some(iat) = c.iat {
            member("iat", WireValue::Int(iat))?;
        }
        member("jti", WireValue::Str(c.jti.as_str()))?;
        member(&self.user_id_claim, WireValue::Str(c.user_id.as_str()))?;
        if let Some(f) = &c.family {
            member("sid", WireValue::Str(f.as_str()))?;
        }
        if let Some(t) = c.auth_time {
            member("auth_time", WireValue::Int(t))?;
        }
        if let Some(nbf) = c.nbf {
            member("nbf", WireValue::Int(nbf))?;
        }
        if let Some(iss) = &c.iss {
            member("iss", WireValue::Str(iss))?;
        }
        match c.aud.as_slice() {
            [] => {}
            [one] => member("aud", WireValue::Str(one))?,
            many => member("aud", WireValue::Strs(many))?,
        }
        for (k, v) in &c.extra {
            member(k, WireValue::Json(v))?;
        }
        Ok(())
    }

    /// Writes the payload JSON, in simplejwt's member order: token type,
    /// `exp`, `iat`, `jti`, user id, then Tessera's and the extra claims.
    pub fn encode(&self, c: &Claims) -> Vec<u8> {
        ordered_json(
            &self.to_json(c),
            &self.token_type_claim,
            &self.user_id_claim,
        )
    }

    /// The claims as one JSON object under their wire names.
    pub fn to_json(&self, c: &Claims) -> Map<String, Value> {
        let mut map = Map::new();
        let done: Result<(), std::convert::Infallible> = self.wire_members(c, |k, v| {
            map.insert(k.to_owned(), v.to_value());
            Ok(())
        });
        match done {
            Ok(()) => map,
            Err(never) => match never {},
        }
    }
}

/// One claim's value as the payload carries it, borrowed from [`Claims`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum WireValue<'a> {
    /// A string claim.
    Str(&'a str),
    /// An integer claim (a NumericDate).
    Int(i64),
    /// A list of strings (`aud` with several audiences).
    Strs(&'a [String]),
    /// An extra claim, any JSON value.
    Json(&'a Value),
}

impl WireValue<'_> {
    /// The value as JSON.
    pub fn to_value(self) -> Value {
        match self {
            WireValue::Str(s) => Value::from(s),
            WireValue::Int(n) => Value::from(n),
            WireValue::Strs(many) => Value::from(many.to_vec()),
            WireValue::Json(v) => v.clone(),
        }
    }
}

/// serde_json's default map sorts keys; simplejwt's order is written out by
/// hand so the tokens look alike byte for byte where they can.
fn ordered_json(map: &Map<String, Value>, type_claim: &str, user_claim: &str) -> Vec<u8> {
    let first = [type_claim, "exp", "iat", "jti", user_claim];
    let mut out = Vec::with_capacity(256);
    out.push(b'{');
    let mut sep = false;
    let mut put = |k: &str, v: &Value, out: &mut Vec<u8>| {
        if sep {
            out.push(b',');
        }
        sep = true;
        // Writing a String or Value into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, k);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, v);
    };
    for k in first {
        if let Some(v) = map.get(k) {
            put(k, v, &mut out);
        }
    }
    for (k, v) in map {
        if !first.contains(&k.as_str()) {
            put(k, v, &mut out);
        }
    }
    out.push(b'}');
    out
}

/// The `exp` of a token read WITHOUT checking its signature, parsed as
/// strictly as a verified payload. A client that lacks the server's key uses
/// it to schedule refreshes; it is never a reason to trust a token.
pub(crate) fn unverified_exp(token: &str, limits: &Limits) -> Result<i64> {
    let payload = jws::unverified_payload(token, limits)?;
    let mut map = json::parse_object(&payload, limits.json())
        .map_err(|reason| Error::TokenInvalid(format!("payload: {reason}").into()))?;
    numeric_date(map.remove("exp"), "exp")?.ok_or_else(|| Error::invalid("exp missing"))
}

fn numeric_date(v: Option<Value>, name: &'static str) -> Result<Option<i64>> {
    let Some(v) = v else { return Ok(None) };
    let bad =
        || Error::TokenInvalid(format!("{name} is not an integer NumericDate in range").into());
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(t) if (0..=MAX_NUMERIC_DATE).contains(&t) => Ok(Some(t)),
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(extra: &str) -> Vec<u8> {
        format!(
            r#"{{"token_type":"access","exp":2000,"iat":1000,"jti":"0123456789abcdef0123456789abcdef","user_id":"42"{extra}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn reads_simplejwt_shape() {
        let v = Validation::default();
        let c = v
            .validate(&payload(r#","role":"x""#), Some(TokenType::Access), 1500)
            .unwrap();
        assert_eq!(c.user_id.as_str(), "42");
        assert_eq!(c.extra["role"], "x");
        assert_eq!(c.iat, Some(1000));
    }

    #[test]
    fn integer_user_id_reads_as_decimal() {
        let p = br#"{"token_type":"access","exp":2000,"jti":"0123456789abcdef0123456789abcdef","user_id":42}"#;
        let c = Validation::default().validate(p, None, 1500).unwrap();
        assert_eq!(c.user_id.as_str(), "42");
    }

    #[test]
    fn time_rules() {
        let v = Validation::default();
        assert_eq!(
            v.validate(&payload(""), None, 2000).unwrap_err().code(),
            "token_expired"
        );
        assert!(v.validate(&payload(""), None, 1999).is_ok());
        assert_eq!(
            v.validate(&payload(""), None, 999).unwrap_err().code(),
            "token_not_yet_valid"
        );
        let lenient = Validation {
            leeway: 5,
            ..Validation::default()
        };
        assert!(lenient.validate(&payload(""), None, 2004).is_ok());
        assert!(lenient.validate(&payload(""), None, 995).is_ok());
    }

    #[test]
    fn wrong_type_is_reported_as_such() {
        let e = Validation::default()
            .validate(&payload(""), Some(TokenType::Refresh), 1500)
            .unwrap_err();
        assert_eq!(e.code(), "token_wrong_type");
    }

    #[test]
    fn encode_round_trips_and_keeps_simplejwt_order() {
        let v = Validation::default();
        let c = v.validate(&payload(r#","aud":["a","b"]"#), None, 1500);
        assert_eq!(
            c.unwrap_err().code(),
            "token_invalid",
            "aud without configured audience"
        );
        let v = Validation {
            audience: Some("b".into()),
            ..Validation::default()
        };
        let c = v
            .validate(&payload(r#","aud":["a","b"],"z":1"#), None, 1500)
            .unwrap();
        let bytes = v.encode(&c);
        assert!(bytes.starts_with(br#"{"token_type":"access","exp":2000,"iat":1000,"jti":"#));
        assert_eq!(v.validate(&bytes, None, 1500).unwrap(), c);
    }

    #[test]
    fn empty_audience_array_is_refused() {
        let e = Validation::default()
            .validate(&payload(r#","aud":[]"#), None, 1500)
            .unwrap_err();
        assert_eq!(e.detail(), "aud is an empty array");
    }

    #[test]
    fn reserved_extra_claims_are_refused() {
        let v = Validation::default();
        for name in [
            "exp",
            "jti",
            "user_id",
            "token_type",
            "sid",
            "aud",
            "auth_time",
        ] {
            let mut m = Map::new();
            m.insert(name.into(), 1.into());
            assert_eq!(
                v.check_extra(&m).unwrap_err().code(),
                "config_invalid",
                "{name}"
            );
        }
    }
}
