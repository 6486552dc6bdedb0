//! The OpenAPI 3.1 description of the API, served at `/openapi.json` with Swagger UI at
//! `/docs`. Each feature adds its paths here.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tracegate",
        description = "Binds online sellers to real legal entities, decides whether marketplace listings may go live on the strength of verified traceability codes, and runs the disputes that follow.\n\nErrors are RFC 9457 `application/problem+json` bodies with a stable `type`; every response carries an `X-Request-Id`.",
    ),
    paths(crate::ops::healthz, crate::ops::readyz, crate::ops::metrics),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    tags((name = "operations", description = "Liveness, readiness and metrics"))
)]
pub struct ApiDoc;

/// The document as served.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
