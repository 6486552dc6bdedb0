//! The public face of a code: tracegate as a GS1-Conformant Resolver (release 1.2.0), and
//! the verification page a consumer lands on after scanning.
//!
//! GS1 Digital Link paths (`/01/{gtin}`, `…/22/{cpv}`, `…/10/{lot}`, `…/21/{serial}`,
//! and compressed `eh…`/`ex…` URIs) answer GET and HEAD with a 307 to the default link
//! (tracegate's verification page of the most specific registered level), to the link of
//! `?linkType=` (300 when several fit the request's languages, media types and context, 404
//! when the item has none), or with the linkset of every level up to the primary key
//! (`?linkType=linkset` or `Accept: application/linkset+json`). The query string goes on
//! with every redirect, unchanged. Syntax errors are 400, unknown codes 404, withdrawn ones
//! 410. OPTIONS, CORS and the description file at `/.well-known/gs1resolver` complete the
//! standard.
//!
//! Beside the page (`/verify?code=…`, any accepted form), tracegate publishes what only it
//! can say: the status and any recall (`/verify/status`), the legal entity it verified
//! (`/verify/entity`), a JWS signed with the attestation key stating the status at the
//! moment of the request (`/verify/statement`), and the QR code (`/qr.svg`). None of these
//! addresses is itself a Digital Link.
//!
//! Every resolver look-up goes through [`crate::links::look_up`] (code key → what the
//! answer needs).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Datelike;
use serde::{Deserialize, Serialize};

use super::{page, switch_link};
use crate::audit::{self, NewAuditEntry};
use crate::codes::dl_compression;
use crate::codes::scans::{self, ScanCount};
use crate::codes::store::{self as code_store, CodeRow};
use crate::codes::{Level, ParsedCode};
use crate::db::{DbConnection, write_transaction};
use crate::error::AppError;
use crate::http::Endpoint;
use crate::i18n::Language;
use crate::links::resolution::{self, Answer, LevelLinks, Link, Preferences, Wanted};
use crate::links::vocabulary::{self, LinkType};
use crate::links::{self, CodeState, Registered};
use crate::state::AppState;

/// Media type of a linkset (RFC 9264).
pub const LINKSET_JSON: &str = "application/linkset+json";
/// Media type of a compact JWS (RFC 7515).
const JOSE: &str = "application/jose";

/// Languages a verification page is written in.
const PAGE_LANGUAGES: [&str; 2] = ["vi", "en"];

/// Seconds a signed statement stays valid: it speaks of the moment of the scan.
const STATEMENT_TTL_SECS: i64 = 300;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/verify").get(verify))
        .service(resolver_resource("/01/{rest:.*}", digital_link))
        .service(resolver_resource(
            "/{compressed:e(h[0-9A-Fa-f]{20,}|x[0-9A-Za-z_-]{16,})}",
            compressed_link,
        ))
        .service(resolver_resource("/.well-known/gs1resolver", description))
        .service(resolver_resource("/voc", vocabulary_document))
        .service(resolver_resource("/verify/status", status))
        .service(resolver_resource("/verify/entity", entity))
        .service(resolver_resource("/verify/statement", statement))
        .service(resolver_resource("/qr.svg", qr));
}

/// A public resolver resource: GET and HEAD to `handler`, OPTIONS and CORS by [`cors`],
/// any other method a 405 naming these.
fn resolver_resource<F, Args>(
    path: &str,
    handler: F,
) -> actix_web::Resource<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
>
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(AppError::MethodNotAllowed {
                allowed: vec![Method::GET, Method::HEAD, Method::OPTIONS],
            })
        }))
        .wrap(from_fn(cors))
}

const ALLOWED_METHODS: &str = "GET, HEAD, OPTIONS";

/// CORS for the resolver's resources: any origin may read them (they are public), the
/// headers a client needs (`Link`, `Location`) are exposed, and preflight requests are
/// answered here.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::OPTIONS {
        let mut response = HttpResponse::NoContent()
            .insert_header((header::ALLOW, ALLOWED_METHODS))
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Accept, Accept-Language, Content-Type",
            ))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
            .finish();
        // A Digital Link path names its linkset even here, where no redirect happens.
        let path = req.uri().path().trim_end_matches('/');
        if path.starts_with("/01/")
            && let Some(state) = req.app_data::<web::Data<AppState>>()
        {
            append_link(
                &mut response,
                &linkset_link(&format!("{}{path}", base(state))),
            );
        }
        return Ok(req
            .into_response(response)
            .map_into_boxed_body()
            .map_into_left_body());
    }
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Link, Location, X-Request-Id"),
    );
    Ok(response.map_into_right_body())
}

