//! Accounts of people: sellers register themselves, officers are invited. Registration,
//! email verification, login with optional TOTP, rotating refresh tokens, password reset
//! and change.
//!
//! Every answer that could tell whether an email has an account is the same either way:
//! registration and reset requests always "accept", and a login for an unknown email costs
//! the same password check as a real one.

pub mod email;
pub mod mail_settings;
pub mod routes;
mod store;

pub use email::{Email, EmailError};
/// For the revocation list (`auth::revocation`): sessions ended since a moment.
pub use store::sessions_revoked_since;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeDelta, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::{self, NewAuditEntry};
use crate::auth::hashing::HashingPool;
use crate::auth::tokens::{AMR_OTP, AMR_PASSWORD, AUDIENCE};
use crate::auth::{
    Claims, OfficerRole, PrincipalKind, TokenService, password, random_token,
    store as throttle_store, throttle, token_digest, totp,
};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{DbConnection, DbPool, write_transaction};
use crate::i18n::Language;
use crate::notify::{
    self, AccountClosedExists, AccountExists, NotifyError, OfficerInvitation, PasswordChanged,
    PasswordReset, VerifyEmail,
};
use crate::policies::ProvinceScope;
use crate::vault::{Sealed, Vault};

const KIND_SELLER: &str = "seller";
const KIND_OFFICER: &str = "officer";
const STATUS_ACTIVE: &str = "active";
/// Closed by its owner: cannot sign in; its personal data is pseudonymised on schedule.
const STATUS_CLOSED: &str = "closed";
const PURPOSE_VERIFY: &str = "verify_email";
const PURPOSE_RESET: &str = "reset_password";
const PURPOSE_INVITATION: &str = "invitation";

/// Why an account operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("the link is invalid, already used, or expired; ask for a new one")]
    InvalidLink,
    #[error("the email or password is wrong")]
    BadCredentials,
    #[error("this account needs a code from its authenticator app: send totp_code")]
    SecondFactorRequired,
    #[error("the authenticator code is wrong or was already used")]
    BadSecondFactor,
    #[error("too many failed attempts; try again in {retry_after_secs} seconds")]
    Locked { retry_after_secs: u64 },
    #[error("confirm your email address first: follow the link we sent you, or ask for a new one")]
    EmailNotVerified,
    #[error("this account is disabled")]
    Disabled,
    #[error("the session has ended or the refresh token is not valid; log in again")]
    InvalidSession,
    #[error("{0}")]
    Conflict(String),
    #[error("the settings were changed meanwhile (in another window or device); read them again")]
    ChangedMeanwhile,
    #[error("no such account")]
    NotFound,
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
    #[error(transparent)]
    Hashing(#[from] crate::auth::hashing::HashingError),
    #[error("{0}")]
    Internal(String),
}

/// Access and refresh token handed out at login and refresh.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token is valid.
    pub expires_in: u32,
    /// Single-use: each refresh returns a new one, and presenting a used one ends the session.
    pub refresh_token: String,
    /// Seconds the refresh token is valid.
    pub refresh_expires_in: i64,
}

/// An account as its owner (or an admin) sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub kind: PrincipalKind,
    pub email: String,
    pub email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<OfficerRole>,
    /// Province codes an officer covers (`*` for all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub provinces: Vec<String>,
    pub language: Language,
    /// Whether a TOTP second factor is confirmed.
    pub second_factor: bool,
    pub created_at: DateTime<Utc>,
}

/// A TOTP secret to put into an authenticator app, shown once at enrolment.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32 secret, for typing in by hand.
    pub secret: String,
    /// `otpauth://` URI, for a QR code.
    pub otpauth_uri: String,
}

/// What a login presents.
pub struct LoginAttempt {
    pub email: String,
    pub password: String,
    pub totp_code: Option<String>,
    /// Client address, for per-source back-off.
    pub ip: String,
}

impl std::fmt::Debug for LoginAttempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginAttempt")
            .field("email", &self.email)
            .field("ip", &self.ip)
            .finish_non_exhaustive()
    }
}

/// A login between its two steps: the attempt counted, the account read, the password
/// not yet checked.
#[derive(Debug)]
pub struct PendingLogin {
    email: Email,
    keys: Vec<throttle_store::ThrottleKey>,
    account: Option<store::AccountRow>,
}

impl PendingLogin {
    /// What the password is checked against (none: a dummy hash is checked instead).
    pub fn stored_hash(&self) -> Option<String> {
        self.account.as_ref().and_then(|a| a.password_hash.clone())
    }
}

/// A new officer.
#[derive(Debug)]
pub struct NewOfficer<'a> {
    pub email: &'a str,
    pub role: OfficerRole,
    pub provinces: &'a ProvinceScope,
    pub language: Language,
    /// Who creates it (`account:ID`, or `cli`).
    pub created_by: &'a str,
}

/// Account operations with what they need.
pub struct Accounts<'a> {
    pub pool: &'a DbPool,
    pub config: &'a Config,
    pub clock: &'a dyn Clock,
    pub tokens: &'a TokenService,
    pub vault: &'a Vault,
    /// Where passwords are hashed and checked.
    pub hashing: &'a HashingPool,
    /// The retention policy the service runs with (when a closed account's address frees).
    pub retention: &'a crate::retention::RetentionPolicy,
}

