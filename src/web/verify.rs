//! The public face of a code: what a consumer sees after scanning it, and what a GS1
//! resolver client gets. GS1 Digital Link paths (`/01/{gtin}`, `/01/{gtin}/10/{lot}`,
//! `…/21/{serial}`) and `/verify?code=…` (any accepted form) answer browsers with a page
//! and machines (`Accept: application/linkset+json` or `?linkType=linkset`) with an
//! RFC 9264 linkset. A level that is not registered walks up (303) to the broader one that
//! is; an unknown code is 404, a revoked one 410.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Datelike;
use serde::Deserialize;

use super::{language, page, switch_link};
use crate::audit::{self, NewAuditEntry};
use crate::codes::scans::{self, ScanCount};
use crate::codes::store::{self as code_store, CodeRow};
use crate::codes::{Level, ParsedCode};
use crate::db::{DbConnection, write_transaction};
use crate::error::AppError;
use crate::http::Endpoint;
use crate::i18n::Language;
use crate::state::AppState;

/// Media type of a linkset (RFC 9264).
pub const LINKSET_JSON: &str = "application/linkset+json";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/verify").get(verify))
        .service(Endpoint::new("/01/{rest:.*}").get(digital_link))
        .service(Endpoint::new("/qr/{rest:.*}").get(qr));
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
}

/// What the code resolved to.
enum Found {
    /// The registered code, and its scan count when it is one serialised item.
    Code(Box<Facts>),
    /// Only a broader level is registered: its canonical key.
    Broader(String),
    Unknown,
}

struct Facts {
    row: CodeRow,
    issuer_name: String,
    owner: Option<(Option<String>, Option<String>)>,
    scans: Option<ScanCount>,
    /// The product is not registered itself but this many of its lots and items are.
    lots: Option<i64>,
}

fn wants_linkset(req: &HttpRequest) -> bool {
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    if query
        .iter()
        .any(|(k, v)| k == "linkType" && (v == "linkset" || v == "all"))
    {
        return true;
    }
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(LINKSET_JSON))
}

/// Our own query parameters, which are not part of the code.
const OWN_PARAMETERS: &[&str] = &["linkType", "lang", "context"];

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