#[derive(Template)]
#[template(path = "pages/lookup.html")]
struct LookupPage {
    lang: Language,
    switch_link: String,
    value: String,
    problem: Option<String>,
    detail: Option<String>,
    gone: bool,
    /// A code unknown or withdrawn is the likeliest fake: a way to report it.
    report_link: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/code.html")]
struct CodePage {
    lang: Language,
    switch_link: String,
    product_name: String,
    code: String,
    level: &'static str,
    status: String,
    status_reason: Option<String>,
    expired: bool,
    possible_clone: bool,
    owner_name: Option<String>,
    owner_code: String,
    owner_province: Option<String>,
    owner_verified: bool,
    issuer_name: String,
    origin: Option<String>,
    production_date: Option<String>,
    expiry_date: Option<String>,
    qr_path: String,
    report_link: String,
    /// The product is known through this many registered lots and items.
    known_by_lots: Option<i64>,
    /// The lot's chain of custody, oldest step first (empty: no event names the lot).
    chain: Vec<ChainLine>,
    /// The chain as JSON (`/v1/lots/{gtin}/{lot}/custody`), for a lot.
    custody_link: Option<String>,
}

/// One step of a lot's chain as the page shows it: the public view, no quantities.
struct ChainLine {
    date: String,
    step: String,
    from: String,
    to: String,
}

/// The holders of a step, by name and province; a party tracegate does not know as such.
fn holders(parties: &[crate::epcis::PublicParty], lang: Language) -> String {
    let names: Vec<String> = parties
        .iter()
        .map(|p| match (&p.name, &p.province) {
            (Some(name), Some(province)) => format!("{name} ({province})"),
            (Some(name), None) => name.clone(),
            _ if lang == Language::Vi => "Bên chưa được tracegate biết".to_string(),
            _ => "A party unknown to tracegate".to_string(),
        })
        .collect();
    if names.is_empty() {
        "—".to_string()
    } else {
        names.join(", ")
    }
}

/// The page shows what anyone may read of a chain (`Custody::public`), as the JSON does.
fn chain_lines(custody: &crate::epcis::PublicCustody, lang: Language) -> Vec<ChainLine> {
    custody
        .steps
        .iter()
        .map(|step| ChainLine {
            date: date(&step.date.to_string(), lang),
            step: step
                .biz_step
                .clone()
                .unwrap_or_else(|| step.event_type.clone())
                .replace('_', " "),
            from: holders(&step.from, lang),
            to: holders(&step.to, lang),
        })
        .collect()
}

/// The custody address of a parsed code's lot, when it names one.
fn custody_path(parsed: &ParsedCode) -> Option<String> {
    let (gtin, lot) = (parsed.gtin()?, parsed.lot()?);
    Some(format!(
        "/v1/lots/{gtin}/{}/custody",
        crate::codes::percent_encode(lot)
    ))
}

/// The reader's language: `?lang=` first, then the cookie the switch sets, then the
/// browser's `Accept-Language`; Vietnamese otherwise. The flag says whether to remember it.
fn reader_language(req: &HttpRequest) -> (Language, bool) {
    let chosen = super::language(req);
    if chosen.1 || req.cookie("lang").is_some() {
        return chosen;
    }
    let accepted = resolution::ranked(header_text(req, header::ACCEPT_LANGUAGE));
    let lang = accepted
        .iter()
        .map(|range| range.split('-').next().unwrap_or(range))
        .find(|primary| PAGE_LANGUAGES.contains(primary))
        .map_or(Language::Vi, Language::from_code);
    (lang, false)
}

fn header_text(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The public URL, without a trailing slash.
fn base(state: &AppState) -> &str {
    state.config.server.public_url.trim_end_matches('/')
}

/// The year codes are read in (for GS1's century rule), in Vietnam's time.
pub(super) fn year(state: &AppState) -> i32 {
    today(state).year()
}

fn today(state: &AppState) -> chrono::NaiveDate {
    crate::disputes::calendar::local(state.clock.now()).date_naive()
}

/// A code as people write it: the canonical key, less the `issuer:` tag of issuer codes.
fn written(canonical: &str) -> &str {
    canonical.strip_prefix("issuer:").unwrap_or(canonical)
}

/// The public address of a code: its Digital Link path, or `/verify?code=…` for codes of
/// national and provincial issuers.
pub(super) fn public_path(canonical: &str) -> String {
    if canonical.starts_with("/01/") {
        canonical.to_string()
    } else {
        format!("/verify?{}", query("code", written(canonical)))
    }
}

fn query(name: &str, value: &str) -> String {
    serde_urlencoded::to_string([(name, value)]).unwrap_or_default()
}

/// A tracegate resource about a code (`/verify`, `/verify/status`, …): the code goes in the
/// query string, so that the address is never itself a Digital Link.
fn about(base: &str, resource: &str, code: &str) -> String {
    format!("{base}{resource}?{}", query("code", written(code)))
}

/// Reads the `code` parameter of tracegate's resources: any accepted form, or a Digital
/// Link path (`/01/…`) on this host.
fn parse_code(state: &AppState, code: &str) -> Result<ParsedCode, crate::codes::CodeError> {
    let code = code.trim();
    if code.starts_with('/') {
        crate::codes::parse(&format!("{}{code}", base(state)), year(state))
    } else {
        crate::codes::parse(code, year(state))
    }
}

/// The Digital Link path of each registered level of a request, keeping its `/22/` and
/// `/10/`: the item's path is the request's; the lot's is the request's up to the lot; the
/// product's is the primary key alone. Keyed like `lookup_keys`.
fn level_paths(parsed: &ParsedCode) -> Vec<(String, String)> {
    let keys = parsed.lookup_keys().to_vec();
    let Some(product) = keys.last().cloned() else {
        return Vec::new();
    };
    if !product.starts_with('/') {
        return keys.iter().map(|k| (k.clone(), k.clone())).collect();
    }
    let segment = |ai: &str, value: &str| {
        let mut out = format!("/{ai}/");
        crate::codes::push_percent_encoded(&mut out, value);
        out
    };
    let cpv = parsed
        .elements()
        .find(|e| e.ai == "22")
        .map(|e| segment("22", e.value))
        .unwrap_or_default();
    let lot_path = parsed
        .lot()
        .map(|lot| format!("{product}{cpv}{}", segment("10", lot)));
    let mut paths = Vec::with_capacity(3);
    let mut keys = keys.iter();
    if parsed.serial().is_some()
        && let Some(key) = keys.next()
    {
        paths.push((key.clone(), parsed.canonical().to_owned()));
    }
    if let Some(lot_path) = lot_path
        && let Some(key) = keys.next()
    {
        paths.push((key.clone(), lot_path));
    }
    paths.push((product.clone(), product));
    paths
}

/// Each level's state counting its ancestors': a recall of the product or the lot recalls
/// every item under it, and the consumer must see it.
fn effective_states(levels: &[Registered]) -> Vec<(CodeState, Option<String>)> {
    (0..levels.len())
        .map(|i| {
            let own = &levels[i];
            if own.state != CodeState::Active {
                return (own.state, own.status_reason.clone());
            }
            levels[i + 1..]
                .iter()
                .find(|a| a.state == CodeState::Recalled)
                .map_or((CodeState::Active, None), |a| {
                    (CodeState::Recalled, a.status_reason.clone())
                })
        })
        .collect()
}

fn level_description(product: &str, level: Level, parsed: &ParsedCode, vi: bool) -> String {
    match (level, vi) {
        (Level::Serial, true) => format!("{product}, số sê-ri {}", parsed.serial().unwrap_or("")),
        (Level::Serial, false) => {
            format!("{product}, serial number {}", parsed.serial().unwrap_or(""))
        }
        (Level::Lot, true) => format!("{product}, lô {}", parsed.lot().unwrap_or("")),
        (Level::Lot, false) => format!("{product}, lot {}", parsed.lot().unwrap_or("")),
        (Level::Gtin, _) => product.to_string(),
    }
}

/// The owner as a linkset names it: enterprise codes (legal persons, public) in full, any
/// other business number (a household business, registered to a natural person and often
/// the person's citizen ID) masked.
fn owner_shown(owner_code: &str) -> String {
    if crate::identity::EnterpriseCode::parse(owner_code).is_ok() {
        return owner_code.to_string();
    }
    let chars: Vec<char> = owner_code.chars().collect();
    if chars.len() <= 5 {
        return "*".repeat(chars.len());
    }
    let keep_start: String = chars[..3].iter().collect();
    let keep_end: String = chars[chars.len() - 2..].iter().collect();
    format!("{keep_start}{}{keep_end}", "*".repeat(chars.len() - 5))
}

/// The verified business behind an owner code: (name, province code).
type OwnerFacts = crate::identity::facts::OwnerBusiness;

/// tracegate's links for one registered level, then the links its issuer or owner added.
fn level_links(
    base: &str,
    path: &str,
    level: &Registered,
    state: (CodeState, Option<&str>),
    owner: &OwnerFacts,
    parsed: &ParsedCode,
    lang: Language,
) -> LevelLinks {
    let vi = lang.is_vi();
    let page = about(base, "/verify", path);
    let page_title = if vi {
        format!("Xác minh của tracegate: {}", level.product_name)
    } else {
        format!("Verified by tracegate: {}", level.product_name)
    };
    let recall_title = match (state, vi) {
        ((CodeState::Recalled, reason), true) => {
            format!("ĐÃ BỊ THU HỒI: {}", reason.unwrap_or("xem trang xác minh"))
        }
        ((CodeState::Recalled, reason), false) => {
            format!(
                "RECALLED: {}",
                reason.unwrap_or("see the verification page")
            )
        }
        (_, true) => "Không bị thu hồi".to_string(),
        (_, false) => "Not recalled".to_string(),
    };
    let shown_code = owner_shown(&level.owner_code);
    let entity_title = match (owner, vi) {
        (Some((name, _)), true) => format!(
            "{} ({shown_code}), đã được tracegate xác minh với sổ đăng ký doanh nghiệp",
            name.as_deref().unwrap_or("Doanh nghiệp")
        ),
        (Some((name, _)), false) => format!(
            "{} ({shown_code}), verified by tracegate against the business register",
            name.as_deref().unwrap_or("Business")
        ),
        (None, true) => format!("{shown_code}: tracegate chưa (hoặc không còn) xác minh"),
        (None, false) => format!("{shown_code}: not (or no longer) verified by tracegate"),
    };
    let ours = |link_type: LinkType, href: String, title: String, media: Option<&str>| Link {
        link_type,
        href,
        title,
        hreflang: Vec::new(),
        media_type: media.map(str::to_string),
        context: None,
    };
    let mut links = vec![
        ours(
            vocabulary::DEFAULT_LINK,
            page.clone(),
            page_title.clone(),
            None,
        ),
        Link {
            hreflang: PAGE_LANGUAGES.iter().map(|l| l.to_string()).collect(),
            ..ours(
                vocabulary::TRACEABILITY,
                page,
                page_title,
                Some("text/html"),
            )
        },
        ours(
            vocabulary::RECALL_STATUS,
            about(base, "/verify/status", path),
            recall_title,
            Some("application/json"),
        ),
        ours(
            vocabulary::JWS,
            about(base, "/verify/statement", path),
            if vi {
                "Xác nhận trạng thái có chữ ký của tracegate".into()
            } else {
                "Status statement signed by tracegate".into()
            },
            Some(JOSE),
        ),
        ours(
            vocabulary::LEGAL_ENTITY,
            about(base, "/verify/entity", path),
            entity_title,
            Some("application/json"),
        ),
        ours(
            vocabulary::QR_CODE,
            about(base, "/qr.svg", path),
            if vi {
                "Mã QR của sản phẩm".into()
            } else {
                "QR code of this item".into()
            },
            Some("image/svg+xml"),
        ),
    ];
    // A lot (or an item of it) has a chain of custody: the EPCIS events that name it.
    if level.level >= Level::Lot
        && let Some(custody) = custody_path(parsed)
    {
        links.push(ours(
            vocabulary::TRACEABILITY,
            format!("{base}{custody}"),
            if vi {
                "Hành trình của lô hàng (sự kiện EPCIS)".into()
            } else {
                "Chain of custody of this lot (EPCIS events)".into()
            },
            Some("application/json"),
        ));
    }
    links.extend(level.links.iter().filter_map(|row| {
        Some(Link {
            link_type: LinkType::parse(&row.link_type)?,
            href: row.href.clone(),
            title: row.title.clone(),
            hreflang: row.language.iter().cloned().collect(),
            media_type: row.media_type.clone(),
            context: row.context.clone(),
        })
    }));
    LevelLinks {
        anchor: format!("{base}{path}"),
        item_description: level_description(&level.product_name, level.level, parsed, vi),
        links,
    }
}

/// The registered levels of `keys` and, if `owners`, the verified business behind each
/// level's owner: from memory while it is as current as the gate's facts, else from the
/// database (a product known only through its lots is always counted there).
async fn registered_with_owners(
    state: &web::Data<AppState>,
    keys: Vec<String>,
    owners: bool,
) -> Result<(Vec<Registered>, Vec<(String, OwnerFacts)>), AppError> {
    let now = state.clock.now().naive_utc();
    let registered = match links::index::look_up(&*state.gate.model, &state.links, &keys, now) {
        Some(found) => found,
        None => {
            state
                .db(move |conn| Ok(links::look_up(conn, &keys, now)?))
                .await?
        }
    };
    let mut facts: Vec<(String, OwnerFacts)> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    if owners {
        for level in &registered {
            let code = &level.owner_code;
            if facts.iter().any(|(c, _)| c == code) || missing.contains(code) {
                continue;
            }
            match state.businesses.get(code) {
                Some(found) => facts.push((code.clone(), found)),
                None => missing.push(code.clone()),
            }
        }
    }
    if !missing.is_empty() {
        let generation = state.businesses.generation();
        let read = state
            .db(move |conn| {
                let mut read = Vec::with_capacity(missing.len());
                for code in missing {
                    let found = crate::identity::verified_business(conn, &code)?;
                    read.push((code, found));
                }
                Ok(read)
            })
            .await?;
        for (code, found) in read {
            state.businesses.remember(generation, &code, found.clone());
            facts.push((code, found));
        }
    }
    Ok((registered, facts))
}

/// Why a request cannot be answered with links.
enum Refusal {
    Unreadable(String),
    Unknown,
    Withdrawn(Option<String>),
}

/// What a resolver request resolved to.
struct Resolved {
    parsed: ParsedCode,
    levels: Vec<LevelLinks>,
}

/// Looks the request's code up and builds the links of every registered level. `owners`
/// asks for the legal entities' names too (the linkset shows them).
async fn resolve(
    state: &web::Data<AppState>,
    parsed: ParsedCode,
    lang: Language,
    owners: bool,
) -> Result<Result<Resolved, Refusal>, AppError> {
    let (registered, owner_facts) =
        registered_with_owners(state, parsed.lookup_keys().to_vec(), owners).await?;
    let Some(first) = registered.first() else {
        return Ok(Err(Refusal::Unknown));
    };
    if first.state == CodeState::Revoked {
        return Ok(Err(Refusal::Withdrawn(first.status_reason.clone())));
    }
    let paths = level_paths(&parsed);
    let states = effective_states(&registered);
    let base = base(state);
    let levels = registered
        .iter()
        .zip(&states)
        .filter(|(level, _)| level.state != CodeState::Revoked)
        .filter_map(|(level, (code_state, reason))| {
            let path = &paths.iter().find(|(key, _)| key == &level.key)?.1;
            let owner = owner_facts
                .iter()
                .find(|(code, _)| code == &level.owner_code)
                .and_then(|(_, f)| f.clone());
            Some(level_links(
                base,
                path,
                level,
                (*code_state, reason.as_deref()),
                &owner,
                &parsed,
                lang,
            ))
        })
        .collect();
    Ok(Ok(Resolved { parsed, levels }))
}

/// `Link: <…?linkType=linkset>; rel="linkset"` for the request's uncompressed URI.
fn linkset_link(anchor: &str) -> String {
    format!("<{anchor}?linkType=linkset>; rel=\"linkset\"; type=\"{LINKSET_JSON}\"")
}

fn json_ld_context_link() -> String {
    format!(
        "<{}>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"",
        vocabulary::LINKSET_CONTEXT
    )
}

/// The `linkType` parameter (the first, as written).
fn link_type_param(req: &HttpRequest) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == "linkType")
        .map(|(_, v)| v)
}

