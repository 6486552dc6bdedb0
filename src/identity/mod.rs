//! Seller identity: every seller is bound to a citizen in the population register and, for
//! household businesses and enterprises, to a record in the business register.
//!
//! Citizen ID numbers are sealed at rest, found by blind index, shown only masked, and
//! never written to logs; an officer sees a full number only through an audited reveal.

mod binding;
mod enterprise_code;
pub mod facts;
mod http_registry;
pub mod letters;
mod local_registry;
pub mod monitor;
mod national_id;
mod places;
pub mod registry;
pub mod routes;
mod store;

pub use binding::{BindingCode, BindingView, Bindings, ShopSeller};
pub use enterprise_code::{EnterpriseCode, EnterpriseCodeError, EnterpriseCodeParts};
pub use http_registry::{
    CircuitBreaker, HttpBusinessRegister, HttpPopulationRegister, HttpRegistryConfig,
};
pub use local_registry::{LocalBusinessRegister, LocalPopulationRegister, Source};
pub use national_id::{NationalId, NationalIdError, NationalIdParts, Sex};
pub use registry::{
    BusinessKey, BusinessKind, BusinessRecord, BusinessRegister, BusinessStatus, PersonCheck,
    PopulationRegister,
};
pub use store::{
    SellerRow, fill_search_names, find as find_seller, lock as lock_seller, refresh_search_name,
    seller_labels, sellers_matching, sellers_with_shops_like, shop_names, verified_business,
};

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::{self, NewAuditEntry};
use crate::auth::store::{self as throttle_store, ThrottleKey};
use crate::auth::throttle;
use crate::clock::Clock;
use crate::config::{IdentityConfig, RegisterKind};
use crate::db::{DbPool, write_transaction};
use crate::facts::FactBus;
use crate::notify::NotifyError;
use crate::policies::{Policies, ProvinceScope};
use crate::vault::{Sealed, Vault};
use registry::RegistryUnavailable;

/// The national registers in use.
#[derive(Clone)]
pub struct Registers {
    pub population: Arc<dyn PopulationRegister>,
    pub business: Arc<dyn BusinessRegister>,
}

impl Registers {
    /// Builds the registers the configuration names; a bad file or setting is an error
    /// naming it.
    pub fn from_config(config: &IdentityConfig) -> Result<Self, String> {
        let http = |url: &str| -> Result<HttpRegistryConfig, String> {
            let client_identity_pem = match &config.client_identity_file {
                Some(path) => Some(
                    std::fs::read(path)
                        .map_err(|e| format!("identity.client_identity_file {path}: {e}"))?,
                ),
                None => None,
            };
            Ok(HttpRegistryConfig {
                base_url: url.to_string(),
                api_key_header: config.api_key_header.clone(),
                api_key: config.api_key.clone(),
                timeout: Duration::from_millis(u64::from(config.timeout_ms)),
                retries: config.retries,
                failure_threshold: config.breaker_threshold,
                open_for: Duration::from_secs(u64::from(config.breaker_open_secs)),
                client_identity_pem,
            })
        };
        let source = |file: &Option<String>| match file {
            Some(path) => Source::File(path.into()),
            None => Source::Synthetic,
        };
        let population: Arc<dyn PopulationRegister> = match config.population_register {
            RegisterKind::Local => Arc::new(
                LocalPopulationRegister::open(source(&config.population_file))
                    .map_err(|e| format!("identity.population_file: {e}"))?,
            ),
            RegisterKind::Http => {
                Arc::new(HttpPopulationRegister::new(http(&config.population_url)?)?)
            }
        };
        let business: Arc<dyn BusinessRegister> = match config.business_register {
            RegisterKind::Local => Arc::new(
                LocalBusinessRegister::open(source(&config.business_file))
                    .map_err(|e| format!("identity.business_file: {e}"))?,
            ),
            RegisterKind::Http => Arc::new(HttpBusinessRegister::new(http(&config.business_url)?)?),
        };
        Ok(Self {
            population,
            business,
        })
    }
}

/// Kind of seller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SellerKind {
    Individual,
    HouseholdBusiness,
    Enterprise,
}

