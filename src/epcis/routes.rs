//! HTTP for EPCIS: the capture interface of the EPCIS 2.0 REST binding, an event query
//! with the common parameters, and the custody of a lot.

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    Caller, CaptureSummary, CustodyView, Epcis, EpcisError, EventFilter, MAX_PAGE, PAGE, Viewer,
    field_errors, party_key, read_page_token,
};
use crate::auth::{Authenticated, OfficerAuth, PrincipalKind};
use crate::error::{AppError, FieldError, Problem};
use crate::http::Endpoint;
use crate::state::AppState;

/// The scope an issuer client needs to capture events.
pub const CAPTURE_SCOPE: &str = "epcis:capture";

pub fn configure(cfg: &mut web::ServiceConfig, max_document_bytes: usize) {
    cfg.service(
        Endpoint::new("/v1/epcis/capture")
            .app_data(web::PayloadConfig::new(max_document_bytes))
            .post_creating(capture),
    )
    .service(Endpoint::new("/v1/epcis/events").get(events))
    .service(Endpoint::new("/v1/lots/{gtin}/{lot}/custody").get(custody));
}

impl From<EpcisError> for AppError {
    fn from(error: EpcisError) -> Self {
        match error {
            EpcisError::Document(super::DocumentError::Schema(detail)) => {
                AppError::internal(anyhow::anyhow!("EPCIS schema: {detail}"))
            }
            EpcisError::Document(_) | EpcisError::Invalid { .. } => {
                let errors = field_errors(&error);
                AppError::Validation {
                    detail: format!(
                        "the document is refused whole: {} problem(s), each named in `errors`",
                        errors.len()
                    ),
                    errors,
                }
            }
            EpcisError::Forbidden(detail) => AppError::forbidden(detail),
            EpcisError::Database(e) => e.into(),
            EpcisError::Pool(e) => e.into(),
        }
    }
}

/// Who may capture, known before the body is read: an issuer client with the
/// `epcis:capture` scope, or a seller (whose business must then be verified).
pub enum CaptureCaller {
    Issuer(String),
    Seller(String),
}

impl FromRequest for CaptureCaller {
    type Error = AppError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let caller = Authenticated::from_request(req, payload);
        Box::pin(async move {
            let claims = caller.await?.0;
            match claims.kind {
                PrincipalKind::Issuer => {
                    if claims.scope.split_whitespace().any(|s| s == CAPTURE_SCOPE) {
                        Ok(CaptureCaller::Issuer(claims.sub))
                    } else {
                        Err(AppError::forbidden(format!(
                            "capturing events needs the `{CAPTURE_SCOPE}` scope"
                        )))
                    }
                }
                PrincipalKind::Seller => Ok(CaptureCaller::Seller(claims.sub)),
                _ => Err(AppError::forbidden(
                    "events are captured by issuers, code owners and verified businesses",
                )),
            }
        })
    }
}

/// Who reads events or a lot's custody, known from the token alone. Sellers are resolved to
/// their business in the handler (a database read).
pub enum Reader {
    /// Anyone without a token (custody only).
    Anonymous,
    /// An officer with a second factor: everything.
    Officer,
    /// An officer signed in without the second factor: what anyone may read, and the
    /// reason the rest is refused.
    OfficerWithoutSecondFactor(AppError),
    Seller(String),
    Issuer(String),
    Platform,
}

impl FromRequest for Reader {
    type Error = AppError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        if !req.headers().contains_key(header::AUTHORIZATION) {
            return Box::pin(async { Ok(Reader::Anonymous) });
        }
        let caller = Authenticated::from_request(req, payload);
        // Officers pass only with the second factor their other routes ask for.
        let officer = OfficerAuth::from_request(req, payload);
        Box::pin(async move {
            let claims = caller.await?.0;
            Ok(match claims.kind {
                PrincipalKind::Officer => match officer.await {
                    Ok(_) => Reader::Officer,
                    Err(refused) => Reader::OfficerWithoutSecondFactor(refused),
                },
                PrincipalKind::Seller => Reader::Seller(claims.sub),
                PrincipalKind::Issuer => Reader::Issuer(claims.sub),
                PrincipalKind::Platform => Reader::Platform,
            })
        })
    }
}