fn context_param(req: &HttpRequest) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .find(|(k, v)| k == "context" && !v.is_empty())
        .map(|(_, v)| v)
}

/// Whether a request without `linkType` asks for the linkset by its `Accept` header.
fn accepts_linkset(req: &HttpRequest) -> bool {
    let ranked = resolution::ranked(header_text(req, header::ACCEPT));
    match ranked.first().map(String::as_str) {
        Some(LINKSET_JSON) | Some("application/json") => true,
        _ => ranked.iter().any(|m| m == LINKSET_JSON),
    }
}

/// Whether the client reads HTML (a browser), for error answers.
fn wants_html(req: &HttpRequest) -> bool {
    header_text(req, header::ACCEPT).is_some_and(|a| a.contains("text/html"))
}

/// A refusal as a page for people and a problem for machines.
fn refusal(req: &HttpRequest, refusal: Refusal, shown: &str) -> Result<HttpResponse, AppError> {
    let lang = reader_language(req);
    let vi = lang.0.is_vi();
    let (status, problem, detail, error) = match refusal {
        Refusal::Unreadable(why) => (
            StatusCode::BAD_REQUEST,
            if vi {
                "Không đọc được mã này"
            } else {
                "This code cannot be read"
            },
            // The parser's reason is English; a Vietnamese page keeps to its heading.
            (!vi).then(|| why.clone()),
            AppError::BadRequest {
                detail: format!("not a valid GS1 Digital Link: {why}"),
                errors: vec![crate::error::FieldError::new("code", why)],
            },
        ),
        Refusal::Unknown => (
            StatusCode::NOT_FOUND,
            if vi {
                "Mã này chưa được tổ chức nào đăng ký"
            } else {
                "No issuer has registered this code"
            },
            Some(if vi {
                "Mã không do tổ chức được công nhận cấp: hãy thận trọng với sản phẩm này.".into()
            } else {
                "The code was not issued by a recognised issuer: be careful with this product."
                    .into()
            }),
            AppError::not_found("no issuer has registered this code in tracegate"),
        ),
        Refusal::Withdrawn(reason) => (
            StatusCode::GONE,
            if vi {
                "Mã này đã bị thu hồi hiệu lực"
            } else {
                "This code has been withdrawn"
            },
            reason.clone(),
            AppError::Gone {
                detail: reason.unwrap_or_else(|| "the code has been withdrawn".into()),
            },
        ),
    };
    if !wants_html(req) {
        return Err(error);
    }
    page(
        req,
        status,
        lang,
        &LookupPage {
            lang: lang.0,
            switch_link: switch_link(req, lang.0),
            value: shown.to_string(),
            problem: Some(problem.to_string()),
            detail,
            gone: status == StatusCode::GONE,
            report_link: (!shown.trim().is_empty()).then(|| {
                format!(
                    "/report?{}",
                    serde_urlencoded::to_string([("code", shown.trim())]).unwrap_or_default()
                )
            }),
        },
    )
}

