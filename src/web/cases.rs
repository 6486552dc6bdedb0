//! A case as its parties work it in the browser: the seller at `/portal/disputes/{id}`,
//! the buyer at `/disputes/{id}?token=…` (the link in every mail about the case). Each sees
//! the case, its decisions, evidence and timeline as a party, makes the moves the state
//! allows, and adds evidence.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::session;
use super::{language, page_with, switch_link};
use crate::auth::PrincipalKind;
use crate::disputes::{ActionInput, Caller, DisputeError};
use crate::error::AppError;
use crate::http::Endpoint;
use crate::i18n::Language;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/portal/disputes/{id}").get(seller_case))
        .service(Endpoint::new("/portal/disputes/{id}/actions").post(seller_act))
        .service(Endpoint::new("/portal/disputes/{id}/evidence").post(seller_evidence))
        .service(Endpoint::new("/portal/disputes/{id}/evidence/{evidence_id}").get(seller_download))
        .service(Endpoint::new("/disputes/{id}").get(buyer_case))
        .service(Endpoint::new("/disputes/{id}/actions").post(buyer_act))
        .service(Endpoint::new("/disputes/{id}/confirm").post(buyer_confirm))
        .service(Endpoint::new("/disputes/{id}/evidence").post(buyer_evidence))
        .service(Endpoint::new("/disputes/{id}/evidence/{evidence_id}").get(buyer_download));
}

type Form = web::Form<HashMap<String, String>>;

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or("")
}

#[derive(Template)]
#[template(path = "pages/party_case.html")]
struct PartyCase {
    lang: Language,
    switch_link: String,
    csrf: String,
    notice: Option<String>,
    notice_ok: bool,
    seller: bool,
    base: String,
    token: Option<String>,
    reference: String,
    status: String,
    kind: String,
    claim: String,
    description: String,
    listing_id: String,
    seller_name: String,
    shop: String,
    platform: String,
    outcome: Option<String>,
    /// (download link, file name, SHA-256).
    evidence: Vec<(String, String, String)>,
    can_add_evidence: bool,
    unconfirmed: bool,
    allowed: Vec<String>,
    version: i64,
    /// Text typed before the session ended: (action, text).
    draft: (String, String),
    progress: Vec<super::thread::Step>,
    deadlines: Vec<(String, String)>,
    messages: Vec<super::thread::Message>,
}

/// Who is looking, and how to send them back to the case.
struct Party {
    caller: Caller,
    /// `/portal/disputes/{id}` or `/disputes/{id}`.
    base: String,
    token: Option<String>,
}

impl Party {
    fn back(&self, done: &str) -> String {
        match &self.token {
            Some(token) => format!(
                "{}?{}",
                self.base,
                serde_urlencoded::to_string([("token", token.as_str()), ("done", done)])
                    .unwrap_or_default()
            ),
            None => format!("{}?done={done}", self.base),
        }
    }
}

async fn render(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    party: &Party,
    id: String,
    status: StatusCode,
    notice: Option<(String, bool)>,
) -> Result<HttpResponse, AppError> {
    let (shared, caller) = (state.clone(), party.caller.clone());
    let (view, events) = state
        .blocking(move || {
            let service = super::dispute_service(&shared);
            let view = service.get(&caller, &id).map_err(AppError::from)?;
            let events = service.timeline(&caller, &id).map_err(AppError::from)?;
            Ok((view, events))
        })
        .await?;
    let lang = language(req);
    let csrf = session::csrf_token(req);
    let seller = matches!(party.caller, Caller::Seller(_));
    let names = super::thread::Names::of(state, &view, &events, false).await?;
    let evidence_link = |evidence: &str| match &party.token {
        Some(token) => format!(
            "{}/evidence/{evidence}?{}",
            party.base,
            serde_urlencoded::to_string([("token", token.as_str())]).unwrap_or_default()
        ),
        None => format!("{}/evidence/{evidence}", party.base),
    };
    let messages = super::thread::messages(
        &view,
        &events,
        &names,
        &state.policies,
        lang.0,
        &evidence_link,
    );
    let final_state = matches!(
        view.summary.status.as_str(),
        "closed" | "withdrawn" | "settled"
    );
    let (notice, notice_ok) = match notice {
        Some((n, ok)) => (Some(n), ok),
        None => (None, true),
    };
    let template = PartyCase {
        lang: lang.0,
        switch_link: switch_link(req, lang.0),
        csrf: csrf.0.clone(),
        notice,
        notice_ok,
        seller,
        base: party.base.clone(),
        token: party.token.clone(),
        reference: view.summary.reference.clone(),
        status: super::labels::status(&view.summary.status, lang.0),
        kind: super::labels::kind(&state.policies, &view.summary.kind, lang.0),
        claim: super::labels::claim(&view.claim, lang.0),
        description: view.description.clone(),
        listing_id: view.summary.listing_id.clone(),
        seller_name: names.seller_shown(&view),
        shop: names.shop_shown(&view),
        platform: names.platform_shown(&view),
        outcome: view
            .outcome
            .as_deref()
            .map(|o| super::labels::outcome(o, lang.0)),
        evidence: view
            .evidence
            .iter()
            .map(|e| (evidence_link(&e.id), e.file_name.clone(), e.sha256.clone()))
            .collect(),
        can_add_evidence: !final_state && view.summary.status != "filed",
        unconfirmed: view.summary.status == "filed",
        allowed: view
            .allowed_actions
            .iter()
            .map(|m| m.as_str().to_string())
            .collect(),
        version: view.version,
        draft: if seller {
            session::draft_for(req, &party.base).unwrap_or_default()
        } else {
            Default::default()
        },
        progress: super::thread::progress(&view, &events, lang.0),
        deadlines: super::thread::deadlines(&view, lang.0),
        messages,
    };
    page_with(req, status, lang, &template, |r| {
        session::keep_csrf(req, r, &csrf);
        if seller {
            session::drop_draft(req, r);
        }
    })
}