/// Capture an EPCIS 2.0 document (JSON or JSON-LD `EPCISDocument`): ObjectEvent,
/// AggregationEvent, TransformationEvent, TransactionEvent, AssociationEvent. The document
/// is validated against GS1's EPCIS 2.0 JSON schema and refused whole if any event is bad,
/// every problem named. Events are identified by their CBV event hash: an event sent again
/// is not stored twice. Parties (sources, destinations) are GLNs or enterprise codes
/// (`urn:vn:mst:{code}`); one tracegate does not know is recorded as unknown.
#[utoipa::path(post, path = "/v1/epcis/capture", tag = "epcis", security(("bearer" = [])),
    request_body(content = serde_json::Value, content_type = "application/ld+json", description = "An EPCISDocument"),
    responses(
        (status = 201, description = "Captured (`duplicates` counts events stored before)", body = CaptureSummary),
        (status = 400, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an issuer with `epcis:capture`, nor a seller of a verified business", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the document limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused whole; every bad event named in `errors`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn capture(
    state: web::Data<AppState>,
    caller: CaptureCaller,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|ct| ct == "application/json" || ct == "application/ld+json");
    if !is_json {
        return Err(AppError::UnsupportedMediaType {
            detail: "send the EPCISDocument as application/json or application/ld+json".into(),
        });
    }
    let document: serde_json::Value = crate::http::parse_json(&body)?;
    let shared = state.clone();
    let summary = state
        .blocking(move || {
            let epcis = Epcis {
                pool: &shared.pool,
                clock: shared.clock.as_ref(),
                facts: &shared.facts,
            };
            let caller = match caller {
                CaptureCaller::Issuer(id) => Caller::Issuer(id),
                CaptureCaller::Seller(account) => Caller::Seller(account),
            };
            Ok(epcis.capture(&caller, &document)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(summary))
}

/// Query parameters of the event query (EPCIS 2.0 SimpleEventQuery names). Lists are
/// comma-separated.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Events naming any of these EPCs (EPC URN or GS1 Digital Link), as instance,
    /// parent, child, input or output.
    #[serde(rename = "MATCH_epc")]
    #[param(rename = "MATCH_epc")]
    pub match_epc: Option<String>,
    /// Events with a quantity of any of these classes (`urn:epc:class:lgtin:…`, a GTIN or
    /// lot Digital Link).
    #[serde(rename = "MATCH_anyEPCClass")]
    #[param(rename = "MATCH_anyEPCClass")]
    pub match_any_epc_class: Option<String>,
    /// Business steps (`shipping`, or the CBV URI).
    #[serde(rename = "EQ_bizStep")]
    #[param(rename = "EQ_bizStep")]
    pub eq_biz_step: Option<String>,
    /// Events at or after this time (RFC 3339).
    #[serde(rename = "GE_eventTime")]
    #[param(rename = "GE_eventTime")]
    pub ge_event_time: Option<String>,
    /// Events before this time (RFC 3339).
    #[serde(rename = "LT_eventTime")]
    #[param(rename = "LT_eventTime")]
    pub lt_event_time: Option<String>,
    /// Events with any of these sources (GLN or `urn:vn:mst:{code}`).
    #[serde(rename = "EQ_source")]
    #[param(rename = "EQ_source")]
    pub eq_source: Option<String>,
    /// Events with any of these destinations.
    #[serde(rename = "EQ_destination")]
    #[param(rename = "EQ_destination")]
    pub eq_destination: Option<String>,
    /// Events per page (1 to 1000; 100 by default).
    #[serde(rename = "perPage")]
    #[param(rename = "perPage", minimum = 1, maximum = 1000, example = 100)]
    pub per_page: Option<i64>,
    /// The token of the next page, from the previous page's `Link` header.
    #[serde(rename = "nextPageToken")]
    #[param(rename = "nextPageToken")]
    pub next_page_token: Option<String>,
}

fn list(value: &Option<String>) -> Vec<String> {
    value
        .as_deref()
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn time(field: &str, value: &Option<String>) -> Result<Option<chrono::NaiveDateTime>, AppError> {
    value
        .as_deref()
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v.trim())
                .map(|t| t.naive_utc())
                .map_err(|_| AppError::BadRequest {
                    detail: format!("{field}: not an RFC 3339 date and time"),
                    errors: vec![FieldError::new(
                        field,
                        "an RFC 3339 date and time with its offset, e.g. 2026-01-31T08:00:00Z",
                    )],
                })
        })
        .transpose()
}

