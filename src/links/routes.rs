//! HTTP for links: a code's issuer or owner adds, lists and removes the links the public
//! resolver answers for the code.

use actix_web::{FromRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{LinkView, Links, LinksError, Manager, NewLink};
use crate::auth::{Authenticated, PrincipalKind};
use crate::error::{AppError, FieldError, Problem};
use crate::http::{Endpoint, JsonBody};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        Endpoint::new("/v1/codes/links")
            .post_creating(add_link)
            .get(list_links),
    )
    .service(Endpoint::new("/v1/codes/links/{id}").delete(remove_link));
}

impl From<LinksError> for AppError {
    fn from(error: LinksError) -> Self {
        match error {
            LinksError::Invalid { field, message } => AppError::Validation {
                detail: format!("{field}: {message}"),
                errors: vec![FieldError::new(field, message)],
            },
            LinksError::Forbidden(detail) => AppError::forbidden(detail),
            LinksError::NotFound(detail) => AppError::not_found(detail),
            LinksError::Conflict(detail) => AppError::conflict(detail),
            LinksError::Database(e) => e.into(),
            LinksError::Pool(e) => e.into(),
        }
    }
}

/// An issuer or a seller: those who may manage links (the service then checks that the
/// code is theirs). Extracted before the body, so that anyone else gets 403 whatever sent.
pub struct LinkManager(Manager);

impl FromRequest for LinkManager {
    type Error = AppError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, AppError>>>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        let caller = Authenticated::from_request(req, payload);
        Box::pin(async move {
            let caller = caller.await?;
            match caller.0.kind {
                PrincipalKind::Issuer => Ok(LinkManager(Manager::Issuer(caller.0.sub))),
                PrincipalKind::Seller => Ok(LinkManager(Manager::Seller(caller.0.sub))),
                _ => Err(AppError::forbidden(
                    "links are managed by the code's issuer or the business that owns it",
                )),
            }
        })
    }
}

async fn with_links<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, AppError>
where
    F: FnOnce(&Links<'_>) -> Result<T, LinksError> + Send + 'static,
    T: Send + 'static,
{
    let shared = state.clone();
    let answer = state
        .blocking(move || {
            let links = Links {
                pool: &shared.pool,
                clock: shared.clock.as_ref(),
                facts: &shared.facts,
            };
            f(&links).map_err(AppError::from)
        })
        .await?;
    state.gate.catch_up_all().await;
    Ok(answer)
}

/// Add a link to a code you issued or own: a GS1 link type, an https target, a title, and
/// optionally language, media type, context and an activity window. The public resolver
/// answers it beside tracegate's own links (issuers, and sellers whose verified business
/// owns the code).
#[utoipa::path(post, path = "/v1/codes/links", tag = "codes", request_body = NewLink, security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = LinkView),
        (status = 403, description = "Not the code's issuer or owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No code registered at this level", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The same link exists, or the code has as many links as it may", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "What is wrong with the link", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_link(
    state: web::Data<AppState>,
    LinkManager(manager): LinkManager,
    body: JsonBody<NewLink>,
) -> Result<HttpResponse, AppError> {
    let input = body.0;
    let view = with_links(&state, move |l| l.add(&manager, &input)).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/v1/codes/links/{}", view.id),
        ))
        .json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CodeQuery {
    /// The code in any accepted form, at the level whose links to list.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkList {
    pub links: Vec<LinkView>,
}

/// The links of a code level you issued or own, active or not.
#[utoipa::path(get, path = "/v1/codes/links", tag = "codes", params(CodeQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "The links", body = LinkList),
        (status = 403, description = "Not the code's issuer or owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No code registered at this level", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_links(
    state: web::Data<AppState>,
    LinkManager(manager): LinkManager,
    query: web::Query<CodeQuery>,
) -> Result<web::Json<LinkList>, AppError> {
    let code = query.into_inner().code;
    let links = with_links(&state, move |l| l.list(&manager, &code)).await?;
    Ok(web::Json(LinkList { links }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LinkPath {
    pub id: String,
}

/// Remove a link from a code you issued or own.
#[utoipa::path(delete, path = "/v1/codes/links/{id}", tag = "codes", params(LinkPath), security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not the code's issuer or owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No link with this id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_link(
    state: web::Data<AppState>,
    LinkManager(manager): LinkManager,
    path: web::Path<LinkPath>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner().id;
    with_links(&state, move |l| l.remove(&manager, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
