//! The OpenAPI 3.1 description of the API, served at `/openapi.json` with Swagger UI at
//! `/docs`. Each feature adds its paths here.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tracegate",
        description = "Binds online sellers to real legal entities, decides whether marketplace listings may go live on the strength of verified traceability codes, and runs the disputes that follow.\n\nErrors are RFC 9457 `application/problem+json` bodies with a stable `type`; every response carries an `X-Request-Id`.",
    ),
    paths(
        crate::ops::healthz,
        crate::ops::readyz,
        crate::ops::metrics,
        crate::accounts::routes::register,
        crate::accounts::routes::verify_email,
        crate::accounts::routes::resend_verification,
        crate::accounts::routes::login,
        crate::accounts::routes::refresh,
        crate::accounts::routes::logout,
        crate::accounts::routes::request_password_reset,
        crate::accounts::routes::confirm_password_reset,
        crate::accounts::routes::accept_invitation,
        crate::accounts::routes::me,
        crate::accounts::routes::change_password,
        crate::accounts::routes::enrol_totp,
        crate::accounts::routes::confirm_totp,
        crate::accounts::routes::create_officer,
        crate::clients::routes::token,
        crate::clients::routes::me,
        crate::clients::routes::create,
        crate::clients::routes::list,
        crate::clients::routes::disable,
        crate::notify::routes::list,
        crate::notify::routes::retry,
        crate::notify::routes::webhook,
        crate::notify::routes::set_webhook,
        crate::notify::routes::rotate_webhook_secret,
        crate::identity::routes::parse_identifier,
        crate::identity::routes::my_verification,
        crate::identity::routes::submit_identity,
        crate::identity::routes::submit_business,
        crate::identity::routes::issue_binding_code,
        crate::identity::routes::my_bindings,
        crate::identity::routes::revoke_binding,
        crate::identity::routes::bind_shop,
        crate::identity::routes::seller_by_shop,
        crate::identity::routes::pending_reviews,
        crate::identity::routes::seller_for_officer,
        crate::identity::routes::review_business,
        crate::identity::routes::reveal_national_id,
        crate::codes::routes::parse_code,
        crate::codes::routes::set_issuer,
        crate::codes::routes::add_key,
        crate::codes::routes::list_keys,
        crate::codes::routes::revoke_key,
        crate::codes::routes::import_batch,
        crate::codes::routes::add_licence,
        crate::codes::routes::issuer_code_status,
        crate::codes::routes::officer_code_status,
        crate::codes::routes::authorise_distributor,
        crate::links::routes::add_link,
        crate::links::routes::list_links,
        crate::links::routes::remove_link,
        crate::epcis::routes::capture,
        crate::epcis::routes::events,
        crate::epcis::routes::custody,
        crate::web::verify::description,
        crate::listings::routes::check,
        crate::listings::routes::check_batch,
        crate::listings::routes::get_check,
        crate::listings::routes::attestation_status,
        crate::listings::routes::jwks,
        crate::codes::routes::possible_clones,
        crate::disputes::routes::file_dispute,
        crate::disputes::routes::file_directly,
        crate::disputes::routes::confirm,
        crate::disputes::routes::queue,
        crate::disputes::routes::my_disputes,
        crate::disputes::routes::get_dispute,
        crate::disputes::routes::act,
        crate::disputes::routes::timeline,
        crate::disputes::routes::add_note,
        crate::disputes::routes::assign,
        crate::disputes::routes::upload_evidence,
        crate::disputes::routes::download_evidence,
        crate::disputes::routes::hide_evidence,
        crate::disputes::routes::report,
        crate::disputes::routes::export_csv,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError, crate::notify::OutboxState)),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Liveness, readiness and metrics"),
        (name = "accounts", description = "Sellers and officers: registration, sign-in, sessions, passwords, second factor"),
        (name = "clients", description = "Platforms and issuers: OAuth 2.0 client credentials"),
        (name = "admin", description = "Administrators: officers, clients, message delivery"),
        (name = "identity", description = "Sellers proven against the population and business registers"),
        (name = "binding", description = "Platform shops bound to verified sellers"),
        (name = "webhooks", description = "Signed events to platforms"),
        (name = "codes", description = "Traceability codes: GS1 keys, Digital Link, EPC, issuer codes"),
        (name = "epcis", description = "Chain of custody: GS1 EPCIS 2.0 capture and query, custody of a lot"),
        (name = "issuers", description = "Issuers: keys, signed code batches, licences, recalls"),
        (name = "listings", description = "The listing gate: decisions with signed attestations"),
        (name = "disputes", description = "Cases between buyers and sellers, worked by officers: filing, evidence, deadlines, decisions, sanctions, appeals"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` scheme that protected paths refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document as served.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
