//! The events platforms receive by webhook, one type per event. The same types are what
//! the services queue, what `/openapi.json` documents under `webhooks`, and what the
//! webhook test sends, so the documentation cannot drift from what is delivered.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{
    ContentBuilder, PathItem, Paths, PathsBuilder, Ref, Required, ResponseBuilder, ResponsesBuilder,
};

use crate::disputes::Status;
use crate::listings::Decision;

/// A payload with its event type.
pub trait WebhookPayload: Serialize + ToSchema {
    /// The `type` member of the event.
    const TYPE: &'static str;
    /// What the event means, for the documentation.
    const SUMMARY: &'static str;
    /// A sample the webhook test sends (ids marked as samples).
    fn sample() -> Self;
}

/// The envelope of every event (the `data` member differs by `type`).
#[derive(Debug, Clone, Serialize)]
pub struct WebhookEvent<'a, P: Serialize> {
    /// Unique per event; also in `Tracegate-Event-Id`. Deliveries are at least once:
    /// ignore an id already handled.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: &'a str,
    pub created_at: DateTime<Utc>,
    /// True only for events sent by `POST /v1/platforms/me/webhook/test`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
    pub data: &'a P,
}

/// A seller ended the binding of one of the platform's shops: listings of the shop are
/// no longer allowed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BindingRevoked {
    pub binding_id: String,
    pub shop_id: String,
    pub seller_id: String,
}

impl WebhookPayload for BindingRevoked {
    const TYPE: &'static str = "binding.revoked";
    const SUMMARY: &'static str = "A seller ended the binding of one of your shops";
    fn sample() -> Self {
        Self {
            binding_id: "sample-binding".into(),
            shop_id: "sample-shop".into(),
            seller_id: "sample-seller".into(),
        }
    }
}

/// The seller behind a bound shop was suspended (one event per bound shop).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SellerSuspended {
    pub seller_id: String,
    pub shop_id: String,
    /// Why: `verification_expired`, `registry_deregistered`, `sanction`, …
    pub reason: String,
}

impl WebhookPayload for SellerSuspended {
    const TYPE: &'static str = "seller.suspended";
    const SUMMARY: &'static str = "The seller behind one of your shops was suspended";
    fn sample() -> Self {
        Self {
            seller_id: "sample-seller".into(),
            shop_id: "sample-shop".into(),
            reason: "verification_expired".into(),
        }
    }
}

/// A suspension ended (one event per bound shop); listings may be checked again.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SellerReinstated {
    pub seller_id: String,
    pub shop_id: String,
    /// The reason of the suspension that ended.
    pub reason: String,
}

impl WebhookPayload for SellerReinstated {
    const TYPE: &'static str = "seller.reinstated";
    const SUMMARY: &'static str = "A suspension of the seller behind one of your shops ended";
    fn sample() -> Self {
        Self {
            seller_id: "sample-seller".into(),
            shop_id: "sample-shop".into(),
            reason: "verification_expired".into(),
        }
    }
}

/// A case the platform filed moved on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisputeUpdated {
    pub dispute_id: String,
    pub reference: String,
    pub listing_id: String,
    pub status: Status,
    /// What happened, e.g. `filed`, `respond`, `escalate`, `decide`, `appeal`.
    pub step: String,
}

impl WebhookPayload for DisputeUpdated {
    const TYPE: &'static str = "dispute.updated";
    const SUMMARY: &'static str = "A dispute you filed moved on";
    fn sample() -> Self {
        Self {
            dispute_id: "sample-dispute".into(),
            reference: "TG-SAMPLE".into(),
            listing_id: "sample-listing".into(),
            status: Status::AwaitingSeller,
            step: "filed".into(),
        }
    }
}

/// A decision in force was withdrawn because a fact it rested on changed: take the
/// listing down or check it again.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListingRevoked {
    pub listing_id: String,
    pub shop_id: String,
    /// The withdrawn decision (`GET /v1/listing-checks/{id}`).
    pub check_id: String,
    /// What the withdrawn decision had said.
    pub decision: Decision,
    /// Why: `code_recalled`, `code_revoked`, `seller_suspended`, `binding_revoked`,
    /// `listing_blocked`, …
    pub reason: String,
    /// The fact that changed (e.g. `{"code": "…"}`, `{"seller_id": "…"}`).
    #[schema(value_type = Object)]
    pub cause: serde_json::Value,
}

