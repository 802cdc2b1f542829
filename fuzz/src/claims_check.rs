//! An independent reading of the payload rules: a small RFC 8259 parser
//! that keeps every member in order (so duplicates stay visible), and the
//! claim rules written from `Validation`'s documentation.
//!
//! Numbers keep their text. serde_json, which Tessera reads with, makes an
//! integer of a literal without fraction or exponent that fits i64 or u64
//! (except `-0`, which it reads as a float); the rules only ever need to
//! know whether a literal is such an integer.

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Num(String),
    /// A string, unescaped.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, members in order, duplicates kept.
    Obj(Vec<(String, Json)>),
}

/// The bounds of `tessera::Limits` that apply to JSON.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Deepest container nesting; the top object is 1.
    pub depth: usize,
    /// Most members of one object or items of one array.
    pub members: usize,
    /// Longest string or member name, in bytes after unescaping.
    pub string: usize,
}

/// Parses one JSON object, surrounded by optional whitespace, within
/// `bounds` and without duplicate member names.
pub fn parse_object(bytes: &[u8], bounds: Bounds) -> Option<Vec<(String, Json)>> {
    let mut p = Parser {
        s: bytes,
        i: 0,
        depth: 0,
    };
    p.ws();
    if p.peek() != Some(b'{') {
        return None;
    }
    let v = p.value()?;
    p.ws();
    if p.i != bytes.len() {
        return None;
    }
    if !within(&v, bounds, 1) {
        return None;
    }
    match v {
        Json::Obj(m) => Some(m),
        _ => None,
    }
}

fn within(v: &Json, b: Bounds, depth: usize) -> bool {
    match v {
        Json::Str(s) => s.len() <= b.string,
        Json::Arr(items) => {
            depth <= b.depth
                && items.len() <= b.members
                && items.iter().all(|x| within(x, b, depth + 1))
        }
        Json::Obj(members) => {
            depth <= b.depth
                && members.len() <= b.members
                && members.iter().enumerate().all(|(i, (k, x))| {
                    k.len() <= b.string
                        && members[..i].iter().all(|(k2, _)| k2 != k)
                        && within(x, b, depth + 1)
                })
        }
        _ => true,
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Option<Json> {
        self.ws();
        if !matches!(self.peek(), Some(b'{' | b'[')) {
            return self.value_inner();
        }
        // Far past any depth bound; it only keeps the checker's own stack
        // safe on hostile input.
        if self.depth >= 64 {
            return None;
        }
        self.depth += 1;
        let v = self.value_inner();
        self.depth -= 1;
        v
    }

    fn value_inner(&mut self) -> Option<Json> {
        match self.peek()? {
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.eat(b"}") {
                    return Some(Json::Obj(members));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    if !self.eat(b":") {
                        return None;
                    }
                    let v = self.value()?;
                    members.push((k, v));
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"}") {
                        return Some(Json::Obj(members));
                    }
                    return None;
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]") {
                    return Some(Json::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"]") {
                        return Some(Json::Arr(items));
                    }
                    return None;
                }
            }
            b'"' => self.string().map(Json::Str),
            b't' => self.eat(b"true").then_some(Json::Bool(true)),
            b'f' => self.eat(b"false").then_some(Json::Bool(false)),
            b'n' => self.eat(b"null").then_some(Json::Null),
            _ => self.number(),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Option<Json> {
        let start = self.i;
        self.eat(b"-");
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.eat(b".") && self.digits() == 0 {
            return None;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if !self.eat(b"+") {
                self.eat(b"-");
            }
            if self.digits() == 0 {
                return None;
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).ok()?.to_owned();
        // serde_json refuses numbers beyond f64's range.
        if text.parse::<f64>().ok()?.is_infinite() {
            return None;
        }
        Some(Json::Num(text))
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        let h = std::str::from_utf8(h).ok()?;
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.i += 4;
        u32::from_str_radix(h, 16).ok()
    }

    fn string(&mut self) -> Option<String> {
        if !self.eat(b"\"") {
            return None;
        }
        let mut out = Vec::new();
        loop {
            let b = self.peek()?;
            self.i += 1;
            match b {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = match hi {
                                0xd800..=0xdbff => {
                                    if !self.eat(b"\\u") {
                                        return None;
                                    }
                                    let lo = self.hex4()?;
                                    if !(0xdc00..=0xdfff).contains(&lo) {
                                        return None;
                                    }
                                    0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                                }
                                0xdc00..=0xdfff => return None,
                                c => c,
                            };
                            char::from_u32(code)?
                        }
                        _ => return None,
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => return None,
                _ => out.push(b),
            }
        }
    }
}

