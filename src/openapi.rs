//! The OpenAPI 3.1 description of the API, served at `/openapi.json` with Swagger UI at
//! `/docs`. Each feature adds its paths here.

use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{AdditionalProperties, Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityRequirement,
    SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi, PartialSchema};

use crate::clients::ClientKind;
use crate::error::{AppError, PROBLEM_JSON, Problem};
use crate::http::idempotency;
use crate::policies::Policies;

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
        crate::accounts::routes::close_account,
        crate::accounts::routes::mail_settings,
        crate::accounts::routes::change_mail_settings,
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
        crate::notify::routes::test_webhook,
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
        crate::audit::routes::list_checkpoints,
    ),
    components(schemas(
        crate::error::Problem,
        crate::error::FieldError,
        crate::notify::OutboxState,
        crate::listings::ReasonCode,
    )),
    modifiers(&Conventions),
    tags(
        (name = "operations", description = "Liveness, readiness and metrics"),
        (name = "accounts", description = "Sellers and officers: registration, sign-in, sessions, passwords, second factor"),
        (name = "clients", description = "Platforms and issuers: OAuth 2.0 client credentials"),
        (name = "admin", description = "Administrators: officers, clients, message delivery"),
        (name = "identity", description = "Sellers proven against the population and business registers"),
        (name = "binding", description = "Platform shops bound to verified sellers"),
        (name = "webhooks", description = "Signed events to platforms: the `webhooks` section lists every event with its payload and how to verify its signature"),
        (name = "codes", description = "Traceability codes: GS1 keys, Digital Link, EPC, issuer codes"),
        (name = "epcis", description = "Chain of custody: GS1 EPCIS 2.0 capture and query, custody of a lot"),
        (name = "issuers", description = "Issuers: keys, signed code batches, licences, recalls"),
        (name = "listings", description = "The listing gate: decisions with signed attestations"),
        (name = "disputes", description = "Cases between buyers and sellers, worked by officers: filing, evidence, deadlines, decisions, sanctions, appeals"),
    )
)]
pub struct ApiDoc;

/// Where clients trade their credentials for a token.
const TOKEN_PATH: &str = "/v1/oauth/token";

/// What the handlers' annotations leave to one place: the security schemes, the error
/// answers every operation can give, the webhooks, and request bodies built by flattening.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Sellers and officers: the access token from `POST /v1/auth/login` (or `/v1/auth/refresh`).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new(
                    TOKEN_PATH,
                    client_scopes(),
                ))],
                "Platforms and issuers: OAuth 2.0 client credentials. The token is a JWT sent as `Authorization: Bearer`.",
            )),
        );
        for (name, response) in shared_responses() {
            components.responses.insert(name.into(), RefOr::T(response));
        }
        let (webhooks, schemas) = crate::notify::events::documentation();
        components.schemas.extend(schemas);
        flatten_all_of(&mut components.schemas);
        openapi.webhooks = Some(webhooks);
        for item in openapi.paths.paths.values_mut() {
            if let Some(operation) = item.post.as_mut() {
                add_answers(operation, true);
            }
            let others = [
                &mut item.get,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in others.into_iter().flatten() {
                add_answers(operation, false);
            }
        }
        for (method, path, scope) in OPERATION_SCOPES {
            let operation = openapi
                .paths
                .paths
                .get_mut(*path)
                .and_then(|item| match *method {
                    "get" => item.get.as_mut(),
                    "put" => item.put.as_mut(),
                    "post" => item.post.as_mut(),
                    _ => None,
                });
            for requirement in operation
                .and_then(|o| o.security.as_mut())
                .into_iter()
                .flatten()
            {
                if *requirement == SecurityRequirement::new("oauth2", Vec::<String>::new()) {
                    *requirement = SecurityRequirement::new("oauth2", [*scope]);
                }
            }
        }
    }
}

/// The scope a client's token must hold for an operation, as its handler checks it
/// (`require_scope`); stated in the operation's `oauth2` requirement so that generated
/// clients and Swagger UI ask for it.
pub const OPERATION_SCOPES: &[(&str, &str, &str)] = &[
    ("post", "/v1/seller-bindings", "sellers:bind"),
    ("get", "/v1/sellers/by-shop/{shop_id}", "sellers:read"),
    ("post", "/v1/listing-checks", "listings:check"),
    ("post", "/v1/listing-checks/batch", "listings:check"),
    ("get", "/v1/listing-checks/{id}", "listings:check"),
    ("post", "/v1/disputes", "disputes:file"),
    ("get", "/v1/platforms/me/webhook", "webhooks:manage"),
    ("put", "/v1/platforms/me/webhook", "webhooks:manage"),
    ("post", "/v1/platforms/me/webhook/secret", "webhooks:manage"),
    ("post", "/v1/platforms/me/webhook/test", "webhooks:manage"),
    ("post", "/v1/issuers/me/code-batches", "codes:write"),
    (
        "post",
        "/v1/epcis/capture",
        crate::epcis::routes::CAPTURE_SCOPE,
    ),
];

