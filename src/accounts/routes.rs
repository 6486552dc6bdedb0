//! HTTP for accounts: registration, sign-in, sessions, passwords, second factor, officers.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::mail_settings::{MailSettings, MailSettingsChange};
use super::{
    AccountError, AccountView, Accounts, LoginAttempt, NewOfficer, TokenPair, TotpEnrolment,
};
use crate::auth::{AccountAuth, AdminAuth, OfficerRole, password};
use crate::error::{AppError, FieldError, Problem};
use crate::http::{Endpoint, JsonBody, if_match};
use crate::i18n::Language;
use crate::metrics::Refusal;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/v1/accounts").post(register))
        .service(Endpoint::new("/v1/accounts/email-verification").post(verify_email))
        .service(Endpoint::new("/v1/accounts/email-verification/resend").post(resend_verification))
        .service(Endpoint::new("/v1/auth/login").post(login))
        .service(Endpoint::new("/v1/auth/refresh").post(refresh))
        .service(Endpoint::new("/v1/auth/logout").post(logout))
        .service(Endpoint::new("/v1/auth/password-reset").post(request_password_reset))
        .service(Endpoint::new("/v1/auth/password-reset/confirm").post(confirm_password_reset))
        .service(Endpoint::new("/v1/auth/invitation/accept").post(accept_invitation))
        .service(Endpoint::new("/v1/me").get(me))
        .service(Endpoint::new("/v1/me/password").post(change_password))
        .service(Endpoint::new("/v1/me/close").post(close_account))
        .service(
            Endpoint::new("/v1/me/notifications")
                .get(mail_settings)
                .put(change_mail_settings),
        )
        .service(Endpoint::new("/v1/me/totp").post_creating(enrol_totp))
        .service(Endpoint::new("/v1/me/totp/confirm").post(confirm_totp))
        .service(Endpoint::new("/v1/admin/officers").post_creating(create_officer));
}

impl From<AccountError> for AppError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Invalid { field, message } => AppError::Validation {
                detail: message.clone(),
                errors: vec![FieldError::new(field, message)],
            },
            AccountError::InvalidLink => {
                AppError::invalid("token", AccountError::InvalidLink.to_string())
            }
            e @ (AccountError::BadCredentials
            | AccountError::BadSecondFactor
            | AccountError::InvalidSession) => AppError::unauthorized(e.to_string()),
            e @ AccountError::SecondFactorRequired => AppError::SecondFactorRequired {
                detail: e.to_string(),
            },
            e @ AccountError::Locked { retry_after_secs } => AppError::TooManyRequests {
                retry_after_secs,
                detail: e.to_string(),
            },
            e @ (AccountError::EmailNotVerified | AccountError::Disabled) => {
                AppError::forbidden(e.to_string())
            }
            AccountError::Conflict(detail) => AppError::conflict(detail),
            e @ AccountError::ChangedMeanwhile => AppError::PreconditionFailed {
                detail: e.to_string(),
            },
            AccountError::NotFound => AppError::not_found("no such account"),
            AccountError::Notify(e) => AppError::internal(e),
            AccountError::Database(e) => e.into(),
            AccountError::Pool(e) => e.into(),
            AccountError::Hashing(e) => AppError::ServiceUnavailable {
                detail: e.to_string(),
            },
            AccountError::Internal(message) => AppError::internal(anyhow::anyhow!(message)),
        }
    }
}

/// Signs in: refused at once while the source is locked; else, once a hashing turn is
/// free (waiting holds no thread; none free within the wait is a 503 that touched
/// nothing), the attempt is counted and the account read (blocking pool), the password
/// checked on a hashing thread, and the session started (blocking pool). The inner error
/// is the person's to see; the outer one is ours.
pub(crate) async fn sign_in(
    state: &web::Data<AppState>,
    attempt: LoginAttempt,
) -> Result<Result<TokenPair, AccountError>, AppError> {
    let LoginAttempt {
        email,
        password,
        totp_code,
        ip,
    } = attempt;
    let (shared, for_check) = (state.clone(), (email.clone(), ip.clone()));
    let locked = state
        .blocking(move || Ok(accounts(&shared).check_login_lock(&for_check.0, &for_check.1)))
        .await?;
    if let Err(error) = locked {
        return Ok(Err(counted(state, error)));
    }
    let turn = match state.hashing.turn().await {
        Ok(turn) => turn,
        Err(busy) => return Ok(Err(counted(state, AccountError::Hashing(busy)))),
    };
    let shared = state.clone();
    let begun = state
        .blocking(move || Ok(accounts(&shared).begin_login(&email, &ip)))
        .await?;
    let pending = match begun {
        Ok(pending) => pending,
        Err(error) => return Ok(Err(counted(state, error))),
    };
    let checked = password::verify_or_dummy(turn, password, pending.stored_hash()).await;
    let shared = state.clone();
    let finished = state
        .blocking(move || {
            let a = accounts(&shared);
            Ok(match checked {
                Ok(password_ok) => a.finish_login(pending, password_ok, totp_code.as_deref()),
                Err(stopped) => a
                    .abandon_login(&pending)
                    .and(Err(AccountError::Hashing(stopped))),
            })
        })
        .await?;
    Ok(finished.map_err(|error| counted(state, error)))
}