impl WebhookPayload for ListingRevoked {
    const TYPE: &'static str = "listing.revoked";
    const SUMMARY: &'static str = "A decision about one of your listings was withdrawn";
    fn sample() -> Self {
        Self {
            listing_id: "sample-listing".into(),
            shop_id: "sample-shop".into(),
            check_id: "sample-check".into(),
            decision: Decision::Allow,
            reason: "code_recalled".into(),
            cause: serde_json::json!({ "code": "(01)09506000134352" }),
        }
    }
}

/// Calls `visit` with the sample of every event type, in documentation order.
pub fn for_each_sample(mut visit: impl FnMut(&'static str, serde_json::Value)) {
    fn one<P: WebhookPayload>(visit: &mut impl FnMut(&'static str, serde_json::Value)) {
        visit(
            P::TYPE,
            serde_json::to_value(P::sample()).unwrap_or_default(),
        );
    }
    one::<BindingRevoked>(&mut visit);
    one::<SellerSuspended>(&mut visit);
    one::<SellerReinstated>(&mut visit);
    one::<DisputeUpdated>(&mut visit);
    one::<ListingRevoked>(&mut visit);
}

/// The `webhooks` section of the API description and the schemas it refers to.
pub fn documentation() -> (
    Paths,
    Vec<(
        String,
        utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    )>,
) {
    let mut paths = PathsBuilder::new();
    let mut schemas = Vec::new();
    fn one<P: WebhookPayload>(
        paths: PathsBuilder,
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) -> PathsBuilder {
        let name = P::name().to_string();
        schemas.push((name.clone(), P::schema()));
        // And the schemas it refers to (e.g. a dispute's `Status`).
        P::schemas(schemas);
        let envelope = ObjectBuilder::new()
            .property(
                "id",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("Unique per event (also `Tracegate-Event-Id`); deliveries are at least once, so ignore an id already handled")),
            )
            .required("id")
            .property(
                "type",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([P::TYPE])),
            )
            .required("type")
            .property(
                "created_at",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::DateTime,
                    ))),
            )
            .required("created_at")
            .property(
                "test",
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .description(Some("Present and true only on events sent by the webhook test")),
            )
            .property("data", Ref::from_schema_name(&name))
            .required("data")
            .examples([serde_json::json!({
                "id": "01935f0e-4b7a-7c41-9a43-3c1b6d0e2f11",
                "type": P::TYPE,
                "created_at": "2026-11-28T09:30:00Z",
                "data": serde_json::to_value(P::sample()).unwrap_or_default(),
            })]);
        let header = |name: &str, description: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some(description))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build()
        };
        let operation = OperationBuilder::new()
            .summary(Some(P::SUMMARY))
            .description(Some(SIGNATURE_SCHEME))
            .tag("webhooks")
            .operation_id(Some(P::TYPE.replace('.', "_")))
            .parameter(header(
                "Tracegate-Signature",
                "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" with your webhook secret>`",
            ))
            .parameter(header(
                "Tracegate-Event-Id",
                "The event's `id` (the outbox message id): the same on every retry and redelivery. \
                 Deliveries are at least once (a node that stops mid-delivery leaves the event \
                 to another, which sends it again): use this header as the deduplication key \
                 and ignore an id already handled",
            ))
            .parameter(header("Tracegate-Event", "The event's `type`"))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(envelope)).build(),
                    )
                    .build(),
            ))
            .responses(
                ResponsesBuilder::new()
                    .response(
                        "2XX",
                        ResponseBuilder::new()
                            .description("Received; any 2xx ends delivery of this event")
                            .build(),
                    )
                    .response(
                        "default",
                        ResponseBuilder::new()
                            .description("Anything else (or no answer within 10 s) is retried with backoff")
                            .build(),
                    )
                    .build(),
            )
            .build();
        paths.path(P::TYPE, PathItem::new(HttpMethod::Post, operation))
    }
    paths = one::<BindingRevoked>(paths, &mut schemas);
    paths = one::<SellerSuspended>(paths, &mut schemas);
    paths = one::<SellerReinstated>(paths, &mut schemas);
    paths = one::<DisputeUpdated>(paths, &mut schemas);
    paths = one::<ListingRevoked>(paths, &mut schemas);
    (paths.build(), schemas)
}

/// How platforms verify a delivery.
pub const SIGNATURE_SCHEME: &str = "Delivered as a POST of the JSON event to the URL set with `PUT /v1/platforms/me/webhook`.\n\nVerify before trusting it: take `t` and `v1` from `Tracegate-Signature: t=<unix seconds>,v1=<hex>`, compute HMAC-SHA256 with your webhook secret over the bytes `<t>.<raw body>`, compare with `v1` in constant time, and refuse a `t` more than 5 minutes from your clock.";