/// The rules of one `Validation`, restated.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Name of the token type claim.
    pub type_claim: &'static str,
    /// Name of the user id claim.
    pub user_claim: &'static str,
    /// Required issuer.
    pub issuer: Option<&'static str>,
    /// Required audience; without one, a token carrying `aud` is refused.
    pub audience: Option<&'static str>,
    /// Leeway in seconds.
    pub leeway: i64,
    /// Largest token, in bytes.
    pub max_token: usize,
    /// The JSON bounds.
    pub bounds: Bounds,
}

/// What the checker read from an acceptable payload, to compare with the
/// `Claims` Tessera returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// `access` or `refresh`.
    pub token_type: String,
    /// The user id as text (integers in their decimal form).
    pub user_id: String,
    /// The jti.
    pub jti: String,
    /// Expiry.
    pub exp: i64,
    /// Issue time.
    pub iat: Option<i64>,
    /// Not-before.
    pub nbf: Option<i64>,
    /// Issuer.
    pub iss: Option<String>,
    /// Audiences.
    pub aud: Vec<String>,
    /// Family id.
    pub sid: Option<String>,
    /// Time of the session's credential check.
    pub auth_time: Option<i64>,
    /// Names of the other members, sorted.
    pub extra: Vec<String>,
}

const MAX_DATE: i64 = 253_402_300_799;

/// Is this literal an integer for serde_json, and which?
fn integer(text: &str) -> Option<i128> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || text == "-0" {
        return None;
    }
    let v: i128 = text.parse().ok()?;
    (i128::from(i64::MIN)..=i128::from(u64::MAX))
        .contains(&v)
        .then_some(v)
}

fn date(v: Option<&Json>) -> Result<Option<i64>, ()> {
    match v {
        None => Ok(None),
        Some(Json::Num(t)) => match integer(t) {
            Some(n) if (0..=i128::from(MAX_DATE)).contains(&n) => {
                Ok(Some(i64::try_from(n).map_err(|_| ())?))
            }
            _ => Err(()),
        },
        Some(_) => Err(()),
    }
}

fn hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Rules {
    /// Whether a token of `token_len` bytes carrying `payload` meets every
    /// rule at `now`, expecting `expected` (`access`, `refresh` or any).
    pub fn check(
        &self,
        token_len: usize,
        payload: &[u8],
        expected: Option<&str>,
        now: i64,
    ) -> Option<Expected> {
        if token_len > self.max_token {
            return None;
        }
        let members = parse_object(payload, self.bounds)?;
        let get = |name: &str| members.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let token_type = match get(self.type_claim)? {
            Json::Str(s) if s == "access" || s == "refresh" => s.clone(),
            _ => return None,
        };
        if expected.is_some_and(|e| e != token_type) {
            return None;
        }
        let user_id = match get(self.user_claim)? {
            Json::Str(s) if (1..=255).contains(&s.len()) => s.clone(),
            Json::Num(t) => integer(t)?.to_string(),
            _ => return None,
        };
        let jti = match get("jti")? {
            Json::Str(s) if hex32(s) => s.clone(),
            _ => return None,
        };
        let exp = date(get("exp")).ok()??;
        let iat = date(get("iat")).ok()?;
        let nbf = date(get("nbf")).ok()?;
        let auth_time = date(get("auth_time")).ok()?;
        let iss = match get("iss") {
            None => None,
            Some(Json::Str(s)) => Some(s.clone()),
            Some(_) => return None,
        };
        if self.issuer.is_some_and(|want| iss.as_deref() != Some(want)) {
            return None;
        }
        let aud = match get("aud") {
            None => vec![],
            Some(Json::Str(s)) => vec![s.clone()],
            Some(Json::Arr(items)) => items
                .iter()
                .map(|x| match x {
                    Json::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?,
            Some(_) => return None,
        };
        match self.audience {
            Some(want) if !aud.iter().any(|a| a == want) => return None,
            None if get("aud").is_some() => return None,
            _ => {}
        }
        let sid = match get("sid") {
            None => None,
            Some(Json::Str(s)) if hex32(s) => Some(s.clone()),
            Some(_) => return None,
        };
        if now >= exp + self.leeway {
            return None;
        }
        if nbf.is_some_and(|t| t > now + self.leeway) || iat.is_some_and(|t| t > now + self.leeway)
        {
            return None;
        }
        let known = [
            self.type_claim,
            self.user_claim,
            "jti",
            "exp",
            "iat",
            "nbf",
            "iss",
            "aud",
            "sid",
            "auth_time",
        ];
        let mut extra: Vec<String> = members
            .iter()
            .map(|(k, _)| k.clone())
            .filter(|k| !known.contains(&k.as_str()))
            .collect();
        extra.sort();
        Some(Expected {
            token_type,
            user_id,
            jti,
            exp,
            iat,
            nbf,
            iss,
            aud,
            sid,
            auth_time,
            extra,
        })
    }
}