impl SellerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SellerKind::Individual => "individual",
            SellerKind::HouseholdBusiness => "household_business",
            SellerKind::Enterprise => "enterprise",
        }
    }

    pub fn parse(text: &str) -> Self {
        match text {
            "household_business" => SellerKind::HouseholdBusiness,
            "enterprise" => SellerKind::Enterprise,
            _ => SellerKind::Individual,
        }
    }

    fn of_business(kind: BusinessKind) -> Self {
        match kind {
            BusinessKind::Enterprise => SellerKind::Enterprise,
            BusinessKind::HouseholdBusiness => SellerKind::HouseholdBusiness,
        }
    }
}

/// Where one proof stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Missing,
    Verified,
    PendingReview,
    Rejected,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Missing => "missing",
            Step::Verified => "verified",
            Step::PendingReview => "pending_review",
            Step::Rejected => "rejected",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "verified" => Step::Verified,
            "pending_review" => Step::PendingReview,
            "rejected" => Step::Rejected,
            _ => Step::Missing,
        }
    }
}

/// A seller's overall standing, as platforms and listing checks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    Unverified,
    PendingReview,
    Verified,
    Rejected,
    Expired,
    Suspended,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Unverified => "unverified",
            Standing::PendingReview => "pending_review",
            Standing::Verified => "verified",
            Standing::Rejected => "rejected",
            Standing::Expired => "expired",
            Standing::Suspended => "suspended",
        }
    }
}

const ACTIVE: &str = "active";
const SUSPENDED: &str = "suspended";

/// Overall standing of a seller row at `now`, and what is still missing.
pub fn standing(row: &SellerRow, now: NaiveDateTime) -> (Standing, Vec<String>) {
    standing_of(
        row.status == SUSPENDED,
        Step::parse(&row.identity_status),
        Step::parse(&row.business_status),
        row.verification_expires_at,
        now,
    )
}

/// Standing from the few facts it rests on, and what is still missing.
fn standing_of(
    suspended: bool,
    identity: Step,
    business: Step,
    verification_expires_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> (Standing, Vec<String>) {
    let mut missing = Vec::new();
    if identity != Step::Verified {
        missing.push("identity".to_string());
    }
    if business == Step::PendingReview {
        missing.push("authorisation_review".to_string());
    }
    let standing = if suspended {
        Standing::Suspended
    } else if identity == Step::Rejected || business == Step::Rejected {
        Standing::Rejected
    } else if identity != Step::Verified {
        Standing::Unverified
    } else if business == Step::PendingReview {
        Standing::PendingReview
    } else if verification_expires_at.is_some_and(|at| at <= now) {
        missing.push("reverification".to_string());
        Standing::Expired
    } else {
        Standing::Verified
    };
    (standing, missing)
}

/// Why a seller operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("too many identity checks did not match; try again in {retry_after_secs} seconds")]
    Locked { retry_after_secs: u64 },
    /// The citizen ID already backs as many sellers as the policy allows (found while
    /// saving; the claim is then saved as rejected).
    #[error("this citizen ID already backs as many seller accounts as allowed")]
    PersonLimit,
    #[error(transparent)]
    Unavailable(#[from] RegistryUnavailable),
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
    #[error("{0}")]
    Internal(String),
}

/// A seller's verification as they see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationView {
    pub status: Standing,
    pub kind: SellerKind,
    /// Level from `policies/verification.toml`; 0 until verified.
    pub level: u8,
    pub identity: IdentityView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business: Option<BusinessView>,
    /// What is still needed: `identity`, `authorisation_review`, `reverification`.
    pub missing: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspended_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityView {
    pub status: Step,
    /// Machine code of the reason for a rejection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Masked citizen ID (`079*******01`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub national_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BusinessView {
    pub status: Step,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub kind: String,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<DateTime<Utc>>,
}

fn utc(naive: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(naive, Utc)
}

/// Builds the seller's view of their verification.
/// Who reads a verification: the seller sees why a person check failed only as
/// `identity_not_confirmed` (naming which part did not match would make the population
/// register a look-up tool); officers see the register's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Seller,
    Officer,
}