fn notice_of(req: &HttpRequest) -> Option<(String, bool)> {
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let done = query.get("done")?;
    super::done_notice(done, language(req).0).map(|text| (text, true))
}

async fn seller_party(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
) -> Result<Party, HttpResponse> {
    match session::current(req, state).await {
        Some(s) if s.claims.kind == PrincipalKind::Seller => Ok(Party {
            caller: Caller::Seller(s.claims.sub.clone()),
            base: format!("/portal/disputes/{id}"),
            token: None,
        }),
        _ => Err(session::to_sign_in("/portal", &session::back_to(req))),
    }
}

fn buyer_party(id: &str, token: &str) -> Party {
    Party {
        caller: Caller::Buyer(token.to_string()),
        base: format!("/disputes/{id}"),
        token: Some(token.to_string()),
    }
}

async fn seller_case(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let party = match seller_party(&state, &req, &id).await {
        Ok(p) => p,
        Err(redirect) => return Ok(redirect),
    };
    let notice = notice_of(&req);
    render(&state, &req, &party, id, StatusCode::OK, notice).await
}

async fn buyer_case(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let token = query.get("token").cloned().unwrap_or_default();
    let id = path.into_inner();
    // The mailed link confirms a direct filing the first time it is opened with intent:
    // the page shows a button for it (mail scanners must not confirm on their own).
    let party = buyer_party(&id, &token);
    let notice = notice_of(&req);
    render(&state, &req, &party, id, StatusCode::OK, notice).await
}

/// The move a party's form asks for.
fn action_of(form: &HashMap<String, String>) -> Result<ActionInput, AppError> {
    let text = |name: &str| field(form, name).to_string();
    let optional = |name: &str| Some(text(name)).filter(|v| !v.trim().is_empty());
    Ok(match field(form, "action") {
        "respond" => ActionInput::Respond {
            statement: text("statement"),
            offer: optional("offer"),
        },
        "supply_information" => ActionInput::SupplyInformation {
            answer: text("answer"),
        },
        "appeal" => ActionInput::Appeal {
            grounds: text("grounds"),
        },
        "accept" => ActionInput::Accept { note: None },
        "escalate" => ActionInput::Escalate { reason: None },
        "withdraw" => ActionInput::Withdraw { reason: None },
        other => {
            return Err(AppError::invalid(
                "action",
                format!("{other:?} is not a move for a party"),
            ));
        }
    })
}

