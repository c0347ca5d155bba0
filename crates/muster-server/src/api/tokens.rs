//! API tokens: created, listed and revoked by admins. A secret is shown once, at creation.

use crate::AppState;
use crate::auth::{Caller, generate_secret, hash_secret};
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use muster_core::auth::{ApiToken, Role};
use muster_core::error::text;
use muster_core::new_id;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    name: String,
    role: Role,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    token: ApiToken,
    /// The secret: shown this once, never again.
    secret: String,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = TokenBody, responses((status = 201, body = CreatedToken)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Body(body): Body<TokenBody>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    caller.require(Role::Admin)?;
    let secret = generate_secret();
    let token = ApiToken {
        id: new_id(),
        name: text("name", &body.name, 100)?,
        role: body.role,
        token_hash: hash_secret(&secret),
        created_at: s.clock.now(),
        created_by: caller.actor().to_string(),
        revoked_at: None,
    };
    s.store.create_token(&token).await?;
    tracing::info!(token = %token.id, role = %token.role, "token created");
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })))
}

#[derive(Serialize, ToSchema)]
pub struct TokenList {
    items: Vec<ApiToken>,
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = TokenList)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<TokenList>> {
    caller.require(Role::Admin)?;
    Ok(Json(TokenList { items: s.store.list_tokens().await? }))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)), responses((status = 204)))]
pub async fn revoke(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    if s.store.revoke_token(&id, s.clock.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("live token {id}")))
    }
}

#[utoipa::path(get, path = "/api/v1/whoami", tag = "tokens", responses((status = 200, body = ApiToken)))]
pub async fn whoami(caller: Caller) -> Json<ApiToken> {
    Json(caller.token)
}