fn kind_of(row: &store::AccountRow) -> PrincipalKind {
    if row.kind == KIND_OFFICER {
        PrincipalKind::Officer
    } else {
        PrincipalKind::Seller
    }
}

fn provinces_of(row: &store::AccountRow) -> Vec<String> {
    row.provinces
        .split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) fn totp_context(account_id: &str) -> String {
    format!("account:{account_id}:totp")
}

fn actor(account_id: &str) -> String {
    format!("account:{account_id}")
}

/// Voids earlier unused links of `purpose` for the account and stores a new one.
fn issue_link(
    conn: &mut DbConnection,
    account_id: &str,
    purpose: &str,
    token: &str,
    now: NaiveDateTime,
    valid_for: TimeDelta,
) -> Result<(), AccountError> {
    store::void_tokens(conn, account_id, purpose, now)?;
    store::insert_token(
        conn,
        &token_digest(token),
        account_id,
        purpose,
        now,
        now + valid_for,
    )?;
    Ok(())
}

fn utc(naive: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(naive, Utc)
}

/// A time as people in Vietnam read it.
fn vietnam_time(at: DateTime<Utc>) -> String {
    match FixedOffset::east_opt(7 * 3600) {
        Some(offset) => at
            .with_timezone(&offset)
            .format("%H:%M %d/%m/%Y")
            .to_string(),
        None => at.format("%H:%M %d/%m/%Y UTC").to_string(),
    }
}

