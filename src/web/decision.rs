//! A case's decision as a document to print: what a Vietnamese administrative decision
//! carries (number, place and date, the deciding authority, the officer, the parties, the
//! facts, the reasons, the sanctions, the appeal deadline and how to appeal), laid out by
//! the print stylesheet on A4. Officers, the seller and the buyer (with the case's link)
//! each reach it from their case page.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Datelike;

use super::session;
use super::{language, page, switch_link};
use crate::auth::PrincipalKind;
use crate::disputes::Caller;
use crate::error::AppError;
use crate::http::Endpoint;
use crate::i18n::{Language, lookup};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/console/disputes/{id}/decision").get(for_officer))
        .service(Endpoint::new("/portal/disputes/{id}/decision").get(for_seller))
        .service(Endpoint::new("/disputes/{id}/decision").get(for_buyer));
}

#[derive(Template)]
#[template(path = "pages/decision.html")]
struct DecisionPage {
    lang: Language,
    switch_link: String,
    /// The case page this document belongs to.
    back: String,
    number: String,
    place_and_date: String,
    authority: String,
    title: String,
    officer: String,
    buyer: String,
    seller: String,
    shop: String,
    platform: String,
    listing: String,
    kind: String,
    claim: String,
    facts: String,
    outcome: String,
    reasons: String,
    sanctions: Vec<String>,
    appeal_until: Option<String>,
    appeal_decided: bool,
}

fn words(key: &str, lang: Language) -> String {
    lookup(key, lang).unwrap_or_default().to_string()
}

async fn render(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    caller: Caller,
    id: String,
    back: String,
) -> Result<HttpResponse, AppError> {
    let shared = state.clone();
    let officer_view = matches!(caller, Caller::Officer { .. });
    let (view, events) = state
        .blocking(move || {
            let service = super::dispute_service(&shared);
            let view = service.get(&caller, &id).map_err(AppError::from)?;
            let events = service.timeline(&caller, &id).map_err(AppError::from)?;
            Ok((view, events))
        })
        .await?;
    // The latest decision stands: an appeal's replaces the first.
    let decision = view
        .decisions
        .iter()
        .find(|d| d.stage == "appeal")
        .or_else(|| view.decisions.first())
        .cloned();
    let Some(decision) = decision else {
        return Err(AppError::not_found("the case has no decision yet"));
    };
    // The signer of an administrative decision is named on it, for every party.
    let names = super::thread::Names::of(state, &view, &events, true).await?;
    let lang = language(req);
    let authority = match state
        .policies
        .jurisdictions
        .province(&view.summary.province)
    {
        Some(p) => crate::i18n::catalogue::format(
            "decision",
            "authority",
            &[if lang.0.is_vi() { &p.name } else { &p.name_en }],
            lang.0,
        ),
        None => words("decision.authority_ministry", lang.0),
    };
    let at = decision.decided_at;
    let place = state
        .policies
        .jurisdictions
        .province(&view.summary.province)
        .map(|p| {
            if lang.0.is_vi() {
                p.name.clone()
            } else {
                p.name_en.clone()
            }
        })
        .unwrap_or_else(|| words("decision.place_ministry", lang.0));
    let place_and_date = crate::i18n::catalogue::format(
        "decision",
        "date",
        &[
            &format!("{:02}", at.day()),
            &format!("{:02}", at.month()),
            &at.year().to_string(),
            &place,
        ],
        lang.0,
    );
    let sanctions = view
        .sanctions
        .iter()
        .map(|s| {
            let mut line = super::labels::sanction(&s.kind, lang.0);
            if let Some(days) = s.days {
                line.push_str(&format!(" ({days} {})", words("thread.days", lang.0)));
            }
            if s.lifted {
                line.push_str(&format!(" — {}", words("thread.lifted", lang.0)));
            }
            line
        })
        .collect();
    let appeal_decided = decision.stage == "appeal";
    let template = DecisionPage {
        lang: lang.0,
        switch_link: switch_link(req, lang.0),
        back,
        number: format!(
            "{}/QĐ-{}",
            view.summary.reference,
            if appeal_decided { "PT" } else { "GQKN" }
        ),
        place_and_date,
        authority,
        title: crate::i18n::catalogue::format(
            "decision",
            if appeal_decided {
                "title_appeal"
            } else {
                "title"
            },
            &[&view.summary.reference],
            lang.0,
        ),
        // The officer's name where the reader may know it (the console); the parties read
        // the role alone, never the account behind it.
        officer: match names.officers.get(&decision.decided_by) {
            Some(name) => format!("{} {name}", crate::i18n::label("role", "officer", lang.0)),
            None => crate::i18n::label("role", "officer", lang.0),
        },
        buyer: match (&view.buyer_email, officer_view) {
            (Some(email), true) => email.clone(),
            _ => crate::i18n::label("role", "buyer", lang.0),
        },
        seller: names.seller_shown(&view),
        shop: names.shop_shown(&view),
        platform: names.platform_shown(&view),
        listing: view.summary.listing_id.clone(),
        kind: super::labels::kind(&state.policies, &view.summary.kind, lang.0),
        claim: super::labels::claim(&view.claim, lang.0),
        facts: view.description.clone(),
        outcome: super::labels::outcome(&decision.outcome, lang.0),
        reasons: decision.statement.clone(),
        sanctions,
        appeal_until: view
            .deadlines
            .appeal
            .filter(|_| !appeal_decided)
            .map(|due| super::deadline_shown(Some(due))),
        appeal_decided,
    };
    page(req, StatusCode::OK, lang, &template)
}

async fn for_officer(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (_, caller) = match super::console::officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(redirect),
    };
    let id = path.into_inner();
    let back = format!("/console/disputes/{id}");
    render(&state, &req, caller, id, back).await
}

async fn for_seller(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let caller = match session::current(&req, &state).await {
        Some(s) if s.claims.kind == PrincipalKind::Seller => Caller::Seller(s.claims.sub.clone()),
        _ => return Ok(session::to_sign_in("/portal", &session::back_to(&req))),
    };
    let id = path.into_inner();
    let back = format!("/portal/disputes/{id}");
    render(&state, &req, caller, id, back).await
}

async fn for_buyer(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let token = query.get("token").cloned().unwrap_or_default();
    let id = path.into_inner();
    let back = format!(
        "/disputes/{id}?{}",
        serde_urlencoded::to_string([("token", token.as_str())]).unwrap_or_default()
    );
    render(&state, &req, Caller::Buyer(token), id, back).await
}