/// Every scope a client can hold, with what it allows.
fn client_scopes() -> Scopes {
    let described = |scope: &'static str| {
        let what = match scope {
            "sellers:bind" => "bind shops to sellers",
            "sellers:read" => "read the seller behind a shop",
            "listings:check" => "check listings",
            "disputes:file" => "file disputes for buyers",
            "webhooks:manage" => "set the webhook URL, rotate its secret, send test events",
            "codes:write" => "register signed code batches, licences and code statuses",
            "epcis:capture" => "capture EPCIS events",
            _ => "",
        };
        (scope, what)
    };
    [ClientKind::Platform, ClientKind::Issuer]
        .into_iter()
        .flat_map(|kind| kind.scopes().iter().copied())
        .map(described)
        .collect()
}

/// The problem answers that many operations share, each with an example made by the
/// error type itself.
fn shared_responses() -> Vec<(&'static str, Response)> {
    let problem = |description: &str, example: AppError| {
        let mut body = example.problem();
        body.instance = Some("0193a1c2-7e5f-7b21-8d44-5f0e6a7b8c9d".into());
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Problem::schema()))
                    .example(serde_json::to_value(body).ok())
                    .build(),
            )
            .build()
    };
    vec![
        (
            "BadRequest",
            problem(
                "The request could not be read: malformed JSON, or a bad query string or path segment",
                AppError::bad_request(
                    "the request body is not valid JSON: expected value at line 1 column 1",
                ),
            ),
        ),
        (
            "Unauthorized",
            problem(
                "No token, or one that does not verify or has expired",
                AppError::Unauthorized {
                    detail: "a bearer token is required".into(),
                    challenge: "Bearer",
                },
            ),
        ),
        (
            "Forbidden",
            problem(
                "The token is valid but this caller (kind, role, scope or province) may not do this",
                AppError::Forbidden {
                    detail: "this token lacks the scope listings:check".into(),
                },
            ),
        ),
        (
            "NotFound",
            problem(
                "Nothing with this id that the caller may see",
                AppError::not_found("no decision with this id"),
            ),
        ),
        (
            "PayloadTooLarge",
            problem(
                "The body is larger than the service accepts",
                AppError::PayloadTooLarge { limit: 1_048_576 },
            ),
        ),
        (
            "UnsupportedMediaType",
            problem(
                "The body is not of the media type the operation reads",
                AppError::UnsupportedMediaType {
                    detail: "send the body as application/json".into(),
                },
            ),
        ),
        (
            "Invalid",
            problem(
                "The body was read but a field is wrong: `errors` names each field and why",
                AppError::invalid("shop_id", "must not be empty"),
            ),
        ),
        (
            "InFlight",
            problem(
                "A request with the same `Idempotency-Key` is still being processed, or the resource exists already",
                AppError::Conflict {
                    detail: "a request with this Idempotency-Key is still being processed; retry shortly".into(),
                },
            ),
        ),
        (
            "Unavailable",
            problem(
                "The database cannot be reached in time; retry after `Retry-After` seconds",
                AppError::ServiceUnavailable {
                    detail: "the database is busy; try again shortly".into(),
                },
            ),
        ),
    ]
}

/// Adds the answers an operation can give beyond those its handler documents.
fn add_answers(operation: &mut Operation, is_post: bool) {
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|s| s.iter().any(|r| *r != SecurityRequirement::default()));
    let has_body = operation.request_body.is_some();
    // A POST that creates answers 201; the same rule marks its route `post_creating`.
    let creates = is_post && operation.responses.responses.contains_key("201");
    let parameters: Vec<ParameterIn> = operation
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p.parameter_in.clone()),
            RefOr::Ref(_) => None,
        })
        .collect();
    let mut wanted = Vec::new();
    if creates {
        operation
            .parameters
            .get_or_insert_with(Vec::new)
            .push(RefOr::T(
                ParameterBuilder::new()
                    .name(idempotency::HEADER)
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some(idempotency::description()))
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .min_length(Some(1))
                            .max_length(Some(idempotency::MAX_KEY_LENGTH))
                            .pattern(Some("^[!-~]+$")),
                    ))
                    .example(Some("5f0c8a9e-3c1d-4b7a-9e2f-1a2b3c4d5e6f".into()))
                    .build(),
            ));
        // A malformed key is named as the field it is.
        wanted.extend([("409", "InFlight"), ("422", "Invalid")]);
    }
    if secured {
        // Clients send the token of the client credentials flow the same way.
        if let Some(security) = operation.security.as_mut() {
            security.push(SecurityRequirement::new("oauth2", Vec::<String>::new()));
        }
        wanted.extend([("401", "Unauthorized"), ("403", "Forbidden")]);
    }
    if has_body {
        wanted.extend([
            ("400", "BadRequest"),
            ("413", "PayloadTooLarge"),
            ("415", "UnsupportedMediaType"),
            ("422", "Invalid"),
        ]);
    }
    if parameters.contains(&ParameterIn::Query) {
        wanted.extend([("400", "BadRequest"), ("422", "Invalid")]);
    }
    if parameters.contains(&ParameterIn::Path) {
        wanted.extend([("400", "BadRequest"), ("404", "NotFound")]);
    }
    if secured || has_body || !parameters.is_empty() {
        wanted.push(("503", "Unavailable"));
    }
    for (status, name) in wanted {
        operation
            .responses
            .responses
            .entry(status.into())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    }
}

