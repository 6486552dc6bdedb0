//! HTTP for machine clients: the OAuth token endpoint, a client's view of itself, and the
//! admin API that creates and disables clients.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use data_encoding::BASE64;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ClientError, ClientKind, ClientToken, ClientView, Clients, CreatedClient};
use crate::auth::{AdminAuth, ClientAuth};
use crate::error::{AppError, FieldError, Problem};
use crate::http::{Endpoint, JsonBody};
use crate::metrics::Refusal;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/v1/oauth/token").post(token))
        .service(Endpoint::new("/v1/clients/me").get(me))
        .service(
            Endpoint::new("/v1/admin/clients")
                .post_creating(create)
                .get(list),
        )
        .service(Endpoint::new("/v1/admin/clients/{id}").delete(disable));
}

impl From<ClientError> for AppError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Invalid { field, message } => AppError::Validation {
                detail: message.clone(),
                errors: vec![FieldError::new(field, message)],
            },
            e @ ClientError::BadClient => AppError::OAuth {
                status: StatusCode::UNAUTHORIZED,
                error: "invalid_client",
                description: e.to_string(),
            },
            e @ ClientError::BadScope(_) => AppError::OAuth {
                status: StatusCode::BAD_REQUEST,
                error: "invalid_scope",
                description: e.to_string(),
            },
            e @ ClientError::Locked { retry_after_secs } => AppError::TooManyRequests {
                retry_after_secs,
                detail: e.to_string(),
            },
            ClientError::NotFound => AppError::not_found("no such client"),
            ClientError::Database(e) => e.into(),
            ClientError::Pool(e) => e.into(),
            ClientError::Hashing(e) => AppError::ServiceUnavailable {
                detail: e.to_string(),
            },
            ClientError::Internal(message) => AppError::internal(anyhow::anyhow!(message)),
        }
    }
}

async fn run<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, AppError>
where
    F: FnOnce(&Clients<'_>) -> Result<T, ClientError> + Send + 'static,
    T: Send + 'static,
{
    let shared = state.clone();
    state
        .blocking(move || {
            let clients = Clients {
                pool: &shared.pool,
                config: &shared.config,
                clock: shared.clock.as_ref(),
                tokens: &shared.tokens,
                vault: &shared.vault,
                hashing: &shared.hashing,
            };
            f(&clients).map_err(AppError::from)
        })
        .await
}

fn oauth(status: StatusCode, error: &'static str, description: impl Into<String>) -> AppError {
    AppError::OAuth {
        status,
        error,
        description: description.into(),
    }
}

/// Token request parameters (RFC 6749 §4.4.2), form-encoded.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    pub grant_type: Option<String>,
    /// Space-separated scopes; all the client holds when absent.
    pub scope: Option<String>,
    /// With `client_secret`, instead of HTTP Basic authentication.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// Client id and secret from `Authorization: Basic`, if present.
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, AppError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || {
        oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the Authorization header is not valid HTTP Basic credentials",
        )
    };
    let text = value.to_str().map_err(|_| bad())?;
    let (scheme, encoded) = text.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = BASE64
        .decode(encoded.trim().as_bytes())
        .map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    Ok(Some((id.to_string(), secret.to_string())))
}