/// Reasons that the seller sees only as not confirmed: the population register's, and
/// that the person already backs another seller or is suspended (telling these apart
/// would say what other accounts a citizen ID has).
const PERSON_CHECK_REASONS: &[&str] = &[
    "identity_mismatch",
    "not_in_population_register",
    "deceased",
    "national_id_in_use",
    "person_suspended",
];

pub fn view_of(
    row: &SellerRow,
    now: NaiveDateTime,
    policies: &Policies,
    reader: Reader,
) -> VerificationView {
    let (status, missing) = standing(row, now);
    let kind = SellerKind::parse(&row.kind);
    VerificationView {
        level: if status == Standing::Verified {
            policies.verification.level(kind.as_str())
        } else {
            0
        },
        status,
        kind,
        identity: IdentityView {
            status: Step::parse(&row.identity_status),
            reason: row.identity_reason.as_deref().map(|reason| {
                if reader == Reader::Seller && PERSON_CHECK_REASONS.contains(&reason) {
                    "identity_not_confirmed".to_string()
                } else {
                    reason.to_string()
                }
            }),
            national_id: row.national_id_masked.clone(),
            full_name: row.full_name.clone(),
            verified_at: row.identity_verified_at.map(utc),
        },
        business: row.business_code.as_ref().map(|code| BusinessView {
            status: Step::parse(&row.business_status),
            reason: row.business_reason.clone(),
            kind: row.business_kind.clone().unwrap_or_default(),
            code: code.clone(),
            name: row.business_name.clone(),
            province: row.business_province.clone(),
            verified_at: row.business_verified_at.map(utc),
        }),
        missing,
        expires_at: row.verification_expires_at.map(utc),
        suspended_reason: row.suspended_reason.clone(),
    }
}

fn empty_row(account_id: &str, now: NaiveDateTime) -> SellerRow {
    SellerRow {
        account_id: account_id.to_string(),
        kind: SellerKind::Individual.as_str().to_string(),
        status: ACTIVE.to_string(),
        national_id_sealed: None,
        national_id_key: None,
        national_id_index: None,
        national_id_masked: None,
        full_name: None,
        birth_date: None,
        residence_province: None,
        identity_status: Step::Missing.as_str().to_string(),
        identity_reason: None,
        identity_verified_at: None,
        business_kind: None,
        business_code: None,
        business_name: None,
        business_province: None,
        business_address: None,
        business_lines: None,
        business_status: Step::Missing.as_str().to_string(),
        business_reason: None,
        business_verified_at: None,
        business_checked_at: None,
        authorisation_note: None,
        verification_expires_at: None,
        reminder_sent_at: None,
        suspended_at: None,
        suspended_reason: None,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// The province a seller answers to: their business's, else where they live.
pub fn seller_province(row: &SellerRow) -> Option<&str> {
    row.business_province
        .as_deref()
        .or(row.residence_province.as_deref())
}

/// What a seller submits to prove identity.
#[derive(Debug)]
pub struct IdentityClaim<'a> {
    pub national_id: &'a str,
    pub full_name: &'a str,
    pub birth_date: &'a str,
    /// Address the claim came from, for the per-source limit on failed checks.
    pub source: &'a str,
}

/// What a seller submits to prove a business.
#[derive(Debug)]
pub struct BusinessClaim<'a> {
    pub kind: BusinessKind,
    pub code: &'a str,
    /// For an enterprise seller who is not its legal representative: reference of the
    /// letter that authorises them (number, date, signatory), for an officer to review.
    pub authorisation_note: Option<&'a str>,
}

fn actor(account_id: &str) -> String {
    format!("account:{account_id}")
}

pub(crate) fn sealed_context(account_id: &str) -> String {
    format!("seller:{account_id}:national_id")
}

/// Seller verification with what it needs.
pub struct Sellers<'a> {
    pub pool: &'a DbPool,
    pub clock: &'a dyn Clock,
    pub vault: &'a Vault,
    pub policies: &'a Policies,
    pub registers: &'a Registers,
    /// Where changes to sellers are published.
    pub facts: &'a FactBus,
}