/// Replaces each `allOf` of objects (what `#[serde(flatten)]` produces) by the one object
/// it means. A closed part (`additionalProperties: false`) inside an `allOf` would refuse
/// the other parts' members, so no body could satisfy it; the merged object keeps the
/// closedness of its referenced part, which is how serde reads the flattened type.
fn flatten_all_of(schemas: &mut std::collections::BTreeMap<String, RefOr<Schema>>) {
    let names: Vec<String> = schemas
        .iter()
        .filter(|(_, s)| matches!(s, RefOr::T(Schema::AllOf(_))))
        .map(|(name, _)| name.clone())
        .collect();
    for name in names {
        if let Some(merged) = merged_object(schemas, &name, 0) {
            schemas.insert(name, RefOr::T(Schema::Object(merged)));
        }
    }
}

fn merged_object(
    schemas: &std::collections::BTreeMap<String, RefOr<Schema>>,
    name: &str,
    depth: usize,
) -> Option<Object> {
    match schemas.get(name)? {
        RefOr::T(Schema::Object(object)) => Some(object.clone()),
        RefOr::T(Schema::AllOf(all)) if depth < 8 => {
            let mut merged = ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(all.description.clone())
                .build();
            for item in &all.items {
                let (part, referenced) = match item {
                    RefOr::Ref(r) => {
                        let target = r.ref_location.strip_prefix("#/components/schemas/")?;
                        (merged_object(schemas, target, depth + 1)?, true)
                    }
                    RefOr::T(Schema::Object(object)) => (object.clone(), false),
                    _ => return None,
                };
                if referenced {
                    merged.additional_properties = part.additional_properties.clone();
                } else if merged.description.is_none() {
                    merged.description = part.description.clone();
                }
                merged.properties.extend(part.properties);
                for field in part.required {
                    if !merged.required.contains(&field) {
                        merged.required.push(field);
                    }
                }
            }
            if merged
                .additional_properties
                .as_deref()
                .is_some_and(|a| matches!(a, AdditionalProperties::FreeForm(true)))
            {
                merged.additional_properties = None;
            }
            Some(merged)
        }
        _ => None,
    }
}

/// The document as served: the values the loaded policies accept (dispute kinds, claims
/// and offers) are stated as enums, so the document says what the handlers check.
pub fn document(policies: &Policies) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let disputes = &policies.disputes;
    let kinds: Vec<serde_json::Value> = disputes.kinds.keys().map(|k| k.as_str().into()).collect();
    let claims: Vec<serde_json::Value> =
        disputes.claims.iter().map(|c| c.as_str().into()).collect();
    let mut offers = vec![serde_json::Value::Null, "none".into()];
    offers.extend(claims.iter().cloned());
    let Some(components) = doc.components.as_mut() else {
        return doc;
    };
    for name in ["CaseInput", "PlatformFiling", "DirectFiling"] {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
            restrict(object, "kind", &kinds);
            restrict(object, "claim", &claims);
        }
    }
    if let Some(RefOr::T(Schema::OneOf(actions))) = components.schemas.get_mut("ActionInput") {
        for item in &mut actions.items {
            if let RefOr::T(Schema::Object(object)) = item {
                restrict(object, "offer", &offers);
            }
        }
    }
    doc
}

/// Sets the values a string property may take, when the object has it.
fn restrict(object: &mut Object, property: &str, values: &[serde_json::Value]) {
    if let Some(RefOr::T(Schema::Object(field))) = object.properties.get_mut(property) {
        field.enum_values = Some(values.to_vec());
    }
}