/// Appends the request's query string, unchanged, to a redirect target.
fn with_query(target: &str, query: &str) -> String {
    if query.is_empty() {
        return target.to_string();
    }
    let separator = if target.contains('?') { '&' } else { '?' };
    format!("{target}{separator}{query}")
}

/// Answers a GS1 Digital Link request. `same_as` is the uncompressed URI when the request
/// was compressed.
async fn answer_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    uri: String,
    same_as: Option<String>,
) -> Result<HttpResponse, AppError> {
    let shown = uri.clone();
    let raw_query = req.query_string().to_string();
    let full = with_query(&uri, &raw_query);
    let parsed = match crate::codes::parse(&full, year(&state)) {
        Ok(parsed) if parsed.canonical().starts_with("/01/") => parsed,
        Ok(_) => {
            return refusal(
                &req,
                Refusal::Unreadable("tracegate resolves GTINs (/01/)".into()),
                &shown,
            );
        }
        Err(e) => return refusal(&req, Refusal::Unreadable(e.to_string()), &shown),
    };
    let lang = reader_language(&req).0;
    let wanted = match Wanted::parse(link_type_param(&req).as_deref()) {
        Wanted::Default if accepts_linkset(&req) => Wanted::Linkset,
        other => other,
    };
    let resolved = match resolve(&state, parsed, lang, wanted == Wanted::Linkset).await? {
        Ok(resolved) => resolved,
        Err(why) => return refusal(&req, why, &shown),
    };
    let anchor = format!("{}{}", base(&state), resolved.parsed.canonical());
    let prefs = Preferences {
        languages: resolution::ranked(header_text(&req, header::ACCEPT_LANGUAGE)),
        media_types: resolution::ranked(header_text(&req, header::ACCEPT)),
        context: context_param(&req),
    };
    let mut response = match resolution::choose(&resolved.levels, &wanted, &prefs) {
        Answer::Redirect(link) => HttpResponse::TemporaryRedirect()
            .insert_header((header::LOCATION, with_query(&link.href, &raw_query)))
            .finish(),
        Answer::Choices(level, links) => HttpResponse::MultipleChoices()
            .content_type(LINKSET_JSON)
            .json(resolution::choices(level, &links)),
        Answer::Linkset => {
            let mut response = HttpResponse::Ok()
                .content_type(LINKSET_JSON)
                .json(resolution::Linkset(&resolved.levels));
            append_link(&mut response, &json_ld_context_link());
            response
        }
        Answer::NoSuchLinkType(link_type) => {
            return Err(AppError::not_found(format!(
                "this item has no {link_type} link; ask for ?linkType=linkset to see the links it has"
            )));
        }
    };
    append_link(&mut response, &linkset_link(&anchor));
    if let Some(same_as) = same_as {
        append_link(&mut response, &format!("<{same_as}>; rel=\"owl:sameAs\""));
    }
    let headers = response.headers_mut();
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Language"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn append_link(response: &mut HttpResponse, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::LINK, value);
    }
}