async fn act_as(
    state: web::Data<AppState>,
    req: HttpRequest,
    party: Party,
    id: String,
    form: &HashMap<String, String>,
) -> Result<HttpResponse, AppError> {
    let input = action_of(form)?;
    let version = field(form, "version").parse::<i64>().ok();
    let done = field(form, "action").to_string();
    let (shared, caller, case_id) = (state.clone(), party.caller.clone(), id.clone());
    let outcome = state
        .blocking(move || {
            Ok(super::dispute_service(&shared).act(&caller, &case_id, &input, version))
        })
        .await?;
    match outcome {
        Ok(_) => {
            let mut response = session::see_other(&party.back(&done));
            Ok(response.finish())
        }
        Err(
            e @ (DisputeError::Invalid { .. }
            | DisputeError::InvalidMove { .. }
            | DisputeError::Stale(_)
            | DisputeError::Conflict(_)),
        ) => {
            render(
                &state,
                &req,
                &party,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((super::labels::dispute_error(&e, language(&req).0), false)),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

async fn seller_act(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let id = path.into_inner();
    let party = match seller_party(&state, &req, &id).await {
        Ok(p) => p,
        Err(_) => {
            return Ok(session::to_sign_in_keeping(
                &req,
                "/portal",
                field(&form, "action"),
                &form,
            ));
        }
    };
    act_as(state, req, party, id, &form).await
}

async fn buyer_act(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let id = path.into_inner();
    let party = buyer_party(&id, field(&form, "token"));
    act_as(state, req, party, id, &form).await
}

async fn buyer_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let token = field(&form, "token").to_string();
    let (shared, confirm_token) = (state.clone(), token.clone());
    let confirmed = state
        .blocking(move || {
            super::dispute_service(&shared)
                .confirm(&confirm_token)
                .map_err(AppError::from)
        })
        .await?;
    // A filing linked to an open case lands on that case, with that case's link.
    let case = confirmed.summary.id;
    let link_token = super::dispute_service(&state).buyer_link_token(&case);
    let party = buyer_party(
        &case,
        if link_token.is_empty() {
            &token
        } else {
            &link_token
        },
    );
    Ok(session::see_other(&party.back("confirm")).finish())
}

async fn download_as(
    state: web::Data<AppState>,
    party: Party,
    id: String,
    evidence_id: String,
) -> Result<HttpResponse, AppError> {
    let (shared, caller) = (state.clone(), party.caller.clone());
    let (view, content) = state
        .blocking(move || {
            super::dispute_service(&shared)
                .evidence_file(&caller, &id, &evidence_id)
                .map_err(AppError::from)
        })
        .await?;
    crate::disputes::routes::evidence_response(&view, content)
}

async fn seller_download(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, evidence_id) = path.into_inner();
    let party = match seller_party(&state, &req, &id).await {
        Ok(p) => p,
        Err(redirect) => return Ok(redirect),
    };
    download_as(state, party, id, evidence_id).await
}

async fn buyer_download(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, evidence_id) = path.into_inner();
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let party = buyer_party(&id, query.get("token").map(String::as_str).unwrap_or(""));
    download_as(state, party, id, evidence_id).await
}

async fn attach_as(
    state: web::Data<AppState>,
    req: HttpRequest,
    party: Party,
    id: String,
    file: Option<(String, String, Vec<u8>)>,
) -> Result<HttpResponse, AppError> {
    let Some((name, media_type, content)) = file else {
        return Err(AppError::invalid("file", "choose a file to upload"));
    };
    let (shared, caller, case_id) = (state.clone(), party.caller.clone(), id.clone());
    let outcome = state
        .blocking(move || {
            Ok(super::dispute_service(&shared).attach(
                &caller,
                &case_id,
                &name,
                &media_type,
                &content,
            ))
        })
        .await?;
    match outcome {
        Ok(_) => {
            let mut response = session::see_other(&party.back("evidence"));
            Ok(response.finish())
        }
        Err(
            e @ (DisputeError::Invalid { .. }
            | DisputeError::UnsupportedType(_)
            | DisputeError::EvidenceLimit(_)
            | DisputeError::Conflict(_)),
        ) => {
            crate::disputes::routes::count_refusal(&state.metrics, &e);
            render(
                &state,
                &req,
                &party,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((super::labels::dispute_error(&e, language(&req).0), false)),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

async fn seller_evidence(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let party = match seller_party(&state, &req, &id).await {
        Ok(p) => p,
        Err(redirect) => return Ok(redirect),
    };
    may_attach(&state, &req, &party, &id).await?;
    let limit = state.config.disputes.evidence_max_bytes as usize;
    let (fields, file) = crate::http::read_upload(payload, limit).await?;
    session::check_csrf(&req, fields.get("csrf").map(String::as_str).unwrap_or(""))?;
    attach_as(state, req, party, id, file).await
}

/// Turns away, before the upload is read, a browser without a CSRF cookie or a caller who
/// may not add evidence to the case.
async fn may_attach(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    party: &Party,
    id: &str,
) -> Result<(), AppError> {
    if req.cookie("tg_csrf").is_none() {
        return Err(AppError::forbidden(
            "the form is out of date or came from another site; open the page again and resend it",
        ));
    }
    let (shared, caller, case_id) = (state.clone(), party.caller.clone(), id.to_string());
    state
        .blocking(move || {
            match super::dispute_service(&shared).may_attach(&caller, &case_id) {
                // The page says so in the reader's language once the form is read.
                Ok(()) | Err(DisputeError::EvidenceLimit(_)) => Ok(()),
                Err(other) => Err(AppError::from(other)),
            }
        })
        .await
}

async fn buyer_evidence(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let party = buyer_party(&id, query.get("token").map(String::as_str).unwrap_or(""));
    may_attach(&state, &req, &party, &id).await?;
    let limit = state.config.disputes.evidence_max_bytes as usize;
    let (fields, file) = crate::http::read_upload(payload, limit).await?;
    session::check_csrf(&req, fields.get("csrf").map(String::as_str).unwrap_or(""))?;
    attach_as(state, req, party, id, file).await
}
