//! Join and admin tokens: HS256 JWTs signed with the API secret (claims in ARCHITECTURE §5).

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use switchboard_signaling::{ErrorCode, Permissions};

/// Token claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The API key that signed it.
    pub iss: String,
    /// Identity.
    pub sub: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Room (absent on server-admin tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// Server-wide admin grant.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
    /// Participant permissions.
    #[serde(default)]
    pub permissions: Permissions,
    /// Expiry (unix seconds).
    pub exp: u64,
    /// Not before (unix seconds).
    pub nbf: u64,
    /// Token id.
    pub jti: String,
}

/// Why a token was refused, as a protocol error code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// Protocol error code.
    pub code: ErrorCode,
    /// Human-readable reason with a hint.
    pub message: String,
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl Claims {
    /// Claims for a participant of `room`, valid from now for `ttl`.
    pub fn join(api_key: &str, room: &str, identity: &str, name: Option<&str>, ttl: Duration) -> Self {
        let now = unix_now();
        Self {
            iss: api_key.to_owned(),
            sub: identity.to_owned(),
            name: name.map(str::to_owned),
            room: Some(room.to_owned()),
            admin: false,
            permissions: Permissions::default(),
            exp: now + ttl.as_secs(),
            nbf: now,
            jti: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Server-admin claims (no room).
    pub fn admin(api_key: &str, identity: &str, ttl: Duration) -> Self {
        Self { room: None, admin: true, ..Self::join(api_key, "", identity, None, ttl) }
    }

    /// Signs these claims with `secret`.
    pub fn sign(&self, secret: &str) -> String {
        encode(&Header::new(Algorithm::HS256), self, &EncodingKey::from_secret(secret.as_bytes()))
            .expect("HS256 encoding of plain claims cannot fail")
    }
}

/// Verifies a token: signature with `secret`, issuer `api_key`, `exp` and `nbf` (no leeway).
pub fn verify(token: &str, api_key: &str, secret: &str) -> Result<Claims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation.set_issuer(&[api_key]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
    decode::<Claims>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation)
        .map(|d| d.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenError {
                code: ErrorCode::TokenExpired,
                message: "the token has expired; ask for a new one".into(),
            },
            ErrorKind::ImmatureSignature => TokenError {
                code: ErrorCode::TokenNotYetValid,
                message: "the token is not valid yet (nbf is in the future)".into(),
            },
            _ => TokenError {
                code: ErrorCode::InvalidToken,
                message: format!("the token was rejected ({e}); it must be an HS256 JWT signed with this server's API secret"),
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let c = Claims::join("devkey", "r", "alice", Some("Alice"), Duration::from_secs(60));
        let t = c.sign("secret");
        assert_eq!(verify(&t, "devkey", "secret").unwrap(), c);
        assert_eq!(verify(&t, "devkey", "other").unwrap_err().code, ErrorCode::InvalidToken);
        assert_eq!(verify(&t, "otherkey", "secret").unwrap_err().code, ErrorCode::InvalidToken);
        assert_eq!(verify("garbage", "devkey", "secret").unwrap_err().code, ErrorCode::InvalidToken);
        let expired = Claims { exp: unix_now() - 10, nbf: unix_now() - 20, ..c.clone() }.sign("secret");
        assert_eq!(verify(&expired, "devkey", "secret").unwrap_err().code, ErrorCode::TokenExpired);
        let early = Claims { nbf: unix_now() + 600, ..c }.sign("secret");
        assert_eq!(verify(&early, "devkey", "secret").unwrap_err().code, ErrorCode::TokenNotYetValid);
    }
}