/// A GS1 Digital Link path on this host. A trailing slash is tolerated.
pub async fn digital_link(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let path = req.uri().path().trim_end_matches('/');
    let uri = format!("{}{path}", base(&state));
    answer_link(state, req, uri, None).await
}

/// A compressed GS1 Digital Link (`/eh…`, `/ex…`): answered as its uncompressed form, which
/// the `Link` header names (`rel="owl:sameAs"`).
pub async fn compressed_link(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let segment = req.match_info().query("compressed").to_string();
    let shown = req.uri().path().to_string();
    match dl_compression::decompress(&segment) {
        Ok(path) => {
            let uri = format!("{}{path}", base(&state));
            answer_link(state, req, uri.clone(), Some(uri)).await
        }
        Err(e) => refusal(&req, Refusal::Unreadable(e.to_string()), &shown),
    }
}

/// The GS1 resolver description file (GS1-Conformant Resolver 1.2.0, section 3): the
/// resolver root, the primary keys it answers (GTIN), the link type namespaces it knows
/// (GS1's and tracegate's own), the JSON-LD context of its linksets (public, CORS).
#[utoipa::path(get, path = "/.well-known/gs1resolver", tag = "codes",
    responses((status = 200, description = "The description file", body = Object, content_type = "application/json")))]
pub async fn description(state: web::Data<AppState>) -> HttpResponse {
    let base = base(&state);
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .json(serde_json::json!({
            "name": "tracegate",
            "resolverRoot": base,
            "supportedPrimaryKeys": ["01"],
            "supportedLinkType": [
                { "namespace": vocabulary::GS1, "prefix": "gs1:" },
                { "namespace": vocabulary::TRACEGATE, "prefix": "tracegate:" },
            ],
            "linkTypeDefaultCanBeLinkset": false,
            "jsonLdContextLocation": vocabulary::LINKSET_CONTEXT,
            "contact": { "fn": "tracegate" },
        }))
}