fn find(
    state: &AppState,
    conn: &mut DbConnection,
    parsed: &ParsedCode,
    place: &str,
) -> Result<Found, AppError> {
    let keys = parsed.lookup_keys();
    let found = code_store::find_codes(conn, &keys.to_vec())?;
    let mut lots = None;
    let row = match found.iter().find(|r| r.code_key == keys.first()) {
        Some(row) => row.clone(),
        None => {
            if let Some(key) = keys
                .iter()
                .skip(1)
                .find(|k| found.iter().any(|r| r.code_key == *k))
            {
                return Ok(Found::Broader(key.to_owned()));
            }
            // A product (what every EAN barcode gives) is known when any of its lots or
            // items is registered: the page names it and its owner.
            let (count, newest) = match (parsed.gtin(), parsed.level) {
                (Some(gtin), Level::Gtin) => code_store::registered_under_product(conn, gtin)?,
                _ => (0, None),
            };
            let Some(newest) = newest else {
                return Ok(Found::Unknown);
            };
            lots = Some(count);
            CodeRow {
                code_key: keys.first().to_owned(),
                level: Level::Gtin.as_str().into(),
                status: "active".into(),
                status_reason: None,
                production_date: None,
                expiry_date: None,
                ..newest
            }
        }
    };
    let issuer_name = code_store::find_issuer(conn, &row.issuer_id)?
        .map(|i| i.name)
        .unwrap_or_default();
    let owner = crate::identity::verified_business(conn, &row.owner_code)?;
    let scans = if parsed.level == Level::Serial && row.status != "revoked" {
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
    Ok(Found::Code(Box::new(Facts {
        row,
        issuer_name,
        owner,
        scans,
        lots,
    })))
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
        format!(
            "/verify?{}",
            serde_urlencoded::to_string([("code", written(canonical))]).unwrap_or_default()
        )
    }
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

/// The RFC 9264 linkset of a code, GS1 link types as relations.
fn linkset(base: &str, facts: &Facts) -> serde_json::Value {
    let path = public_path(&facts.row.code_key);
    let anchor = format!("{base}{path}");
    let separator = if path.contains('?') { '&' } else { '?' };
    let page = |lang: &str| {
        serde_json::json!({
            "href": format!("{anchor}{separator}lang={lang}"),
            "title": facts.row.product_name,
            "type": "text/html",
            "hreflang": [lang],
        })
    };
    let mut links = serde_json::json!({
        "anchor": anchor,
        "https://gs1.org/voc/defaultLink": [{
            "href": anchor,
            "title": facts.row.product_name,
            "type": "text/html",
            "hreflang": ["vi", "en"],
        }],
        "https://gs1.org/voc/pip": [page("vi"), page("en")],
        "https://gs1.org/voc/qrCode": [{
            "href": format!("{base}/qr{}.svg", qr_name(&facts.row.code_key)),
            "type": "image/svg+xml",
        }],
    });
    if facts.row.status == "recalled" {
        links["https://gs1.org/voc/recallStatus"] = serde_json::json!([{
            "href": anchor,
            "title": facts.row.status_reason.clone().unwrap_or_else(|| "recalled".into()),
            "type": "text/html",
        }]);
    }
    serde_json::json!({ "linkset": [links] })
}

/// A stored `YYYY-MM-DD` day as readers write it: `dd/mm/yyyy` in Vietnamese.
fn date(stored: &str, lang: Language) -> String {
    match (lang, chrono::NaiveDate::parse_from_str(stored, "%Y-%m-%d")) {
        (Language::Vi, Ok(day)) => day.format("%d/%m/%Y").to_string(),
        (Language::En, Ok(day)) => day.format("%-d %B %Y").to_string(),
        (_, Err(_)) => stored.to_string(),
    }
}

/// The year codes are read in (for GS1's century rule), in Vietnam's time.
pub(super) fn year(state: &AppState) -> i32 {
    today(state).year()
}

fn today(state: &AppState) -> chrono::NaiveDate {
    crate::disputes::calendar::local(state.clock.now()).date_naive()
}

/// Answers for one code, as a page or a linkset.
async fn answer(
    state: web::Data<AppState>,
    req: HttpRequest,
    text: String,
    shown: String,
) -> Result<HttpResponse, AppError> {
    let lang = language(&req);
    let machine = wants_linkset(&req);
    let lookup = |status: StatusCode, problem: String, detail: Option<String>| {
        if machine {
            let error = match status {
                StatusCode::GONE => AppError::Gone {
                    detail: detail.clone().unwrap_or_else(|| problem.clone()),
                },
                StatusCode::NOT_FOUND => AppError::not_found(problem.clone()),
                _ => AppError::invalid("code", problem.clone()),
            };
            return Err(error);
        }
        page(
            &req,
            status,
            lang,
            &LookupPage {
                lang: lang.0,
                switch_link: switch_link(&req, lang.0),
                value: shown.clone(),
                problem: Some(problem),
                detail,
                gone: status == StatusCode::GONE,
            },
        )
    };
    let vi = lang.0.is_vi();
    let year = today(&state).year();
    let parsed = match crate::codes::parse(&text, year) {
        Ok(parsed) => parsed,
        Err(e) => {
            return lookup(
                StatusCode::BAD_REQUEST,
                if vi {
                    "Không đọc được mã này".into()
                } else {
                    "This code cannot be read".into()
                },
                Some(e.to_string()),
            );
        }
    };
    let place = place(&req, &state);
    let shared = state.clone();
    let found = state
        .db(move |conn| find(&shared, conn, &parsed, &place))
        .await?;
    let facts = match found {
        Found::Unknown => {
            return lookup(
                StatusCode::NOT_FOUND,
                if vi {
                    "Mã này chưa được tổ chức nào đăng ký".into()
                } else {
                    "No issuer has registered this code".into()
                },
                Some(if vi {
                    "Mã không do tổ chức được công nhận cấp: hãy thận trọng với sản phẩm này."
                        .into()
                } else {
                    "The code was not issued by a recognised issuer: be careful with this product."
                        .into()
                }),
            );
        }
        Found::Broader(key) => {
            // Walk up to the level that is registered, keeping our own parameters.
            let own: Vec<(String, String)> =
                serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(k, _)| OWN_PARAMETERS.contains(&k.as_str()))
                    .collect();
            let mut location = public_path(&key);
            if !own.is_empty() {
                location.push(if location.contains('?') { '&' } else { '?' });
                location.push_str(&serde_urlencoded::to_string(&own).unwrap_or_default());
            }
            return Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .insert_header((header::VARY, "Accept"))
                .finish());
        }
        Found::Code(facts) => facts,
    };
    if facts.row.status == "revoked" {
        return lookup(
            StatusCode::GONE,
            if vi {
                "Mã này đã bị thu hồi hiệu lực".into()
            } else {
                "This code has been withdrawn".into()
            },
            facts.row.status_reason.clone(),
        );
    }
    let base = state.config.server.public_url.trim_end_matches('/');
    let path = public_path(&facts.row.code_key);
    if machine {
        return Ok(HttpResponse::Ok()
            .content_type(LINKSET_JSON)
            .insert_header((header::VARY, "Accept"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(linkset(base, &facts)));
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
    let mut response = page(
        &req,
        StatusCode::OK,
        lang,
        &CodePage {
            lang: lang.0,
            switch_link: switch_link(&req, lang.0),
            product_name: row.product_name.clone(),
            code: written(&row.code_key).to_string(),
            level: level_name(&row.level, lang.0),
            status: row.status.clone(),
            status_reason: row.status_reason.clone(),
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
            qr_path: format!("/qr{}.svg", qr_name(&row.code_key)),
            report_link: format!(
                "/report?{}",
                serde_urlencoded::to_string([("code", written(&row.code_key))]).unwrap_or_default()
            ),
            known_by_lots: facts.lots,
        },
    )?;
    let separator = if path.contains('?') { '&' } else { '?' };
    if let Ok(value) = header::HeaderValue::from_str(&format!(
        "<{base}{path}{separator}linkType=linkset>; rel=\"linkset\"; type=\"{LINKSET_JSON}\""
    )) {
        response.headers_mut().insert(header::LINK, value);
    }
    Ok(response)
}

/// The file name part of a code's QR address: the Digital Link path, or `/` and the
/// issuer code as written.
fn qr_name(canonical: &str) -> String {
    if canonical.starts_with('/') {
        canonical.to_string()
    } else {
        format!("/{}", written(canonical))
    }
}

#[derive(Debug, Deserialize)]
pub struct VerifyQuery {
    #[serde(default)]
    pub code: Option<String>,
}

/// `/verify?code=…`: any accepted form of a code. GS1 codes go (303) to their Digital Link
/// path; codes of national and provincial issuers are answered here.
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<VerifyQuery>,
) -> Result<HttpResponse, AppError> {
    let code = query
        .into_inner()
        .code
        .map(|c| c.trim().to_string())
        .unwrap_or_default();
    if code.is_empty() {
        let lang = language(&req);
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
            },
        );
    }
    if let Ok(parsed) = crate::codes::parse(&code, today(&state).year())
        && parsed.canonical().starts_with("/01/")
    {
        let mut location = parsed.canonical().to_owned();
        let own: Vec<(String, String)> =
            serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
                .unwrap_or_default()
                .into_iter()
                .filter(|(k, _)| OWN_PARAMETERS.contains(&k.as_str()))
                .collect();
        if !own.is_empty() {
            location.push('?');
            location.push_str(&serde_urlencoded::to_string(&own).unwrap_or_default());
        }
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location))
            .finish());
    }
    answer(state, req, code.clone(), code).await
}

