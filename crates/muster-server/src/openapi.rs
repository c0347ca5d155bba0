//! The OpenAPI document, generated from the handlers' annotations and the types' schemas.

use crate::api::{incidents, plans, stacks, tokens};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Muster API", description = "Self-hosted incident management and on-call."),
    paths(
        incidents::start, incidents::list, incidents::show, incidents::update, incidents::timeline,
        incidents::add_event, incidents::related_items, incidents::add_related_item,
        plans::list, plans::create, plans::show, plans::replace, plans::remove,
        stacks::apply, stacks::list, stacks::show, stacks::remove,
        tokens::create, tokens::list, tokens::revoke, tokens::whoami,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