/// tracegate's link types (JSON-LD).
pub async fn vocabulary_document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/ld+json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .json(vocabulary::tracegate_vocabulary())
}

#[derive(Debug, Deserialize)]
pub struct CodeParam {
    #[serde(default)]
    pub code: Option<String>,
}

/// Resolves the `code` of a tracegate resource about a code to its registered levels.
async fn code_facts(
    state: &web::Data<AppState>,
    code: Option<String>,
) -> Result<(ParsedCode, Vec<Registered>, OwnerFacts), AppError> {
    let code = code.unwrap_or_default();
    if code.trim().is_empty() {
        return Err(AppError::bad_request(
            "give the code: ?code=… (any accepted form, or a Digital Link path)",
        ));
    }
    let parsed = parse_code(state, &code).map_err(|e| AppError::BadRequest {
        detail: format!("code: {e}"),
        errors: vec![crate::error::FieldError::new("code", e.to_string())],
    })?;
    let (registered, owners) =
        registered_with_owners(state, parsed.lookup_keys().to_vec(), true).await?;
    let owner = registered
        .first()
        .and_then(|level| {
            owners
                .into_iter()
                .find(|(code, _)| code == &level.owner_code)
        })
        .and_then(|(_, facts)| facts);
    match registered.first() {
        None => Err(AppError::not_found(
            "no issuer has registered this code in tracegate",
        )),
        Some(level) if level.state == CodeState::Revoked => Err(AppError::Gone {
            detail: level
                .status_reason
                .clone()
                .unwrap_or_else(|| "the code has been withdrawn".into()),
        }),
        Some(_) => Ok((parsed, registered, owner)),
    }
}

/// What tracegate states about a code at a moment: the body of `/verify/status` and the
/// claims of `/verify/statement`.
#[derive(Debug, Serialize)]
struct StatusStatement {
    /// The registered code the request resolved to (its canonical key).
    code: String,
    level: &'static str,
    product_name: String,
    /// `active` or `recalled`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    recall_reason: Option<String>,
    /// The legal entity behind the code, as tracegate verified it.
    legal_entity: LegalEntity,
}

#[derive(Debug, Clone, Serialize)]
struct LegalEntity {
    /// Enterprise code in full; other business numbers masked.
    business_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    province: Option<String>,
    verified: bool,
}

fn statement_of(registered: &[Registered], owner: &OwnerFacts) -> Option<StatusStatement> {
    let first = registered.first()?;
    let (state, reason) = effective_states(registered).into_iter().next()?;
    Some(StatusStatement {
        code: first.key.clone(),
        level: first.level.as_str(),
        product_name: first.product_name.clone(),
        status: if state == CodeState::Recalled {
            "recalled"
        } else {
            "active"
        },
        recall_reason: (state == CodeState::Recalled).then_some(reason).flatten(),
        legal_entity: LegalEntity {
            business_code: owner_shown(&first.owner_code),
            name: owner.as_ref().and_then(|(n, _)| n.clone()),
            province: owner.as_ref().and_then(|(_, p)| p.clone()),
            verified: owner.is_some(),
        },
    })
}

fn public_json(value: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(value)
}

/// `GET /verify/status?code=…`: the code's status and any recall (the `gs1:recallStatus`
/// target), walking up to the level that is registered.
pub async fn status(
    state: web::Data<AppState>,
    query: web::Query<CodeParam>,
) -> Result<HttpResponse, AppError> {
    let (_, registered, owner) = code_facts(&state, query.into_inner().code).await?;
    let statement = statement_of(&registered, &owner)
        .ok_or_else(|| AppError::not_found("no issuer has registered this code in tracegate"))?;
    Ok(public_json(&serde_json::json!({
        "code": statement.code,
        "level": statement.level,
        "product_name": statement.product_name,
        "status": statement.status,
        "recall": statement.recall_reason.map(|reason| serde_json::json!({ "reason": reason })),
        "checked_at": state.clock.now().to_rfc3339(),
        "statement": about(base(&state), "/verify/statement", &statement.code),
    })))
}

/// `GET /verify/entity?code=…`: the legal entity behind the code, as tracegate verified it
/// (the `tracegate:legalEntity` target).
pub async fn entity(
    state: web::Data<AppState>,
    query: web::Query<CodeParam>,
) -> Result<HttpResponse, AppError> {
    let (_, registered, owner) = code_facts(&state, query.into_inner().code).await?;
    let statement = statement_of(&registered, &owner)
        .ok_or_else(|| AppError::not_found("no issuer has registered this code in tracegate"))?;
    let mut entity = serde_json::to_value(&statement.legal_entity)
        .map_err(|e| AppError::internal(anyhow::Error::new(e)))?;
    entity["verified_by"] = serde_json::json!("tracegate");
    entity["code"] = serde_json::json!(statement.code);
    Ok(public_json(&entity))
}

#[derive(Serialize)]
struct StatementClaims<'a> {
    iss: &'a str,
    sub: String,
    iat: i64,
    exp: i64,
    jti: String,
    #[serde(flatten)]
    statement: StatusStatement,
}

/// `GET /verify/statement?code=…`: a compact JWS (EdDSA, the attestation key published at
/// `/.well-known/jwks.json`) stating the code's status at this moment (the `gs1:jws`
/// target), so an app can show "verified by tracegate" without trusting the transport.
pub async fn statement(
    state: web::Data<AppState>,
    query: web::Query<CodeParam>,
) -> Result<HttpResponse, AppError> {
    let (_, registered, owner) = code_facts(&state, query.into_inner().code).await?;
    let statement = statement_of(&registered, &owner)
        .ok_or_else(|| AppError::not_found("no issuer has registered this code in tracegate"))?;
    let now = state.clock.now().timestamp();
    let claims = StatementClaims {
        iss: base(&state),
        sub: statement.code.clone(),
        iat: now,
        exp: now + STATEMENT_TTL_SECS,
        jti: uuid::Uuid::now_v7().to_string(),
        statement,
    };
    let jws = state
        .attester
        .sign(&claims)
        .map_err(|e| AppError::internal(anyhow::Error::new(e)))?;
    Ok(HttpResponse::Ok()
        .content_type(JOSE)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(jws))
}

