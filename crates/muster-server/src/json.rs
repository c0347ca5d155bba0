//! Body extractors whose errors are the API's own: a JSON body whose errors name the field at
//! fault, and the raw bytes for senders' formats; both answer 413 past the body limit and 408 when
//! the body arrives too slowly.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use std::time::Duration;

pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Raw(bytes) = Raw::from_request(req, state).await?;
        parse(&bytes).map(Body)
    }
}

/// The request body as bytes, for handlers that parse a sender's own format.
pub struct Raw(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Raw {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = req.extensions().get::<BodyLimit>().map(|l| l.0).unwrap_or(0);
        // The whole body within the client timeout, not merely each piece of it.
        let within = req.extensions().get::<ClientTimeout>().map_or(Duration::from_secs(30), |t| t.0);
        let read = tokio::time::timeout(within, Bytes::from_request(req, state)).await;
        read.map_err(|_| ApiError::TimedOut)?.map(Raw).map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(limit)
            } else if timed_out(&e) {
                ApiError::TimedOut
            } else {
                ApiError::invalid("", format!("the request body could not be read: {e}"))
            }
        })
    }
}

/// Whether reading the body failed because the client's time ran out.
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(err) = cause {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = err.source();
    }
    false
}

/// Parses JSON, naming the path of the field that failed.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::invalid("", format!("the request body is not valid JSON: {inner}"));
        }
        let mut message = inner.to_string();
        // serde appends " at line L column C"; the field path says where already.
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        let field = if path == "." { missing_field(&message).unwrap_or_default() } else { path };
        // Domain errors raised inside serde already start with "field: ".
        let message = message.strip_prefix(&format!("{field}: ")).map(str::to_string).unwrap_or(message);
        ApiError::invalid(field, message)
    })
}

/// serde reports a missing top-level field with path ".": take the name from the message.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// The configured body limit, carried in request extensions so rejections can say it.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

/// The configured client timeout, carried in request extensions so body reads can keep to it.
#[derive(Clone, Copy)]
pub struct ClientTimeout(pub Duration);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)] // reason: fields exist to be parsed
    struct Start {
        title: String,
        impact: muster_core::incident::Impact,
    }

    fn field_of(body: &str) -> (String, String) {
        match parse::<Start>(body.as_bytes()) {
            Err(ApiError::Invalid(i)) => (i.field, i.message),
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        let (field, message) = field_of(r#"{"title": "x", "impact": 9}"#);
        assert_eq!(field, "impact");
        assert!(message.contains("1 (critical) to 5"), "{message}");
        assert_eq!(field_of(r#"{"impact": 2}"#).0, "title");
        assert_eq!(field_of(r#"{"title": 5, "impact": 2}"#).0, "title");
        assert_eq!(field_of("{").0, "");
    }
}