impl EventQuery {
    fn filter(&self) -> Result<(EventFilter, i64), AppError> {
        let per_page = self.per_page.unwrap_or(PAGE);
        if !(1..=MAX_PAGE).contains(&per_page) {
            return Err(AppError::BadRequest {
                detail: format!("perPage: 1 to {MAX_PAGE}"),
                errors: vec![FieldError::new("perPage", format!("1 to {MAX_PAGE}"))],
            });
        }
        let after = self
            .next_page_token
            .as_deref()
            .map(read_page_token)
            .transpose()
            .map_err(|e| AppError::BadRequest {
                detail: e.to_string(),
                errors: field_errors(&e),
            })?;
        Ok((
            EventFilter {
                epcs: list(&self.match_epc)
                    .iter()
                    .map(|e| super::ids::item_key(e))
                    .collect(),
                classes: list(&self.match_any_epc_class)
                    .iter()
                    .map(|e| super::ids::item_key(e))
                    .collect(),
                biz_steps: list(&self.eq_biz_step)
                    .iter()
                    .map(|s| {
                        s.trim_start_matches("urn:epcglobal:cbv:bizstep:")
                            .trim_start_matches("https://ref.gs1.org/cbv/BizStep-")
                            .to_string()
                    })
                    .collect(),
                from: time("GE_eventTime", &self.ge_event_time)?,
                before: time("LT_eventTime", &self.lt_event_time)?,
                sources: list(&self.eq_source).iter().map(|p| party_key(p)).collect(),
                destinations: list(&self.eq_destination)
                    .iter()
                    .map(|p| party_key(p))
                    .collect(),
                after,
                hashes: None,
                viewer: None,
            },
            per_page,
        ))
    }