/// `GET /qr.svg?code=…`: the QR code of a code's public address on this host.
pub async fn qr(
    state: web::Data<AppState>,
    query: web::Query<CodeParam>,
) -> Result<HttpResponse, AppError> {
    let code = query.into_inner().code.unwrap_or_default();
    let parsed = parse_code(&state, &code).map_err(|e| AppError::BadRequest {
        detail: format!("code: {e}"),
        errors: vec![crate::error::FieldError::new("code", e.to_string())],
    })?;
    let target = format!("{}{}", base(&state), public_path(parsed.canonical()));
    let code = qrcode::QrCode::new(target.as_bytes())
        .map_err(|e| AppError::invalid("code", format!("too long for a QR code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(svg))
}

// ---- the verification page ----

/// What the page shows of a registered code.
struct Facts {
    row: CodeRow,
    /// Counting the recalls of broader levels.
    status: CodeState,
    status_reason: Option<String>,
    issuer_name: String,
    owner: OwnerFacts,
    scans: Option<ScanCount>,
    /// The product is not registered itself but this many of its lots and items are.
    lots: Option<i64>,
}

/// The network a request came from, as a keyed hash (the address itself is never kept).
fn place(req: &HttpRequest, state: &AppState) -> String {
    let prefix = match req.peer_addr().map(|a| a.ip()) {
        Some(std::net::IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Some(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        None => "unknown".into(),
    };
    state.vault.blind_index("scan-place", prefix.as_bytes())
}

/// The page's facts: the most specific registered level, with the recalls above it; a
/// scan of a registered serial is counted (to spot copies).
fn page_facts(
    state: &AppState,
    conn: &mut DbConnection,
    parsed: &ParsedCode,
    place: &str,
) -> Result<Option<Facts>, AppError> {
    let found = code_store::find_codes(conn, &parsed.lookup_keys().to_vec())?;
    let rows: Vec<&CodeRow> = parsed
        .lookup_keys()
        .iter()
        .filter_map(|k| found.iter().find(|r| r.code_key == k))
        .collect();
    let mut lots = None;
    let row = match rows.first() {
        Some(row) => (*row).clone(),
        // A product (what every EAN barcode gives) is known when any of its lots or items
        // is registered: the page names it and its owner.
        None => match crate::links::known_product(conn, parsed)? {
            Some((count, row)) => {
                lots = Some(count);
                row
            }
            None => return Ok(None),
        },
    };
    let own = CodeState::parse(&row.status);
    let (status, status_reason) = match own {
        CodeState::Active => rows
            .iter()
            .skip(1)
            .find(|r| CodeState::parse(&r.status) == CodeState::Recalled)
            .map_or((CodeState::Active, None), |r| {
                (CodeState::Recalled, r.status_reason.clone())
            }),
        other => (other, row.status_reason.clone()),
    };
    let issuer_name = code_store::find_issuer(conn, &row.issuer_id)?
        .map(|i| i.name)
        .unwrap_or_default();
    let owner = crate::identity::verified_business(conn, &row.owner_code)?;
    let scans = if row.level == Level::Serial.as_str() && own != CodeState::Revoked {
        let now = state.clock.now();
        let policy = state.policies.listing.scans;
        let key = row.code_key.clone();
        Some(write_transaction(conn, |conn| {
            let count = scans::record(conn, &key, place, now.naive_utc(), &policy)?;
            if count.newly_flagged {
                audit::append(
                    conn,
                    now,
                    &NewAuditEntry::new("system", "code.possible_clone", format!("code:{key}"))
                        .details(
                            serde_json::json!({ "places": count.places, "scans": count.scans }),
                        ),
                )?;
            }
            Ok::<_, AppError>(count)
        })?)
    } else {
        None
    };
    Ok(Some(Facts {
        row,
        status,
        status_reason,
        issuer_name,
        owner,
        scans,
        lots,
    }))
}

fn level_name(level: &str, lang: Language) -> &'static str {
    match (level, lang) {
        ("serial", Language::Vi) => "Từng sản phẩm (số sê-ri)",
        ("serial", Language::En) => "One item (serial number)",
        ("lot", Language::Vi) => "Lô sản xuất",
        ("lot", Language::En) => "Production lot",
        (_, Language::Vi) => "Sản phẩm (GTIN)",
        (_, Language::En) => "Product (GTIN)",
    }
}

fn origin_name(state: &AppState, origin: Option<&str>, lang: Language) -> Option<String> {
    let origin = origin?;
    Some(match state.policies.jurisdictions.province(origin) {
        Some(p) => match lang {
            Language::Vi => p.name.clone(),
            Language::En => p.name_en.clone(),
        },
        None => origin.to_string(),
    })
}

/// A stored `YYYY-MM-DD` day as readers write it: `dd/mm/yyyy` in Vietnamese.
fn date(stored: &str, lang: Language) -> String {
    match (lang, chrono::NaiveDate::parse_from_str(stored, "%Y-%m-%d")) {
        (Language::Vi, Ok(day)) => day.format("%d/%m/%Y").to_string(),
        (Language::En, Ok(day)) => day.format("%-d %B %Y").to_string(),
        (_, Err(_)) => stored.to_string(),
    }
}

/// `/verify?code=…`: the verification page of a code in any accepted form (the default
/// link of every registered code); without a code, the search form.
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<CodeParam>,
) -> Result<HttpResponse, AppError> {
    let code = params
        .into_inner()
        .code
        .map(|c| c.trim().to_string())
        .unwrap_or_default();
    let lang = reader_language(&req);
    if code.is_empty() {
        return page(
            &req,
            StatusCode::OK,
            lang,
            &LookupPage {
                lang: lang.0,
                switch_link: switch_link(&req, lang.0),
                value: String::new(),
                problem: None,
                detail: None,
                gone: false,
                report_link: None,
            },
        );
    }
    let parsed = match parse_code(&state, &code) {
        Ok(parsed) => parsed,
        Err(e) => return refusal(&req, Refusal::Unreadable(e.to_string()), &code),
    };
    let place = place(&req, &state);
    let shared = state.clone();
    let lookup = parsed.clone();
    let facts = state
        .db(move |conn| page_facts(&shared, conn, &lookup, &place))
        .await?;
    let Some(facts) = facts else {
        return refusal(&req, Refusal::Unknown, &code);
    };
    if facts.status == CodeState::Revoked {
        return refusal(&req, Refusal::Withdrawn(facts.status_reason), &code);
    }
    let expired = facts
        .row
        .expiry_date
        .as_deref()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .is_some_and(|d| d < today(&state));
    let row = &facts.row;
    let owner_verified = facts.owner.is_some();
    let (owner_name, owner_province) = facts.owner.clone().unwrap_or((None, None));
    let shown_key = if row.code_key.starts_with('/') {
        // The level's path as scanned, keeping a variant or lot the key leaves out.
        level_paths(&parsed)
            .into_iter()
            .find(|(key, _)| key == &row.code_key)
            .map_or_else(|| row.code_key.clone(), |(_, path)| path)
    } else {
        row.code_key.clone()
    };
    let status = match facts.status {
        CodeState::Recalled => "recalled",
        _ => "active",
    };
    let custody = match (parsed.gtin(), parsed.lot()) {
        (Some(gtin), Some(lot)) => {
            let (shared, gtin, lot) = (state.clone(), gtin.to_string(), lot.to_string());
            Some(
                state
                    .blocking(move || {
                        crate::epcis::Epcis {
                            pool: &shared.pool,
                            clock: shared.clock.as_ref(),
                            facts: &shared.facts,
                        }
                        .custody(&gtin, &lot)
                        .map_err(AppError::from)
                    })
                    .await?,
            )
        }
        _ => None,
    };
    let mut response = page(
        &req,
        StatusCode::OK,
        lang,
        &CodePage {
            lang: lang.0,
            switch_link: switch_link(&req, lang.0),
            product_name: row.product_name.clone(),
            code: written(&shown_key).to_string(),
            level: level_name(&row.level, lang.0),
            status: status.to_string(),
            status_reason: facts.status_reason.clone(),
            expired,
            possible_clone: facts.scans.is_some_and(|s| s.flagged),
            owner_name,
            owner_code: row.owner_code.clone(),
            owner_province: origin_name(&state, owner_province.as_deref(), lang.0),
            owner_verified,
            issuer_name: facts.issuer_name.clone(),
            origin: origin_name(&state, row.origin.as_deref(), lang.0),
            production_date: row.production_date.as_deref().map(|d| date(d, lang.0)),
            expiry_date: row.expiry_date.as_deref().map(|d| date(d, lang.0)),
            qr_path: format!("/qr.svg?{}", query("code", written(&shown_key))),
            report_link: format!("/report?{}", query("code", written(&row.code_key))),
            known_by_lots: facts.lots,
            chain: custody
                .as_ref()
                .map(|c| chain_lines(&c.public(), lang.0))
                .unwrap_or_default(),
            custody_link: custody_path(&parsed),
        },
    )?;
    if shown_key.starts_with('/') {
        let anchor = format!("{}{shown_key}", base(&state));
        if let Ok(value) = HeaderValue::from_str(&linkset_link(&anchor)) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_paths_keep_the_variant_and_the_lot_of_the_request() {
        let parsed = crate::codes::parse(
            "https://x.example/01/09506000134352/22/V1/10/L%2F1/21/S1",
            2026,
        )
        .expect("valid");
        assert_eq!(
            level_paths(&parsed),
            vec![
                (
                    "/01/09506000134352/21/S1".to_string(),
                    "/01/09506000134352/22/V1/10/L%2F1/21/S1".to_string()
                ),
                (
                    "/01/09506000134352/10/L%2F1".to_string(),
                    "/01/09506000134352/22/V1/10/L%2F1".to_string()
                ),
                (
                    "/01/09506000134352".to_string(),
                    "/01/09506000134352".to_string()
                ),
            ]
        );
    }

    #[test]
    fn personal_business_numbers_are_masked() {
        assert_eq!(owner_shown("0799000033"), "0799000033");
        assert_eq!(owner_shown("46A8900010"), "46A*****10");
        assert_eq!(owner_shown("079085900001"), "079*******01");
    }

    #[test]
    fn resource_addresses_about_a_code_are_not_digital_links() {
        let page = about("https://t.example", "/verify", "/01/09506000134352/10/L1");
        assert_eq!(
            page,
            "https://t.example/verify?code=%2F01%2F09506000134352%2F10%2FL1"
        );
        assert!(crate::codes::parse(&page, 2026).is_err());
        let qr = about("https://t.example", "/qr.svg", "/01/09506000134352/10/L1");
        assert!(crate::codes::parse(&qr, 2026).is_err());
    }

    #[test]
    fn queries_go_on_unchanged() {
        assert_eq!(with_query("https://a.example/p", ""), "https://a.example/p");
        assert_eq!(
            with_query("https://a.example/p", "foo=bar&linkType=gs1:pip"),
            "https://a.example/p?foo=bar&linkType=gs1:pip"
        );
        assert_eq!(
            with_query("https://a.example/verify?code=x", "foo=bar"),
            "https://a.example/verify?code=x&foo=bar"
        );
    }
}