impl Accounts<'_> {
    /// How pages name these accounts (those that exist): an officer's display name where
    /// one is set, the email address otherwise.
    pub fn names_of(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, String>, AccountError> {
        let mut conn = self.pool.get()?;
        let mut found = std::collections::HashMap::new();
        for id in ids {
            if found.contains_key(id) {
                continue;
            }
            if let Some(account) = store::find(&mut conn, id)? {
                found.insert(id.clone(), account.display_name.unwrap_or(account.email));
            }
        }
        Ok(found)
    }

    /// Active officers whose provinces cover `province`, for assigning a case:
    /// (id, name shown), by name.
    pub fn officers_for(&self, province: &str) -> Result<Vec<(String, String)>, AccountError> {
        let rows = store::active_officers(&mut *self.pool.get()?)?;
        let mut officers: Vec<(String, String)> = rows
            .into_iter()
            .filter(|(_, _, _, provinces)| {
                ProvinceScope::from_codes(
                    &provinces.split(',').map(str::to_string).collect::<Vec<_>>(),
                )
                .covers(province)
            })
            .map(|(id, name, email, _)| (id, name.unwrap_or(email)))
            .collect();
        officers.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(officers)
    }

    /// Active officers who share a province with `scope` (all of them for the whole
    /// country): (id, name shown), by name.
    pub fn officers_sharing(
        &self,
        scope: &ProvinceScope,
    ) -> Result<Vec<(String, String)>, AccountError> {
        let rows = store::active_officers(&mut *self.pool.get()?)?;
        let mut officers: Vec<(String, String)> = rows
            .into_iter()
            .filter(|(_, _, _, provinces)| {
                let theirs = ProvinceScope::from_codes(
                    &provinces.split(',').map(str::to_string).collect::<Vec<_>>(),
                );
                match (scope, &theirs) {
                    (ProvinceScope::All, _) | (_, ProvinceScope::All) => true,
                    (ProvinceScope::Only(mine), _) => mine.iter().any(|p| theirs.covers(p)),
                }
            })
            .map(|(id, name, email, _)| (id, name.unwrap_or(email)))
            .collect();
        officers.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(officers)
    }

    /// The name pages show this account by, if one is set.
    pub fn display_name(&self, account_id: &str) -> Result<Option<String>, AccountError> {
        Ok(store::find(&mut *self.pool.get()?, account_id)?
            .ok_or(AccountError::NotFound)?
            .display_name)
    }

    /// Sets (or, empty, clears) the name pages show an officer by: 1 to 100 characters on
    /// one line.
    pub fn set_display_name(&self, account_id: &str, name: &str) -> Result<(), AccountError> {
        let name = name.trim();
        if name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(AccountError::Invalid {
                field: "display_name",
                message: "write at most 100 characters on one line".into(),
            });
        }
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            store::set_display_name(
                conn,
                account_id,
                Some(name).filter(|n| !n.is_empty()),
                now.naive_utc(),
            )?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    actor(account_id),
                    "account.display_name_set",
                    actor(account_id),
                ),
            )?;
            Ok(())
        })
    }

    fn link(&self, path: &str, token: &str) -> String {
        format!(
            "{}/{path}?token={token}",
            self.config.server.public_url.trim_end_matches('/')
        )
    }

    /// The audit subject for an email: its account, or for an unknown address a prefix of
    /// its blind index (never the address itself).
    fn email_subject(&self, account: Option<&store::AccountRow>, email: &Email) -> String {
        match account {
            Some(a) => actor(&a.id),
            None => format!("email:{}", &self.email_key(email)[..16]),
        }
    }

    /// Keyed hash of an email, for throttling and audit without storing the address.
    fn email_key(&self, email: &Email) -> String {
        self.vault.blind_index("email", email.as_str().as_bytes())
    }

    fn new_token(&self) -> Result<String, AccountError> {
        random_token("").map_err(|e| AccountError::Internal(format!("random token: {e}")))
    }

    fn parse_email(text: &str) -> Result<Email, AccountError> {
        Email::parse(text).map_err(|e| AccountError::Invalid {
            field: "email",
            message: format!("email {e}"),
        })
    }

    fn check_new_password(
        &self,
        password: &str,
        email: &str,
        field: &'static str,
    ) -> Result<String, AccountError> {
        let local = email.split('@').next().unwrap_or("");
        password::check_policy(password, &[email, local]).map_err(|e| AccountError::Invalid {
            field,
            message: format!("the password {e}"),
        })?;
        password::hash(self.hashing, password).map_err(|e| match e {
            password::HashError::Hashing(busy) => AccountError::Hashing(busy),
            password::HashError::Failed(cause) => AccountError::Internal(cause),
        })
    }

    /// Registers a seller. Answers the same whether or not the email already has an
    /// account; the owner of an existing one gets a notice instead of a verification link.
    pub fn register(
        &self,
        email: &str,
        new_password: &str,
        language: Language,
    ) -> Result<(), AccountError> {
        let email = Self::parse_email(email)?;
        let hash = self.check_new_password(new_password, email.as_str(), "password")?;
        let now = self.clock.now();
        let token = self.new_token()?;
        let mut conn = self.pool.get()?;
        let result = write_transaction(&mut conn, |conn| {
            if let Some(existing) = store::find_by_email(conn, email.as_str())? {
                let lang = Language::from_code(&existing.language);
                // A closed account keeps its address until the retention run pseudonymises
                // it: a second account under the same address would share its mail (the run
                // drops mail held for the address) and could be mistaken for it in records
                // still tied to it, and a closed account is not reopened. So the mailbox is
                // told truthfully when the address frees up, and the person registering
                // gets the same answer as in every other case.
                match existing.closed_at {
                    Some(closed_at) => {
                        let closed = closed_at.and_utc();
                        let days = self.retention.closed_accounts.days;
                        let day = |at: chrono::DateTime<chrono::Utc>| {
                            crate::disputes::calendar::local(at)
                                .format("%d/%m/%Y")
                                .to_string()
                        };
                        let notice = AccountClosedExists {
                            lang,
                            closed_on: day(closed),
                            erased_on: day(closed + TimeDelta::days(i64::from(days))),
                        };
                        notify::queue_mail(conn, now, &existing.email, &notice)?;
                    }
                    None => {
                        let notice = AccountExists {
                            lang,
                            reset_link: format!(
                                "{}/reset-password",
                                self.config.server.public_url.trim_end_matches('/')
                            ),
                        };
                        notify::queue_mail(conn, now, &existing.email, &notice)?;
                    }
                }
                audit::append(
                    conn,
                    now,
                    &NewAuditEntry::new(
                        "anonymous",
                        "account.registration_repeated",
                        actor(&existing.id),
                    )
                    .details(serde_json::json!({ "closed": existing.closed_at.is_some() })),
                )?;
                return Ok(());
            }
            let id = uuid::Uuid::now_v7().to_string();
            let naive = now.naive_utc();
            store::insert(
                conn,
                &store::NewAccount {
                    id: &id,
                    kind: KIND_SELLER,
                    email: email.as_str(),
                    email_verified_at: None,
                    password_hash: Some(&hash),
                    role: None,
                    provinces: "",
                    language: language.code(),
                    status: STATUS_ACTIVE,
                    created_at: naive,
                    updated_at: naive,
                    version: 1,
                },
            )?;
            let hours = self.config.auth.email_verification_ttl_hours;
            issue_link(
                conn,
                &id,
                PURPOSE_VERIFY,
                &token,
                naive,
                TimeDelta::hours(i64::from(hours)),
            )?;
            let mail = VerifyEmail {
                lang: language,
                link: self.link("verify-email", &token),
                valid_hours: hours,
            };
            notify::queue_mail(conn, now, email.as_str(), &mail)?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(actor(&id), "account.created", actor(&id))
                    .details(serde_json::json!({ "kind": KIND_SELLER })),
            )?;
            Ok::<_, AccountError>(())
        });
        match result {
            // Two registrations of one address at once: the loser answers like any repeat.
            Err(AccountError::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ))) => Ok(()),
            other => other,
        }
    }

    /// Sends a new verification link if the email has an unverified account; answers the
    /// same in every case.
    pub fn resend_verification(&self, email: &str) -> Result<(), AccountError> {
        let email = Self::parse_email(email)?;
        let now = self.clock.now();
        let token = self.new_token()?;
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let account = store::find_by_email(conn, email.as_str())?;
            let subject = self.email_subject(account.as_ref(), &email);
            if let Some(account) =
                account.filter(|a| a.email_verified_at.is_none() && a.kind == KIND_SELLER)
            {
                let naive = now.naive_utc();
                let hours = self.config.auth.email_verification_ttl_hours;
                issue_link(
                    conn,
                    &account.id,
                    PURPOSE_VERIFY,
                    &token,
                    naive,
                    TimeDelta::hours(i64::from(hours)),
                )?;
                let mail = VerifyEmail {
                    lang: Language::from_code(&account.language),
                    link: self.link("verify-email", &token),
                    valid_hours: hours,
                };
                notify::queue_mail(conn, now, &account.email, &mail)?;
            }
            audit::append(
                conn,
                now,
                &NewAuditEntry::new("anonymous", "account.verification_requested", subject),
            )?;
            Ok(())
        })
    }

    /// Confirms an email address with the token from the link.
    pub fn verify_email(&self, token: &str) -> Result<(), AccountError> {
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let account_id =
                store::take_token(conn, &token_digest(token), PURPOSE_VERIFY, now.naive_utc())?
                    .ok_or(AccountError::InvalidLink)?;
            store::set_email_verified(conn, &account_id, now.naive_utc())?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    actor(&account_id),
                    "account.email_verified",
                    actor(&account_id),
                ),
            )?;
            Ok(())
        })
    }

    /// Refuses a login at once, with no write, while its source is locked (for this
    /// account or for all); [`Self::begin_login`] checks again as it counts the attempt.
    pub fn check_login_lock(&self, email: &str, ip: &str) -> Result<(), AccountError> {
        let email = Self::parse_email(email)?;
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        let mut locked = None;
        for key in self.login_throttle_keys(&email, ip) {
            locked = locked.max(throttle_store::locked_for(&mut conn, &key.key, now)?);
        }
        match locked {
            Some(retry_after_secs) => Err(AccountError::Locked { retry_after_secs }),
            None => Ok(()),
        }
    }

    /// First step of a login: counts the attempt (or refuses it while the source is
    /// locked) and reads the account. The password is then checked on a hashing thread
    /// (see [`password::verify_or_dummy`]) and the login ends in [`Self::finish_login`]
    /// (or [`Self::abandon_login`] when it never got checked).
    pub fn begin_login(&self, email: &str, ip: &str) -> Result<PendingLogin, AccountError> {
        let email = Self::parse_email(email)?;
        let now = self.clock.now();
        let keys = self.login_throttle_keys(&email, ip);
        let mut conn = self.pool.get()?;
        // Counted before the hash is checked, so parallel guesses cannot outrun the lock.
        let refused =
            write_transaction(&mut conn, |conn| throttle_store::reserve(conn, &keys, now))?;
        if let Some(retry_after_secs) = refused {
            return Err(AccountError::Locked { retry_after_secs });
        }
        // A closed account answers like an unknown email: a dummy hash is checked and the
        // login fails as wrong credentials, so closing tells nobody the address was used.
        let account =
            store::find_by_email(&mut conn, email.as_str())?.filter(|a| a.closed_at.is_none());
        Ok(PendingLogin {
            email,
            keys,
            account,
        })
    }

    /// Gives back the attempt of a login whose password was never checked.
    pub fn abandon_login(&self, pending: &PendingLogin) -> Result<(), AccountError> {
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            throttle_store::give_back(conn, &pending.keys, false)
        })?;
        Ok(())
    }

    /// Last step of a login: with the password checked, checks the second factor and
    /// starts a session.
    pub fn finish_login(
        &self,
        pending: PendingLogin,
        password_ok: bool,
        totp_code: Option<&str>,
    ) -> Result<TokenPair, AccountError> {
        let now = self.clock.now();
        let PendingLogin {
            email,
            keys,
            account,
        } = pending;
        let subject = self.email_subject(account.as_ref(), &email);
        let Some(account) = account.filter(|_| password_ok) else {
            self.record_failure(subject, now)?;
            return Err(AccountError::BadCredentials);
        };
        if account.status != STATUS_ACTIVE || account.email_verified_at.is_none() {
            // The password was right: the attempt was no guess.
            self.release_attempt(&keys)?;
            return Err(if account.status != STATUS_ACTIVE {
                AccountError::Disabled
            } else {
                AccountError::EmailNotVerified
            });
        }
        let mut amr = vec![AMR_PASSWORD.to_string()];
        if account.totp_confirmed_at.is_some() {
            let Some(code) = totp_code else {
                self.release_attempt(&keys)?;
                return Err(AccountError::SecondFactorRequired);
            };
            let secret = self.totp_secret(&account)?;
            let step = totp::verify(&secret, code, now.timestamp(), account.totp_last_step);
            let used = match step {
                Some(step) => store::use_totp_step(&mut *self.pool.get()?, &account.id, step)?,
                None => false,
            };
            if !used {
                // The reserved attempt stays counted: a wrong code is a guess too.
                self.record_failure(subject, now)?;
                return Err(AccountError::BadSecondFactor);
            }
            amr.push(AMR_OTP.to_string());
        }
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            throttle_store::give_back(conn, &keys, true)?;
            let pair = self.start_session(conn, &account, &amr, now)?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(actor(&account.id), "login.succeeded", actor(&account.id))
                    .details(serde_json::json!({ "amr": amr })),
            )?;
            Ok(pair)
        })
    }

    /// The counters a login attempt is charged to: this account from this source, and
    /// this source. Never the account alone, so guessing from elsewhere cannot lock out
    /// the person who knows the password.
    fn login_throttle_keys(&self, email: &Email, ip: &str) -> Vec<throttle_store::ThrottleKey> {
        let auth = &self.config.auth;
        let source = throttle::source_of(ip);
        let policy = |max_failures| throttle::Policy {
            max_failures,
            base_secs: auth.lockout_base_secs,
        };
        vec![
            throttle_store::ThrottleKey {
                key: format!("account:{}@{source}", self.email_key(email)),
                policy: policy(auth.max_failures_per_account),
                per_secret: true,
            },
            throttle_store::ThrottleKey {
                key: format!("login-source:{source}"),
                policy: policy(auth.max_failures_per_ip),
                per_secret: false,
            },
        ]
    }

    fn release_attempt(&self, keys: &[throttle_store::ThrottleKey]) -> Result<(), AccountError> {
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            throttle_store::give_back(conn, keys, true)
        })?;
        Ok(())
    }

    /// Records a failed attempt (already counted by the reservation) in the audit log.
    fn record_failure(&self, subject: String, now: DateTime<Utc>) -> Result<(), AccountError> {
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            audit::append(
                conn,
                now,
                &NewAuditEntry::new("anonymous", "login.failed", subject),
            )?;
            Ok(())
        })
    }

    fn totp_secret(&self, account: &store::AccountRow) -> Result<Vec<u8>, AccountError> {
        let (Some(bytes), Some(key_id)) = (&account.totp_secret, &account.totp_key_id) else {
            return Err(AccountError::Conflict(
                "no second factor is being enrolled; start with POST /v1/me/totp".into(),
            ));
        };
        self.vault
            .open(
                &Sealed {
                    key_id: key_id.clone(),
                    bytes: bytes.clone(),
                },
                &totp_context(&account.id),
            )
            .map_err(|e| {
                AccountError::Internal(format!("TOTP secret of account {}: {e}", account.id))
            })
    }

    fn access_token(
        &self,
        account: &store::AccountRow,
        amr: &[String],
        session: &str,
        now: DateTime<Utc>,
    ) -> Result<String, AccountError> {
        let kind = kind_of(account);
        let claims = Claims {
            iss: self.tokens.issuer().to_string(),
            aud: AUDIENCE.to_string(),
            sub: account.id.clone(),
            iat: now.timestamp(),
            exp: now.timestamp() + i64::from(self.config.auth.access_token_ttl_secs),
            jti: uuid::Uuid::now_v7().to_string(),
            kind,
            role: account.role.as_deref().and_then(OfficerRole::parse),
            provinces: if kind == PrincipalKind::Officer {
                provinces_of(account)
            } else {
                Vec::new()
            },
            scope: String::new(),
            sid: Some(session.to_string()),
            amr: amr.to_vec(),
        };
        self.tokens
            .issue(&claims)
            .map_err(|e| AccountError::Internal(e.to_string()))
    }

    fn issue_refresh(
        &self,
        conn: &mut DbConnection,
        account_id: &str,
        family: &str,
        amr: &[String],
        now: DateTime<Utc>,
    ) -> Result<(String, i64), AccountError> {
        let token = random_token("rt_")
            .map_err(|e| AccountError::Internal(format!("random token: {e}")))?;
        let ttl = TimeDelta::days(i64::from(self.config.auth.refresh_token_ttl_days));
        store::insert_refresh(
            conn,
            &store::NewRefresh {
                token_hash: &token_digest(&token),
                family_id: family,
                account_id,
                amr: &amr.join(" "),
                now: now.naive_utc(),
                expires_at: now.naive_utc() + ttl,
            },
        )?;
        Ok((token, ttl.num_seconds()))
    }

    fn start_session(
        &self,
        conn: &mut DbConnection,
        account: &store::AccountRow,
        amr: &[String],
        now: DateTime<Utc>,
    ) -> Result<TokenPair, AccountError> {
        let family = uuid::Uuid::now_v7().to_string();
        let (refresh_token, refresh_expires_in) =
            self.issue_refresh(conn, &account.id, &family, amr, now)?;
        Ok(TokenPair {
            access_token: self.access_token(account, amr, &family, now)?,
            token_type: "Bearer",
            expires_in: self.config.auth.access_token_ttl_secs,
            refresh_token,
            refresh_expires_in,
        })
    }

    /// Exchanges a refresh token for new tokens. A refresh token works once: presenting
    /// one that was already used means it was stolen (or replayed), so the whole session
    /// ends.
    pub fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AccountError> {
        enum Outcome {
            Renewed(TokenPair),
            Replayed { account_id: String },
        }
        let now = self.clock.now();
        let hash = token_digest(refresh_token);
        let mut conn = self.pool.get()?;
        let outcome = write_transaction(&mut conn, |conn| {
            let row = store::find_refresh(conn, &hash)?.ok_or(AccountError::InvalidSession)?;
            if !store::use_refresh(conn, &hash, now.naive_utc())? {
                store::revoke_family(conn, &row.family_id, now.naive_utc())?;
                audit::append(
                    conn,
                    now,
                    &NewAuditEntry::new(
                        "anonymous",
                        "session.reuse_detected",
                        actor(&row.account_id),
                    )
                    .details(serde_json::json!({ "session": row.family_id })),
                )?;
                return Ok(Outcome::Replayed {
                    account_id: row.account_id,
                });
            }
            if row.expires_at <= now.naive_utc() {
                return Err(AccountError::InvalidSession);
            }
            let account =
                store::find(conn, &row.account_id)?.ok_or(AccountError::InvalidSession)?;
            if account.status != STATUS_ACTIVE {
                return Err(AccountError::InvalidSession);
            }
            let amr: Vec<String> = row.amr.split_whitespace().map(str::to_string).collect();
            let (refresh_token, refresh_expires_in) =
                self.issue_refresh(conn, &account.id, &row.family_id, &amr, now)?;
            Ok(Outcome::Renewed(TokenPair {
                access_token: self.access_token(&account, &amr, &row.family_id, now)?,
                token_type: "Bearer",
                expires_in: self.config.auth.access_token_ttl_secs,
                refresh_token,
                refresh_expires_in,
            }))
        })?;
        match outcome {
            Outcome::Renewed(pair) => Ok(pair),
            Outcome::Replayed { account_id } => {
                tracing::warn!(account = %account_id, "refresh token presented twice; session revoked");
                Err(AccountError::InvalidSession)
            }
        }
    }

    /// Ends the session a refresh token belongs to. Unknown tokens are ignored.
    pub fn logout(&self, refresh_token: &str) -> Result<(), AccountError> {
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            if let Some(row) = store::find_refresh(conn, &token_digest(refresh_token))? {
                store::revoke_family(conn, &row.family_id, now.naive_utc())?;
                audit::append(
                    conn,
                    now,
                    &NewAuditEntry::new(
                        actor(&row.account_id),
                        "session.ended",
                        actor(&row.account_id),
                    )
                    .details(serde_json::json!({ "session": row.family_id })),
                )?;
            }
            Ok(())
        })
    }

    /// Mails a reset link if the email has an active account; answers the same in every case.
    pub fn request_password_reset(&self, email: &str) -> Result<(), AccountError> {
        let email = Self::parse_email(email)?;
        let now = self.clock.now();
        let token = self.new_token()?;
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let account =
                store::find_by_email(conn, email.as_str())?.filter(|a| a.status == STATUS_ACTIVE);
            let subject = self.email_subject(account.as_ref(), &email);
            if let Some(account) = account {
                let naive = now.naive_utc();
                let minutes = self.config.auth.password_reset_ttl_minutes;
                issue_link(
                    conn,
                    &account.id,
                    PURPOSE_RESET,
                    &token,
                    naive,
                    TimeDelta::minutes(i64::from(minutes)),
                )?;
                let mail = PasswordReset {
                    lang: Language::from_code(&account.language),
                    link: self.link("reset-password", &token),
                    valid_minutes: minutes,
                };
                notify::queue_mail(conn, now, &account.email, &mail)?;
            }
            audit::append(
                conn,
                now,
                &NewAuditEntry::new("anonymous", "password.reset_requested", subject),
            )?;
            Ok(())
        })
    }

    /// The account behind a usable link, and its email.
    fn link_account(
        &self,
        token: &str,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<store::AccountRow, AccountError> {
        let mut conn = self.pool.get()?;
        let id = store::peek_token(&mut conn, &token_digest(token), purpose, now.naive_utc())?
            .ok_or(AccountError::InvalidLink)?;
        store::find(&mut conn, &id)?.ok_or(AccountError::InvalidLink)
    }

    /// Sets a new password from a reset link and ends every session.
    pub fn confirm_password_reset(
        &self,
        token: &str,
        new_password: &str,
    ) -> Result<(), AccountError> {
        let now = self.clock.now();
        let account = self.link_account(token, PURPOSE_RESET, now)?;
        let hash = self.check_new_password(new_password, &account.email, "new_password")?;
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let naive = now.naive_utc();
            store::take_token(conn, &token_digest(token), PURPOSE_RESET, naive)?
                .ok_or(AccountError::InvalidLink)?;
            store::set_password(conn, &account.id, &hash, naive)?;
            store::revoke_sessions(conn, &account.id, None, naive)?;
            self.queue_password_changed(conn, &account, now)?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(actor(&account.id), "password.reset", actor(&account.id)),
            )?;
            Ok(())
        })
    }

    fn queue_password_changed(
        &self,
        conn: &mut DbConnection,
        account: &store::AccountRow,
        now: DateTime<Utc>,
    ) -> Result<(), AccountError> {
        let notice = PasswordChanged {
            lang: Language::from_code(&account.language),
            when: vietnam_time(now),
            reset_link: format!(
                "{}/reset-password",
                self.config.server.public_url.trim_end_matches('/')
            ),
        };
        notify::queue_mail(conn, now, &account.email, &notice)?;
        Ok(())
    }

    /// Changes the password of a signed-in person and ends their other sessions.
    pub fn change_password(
        &self,
        account_id: &str,
        session_id: Option<&str>,
        current: &str,
        new_password: &str,
    ) -> Result<(), AccountError> {
        let now = self.clock.now();
        let account =
            store::find(&mut *self.pool.get()?, account_id)?.ok_or(AccountError::NotFound)?;
        let current_ok = account
            .password_hash
            .as_deref()
            .map(|h| password::verify(self.hashing, current, h))
            .transpose()?
            .unwrap_or(false);
        if !current_ok {
            return Err(AccountError::Invalid {
                field: "current_password",
                message: "the current password is wrong".into(),
            });
        }
        if current == new_password {
            return Err(AccountError::Invalid {
                field: "new_password",
                message: "the new password must differ from the current one".into(),
            });
        }
        let hash = self.check_new_password(new_password, &account.email, "new_password")?;
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let naive = now.naive_utc();
            store::set_password(conn, &account.id, &hash, naive)?;
            store::revoke_sessions(conn, &account.id, session_id, naive)?;
            self.queue_password_changed(conn, &account, now)?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(actor(&account.id), "password.changed", actor(&account.id)),
            )?;
            Ok(())
        })
    }

    /// Closes the signed-in person's own account after checking their password again: every
    /// session and unused link ends. Refused while the account is a seller with a dispute
    /// case not yet final or a shop still bound, since those need the seller reachable.
    pub fn close_account(&self, account_id: &str, password: &str) -> Result<(), AccountError> {
        let now = self.clock.now();
        let account =
            store::find(&mut *self.pool.get()?, account_id)?.ok_or(AccountError::NotFound)?;
        let password_ok = account
            .password_hash
            .as_deref()
            .map(|h| password::verify(self.hashing, password, h))
            .transpose()?
            .unwrap_or(false);
        if !password_ok {
            return Err(AccountError::Invalid {
                field: "password",
                message: "the password is wrong".into(),
            });
        }
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let (cases, bindings) = store::open_obligations(conn, &account.id)?;
            if cases > 0 || bindings > 0 {
                let mut why = Vec::new();
                if cases > 0 {
                    why.push(format!("{cases} dispute case(s) not yet closed"));
                }
                if bindings > 0 {
                    why.push(format!(
                        "{bindings} shop binding(s) still active (ask the platform to unbind them)"
                    ));
                }
                return Err(AccountError::Conflict(format!(
                    "the account cannot be closed while it has {}",
                    why.join(" and ")
                )));
            }
            let naive = now.naive_utc();
            if !store::close(conn, &account.id, STATUS_CLOSED, naive)? {
                return Err(AccountError::Conflict(
                    "the account is already closed".into(),
                ));
            }
            store::revoke_sessions(conn, &account.id, None, naive)?;
            store::void_all_tokens(conn, &account.id, naive)?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(actor(&account.id), "account.closed", actor(&account.id)),
            )?;
            Ok(())
        })
    }

    /// Creates an officer without a password and mails the invitation to set one.
    pub fn create_officer(&self, officer: &NewOfficer<'_>) -> Result<String, AccountError> {
        let email = Self::parse_email(officer.email)?;
        let now = self.clock.now();
        let token = self.new_token()?;
        let id = uuid::Uuid::now_v7().to_string();
        let provinces = officer.provinces.to_codes().join(",");
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            if store::find_by_email(conn, email.as_str())?.is_some() {
                return Err(AccountError::Conflict(format!(
                    "{email} already has an account"
                )));
            }
            let naive = now.naive_utc();
            store::insert(
                conn,
                &store::NewAccount {
                    id: &id,
                    kind: KIND_OFFICER,
                    email: email.as_str(),
                    email_verified_at: None,
                    password_hash: None,
                    role: Some(officer.role.as_str()),
                    provinces: &provinces,
                    language: officer.language.code(),
                    status: STATUS_ACTIVE,
                    created_at: naive,
                    updated_at: naive,
                    version: 1,
                },
            )?;
            let hours = self.config.auth.invitation_ttl_hours;
            issue_link(
                conn,
                &id,
                PURPOSE_INVITATION,
                &token,
                naive,
                TimeDelta::hours(i64::from(hours)),
            )?;
            let mail = OfficerInvitation {
                lang: officer.language,
                link: self.link("accept-invitation", &token),
                role: officer.role.as_str().to_string(),
                provinces: provinces.replace(',', ", "),
                valid_hours: hours,
            };
            notify::queue_mail(conn, now, email.as_str(), &mail)?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(officer.created_by, "officer.invited", actor(&id)).details(
                    serde_json::json!({ "role": officer.role.as_str(), "provinces": provinces }),
                ),
            )?;
            Ok(id.clone())
        })
    }

    /// Sets an invited officer's password; this also confirms their email.
    pub fn accept_invitation(&self, token: &str, new_password: &str) -> Result<(), AccountError> {
        let now = self.clock.now();
        let account = self.link_account(token, PURPOSE_INVITATION, now)?;
        let hash = self.check_new_password(new_password, &account.email, "password")?;
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let naive = now.naive_utc();
            store::take_token(conn, &token_digest(token), PURPOSE_INVITATION, naive)?
                .ok_or(AccountError::InvalidLink)?;
            store::set_password(conn, &account.id, &hash, naive)?;
            store::set_email_verified(conn, &account.id, naive)?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    actor(&account.id),
                    "officer.invitation_accepted",
                    actor(&account.id),
                ),
            )?;
            Ok(())
        })
    }

    /// Starts TOTP enrolment: a new secret, shown once, confirmed by a first code.
    /// The secret of an enrolment started but not confirmed yet, to show again (a page
    /// reloaded must not void the QR code already scanned).
    pub fn pending_totp(&self, account_id: &str) -> Result<Option<TotpEnrolment>, AccountError> {
        let account =
            store::find(&mut *self.pool.get()?, account_id)?.ok_or(AccountError::NotFound)?;
        if account.totp_confirmed_at.is_some() || account.totp_secret.is_none() {
            return Ok(None);
        }
        let secret = self.totp_secret(&account)?;
        Ok(Some(TotpEnrolment {
            secret: totp::encode_secret(&secret),
            otpauth_uri: totp::provisioning_uri(&secret, &account.email),
        }))
    }

    pub fn enrol_totp(&self, account_id: &str) -> Result<TotpEnrolment, AccountError> {
        let now = self.clock.now();
        let mut secret = [0u8; totp::SECRET_LEN];
        getrandom::fill(&mut secret)
            .map_err(|e| AccountError::Internal(format!("random secret: {e}")))?;
        let sealed = self
            .vault
            .seal(&secret, &totp_context(account_id))
            .map_err(|e| AccountError::Internal(e.to_string()))?;
        let mut conn = self.pool.get()?;
        let email = write_transaction(&mut conn, |conn| {
            let account = store::find(conn, account_id)?.ok_or(AccountError::NotFound)?;
            if store::set_pending_totp(
                conn,
                account_id,
                &sealed.bytes,
                &sealed.key_id,
                now.naive_utc(),
            )? != 1
            {
                return Err(AccountError::Conflict(
                    "a second factor is already confirmed for this account".into(),
                ));
            }
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    actor(account_id),
                    "totp.enrolment_started",
                    actor(account_id),
                ),
            )?;
            Ok(account.email)
        })?;
        Ok(TotpEnrolment {
            secret: totp::encode_secret(&secret),
            otpauth_uri: totp::provisioning_uri(&secret, &email),
        })
    }

    /// Confirms TOTP enrolment with a current code; from then on login asks for a code.
    pub fn confirm_totp(&self, account_id: &str, code: &str) -> Result<(), AccountError> {
        let now = self.clock.now();
        let account =
            store::find(&mut *self.pool.get()?, account_id)?.ok_or(AccountError::NotFound)?;
        if account.totp_confirmed_at.is_some() {
            return Err(AccountError::Conflict(
                "a second factor is already confirmed for this account".into(),
            ));
        }
        let secret = self.totp_secret(&account)?;
        let step = totp::verify(&secret, code, now.timestamp(), account.totp_last_step).ok_or(
            AccountError::Invalid {
                field: "code",
                message: "the code does not match; check the app's clock and type the current code"
                    .into(),
            },
        )?;
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            store::confirm_totp(conn, account_id, step, now.naive_utc())?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(actor(account_id), "totp.confirmed", actor(account_id)),
            )?;
            Ok(())
        })
    }

    /// Confirms the authenticator with a code and, the code proving the second factor,
    /// opens a session that carries it (the page goes on to the console without asking for
    /// the password again, and without a second code the app has not shown yet).
    pub fn confirm_totp_session(
        &self,
        account_id: &str,
        code: &str,
    ) -> Result<TokenPair, AccountError> {
        self.confirm_totp(account_id, code)?;
        let now = self.clock.now();
        let account =
            store::find(&mut *self.pool.get()?, account_id)?.ok_or(AccountError::NotFound)?;
        let amr = vec![AMR_PASSWORD.to_string(), AMR_OTP.to_string()];
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            self.start_session(conn, &account, &amr, now)
        })
    }

    /// The signed-in person's own account.
    pub fn view(&self, account_id: &str) -> Result<AccountView, AccountError> {
        let account =
            store::find(&mut *self.pool.get()?, account_id)?.ok_or(AccountError::NotFound)?;
        Ok(AccountView {
            kind: kind_of(&account),
            email_verified: account.email_verified_at.is_some(),
            role: account.role.as_deref().and_then(OfficerRole::parse),
            provinces: provinces_of(&account),
            language: Language::from_code(&account.language),
            second_factor: account.totp_confirmed_at.is_some(),
            created_at: utc(account.created_at),
            email: account.email,
            id: account.id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnam_time_is_utc_plus_seven() {
        let at = DateTime::parse_from_rfc3339("2026-11-26T20:30:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(vietnam_time(at), "03:30 27/11/2026");
    }
}
