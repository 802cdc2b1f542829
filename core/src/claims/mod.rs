//! Claims: the typed payload of a verified token, the rules that validate
//! it, the ids it carries, signing and verifying whole JWTs, and the token
//! pair handed to clients. Knows nothing of stores or sessions' state.

mod ids;
mod jwt;
mod pair;
mod payload;

pub use ids::{FamilyId, Jti, UserId};
pub use jwt::Jwt;
pub use pair::TokenPair;
pub(crate) use payload::unverified_exp;
pub use payload::{Claims, TokenType, Validation, WireValue, MAX_NUMERIC_DATE};
