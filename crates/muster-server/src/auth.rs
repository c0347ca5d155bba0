//! API tokens: bearer secrets, stored only as SHA-256 hashes, each with a role.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use muster_core::auth::{ApiToken, Role};
use rand::Rng;
use sha2::{Digest, Sha256};

const TOKEN_PREFIX: &str = "mst_";
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A new token secret: `mst_` and 40 random base-62 characters (about 238 bits).
pub fn generate_secret() -> String {
    let mut rng = rand::rng();
    let body: String = (0..40).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("{TOKEN_PREFIX}{body}")
}

/// A new integration key: `mk` and 30 random base-62 characters (about 178 bits), 32 in all,
/// because PagerDuty senders check that a routing key is 32 characters long.
pub fn generate_key() -> String {
    let mut rng = rand::rng();
    let body: String = (0..30).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("mk{body}")
}

pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who is calling, from a valid bearer token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: ApiToken,
}

impl Caller {
    /// The name written into timelines: the token's name.
    pub fn actor(&self) -> &str {
        &self.token.name
    }

    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.token.role.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("this needs the {needed} role; the token has {}", self.token.role)))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized("an API token is required: Authorization: Bearer TOKEN"))?;
        let secret = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized("use the Bearer scheme: Authorization: Bearer TOKEN"))?;
        let token = state
            .store
            .token_by_hash(&hash_secret(secret))
            .await?
            .ok_or(ApiError::Unauthorized("the API token is not valid or was revoked"))?;
        let per_minute = state.token_rate_per_minute;
        if per_minute > 0 {
            state.limiter.take(&format!("token:{}", token.id), per_minute, 1, state.clock.now()).map_err(|secs| {
                state.metrics.count_throttled("token");
                ApiError::TooManyRequests(
                    format!("token {} is past its {per_minute} requests a minute", token.name),
                    secs,
                )
            })?;
        }
        Ok(Caller { token })
    }
}

/// The caller when a valid token came with the request, else `None`; never refuses.
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if !parts.headers.contains_key(axum::http::header::AUTHORIZATION) {
            return Ok(MaybeCaller(None));
        }
        match Caller::from_request_parts(parts, state).await {
            Ok(c) => Ok(MaybeCaller(Some(c))),
            Err(ApiError::Unauthorized(_)) => Ok(MaybeCaller(None)),
            Err(e) => Err(e),
        }
    }
}

/// Compares secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hashed() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_ne!(a, b);
        assert!(a.starts_with("mst_") && a.len() == 44);
        assert_eq!(hash_secret("x"), "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
        assert_ne!(hash_secret(&a), a);
    }
}