/// Trade client credentials for an access token (OAuth 2.0 client credentials grant).
/// Authenticate with HTTP Basic (`client_id:client_secret`) or with `client_id` and
/// `client_secret` in the form, not both.
#[utoipa::path(post, path = "/v1/oauth/token", tag = "clients",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Access token", body = ClientToken),
        (status = 400, description = "invalid_request, unsupported_grant_type or invalid_scope (OAuth `error` member)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "invalid_client", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failures; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send the parameters as application/x-www-form-urlencoded",
        ));
    }
    let form: TokenRequest = serde_urlencoded::from_bytes(&body).map_err(|e| {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("the form cannot be read: {e}"),
        )
    })?;
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported; use client_credentials"),
            ));
        }
        None => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            ));
        }
    }
    let (client_id, secret) = match (basic_credentials(&req)?, form.client_id, form.client_secret) {
        (Some(basic), None, None) => basic,
        (None, Some(id), Some(secret)) => (id, secret),
        (Some(_), _, _) => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "authenticate either with HTTP Basic or with client_id and client_secret in the form, not both",
            ));
        }
        _ => {
            return Err(oauth(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication is required: HTTP Basic, or client_id and client_secret",
            ));
        }
    };
    let scope = form.scope;
    let ip = req
        .peer_addr()
        .map_or_else(|| "unknown".to_string(), |a| a.ip().to_string());
    let issued = run(&state, move |c| {
        c.issue_token(&client_id, &secret, scope.as_deref(), &ip)
    })
    .await;
    if let Err(AppError::TooManyRequests { .. }) = &issued {
        state.metrics.refused(Refusal::ClientLocked);
    }
    let issued = issued?;
    let mut response = HttpResponse::Ok().json(issued);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// A client as the token presented describes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientSelf {
    #[serde(flatten)]
    pub client: ClientView,
    /// Scopes of the token used for this request.
    pub token_scopes: Vec<String>,
}

/// The calling platform or issuer client.
#[utoipa::path(get, path = "/v1/clients/me", tag = "clients", operation_id = "client_me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The client", body = ClientSelf),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a client's token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn me(
    state: web::Data<AppState>,
    caller: ClientAuth,
) -> Result<web::Json<ClientSelf>, AppError> {
    let id = caller.client_id.clone();
    let client = run(&state, move |c| c.get(&id)).await?;
    Ok(web::Json(ClientSelf {
        client,
        token_scopes: caller.scopes,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    pub kind: ClientKind,
    /// Who the client is, e.g. the platform's company name.
    pub name: String,
    /// Scopes to grant; all scopes of its kind when absent.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// Create a platform or issuer client (admins only). The secret is in this answer only.
#[utoipa::path(post, path = "/v1/admin/clients", tag = "admin", request_body = NewClient, security(("bearer" = [])),
    responses(
        (status = 201, description = "Client created", body = CreatedClient),
        (status = 422, description = "Bad name or scopes", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    caller: AdminAuth,
    body: JsonBody<NewClient>,
) -> Result<HttpResponse, AppError> {
    let NewClient { kind, name, scopes } = body.0;
    let actor = format!("account:{}", caller.account_id);
    let created = run(&state, move |c| {
        c.create(kind, &name, scopes.as_deref(), &actor)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(created))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientList {
    pub clients: Vec<ClientView>,
}

/// List clients (admins only).
#[utoipa::path(get, path = "/v1/admin/clients", tag = "admin", operation_id = "list_clients", security(("bearer" = [])),
    responses((status = 200, description = "Every client, newest first", body = ClientList)))]
pub async fn list(
    state: web::Data<AppState>,
    _caller: AdminAuth,
) -> Result<web::Json<ClientList>, AppError> {
    let clients = run(&state, |c| c.list()).await?;
    Ok(web::Json(ClientList { clients }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ClientPath {
    /// Client id (`tgc_…`).
    pub id: String,
}

/// Disable a client (admins only): it can get no new tokens.
#[utoipa::path(delete, path = "/v1/admin/clients/{id}", tag = "admin", params(ClientPath), security(("bearer" = [])),
    responses(
        (status = 204, description = "Client disabled"),
        (status = 404, description = "No such enabled client", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn disable(
    state: web::Data<AppState>,
    caller: AdminAuth,
    path: web::Path<ClientPath>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner().id;
    let actor = format!("account:{}", caller.account_id);
    run(&state, move |c| c.disable(&id, &actor)).await?;
    state.revoked_now().await?;
    Ok(HttpResponse::NoContent().finish())
}