    /// The query string of the next page.
    fn next_link(&self, token: &str) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (name, value) in [
            ("MATCH_epc", &self.match_epc),
            ("MATCH_anyEPCClass", &self.match_any_epc_class),
            ("EQ_bizStep", &self.eq_biz_step),
            ("GE_eventTime", &self.ge_event_time),
            ("LT_eventTime", &self.lt_event_time),
            ("EQ_source", &self.eq_source),
            ("EQ_destination", &self.eq_destination),
        ] {
            if let Some(v) = value {
                pairs.push((name, v.clone()));
            }
        }
        if let Some(n) = self.per_page {
            pairs.push(("perPage", n.to_string()));
        }
        pairs.push(("nextPageToken", token.to_string()));
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

/// Events in time order, filtered by the common EPCIS query parameters, as an
/// `EPCISQueryDocument`; a `Link: <…>; rel="next"` header leads to the next page.
///
/// A caller reads only the events it is party to: a seller those naming its verified
/// business as a source or destination, captured by it, or naming a product (GTIN) it
/// owns; an issuer those it captured or naming a product it registered; officers (with a
/// second factor) every event. Other events are left out of the results as if absent; a
/// seller whose business is not verified yet reads none. Platforms are party to no event.
#[utoipa::path(get, path = "/v1/epcis/events", tag = "epcis", params(EventQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "An EPCISQueryDocument of the events the caller is party to", body = serde_json::Value, content_type = "application/ld+json"),
        (status = 400, description = "A parameter that cannot be read, named", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A platform, or an officer without a second factor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn events(
    state: web::Data<AppState>,
    reader: Reader,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let reader = match reader {
        Reader::Anonymous => {
            return Err(AppError::unauthorized(
                "send an access token: Authorization: Bearer <token>",
            ));
        }
        Reader::Platform => {
            return Err(AppError::forbidden(
                "events are read by the parties named in them and by officers; a platform is party to none",
            ));
        }
        Reader::OfficerWithoutSecondFactor(refused) => return Err(refused),
        reader => reader,
    };
    let query: EventQuery =
        serde_urlencoded::from_str(req.query_string()).map_err(|e| AppError::BadRequest {
            detail: format!("the query cannot be read: {e}"),
            errors: vec![FieldError::new("query", e.to_string())],
        })?;
    let (mut filter, per_page) = query.filter()?;
    let shared = state.clone();
    let page = state
        .blocking(move || {
            let epcis = Epcis {
                pool: &shared.pool,
                clock: shared.clock.as_ref(),
                facts: &shared.facts,
            };
            filter.viewer = match reader {
                Reader::Seller(account) => Some(
                    epcis
                        .business_of(&account)?
                        .map_or(Viewer::Nobody, Viewer::Business),
                ),
                Reader::Issuer(id) => Some(Viewer::Issuer(id)),
                Reader::Officer => None,
                Reader::Anonymous | Reader::Platform | Reader::OfficerWithoutSecondFactor(_) => {
                    Some(Viewer::Nobody)
                }
            };
            Ok(epcis.query(&filter, per_page)?)
        })
        .await?;
    let document = serde_json::json!({
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": state.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "epcisBody": { "queryResults": {
            "queryName": "SimpleEventQuery",
            "resultsBody": { "eventList": page.events },
        } },
    });
    let mut response = HttpResponse::Ok();
    response.content_type("application/ld+json");
    if let Some(token) = page.next {
        response.insert_header((
            header::LINK,
            format!(
                "</v1/epcis/events?{}>; rel=\"next\"",
                query.next_link(&token)
            ),
        ));
    }
    Ok(response.json(document))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LotPath {
    /// GTIN (8, 12, 13 or 14 digits).
    pub gtin: String,
    /// Batch or lot number (AI 10).
    pub lot: String,
}

/// The chain of custody of a lot, through the containers it was aggregated into, with one
/// step before and one step after each business in it.
///
/// **Public view** (`view: public`; anyone, with or without a token): for each step the
/// day, the event type, business step and disposition, and the holders it went from and
/// to: businesses tracegate knows by name and province (a household business, named after
/// a person, masked to initials), any other party only as unknown. Nothing a competitor
/// could mine is shown: no quantities, places, containers, event ids, times of day, nor
/// identifiers of parties (GLNs, enterprise codes).
///
/// **Full view** (`view: full`): every step with what moved, how much, where, the
/// container and each party's identifier, for officers (with a second factor; without
/// one, the public view) and for a
/// seller whose verified business owns the product (registered the lot or its GTIN).
/// Other parties read their own events with `GET /v1/epcis/events`.
#[utoipa::path(get, path = "/v1/lots/{gtin}/{lot}/custody", tag = "epcis", params(LotPath),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The chain (no steps when no event names the lot), public or full by the caller", body = CustodyView),
        (status = 401, description = "A token was sent and is not valid (send none for the public view)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a GTIN and lot", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn custody(
    state: web::Data<AppState>,
    reader: Reader,
    path: web::Path<LotPath>,
) -> Result<web::Json<CustodyView>, AppError> {
    let LotPath { gtin, lot } = path.into_inner();
    let shared = state.clone();
    let custody = state
        .blocking(move || {
            let epcis = Epcis {
                pool: &shared.pool,
                clock: shared.clock.as_ref(),
                facts: &shared.facts,
            };
            let custody = epcis.custody(&gtin, &lot)?;
            let full = match reader {
                Reader::Officer => true,
                Reader::Seller(account) => match epcis.business_of(&account)? {
                    Some(business) => epcis.owns_lot(&business, &custody)?,
                    None => false,
                },
                Reader::Anonymous
                | Reader::Issuer(_)
                | Reader::Platform
                | Reader::OfficerWithoutSecondFactor(_) => false,
            };
            Ok(if full {
                CustodyView::Full(custody)
            } else {
                CustodyView::Public(custody.public())
            })
        })
        .await?;
    Ok(web::Json(custody))
}
