//! The native API under `/api/v1`.

pub mod incidents;
pub mod plans;
pub mod stacks;
pub mod tokens;

use crate::AppState;
use crate::error::ApiError;
use axum::Router;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::routing::{get, put};
use serde::de::DeserializeOwned;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(incidents::list).post(incidents::start))
        .route("/incidents/{id}", get(incidents::show).patch(incidents::update))
        .route("/incidents/{id}/timeline", get(incidents::timeline).post(incidents::add_event))
        .route("/incidents/{id}/related-items", get(incidents::related_items).post(incidents::add_related_item))
        .route("/response-plans", get(plans::list).post(plans::create))
        .route("/response-plans/{key}", get(plans::show).put(plans::replace).delete(plans::remove))
        .route("/stacks", get(stacks::list))
        .route("/stacks/{name}", put(stacks::apply).get(stacks::show).delete(stacks::remove))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/whoami", get(tokens::whoami))
}

/// Query parameters whose errors come back as JSON naming the parameter.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Params(q))
            .map_err(|e| ApiError::invalid("query", e.body_text()))
    }
}