/// Counts a sign-in refused by an abuse limit in the metrics.
fn counted(state: &AppState, error: AccountError) -> AccountError {
    match &error {
        AccountError::Locked { .. } => state.metrics.refused(Refusal::LoginLocked),
        AccountError::Hashing(_) => state.metrics.refused(Refusal::HashingBusy),
        _ => {}
    }
    error
}

fn accounts(state: &AppState) -> Accounts<'_> {
    Accounts {
        pool: &state.pool,
        config: &state.config,
        clock: state.clock.as_ref(),
        tokens: &state.tokens,
        vault: &state.vault,
        hashing: &state.hashing,
        retention: &state.retention,
    }
}

/// Runs an account operation on the blocking pool (it hashes passwords and queries).
async fn run<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, AppError>
where
    F: FnOnce(&Accounts<'_>) -> Result<T, AccountError> + Send + 'static,
    T: Send + 'static,
{
    let shared = state.clone();
    state
        .blocking(move || f(&accounts(&shared)).map_err(AppError::from))
        .await
}

/// The same answer whether or not the email has an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// Always `accepted`.
    pub status: &'static str,
    pub message: &'static str,
}

fn accepted(message: &'static str) -> HttpResponse {
    HttpResponse::Accepted().json(Accepted {
        status: "accepted",
        message,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    pub email: String,
    /// At least 10 characters and not easy to guess.
    pub password: String,
    /// Language of mail to this account (default `vi`).
    #[serde(default)]
    pub language: Language,
}

/// Register a seller account. A verification link is mailed to the address.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = Registration,
    responses(
        (status = 202, description = "Accepted; the same answer whether or not the email already has an account", body = Accepted),
        (status = 422, description = "Email or password not acceptable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register(
    state: web::Data<AppState>,
    body: JsonBody<Registration>,
) -> Result<HttpResponse, AppError> {
    let Registration {
        email,
        password,
        language,
    } = body.0;
    run(&state, move |a| a.register(&email, &password, language)).await?;
    Ok(accepted(
        "if this address can be used, a message with a verification link is on its way to it",
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkToken {
    /// The token from the link in the message.
    pub token: String,
}

/// Confirm an email address with the token from the verification link.
#[utoipa::path(post, path = "/v1/accounts/email-verification", tag = "accounts", request_body = LinkToken,
    responses(
        (status = 204, description = "Email confirmed"),
        (status = 422, description = "Link invalid, used or expired", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_email(
    state: web::Data<AppState>,
    body: JsonBody<LinkToken>,
) -> Result<HttpResponse, AppError> {
    let token = body.0.token;
    run(&state, move |a| a.verify_email(&token)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailOnly {
    pub email: String,
}

/// Ask for a new verification link.
#[utoipa::path(post, path = "/v1/accounts/email-verification/resend", tag = "accounts", request_body = EmailOnly,
    responses((status = 202, description = "Accepted; the same answer in every case", body = Accepted)))]
pub async fn resend_verification(
    state: web::Data<AppState>,
    body: JsonBody<EmailOnly>,
) -> Result<HttpResponse, AppError> {
    let email = body.0.email;
    run(&state, move |a| a.resend_verification(&email)).await?;
    Ok(accepted(
        "if this address has an unconfirmed account, a new link is on its way to it",
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub email: String,
    pub password: String,
    /// Six-digit code from the authenticator app, for accounts with a second factor.
    #[serde(default)]
    pub totp_code: Option<String>,
}

/// Sign in with email and password (and TOTP code when enrolled).
#[utoipa::path(post, path = "/v1/auth/login", tag = "accounts", request_body = Login,
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        (status = 401, description = "Wrong credentials, or a TOTP code is required (type /problems/totp-required)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Email not confirmed, or account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failures from this source; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many sign-ins being checked at once; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<Login>,
) -> Result<web::Json<TokenPair>, AppError> {
    let ip = req
        .peer_addr()
        .map_or_else(|| "unknown".to_string(), |a| a.ip().to_string());
    let Login {
        email,
        password,
        totp_code,
    } = body.0;
    let pair = sign_in(
        &state,
        LoginAttempt {
            email,
            password,
            totp_code,
            ip,
        },
    )
    .await??;
    Ok(web::Json(pair))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Exchange a refresh token for new tokens (the old refresh token stops working).
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "accounts", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenPair),
        (status = 401, description = "Refresh token invalid, expired or reused (the session is ended)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> Result<web::Json<TokenPair>, AppError> {
    let token = body.0.refresh_token;
    let renewed = run(&state, move |a| a.refresh(&token)).await;
    if renewed.is_err() {
        // A reused refresh token ends its whole session.
        state.revoked_now().await?;
    }
    Ok(web::Json(renewed?))
}

/// End the session of a refresh token.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "accounts", request_body = RefreshRequest,
    responses((status = 204, description = "Session ended (also when it was unknown)")))]
pub async fn logout(
    state: web::Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let token = body.0.refresh_token;
    run(&state, move |a| a.logout(&token)).await?;
    state.revoked_now().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ask for a password reset link.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "accounts", request_body = EmailOnly,
    responses((status = 202, description = "Accepted; the same answer in every case", body = Accepted)))]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    body: JsonBody<EmailOnly>,
) -> Result<HttpResponse, AppError> {
    let email = body.0.email;
    run(&state, move |a| a.request_password_reset(&email)).await?;
    Ok(accepted(
        "if this address has an account, a reset link is on its way to it",
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    pub token: String,
    pub new_password: String,
}

/// Set a new password with the token from a reset link; every session ends.
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "accounts", request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "Password changed; sign in again"),
        (status = 422, description = "Link invalid, or password not acceptable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    body: JsonBody<PasswordResetConfirm>,
) -> Result<HttpResponse, AppError> {
    let PasswordResetConfirm {
        token,
        new_password,
    } = body.0;
    run(&state, move |a| {
        a.confirm_password_reset(&token, &new_password)
    })
    .await?;
    state.revoked_now().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationAcceptance {
    pub token: String,
    pub password: String,
}

/// Accept an officer invitation by choosing a password.
#[utoipa::path(post, path = "/v1/auth/invitation/accept", tag = "accounts", request_body = InvitationAcceptance,
    responses(
        (status = 204, description = "Password set; sign in and enrol a second factor"),
        (status = 422, description = "Link invalid, or password not acceptable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept_invitation(
    state: web::Data<AppState>,
    body: JsonBody<InvitationAcceptance>,
) -> Result<HttpResponse, AppError> {
    let InvitationAcceptance { token, password } = body.0;
    run(&state, move |a| a.accept_invitation(&token, &password)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in person's account.
#[utoipa::path(get, path = "/v1/me", tag = "accounts", operation_id = "account_me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = AccountView),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a person's token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn me(
    state: web::Data<AppState>,
    caller: AccountAuth,
) -> Result<web::Json<AccountView>, AppError> {
    Ok(web::Json(
        run(&state, move |a| a.view(&caller.account_id)).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Change the password; the person's other sessions end.
#[utoipa::path(post, path = "/v1/me/password", tag = "accounts", request_body = PasswordChange, security(("bearer" = [])),
    responses(
        (status = 204, description = "Password changed"),
        (status = 422, description = "Current password wrong, or new one not acceptable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: AccountAuth,
    body: JsonBody<PasswordChange>,
) -> Result<HttpResponse, AppError> {
    let PasswordChange {
        current_password,
        new_password,
    } = body.0;
    run(&state, move |a| {
        a.change_password(
            &caller.account_id,
            caller.session_id.as_deref(),
            &current_password,
            &new_password,
        )
    })
    .await?;
    state.revoked_now().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountClosing {
    /// The account's password, asked again because closing cannot be undone.
    pub password: String,
}

/// Close the signed-in person's own account. Every session ends and the account can no
/// longer sign in; its personal data is pseudonymised after the retention policy's period.
#[utoipa::path(post, path = "/v1/me/close", tag = "accounts", request_body = AccountClosing, security(("bearer" = [])),
    responses(
        (status = 204, description = "Account closed"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a person's token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A dispute case not yet closed or a shop still bound", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Password wrong", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn close_account(
    state: web::Data<AppState>,
    caller: AccountAuth,
    body: JsonBody<AccountClosing>,
) -> Result<HttpResponse, AppError> {
    let AccountClosing { password } = body.0;
    run(&state, move |a| {
        a.close_account(&caller.account_id, &password)
    })
    .await?;
    state.revoked_now().await?;
    Ok(HttpResponse::NoContent().finish())
}

fn settings_response(settings: MailSettings) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("ETag", format!("\"{}\"", settings.version)))
        .insert_header(("Cache-Control", "no-store"))
        .json(settings)
}

/// The signed-in person's mail settings: the language of their mail, every category of
/// mail they receive and whether each may be turned off. `ETag` is their version.
#[utoipa::path(get, path = "/v1/me/notifications", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 200, description = "The settings", body = MailSettings,
            headers(("ETag" = String, description = "Version of the settings, for If-Match"))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a person's token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn mail_settings(
    state: web::Data<AppState>,
    caller: AccountAuth,
) -> Result<HttpResponse, AppError> {
    let settings = run(&state, move |a| a.mail_settings(&caller.account_id)).await?;
    Ok(settings_response(settings))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailSettingsUpdate {
    /// Language of every mail to the account: `vi` or `en`.
    #[schema(example = "vi")]
    pub language: String,
    /// Optional categories to turn off (see `categories[].silenceable`); every other one is
    /// received. Legal and security notices cannot be listed.
    #[schema(example = json!(["case_progress"]))]
    pub silenced: Vec<String>,
}

/// Change the signed-in person's mail settings. Send `If-Match` with the `ETag` read so
/// that a change made meanwhile elsewhere is not overwritten.
#[utoipa::path(put, path = "/v1/me/notifications", tag = "accounts", request_body = MailSettingsUpdate, security(("bearer" = [])),
    params(("If-Match" = Option<String>, Header, description = "The ETag read; the change is refused if the settings changed since")),
    responses(
        (status = 200, description = "The settings as saved", body = MailSettings,
            headers(("ETag" = String, description = "New version of the settings"))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a person's token", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The settings changed since the ETag sent", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown language or category, or a category that is always sent", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_mail_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AccountAuth,
    body: JsonBody<MailSettingsUpdate>,
) -> Result<HttpResponse, AppError> {
    let expected_version = if_match(&req)?;
    let MailSettingsUpdate { language, silenced } = body.0;
    let change = MailSettingsChange {
        language,
        silenced,
        expected_version,
    };
    let settings = run(&state, move |a| {
        a.set_mail_settings(&caller.account_id, &change)
    })
    .await?;
    Ok(settings_response(settings))
}

/// Start enrolling a TOTP second factor; the secret is shown once.
#[utoipa::path(post, path = "/v1/me/totp", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 201, description = "Secret to add to an authenticator app; confirm with a code", body = TotpEnrolment),
        (status = 409, description = "A second factor is already confirmed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn enrol_totp(
    state: web::Data<AppState>,
    caller: AccountAuth,
) -> Result<HttpResponse, AppError> {
    let enrolment = run(&state, move |a| a.enrol_totp(&caller.account_id)).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(enrolment))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmation {
    /// Current six-digit code from the app.
    pub code: String,
}

/// Confirm TOTP enrolment with a current code. Sign in again to get officer access.
#[utoipa::path(post, path = "/v1/me/totp/confirm", tag = "accounts", request_body = TotpConfirmation, security(("bearer" = [])),
    responses(
        (status = 204, description = "Second factor confirmed"),
        (status = 409, description = "A second factor is confirmed already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong code", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm_totp(
    state: web::Data<AppState>,
    caller: AccountAuth,
    body: JsonBody<TotpConfirmation>,
) -> Result<HttpResponse, AppError> {
    let code = body.0.code;
    run(&state, move |a| a.confirm_totp(&caller.account_id, &code)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficerInvite {
    pub email: String,
    pub role: OfficerRole,
    /// Province codes from `policies/jurisdictions.toml`, or `["*"]` for the whole country.
    pub provinces: Vec<String>,
    #[serde(default)]
    pub language: Language,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedOfficer {
    pub id: String,
}

/// Create an officer and mail them an invitation (admins only).
#[utoipa::path(post, path = "/v1/admin/officers", tag = "admin", request_body = OfficerInvite, security(("bearer" = [])),
    responses(
        (status = 201, description = "Officer created, invitation queued", body = CreatedOfficer),
        (status = 409, description = "The email already has an account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad email or province codes", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_officer(
    state: web::Data<AppState>,
    caller: AdminAuth,
    body: JsonBody<OfficerInvite>,
) -> Result<HttpResponse, AppError> {
    let invite = body.0;
    let scope = state
        .policies
        .jurisdictions
        .parse_scope(&invite.provinces.join(","))
        .map_err(|message| AppError::invalid("provinces", message))?;
    let created_by = format!("account:{}", caller.account_id);
    let id = run(&state, move |a| {
        a.create_officer(&NewOfficer {
            email: &invite.email,
            role: invite.role,
            provinces: &scope,
            language: invite.language,
            created_by: &created_by,
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(CreatedOfficer { id }))
}