/// A GS1 Digital Link path on this host.
pub async fn digital_link(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    // Query attributes belong to the code (`?17=…`); our own parameters do not.
    let attributes: Vec<(String, String)> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| !OWN_PARAMETERS.contains(&k.as_str()))
            .collect();
    let base = state
        .config
        .server
        .public_url
        .trim_end_matches('/')
        .to_string();
    let mut uri = format!("{base}{}", req.uri().path());
    if !attributes.is_empty() {
        uri.push('?');
        uri.push_str(&serde_urlencoded::to_string(&attributes).unwrap_or_default());
    }
    let shown = req.uri().path().to_string();
    answer(state, req, uri, shown).await
}

/// `GET /qr/{canonical}.svg`: the QR code of a code's public address on this host.
pub async fn qr(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let path = req.match_info().query("rest").to_string();
    let name = path
        .strip_suffix(".svg")
        .ok_or_else(|| AppError::not_found("QR codes are at /qr/{canonical code}.svg"))?;
    let base = state.config.server.public_url.trim_end_matches('/');
    let candidate = if name.starts_with("01/") {
        format!("{base}/{name}")
    } else {
        name.to_string()
    };
    let parsed = crate::codes::parse(&candidate, today(&state).year())
        .map_err(|e| AppError::invalid("code", e.to_string()))?;
    let target = format!("{base}{}", public_path(parsed.canonical()));
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
