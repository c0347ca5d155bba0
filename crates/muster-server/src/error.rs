//! The one API error type: each variant maps to a status and a JSON body
//! `{"error": {"code", "message", "field"}}`. Internal errors are logged with their cause and shown
//! to clients only as an error id.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use muster_core::Invalid;
use muster_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub enum ApiError {
    Invalid(Invalid),
    Unauthorized(&'static str),
    Forbidden(String),
    NotFound(String),
    MethodNotAllowed,
    Conflict(Invalid),
    TooLarge(usize),
    /// The client did not send its request body in time.
    TimedOut,
    /// A sender past its rate: the message and the seconds to wait (sent as Retry-After).
    TooManyRequests(String, u64),
    /// An upstream (a webhook, a provider) failed.
    BadGateway(String),
    Unavailable(String),
    Internal(String),
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `invalid`, `unauthorized`, `forbidden`, `not_found`, `method_not_allowed`, `conflict`,
    /// `payload_too_large`, `request_timeout`, `too_many_requests`, `bad_gateway`, `unavailable`, `internal`.
    pub code: &'static str,
    pub message: String,
    /// The field at fault, as a path into the request (`impact`, `incidentTemplate.title`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid(Invalid::new(field, message))
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::NotFound(what.into())
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::Invalid(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(i) => ApiError::Conflict(i),
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            StoreError::Internal(m) => ApiError::Internal(m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            ApiError::TooManyRequests(_, secs) => Some(*secs),
            _ => None,
        };
        let (status, code, message, field) = match self {
            ApiError::Invalid(i) => (StatusCode::BAD_REQUEST, "invalid", i.message, Some(i.field)),
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m.to_string(), None),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m, None),
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, "not_found", format!("{what} not found"), None),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method".into(),
                None,
            ),
            ApiError::Conflict(i) => (StatusCode::CONFLICT, "conflict", i.message, Some(i.field)),
            ApiError::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body is larger than the limit of {limit} bytes"),
                None,
            ),
            ApiError::TimedOut => {
                (StatusCode::REQUEST_TIMEOUT, "request_timeout", "the request body did not arrive in time".into(), None)
            }
            ApiError::TooManyRequests(m, _) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests", m, None),
            ApiError::BadGateway(m) => (StatusCode::BAD_GATEWAY, "bad_gateway", m, None),
            ApiError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the database is unavailable; try again".into(), None)
            }
            ApiError::Internal(cause) => {
                let id = uuid::Uuid::now_v7();
                tracing::error!(error_id = %id, error = %cause, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("internal error (error id {id})"), None)
            }
        };
        let field = field.filter(|f| !f.is_empty());
        let mut res = (status, Json(ErrorBody { error: ErrorDetail { code, message, field } })).into_response();
        if let Some(secs) = retry_after {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