impl Sellers<'_> {
    fn national_index(&self, id: &NationalId) -> String {
        self.vault
            .blind_index("national_id", id.expose().as_bytes())
    }

    fn load(&self, account_id: &str) -> Result<Option<SellerRow>, IdentityError> {
        Ok(store::find(&mut *self.pool.get()?, account_id)?)
    }

    /// The seller's own verification.
    pub fn verification(&self, account_id: &str) -> Result<VerificationView, IdentityError> {
        let now = self.clock.now().naive_utc();
        let row = self
            .load(account_id)?
            .unwrap_or_else(|| empty_row(account_id, now));
        Ok(view_of(&row, now, self.policies, Reader::Seller))
    }

    /// Saves a changed row (inserting it the first time) with its audit entry.
    fn save(
        &self,
        before: Option<&SellerRow>,
        row: &mut SellerRow,
        entry: NewAuditEntry,
    ) -> Result<(), IdentityError> {
        self.save_holding(before, row, entry, false)
    }

    /// [`Self::save`], taking (with `hold`) a place among the sellers the row's citizen ID
    /// backs in the same transaction; none free is [`IdentityError::PersonLimit`].
    fn save_holding(
        &self,
        before: Option<&SellerRow>,
        row: &mut SellerRow,
        entry: NewAuditEntry,
        hold: bool,
    ) -> Result<(), IdentityError> {
        let now = self.clock.now();
        row.updated_at = now.naive_utc();
        let limit = self.policies.verification.max_accounts_per_person;
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            if let (true, Some(index)) = (hold, row.national_id_index.as_deref()) {
                let placed =
                    store::take_holder_place(conn, index, &row.account_id, limit, now.naive_utc())
                        .map_err(|e| match e {
                            diesel::result::Error::DatabaseError(
                                diesel::result::DatabaseErrorKind::UniqueViolation,
                                _,
                            ) => IdentityError::PersonLimit,
                            other => IdentityError::Database(other),
                        })?;
                if !placed {
                    return Err(IdentityError::PersonLimit);
                }
            }
            match before {
                Some(before) => {
                    row.version = before.version + 1;
                    if !store::update(conn, row, before.version)? {
                        return Err(IdentityError::Conflict(
                            "the seller record changed while this request was checked; send it again".into(),
                        ));
                    }
                }
                None => store::insert(conn, row)?,
            }
            audit::append(conn, now, &entry)?;
            if let Some(change) = facts::seller_change(before, row, now.naive_utc()) {
                self.facts.publish(conn, now, &[change])?;
            }
            Ok::<_, IdentityError>(())
        })?;
        self.facts.committed();
        Ok(())
    }

    /// Checks a citizen ID, name and birth date against the population register.
    pub fn submit_identity(
        &self,
        account_id: &str,
        claim: &IdentityClaim<'_>,
    ) -> Result<VerificationView, IdentityError> {
        let full_name = claim.full_name.trim();
        if full_name.is_empty() || full_name.chars().count() > 100 {
            return Err(IdentityError::Invalid {
                field: "full_name",
                message: "full_name must be 1 to 100 characters, as on the citizen ID card".into(),
            });
        }
        let birth_date =
            NaiveDate::parse_from_str(claim.birth_date.trim(), "%Y-%m-%d").map_err(|_| {
                IdentityError::Invalid {
                    field: "birth_date",
                    message: "birth_date must be a date written YYYY-MM-DD".into(),
                }
            })?;
        let id = NationalId::parse_for(claim.national_id, birth_date).map_err(|e| {
            IdentityError::Invalid {
                field: "national_id",
                message: format!("national_id {e}"),
            }
        })?;
        let now = self.clock.now();
        let before = self.load(account_id)?;
        let index = self.national_index(&id);
        if let Some(row) = before
            .as_ref()
            .filter(|r| r.identity_status == Step::Verified.as_str())
        {
            // Verifying again is for an expired verification, and for the same person only.
            let expired = standing(row, now.naive_utc()).0 == Standing::Expired;
            if !expired {
                return Err(IdentityError::Conflict(
                    "identity is already verified; to change it, contact the Department of Industry and Trade".into(),
                ));
            }
            if row.national_id_index.as_deref() != Some(index.as_str()) {
                return Err(IdentityError::Conflict(
                    "verify again with the same citizen ID; to change it, contact the Department of Industry and Trade"
                        .into(),
                ));
            }
        }
        let mut row = before
            .clone()
            .unwrap_or_else(|| empty_row(account_id, now.naive_utc()));
        let others = store::same_person(&mut *self.pool.get()?, &index, account_id)?;
        let limit = self.policies.verification.max_accounts_per_person as usize;
        // The register is asked (and the attempt counted) first, whatever the other
        // accounts: only someone who matched the person learns that the ID cannot back
        // another seller, and guesses cost the same either way.
        let reason = match self.check_person(
            account_id,
            claim.source,
            &id,
            full_name,
            birth_date,
            &mut row,
        )? {
            Some(reason) => Some(reason),
            None if others.iter().any(|(_, _, status, _)| status == SUSPENDED) => {
                Some("person_suspended")
            }
            None if others
                .iter()
                .filter(|(_, _, _, identity)| identity == Step::Verified.as_str())
                .count()
                >= limit =>
            {
                Some("national_id_in_use")
            }
            None => None,
        };
        let sealed = self
            .vault
            .seal(id.expose().as_bytes(), &sealed_context(account_id))
            .map_err(|e| IdentityError::Internal(e.to_string()))?;
        row.national_id_sealed = Some(sealed.bytes);
        row.national_id_key = Some(sealed.key_id);
        row.national_id_index = Some(index);
        row.national_id_masked = Some(id.masked());
        row.full_name = Some(full_name.to_string());
        row.birth_date = Some(birth_date.to_string());
        let action = match reason {
            None => {
                row.identity_status = Step::Verified.as_str().into();
                row.identity_reason = None;
                row.identity_verified_at = Some(now.naive_utc());
                row.verification_expires_at = Some(now.naive_utc() + self.valid_for());
                row.reminder_sent_at = None;
                "seller.identity_verified"
            }
            Some(reason) => {
                row.identity_status = Step::Rejected.as_str().into();
                row.identity_reason = Some(reason.into());
                "seller.identity_rejected"
            }
        };
        let entry = NewAuditEntry::new(actor(account_id), action, actor(account_id))
            .details(serde_json::json!({ "national_id": id.masked(), "reason": reason }));
        match self.save_holding(before.as_ref(), &mut row, entry, reason.is_none()) {
            Ok(()) => {}
            Err(IdentityError::PersonLimit) => {
                // Another account took the last place while this one was checked.
                let reason = "national_id_in_use";
                row.identity_status = Step::Rejected.as_str().into();
                row.identity_reason = Some(reason.into());
                row.identity_verified_at = before.as_ref().and_then(|b| b.identity_verified_at);
                row.verification_expires_at =
                    before.as_ref().and_then(|b| b.verification_expires_at);
                let entry = NewAuditEntry::new(
                    actor(account_id),
                    "seller.identity_rejected",
                    actor(account_id),
                )
                .details(serde_json::json!({ "national_id": id.masked(), "reason": reason }));
                self.save(before.as_ref(), &mut row, entry)?;
            }
            Err(other) => return Err(other),
        }
        Ok(view_of(
            &row,
            now.naive_utc(),
            self.policies,
            Reader::Seller,
        ))
    }

    /// Asks the population register, counted against the account's and the source's
    /// limits first (a check that matches gives its count back), so that the register
    /// cannot be used to look people up by trying names and birth dates.
    fn check_person(
        &self,
        account_id: &str,
        source: &str,
        id: &NationalId,
        full_name: &str,
        birth_date: NaiveDate,
        row: &mut SellerRow,
    ) -> Result<Option<&'static str>, IdentityError> {
        let rule = &self.policies.verification;
        let policy = |max_failures| throttle::Policy {
            max_failures,
            base_secs: rule.identity_lock_secs,
        };
        let keys = [
            ThrottleKey {
                key: format!("identity:{account_id}"),
                policy: policy(rule.max_identity_failures_per_account),
                per_secret: true,
            },
            ThrottleKey {
                key: format!("identity-source:{}", throttle::source_of(source)),
                policy: policy(rule.max_identity_failures_per_source),
                per_secret: false,
            },
        ];
        let now = self.clock.now();
        let refused = write_transaction(&mut *self.pool.get()?, |conn| {
            throttle_store::reserve(conn, &keys, now)
        })?;
        if let Some(retry_after_secs) = refused {
            return Err(IdentityError::Locked { retry_after_secs });
        }
        let checked = self.registers.population.check(id, full_name, birth_date);
        let reason = match &checked {
            Ok(PersonCheck::Match { province }) => {
                row.residence_province = province.clone();
                None
            }
            Ok(PersonCheck::Mismatch) => Some("identity_mismatch"),
            Ok(PersonCheck::NotFound) => Some("not_in_population_register"),
            Ok(PersonCheck::Deceased) => Some("deceased"),
            Err(_) => None,
        };
        if reason.is_none() {
            // A match, or no answer at all: neither is a failed guess.
            write_transaction(&mut *self.pool.get()?, |conn| {
                throttle_store::give_back(conn, &keys, checked.is_ok())
            })?;
        }
        checked?;
        Ok(reason)
    }

    fn valid_for(&self) -> TimeDelta {
        TimeDelta::days(i64::from(self.policies.verification.valid_days))
    }

    /// The seller's citizen ID, opened from its sealed form.
    fn national_id_of(&self, row: &SellerRow) -> Result<NationalId, IdentityError> {
        let (Some(bytes), Some(key_id)) = (&row.national_id_sealed, &row.national_id_key) else {
            return Err(IdentityError::Conflict(
                "verify your identity first (POST /v1/me/identity)".into(),
            ));
        };
        let plain = self
            .vault
            .open(
                &Sealed {
                    key_id: key_id.clone(),
                    bytes: bytes.clone(),
                },
                &sealed_context(&row.account_id),
            )
            .map_err(|e| {
                IdentityError::Internal(format!("citizen ID of seller {}: {e}", row.account_id))
            })?;
        let text = String::from_utf8(plain)
            .map_err(|_| IdentityError::Internal("sealed citizen ID is not text".into()))?;
        NationalId::parse(&text)
            .map_err(|e| IdentityError::Internal(format!("sealed citizen ID: {e}")))
    }

    /// Checks a business against the business register: it must be active, and the
    /// seller its legal representative (owner), or, for an enterprise, authorised by a
    /// letter an officer reviews.
    pub fn submit_business(
        &self,
        account_id: &str,
        claim: &BusinessClaim<'_>,
    ) -> Result<VerificationView, IdentityError> {
        let key = match claim.kind {
            BusinessKind::Enterprise => {
                BusinessKey::Enterprise(EnterpriseCode::parse(claim.code).map_err(|e| {
                    IdentityError::Invalid {
                        field: "code",
                        message: format!("enterprise code {e}"),
                    }
                })?)
            }
            BusinessKind::HouseholdBusiness => {
                BusinessKey::Household(parse_household_number(claim.code)?)
            }
        };
        let note = claim
            .authorisation_note
            .map(str::trim)
            .filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > 1000) {
            return Err(IdentityError::Invalid {
                field: "authorisation_note",
                message: "authorisation_note must be at most 1000 characters".into(),
            });
        }
        let now = self.clock.now();
        let before = self
            .load(account_id)?
            .filter(|r| r.identity_status == Step::Verified.as_str())
            .ok_or_else(|| {
                IdentityError::Conflict("verify your identity first (POST /v1/me/identity)".into())
            })?;
        if before.business_status == Step::Verified.as_str()
            || before.business_status == Step::PendingReview.as_str()
        {
            return Err(IdentityError::Conflict(format!(
                "a business ({}) is already {}; contact the Department of Industry and Trade to change it",
                before.business_code.clone().unwrap_or_default(),
                Step::parse(&before.business_status).as_str()
            )));
        }
        let seller_id = self.national_id_of(&before)?;
        let kind = SellerKind::of_business(key.kind());
        let others = store::same_person(
            &mut *self.pool.get()?,
            before.national_id_index.as_deref().unwrap_or_default(),
            account_id,
        )?;
        // Counted across every kind of seller: one person backs at most the policy's
        // number of sellers, whichever kinds they are.
        let in_use = others
            .iter()
            .filter(|(_, _, _, identity)| identity == Step::Verified.as_str())
            .count()
            >= self.policies.verification.max_accounts_per_person as usize;
        let record = self.registers.business.lookup(&key)?;
        let mut row = before.clone();
        row.business_kind = Some(key.kind().as_str().into());
        row.business_code = Some(key.code());
        row.authorisation_note = note.map(str::to_string);
        let (step, reason) = match &record {
            _ if in_use => (Step::Rejected, Some("national_id_in_use".to_string())),
            None => (Step::Rejected, Some("not_in_business_register".to_string())),
            Some(r) if r.status != BusinessStatus::Active => (
                Step::Rejected,
                Some(format!("business_{}", r.status.as_str())),
            ),
            Some(r) if r.legal_representative_id == seller_id.expose() => (Step::Verified, None),
            Some(_) if key.kind() == BusinessKind::HouseholdBusiness => {
                (Step::Rejected, Some("not_the_owner".into()))
            }
            Some(_) if note.is_none() => {
                return Err(IdentityError::Invalid {
                    field: "authorisation_note",
                    message: "you are not this enterprise's legal representative: give the reference of the letter that authorises you (number, date, signatory) for an officer to review".into(),
                });
            }
            Some(_) => (
                Step::PendingReview,
                Some("not_legal_representative".to_string()),
            ),
        };
        if let Some(r) = &record {
            row.business_name = Some(r.name.clone());
            row.business_province = Some(r.province.clone());
            row.business_address = Some(r.address.clone());
            row.business_lines = Some(r.business_lines.join(","));
        }
        row.business_status = step.as_str().into();
        row.business_reason = reason.clone();
        row.business_checked_at = Some(now.naive_utc());
        if step != Step::Rejected {
            row.kind = kind.as_str().into();
        }
        if step == Step::Verified {
            row.business_verified_at = Some(now.naive_utc());
        }
        let action = match step {
            Step::Verified => "seller.business_verified",
            Step::PendingReview => "seller.business_pending_review",
            _ => "seller.business_rejected",
        };
        let entry = NewAuditEntry::new(actor(account_id), action, actor(account_id))
            .details(serde_json::json!({ "business": key.code(), "reason": reason }));
        self.save(Some(&before), &mut row, entry)?;
        Ok(view_of(
            &row,
            now.naive_utc(),
            self.policies,
            Reader::Seller,
        ))
    }

    fn in_scope(&self, scope: &ProvinceScope, row: &SellerRow) -> Result<(), IdentityError> {
        match seller_province(row) {
            Some(p) if scope.covers(p) => Ok(()),
            _ if *scope == ProvinceScope::All => Ok(()),
            // Out of scope looks like absent: officers learn nothing of other provinces.
            _ => Err(IdentityError::NotFound("no such seller in your provinces")),
        }
    }

    /// An officer decides a pending authorisation.
    pub fn review_business(
        &self,
        officer_id: &str,
        scope: &ProvinceScope,
        seller_id: &str,
        approve: bool,
        reason: &str,
    ) -> Result<VerificationView, IdentityError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 2000 {
            return Err(IdentityError::Invalid {
                field: "reason",
                message: "give the reason for the decision (1 to 2000 characters)".into(),
            });
        }
        let now = self.clock.now();
        let before = self
            .load(seller_id)?
            .ok_or(IdentityError::NotFound("no such seller"))?;
        self.in_scope(scope, &before)?;
        if before.business_status != Step::PendingReview.as_str() {
            return Err(IdentityError::Conflict(format!(
                "nothing to review: the business step is {}",
                Step::parse(&before.business_status).as_str()
            )));
        }
        let mut row = before.clone();
        if approve {
            row.business_status = Step::Verified.as_str().into();
            row.business_reason = None;
            row.business_verified_at = Some(now.naive_utc());
        } else {
            row.business_status = Step::Rejected.as_str().into();
            row.business_reason = Some("authorisation_rejected".into());
            row.kind = SellerKind::Individual.as_str().into();
        }
        let action = if approve {
            "seller.authorisation_approved"
        } else {
            "seller.authorisation_rejected"
        };
        let entry = NewAuditEntry::new(actor(officer_id), action, actor(seller_id))
            .details(serde_json::json!({ "reason": reason }));
        self.save(Some(&before), &mut row, entry)?;
        Ok(view_of(
            &row,
            now.naive_utc(),
            self.policies,
            Reader::Seller,
        ))
    }

    /// A seller as an officer in scope sees it (citizen ID masked).
    pub fn for_officer(
        &self,
        scope: &ProvinceScope,
        seller_id: &str,
    ) -> Result<VerificationView, IdentityError> {
        let row = self
            .load(seller_id)?
            .ok_or(IdentityError::NotFound("no such seller"))?;
        self.in_scope(scope, &row)?;
        Ok(view_of(
            &row,
            self.clock.now().naive_utc(),
            self.policies,
            Reader::Officer,
        ))
    }

    /// Sellers waiting for review, in the officer's provinces.
    pub fn pending_reviews(
        &self,
        scope: &ProvinceScope,
    ) -> Result<Vec<(String, VerificationView)>, IdentityError> {
        let now = self.clock.now().naive_utc();
        let rows = store::pending_reviews(&mut *self.pool.get()?, 500)?;
        Ok(rows
            .into_iter()
            .filter(|r| self.in_scope(scope, r).is_ok())
            .map(|r| {
                (
                    r.account_id.clone(),
                    view_of(&r, now, self.policies, Reader::Officer),
                )
            })
            .collect())
    }

    /// The full citizen ID, for an officer who states why; the reveal is audited.
    pub fn reveal_national_id(
        &self,
        officer_id: &str,
        scope: &ProvinceScope,
        seller_id: &str,
        reason: &str,
    ) -> Result<String, IdentityError> {
        let reason = reason.trim();
        if reason.chars().count() < 10 {
            return Err(IdentityError::Invalid {
                field: "reason",
                message: "state why the full number is needed (at least 10 characters); the reveal is recorded".into(),
            });
        }
        let row = self
            .load(seller_id)?
            .ok_or(IdentityError::NotFound("no such seller"))?;
        self.in_scope(scope, &row)?;
        let id = self.national_id_of(&row)?;
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    actor(officer_id),
                    "seller.national_id_revealed",
                    actor(seller_id),
                )
                .details(serde_json::json!({ "reason": reason, "national_id": id.masked() })),
            )
        })?;
        Ok(id.expose().to_string())
    }
}

/// A household business registration number: 6 to 20 letters, digits or dashes.
fn parse_household_number(input: &str) -> Result<String, IdentityError> {
    let text = input.trim().to_ascii_uppercase();
    let ok = (6..=20).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(text)
    } else {
        Err(IdentityError::Invalid {
            field: "code",
            message: "a household business registration number has 6 to 20 letters, digits or dashes, as on the certificate".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        DateTime::parse_from_rfc3339("2026-11-26T00:00:00Z")
            .expect("valid")
            .naive_utc()
    }

    #[test]
    fn standing_follows_the_steps() {
        let mut row = empty_row("s", now());
        assert_eq!(
            standing(&row, now()),
            (Standing::Unverified, vec!["identity".to_string()])
        );
        row.identity_status = "verified".into();
        row.verification_expires_at = Some(now() + TimeDelta::days(10));
        assert_eq!(standing(&row, now()).0, Standing::Verified);
        row.business_status = "pending_review".into();
        assert_eq!(standing(&row, now()).0, Standing::PendingReview);
        row.business_status = "verified".into();
        assert_eq!(
            standing(&row, now() + TimeDelta::days(11)).0,
            Standing::Expired
        );
        row.status = SUSPENDED.into();
        assert_eq!(standing(&row, now()).0, Standing::Suspended);
    }

    #[test]
    fn household_numbers_are_normalised_or_refused() {
        assert_eq!(
            parse_household_number(" 46a8900010 ").ok().as_deref(),
            Some("46A8900010")
        );
        assert!(parse_household_number("46/8").is_err());
    }
}
