//! Disputes between buyers and sellers, worked by officers of the Department of Industry
//! and Trade of the seller's province: filing, the seller's answer, review, decision with
//! sanctions, appeal, and the deadlines in between.
//!
//! Every step is one transaction: the case, its timeline event, the audit entry, the
//! sanctions and the notifications to the parties are stored together or not at all.

pub mod calendar;
pub mod evidence;
pub mod lifecycle;
mod report;
pub mod routes;
mod sanctions;
mod store;
mod views;
pub mod worker;

pub use sanctions::blocked_listings;

pub use lifecycle::{Move, Role, Status};
pub use report::{CountBy, Report};
pub use sanctions::{SanctionInput, SanctionKind};
pub use views::{DecisionView, DisputeSummary, DisputeView, EventView, EvidenceView, SanctionView};

use chrono::{DateTime, Datelike, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::audit::{self, NewAuditEntry};
use crate::auth::OfficerRole;
use crate::clock::Clock;
use crate::config::DisputesConfig;
use crate::db::schema::accounts;
use crate::db::{DbConnection, DbPool, write_transaction};
use crate::facts::FactBus;
use crate::i18n::Language;
use crate::i18n::catalogue::Phrase;
use crate::notify::events::DisputeUpdated;
use crate::notify::{self, DisputeConfirm, DisputeUpdate, MailNote, NotifyError, webhooks};
use crate::policies::{Policies, ProvinceScope};
use crate::vault::Vault;
use evidence::EvidenceStore;
use store::{DisputeRow, EventRow};

/// Who is asking.
#[derive(Debug, Clone)]
pub enum Caller {
    Officer {
        id: String,
        role: OfficerRole,
        scope: ProvinceScope,
    },
    Seller(String),
    /// A platform, for the cases it filed for its buyers.
    Platform(String),
    /// A buyer holding the case link.
    Buyer(String),
}

impl Caller {
    /// As the audit log and the timeline name them.
    fn actor(&self) -> String {
        match self {
            Caller::Officer { id, .. } | Caller::Seller(id) => format!("account:{id}"),
            Caller::Platform(id) => format!("client:{id}"),
            Caller::Buyer(_) => "buyer".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DisputeError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{detail}")]
    InvalidMove {
        detail: String,
        allowed: Vec<String>,
    },
    /// The case changed since the version the caller read.
    #[error("{0}")]
    Stale(String),
    #[error("evidence larger than {0} bytes")]
    TooLarge(usize),
    /// One party has attached as much evidence to the case as the policy allows.
    #[error("{0}")]
    EvidenceLimit(EvidenceLimit),
    #[error("{0}")]
    UnsupportedType(String),
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
    #[error("{0}")]
    Internal(String),
}

impl From<crate::codes::registry::RegistryError> for DisputeError {
    fn from(error: crate::codes::registry::RegistryError) -> Self {
        use crate::codes::registry::RegistryError as R;
        match error {
            R::Database(e) => DisputeError::Database(e),
            other => DisputeError::Conflict(format!("a code sanction cannot be applied: {other}")),
        }
    }
}

/// Which of the policy's evidence limits a file would pass (`policies/disputes.toml`,
/// `[evidence]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceLimit {
    #[error(
        "you have attached {0} files to this case, the most one party may (evidence.max_files_per_party)"
    )]
    Files(u32),
    #[error(
        "the files you attach to one case may hold {0} bytes in all (evidence.max_bytes_per_party); this one would pass that"
    )]
    Bytes(u64),
}

impl EvidenceLimit {
    /// Refuses one more file of `size` bytes after `files` files of `bytes` in all.
    fn check(
        limits: &crate::policies::EvidenceLimits,
        files: i64,
        bytes: i64,
        size: usize,
    ) -> Result<(), DisputeError> {
        if files >= i64::from(limits.max_files_per_party) {
            return Err(DisputeError::EvidenceLimit(EvidenceLimit::Files(
                limits.max_files_per_party,
            )));
        }
        let total = u64::try_from(bytes)
            .unwrap_or(0)
            .saturating_add(size as u64);
        if total > limits.max_bytes_per_party {
            return Err(DisputeError::EvidenceLimit(EvidenceLimit::Bytes(
                limits.max_bytes_per_party,
            )));
        }
        Ok(())
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> DisputeError {
    DisputeError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

fn not_found() -> DisputeError {
    DisputeError::NotFound("no such case among those you may see".into())
}

/// The buyer, as a platform names them.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyerInput {
    /// The platform's own reference of the buyer (kept to link duplicate filings).
    pub reference: String,
    /// Where the buyer is told of each step.
    pub email: String,
    #[serde(default)]
    pub language: Language,
}

/// A case as filed.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseInput {
    /// The platform's id of the shop that sells the listing.
    pub shop_id: String,
    pub listing_id: String,
    /// Kind of complaint (see `policies/disputes.toml`): `counterfeit`,
    /// `origin_misrepresented`, `invalid_code`, `expired_product`, `not_as_described`,
    /// `seller_identity_false`.
    pub kind: String,
    /// `refund`, `replacement` or `report_only`.
    pub claim: String,
    pub description: String,
}

/// The outcome of a filing.
#[derive(Debug)]
pub struct Filed {
    pub case: DisputeView,
    /// The filing was linked to an open case of the same buyer about the same listing.
    pub linked: bool,
}

/// A case opened for a consumer's complaint: what the complaint's receipt tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedForComplaint {
    pub reference: String,
    /// The buyer's link: confirms the address, then follows the case.
    pub link: String,
    pub valid_hours: u32,
}

/// What a move carries.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionInput {
    /// The seller answers: what they say, and what they offer.
    Respond {
        statement: String,
        #[serde(default)]
        offer: Option<String>,
    },
    /// The buyer accepts the seller's answer.
    Accept {
        #[serde(default)]
        note: Option<String>,
    },
    /// The buyer refuses the answer, or an officer takes the case up.
    Escalate {
        #[serde(default)]
        reason: Option<String>,
    },
    RequestInformation {
        /// `buyer` or `seller`.
        from: String,
        question: String,
    },
    SupplyInformation {
        answer: String,
    },
    ResumeReview {
        note: String,
    },
    Decide {
        /// `upheld`, `partly_upheld` or `dismissed`.
        outcome: String,
        /// The written statement of reasons (required).
        statement: String,
        #[serde(default)]
        sanctions: Vec<SanctionInput>,
    },
    RecordSettlement {
        note: String,
    },
    Appeal {
        grounds: String,
    },
    DecideAppeal {
        /// `upheld` (the first decision is replaced) or `dismissed` (it stands).
        result: String,
        statement: String,
        /// For an upheld appeal: the outcome that replaces the first one.
        #[serde(default)]
        outcome: Option<String>,
        /// For an upheld appeal: the sanctions that replace the first decision's.
        #[serde(default)]
        sanctions: Vec<SanctionInput>,
    },
    Withdraw {
        #[serde(default)]
        reason: Option<String>,
    },
}

impl ActionInput {
    fn kind(&self) -> Move {
        match self {
            ActionInput::Respond { .. } => Move::Respond,
            ActionInput::Accept { .. } => Move::Accept,
            ActionInput::Escalate { .. } => Move::Escalate,
            ActionInput::RequestInformation { .. } => Move::RequestInformation,
            ActionInput::SupplyInformation { .. } => Move::SupplyInformation,
            ActionInput::ResumeReview { .. } => Move::ResumeReview,
            ActionInput::Decide { .. } => Move::Decide,
            ActionInput::RecordSettlement { .. } => Move::RecordSettlement,
            ActionInput::Appeal { .. } => Move::Appeal,
            ActionInput::DecideAppeal { .. } => Move::DecideAppeal,
            ActionInput::Withdraw { .. } => Move::Withdraw,
        }
    }
}

/// Unconfirmed direct filings one address may have at a time.
const MAX_UNCONFIRMED: i64 = 3;

const OUTCOMES: &[&str] = &["upheld", "partly_upheld", "dismissed"];

/// Checks a free text a person wrote.
fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, DisputeError> {
    let value = value.trim();
    let count = value.chars().count();
    if count < min || count > max {
        return Err(invalid(field, format!("write {min} to {max} characters")));
    }
    Ok(value.to_string())
}

fn optional_text(field: &str, value: &Option<String>) -> Result<Option<String>, DisputeError> {
    value
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .map(|v| text(field, v, 1, 5000))
        .transpose()
}

fn check_email(field: &str, email: &str) -> Result<String, DisputeError> {
    crate::accounts::email::Email::parse(email)
        .map(|e| e.as_str().to_string())
        .map_err(|e| invalid(field, e.0))
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The facts a move changed: published in its transaction, and this process's followers
/// told after commit.
pub(crate) struct Effects<'a> {
    facts: &'a FactBus,
    published: bool,
}

impl<'a> Effects<'a> {
    fn new(facts: &'a FactBus) -> Self {
        Self {
            facts,
            published: false,
        }
    }

    /// Publishes changes in the move's transaction; returns the decisions withdrawn.
    pub fn publish(
        &mut self,
        conn: &mut crate::db::DbConnection,
        now: DateTime<Utc>,
        changes: &[crate::facts::Change],
    ) -> diesel::QueryResult<usize> {
        self.published = true;
        self.facts.publish(conn, now, changes)
    }

    /// The bus, for steps of other features that publish themselves.
    pub fn bus(&mut self) -> &'a FactBus {
        self.published = true;
        self.facts
    }

    fn finish(self) {
        if self.published {
            self.facts.committed();
        }
    }
}

/// The dispute service of a running tracegate.
pub struct Disputes<'a> {
    pub pool: &'a DbPool,
    pub clock: &'a dyn Clock,
    pub policies: &'a Policies,
    pub facts: &'a FactBus,
    pub vault: &'a Vault,
    pub evidence: &'a EvidenceStore,
    pub config: &'a DisputesConfig,
    pub public_url: &'a str,
}

/// The roles `caller` holds on `row`; empty when the case is none of their business.
fn roles_of(caller: &Caller, row: &DisputeRow, token_hash: Option<&str>) -> Vec<Role> {
    match caller {
        Caller::Officer { role, scope, .. } if scope.covers(&row.province) => match role {
            OfficerRole::Supervisor | OfficerRole::Admin => vec![Role::Officer, Role::Supervisor],
            OfficerRole::Officer => vec![Role::Officer],
        },
        Caller::Seller(id) if id == &row.seller_id && row.status != Status::Filed.as_str() => {
            vec![Role::Seller]
        }
        Caller::Platform(id) if id == &row.platform_id && row.filed_by_platform() => {
            vec![Role::Buyer]
        }
        Caller::Buyer(_)
            if token_hash.is_some() && row.buyer_token_hash.as_deref() == token_hash =>
        {
            vec![Role::Buyer]
        }
        _ => Vec::new(),
    }
}

fn status_of(row: &DisputeRow) -> Result<Status, DisputeError> {
    Status::parse(&row.status).ok_or_else(|| {
        DisputeError::Internal(format!("case {} has status {:?}", row.id, row.status))
    })
}

fn naive(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc()
}

fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(at, Utc)
}

/// `dd/mm/yyyy HH:MM` in Vietnam's time, for mail.
fn shown(at: NaiveDateTime) -> String {
    calendar::local(utc(at))
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

impl Disputes<'_> {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The link a buyer follows their case with: a keyed hash of the case id, so it can be
    /// put in every mail without being stored.
    fn buyer_token(&self, dispute_id: &str) -> String {
        self.vault
            .blind_index("dispute-link", dispute_id.as_bytes())
    }

    /// The token of a case's buyer link (the buyer already has it by mail).
    pub fn buyer_link_token(&self, dispute_id: &str) -> String {
        self.buyer_token(dispute_id)
    }

    fn buyer_link(&self, dispute_id: &str) -> String {
        format!(
            "{}/disputes/{dispute_id}?token={}",
            self.public_url.trim_end_matches('/'),
            self.buyer_token(dispute_id)
        )
    }

    fn party_link(&self, dispute_id: &str) -> String {
        format!(
            "{}/portal/disputes/{dispute_id}",
            self.public_url.trim_end_matches('/')
        )
    }

    fn console_link(&self, dispute_id: &str) -> String {
        format!(
            "{}/console/disputes/{dispute_id}",
            self.public_url.trim_end_matches('/')
        )
    }

    fn token_hash(caller: &Caller) -> Option<String> {
        match caller {
            Caller::Buyer(token) => Some(sha256_hex(token)),
            _ => None,
        }
    }

    /// Loads a case the caller may see, with their roles on it.
    fn load(
        &self,
        conn: &mut DbConnection,
        caller: &Caller,
        id: &str,
    ) -> Result<(DisputeRow, Vec<Role>), DisputeError> {
        let row = store::find(conn, id)?.ok_or_else(not_found)?;
        let hash = Self::token_hash(caller);
        let roles = roles_of(caller, &row, hash.as_deref());
        if roles.is_empty() {
            // An officer of another province learns only that it is not theirs.
            if let Caller::Officer { .. } = caller {
                return Err(DisputeError::Forbidden(
                    "the case belongs to a province outside your scope".into(),
                ));
            }
            return Err(not_found());
        }
        Ok((row, roles))
    }

    fn check_case(&self, input: &CaseInput) -> Result<CaseInput, DisputeError> {
        let policy = &self.policies.disputes;
        if policy.kind(&input.kind).is_none() {
            return Err(invalid(
                "kind",
                format!(
                    "not a kind of complaint; use one of {}",
                    policy.kinds.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if !policy.claims.contains(&input.claim) {
            return Err(invalid(
                "claim",
                format!("use one of {}", policy.claims.join(", ")),
            ));
        }
        Ok(CaseInput {
            shop_id: text("shop_id", &input.shop_id, 1, 128)?,
            listing_id: text("listing_id", &input.listing_id, 1, 128)?,
            kind: input.kind.clone(),
            claim: input.claim.clone(),
            description: text("description", &input.description, 10, 5000)?,
        })
    }

    /// A platform files a case for its buyer. The seller is told at once.
    pub fn file_for_buyer(
        &self,
        platform_id: &str,
        input: &CaseInput,
        buyer: &BuyerInput,
    ) -> Result<Filed, DisputeError> {
        let case = self.check_case(input)?;
        let reference = text("buyer.reference", &buyer.reference, 1, 128)?;
        let email = check_email("buyer.email", &buyer.email)?;
        let buyer_key = format!("platform:{platform_id}:{reference}");
        self.file(
            platform_id,
            &case,
            &buyer_key,
            Some(reference),
            &email,
            buyer.language,
            &format!("client:{platform_id}"),
        )
    }

    /// A buyer files directly. Nothing reaches the seller until the buyer confirms their
    /// address with the link mailed to them; the answer is the same whatever the address.
    pub fn file_directly(
        &self,
        platform_id: &str,
        input: &CaseInput,
        email: &str,
        language: Language,
    ) -> Result<(), DisputeError> {
        let case = self.check_case(input)?;
        let email = check_email("email", email)?;
        let buyer_key = format!("email:{email}");
        // Nobody can flood an address with confirmation mail: beyond a few unconfirmed
        // filings, more are dropped (with the same answer, which says nothing).
        if store::unconfirmed_count(&mut *self.pool.get()?, &buyer_key)? >= MAX_UNCONFIRMED {
            tracing::info!("direct filing dropped: too many unconfirmed filings for one address");
            return Ok(());
        }
        self.file(
            platform_id,
            &case,
            &buyer_key,
            None,
            &email,
            language,
            "buyer",
        )?;
        Ok(())
    }

    /// A consumer's complaint from the public pages names a shop bound to a seller: a case
    /// is opened inside the complaint's own transaction, waiting for the consumer to confirm
    /// their address. No mail is queued here: the complaint's one receipt carries the
    /// confirmation link. `None` when the address has too many unconfirmed filings.
    pub fn open_for_complaint(
        &self,
        conn: &mut DbConnection,
        platform_id: &str,
        input: &CaseInput,
        email: &str,
        language: Language,
    ) -> Result<Option<OpenedForComplaint>, DisputeError> {
        let case = self.check_case(input)?;
        let email = check_email("email", email)?;
        let buyer_key = format!("email:{email}");
        if store::unconfirmed_count(conn, &buyer_key)? >= MAX_UNCONFIRMED {
            tracing::info!(
                "case for a complaint not opened: too many unconfirmed filings for one address"
            );
            return Ok(None);
        }
        let filed = self.file_in(
            conn,
            platform_id,
            &case,
            &buyer_key,
            None,
            &email,
            language,
            "buyer",
            false,
        )?;
        let id = filed.case.summary.id;
        Ok(Some(OpenedForComplaint {
            reference: filed.case.summary.reference,
            link: self.buyer_link(&id),
            valid_hours: self.policies.disputes.deadlines.confirm_hours,
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn file(
        &self,
        platform_id: &str,
        case: &CaseInput,
        buyer_key: &str,
        buyer_reference: Option<String>,
        email: &str,
        language: Language,
        actor: &str,
    ) -> Result<Filed, DisputeError> {
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            self.file_in(
                conn,
                platform_id,
                case,
                buyer_key,
                buyer_reference,
                email,
                language,
                actor,
                true,
            )
        })
    }

    /// Files a case inside the caller's transaction. A direct filing waits for its buyer's
    /// confirmation; `confirm_mail` says whether the link goes out in a mail of its own.
    #[allow(clippy::too_many_arguments)]
    fn file_in(
        &self,
        conn: &mut DbConnection,
        platform_id: &str,
        case: &CaseInput,
        buyer_key: &str,
        buyer_reference: Option<String>,
        email: &str,
        language: Language,
        actor: &str,
        confirm_mail: bool,
    ) -> Result<Filed, DisputeError> {
        let now = self.now();
        let by_platform = buyer_key.starts_with("platform:");
        {
            // The seller bound to the shop now, or the one a decision on this listing named:
            // unbinding a shop does not take a seller out of reach of complaints.
            let decided = crate::listings::latest_decision(conn, platform_id, &case.listing_id)?;
            let seller_id =
                match crate::identity::facts::bound_seller(conn, platform_id, &case.shop_id)? {
                    Some(seller) => Some(seller),
                    None => decided
                        .as_ref()
                        .filter(|d| d.shop_id == case.shop_id)
                        .and_then(|d| d.seller_id.clone()),
                };
            let seller = match seller_id {
                Some(id) => crate::identity::find_seller(conn, &id)?,
                None => None,
            };
            let seller = seller.as_ref().ok_or_else(|| {
                invalid(
                    "shop_id",
                    "no seller is bound to this shop on this platform, and no listing check of this listing named one; report the shop to the platform",
                )
            })?;
            // A direct filing is linked only once its address is confirmed (`confirm`):
            // whoever knows a buyer's address must not write into the buyer's case.
            if by_platform
                && let Some(existing) =
                    store::open_duplicate(conn, buyer_key, platform_id, &case.listing_id)?
            {
                self.event(
                    conn,
                    &existing,
                    actor,
                    "filing_linked",
                    None,
                    false,
                    serde_json::json!({ "kind": case.kind, "claim": case.claim, "description": case.description }),
                )?;
                let roles = if by_platform {
                    vec![Role::Buyer]
                } else {
                    Vec::new()
                };
                let view = self.view(conn, &existing, &roles)?;
                return Ok(Filed {
                    case: view,
                    linked: true,
                });
            }
            let number = store::next_number(conn, calendar::local(now).year())?;
            let id = uuid::Uuid::now_v7().to_string();
            let listing_check_id = decided.map(|d| d.id);
            let mut row = DisputeRow {
                id: id.clone(),
                reference: format!("DSP-{}-{number:06}", calendar::local(now).year()),
                status: Status::Filed.as_str().into(),
                kind: case.kind.clone(),
                claim: case.claim.clone(),
                description: case.description.clone(),
                platform_id: platform_id.to_string(),
                listing_id: case.listing_id.clone(),
                shop_id: case.shop_id.clone(),
                listing_check_id,
                seller_id: seller.account_id.clone(),
                province: crate::identity::seller_province(seller)
                    .unwrap_or_default()
                    .to_string(),
                buyer_key: buyer_key.to_string(),
                buyer_reference,
                buyer_email: email.to_string(),
                buyer_language: language.code().into(),
                buyer_token_hash: Some(sha256_hex(&self.buyer_token(&id))),
                assignee_id: None,
                outcome: None,
                info_requested_from: None,
                paused_at: None,
                seller_due_at: None,
                buyer_due_at: None,
                resolution_due_at: None,
                appeal_due_at: None,
                reminded_at: None,
                escalated_at: None,
                decided_at: None,
                created_at: naive(now),
                updated_at: naive(now),
                version: 1,
            };
            store::insert(conn, &row)?;
            self.event(
                conn,
                &row,
                actor,
                "filed",
                Some((None, Status::Filed)),
                false,
                serde_json::json!({ "kind": case.kind, "claim": case.claim, "description": case.description, "listing_check_id": row.listing_check_id, "seller": row.seller_id, "province": row.province }),
            )?;
            if by_platform {
                let before = row.version;
                self.open_for_seller(&mut row, now);
                row.version += 1;
                store::update(conn, &row, before)?;
                self.event(
                    conn,
                    &row,
                    actor,
                    Move::Confirm.as_str(),
                    Some((Some(Status::Filed), Status::AwaitingSeller)),
                    false,
                    serde_json::json!({}),
                )?;
                self.tell(conn, &row, "filed", &[Role::Buyer, Role::Seller], None)?;
            } else if confirm_mail {
                notify::queue_mail(
                    conn,
                    now,
                    email,
                    &DisputeConfirm {
                        lang: language,
                        reference: row.reference.clone(),
                        link: self.buyer_link(&id),
                        valid_hours: self.policies.disputes.deadlines.confirm_hours,
                    },
                )?;
            }
            let roles = if by_platform {
                vec![Role::Buyer]
            } else {
                Vec::new()
            };
            Ok(Filed {
                case: self.view(conn, &row, &roles)?,
                linked: false,
            })
        }
    }

    /// Sets the deadlines of a case that goes to the seller.
    fn open_for_seller(&self, row: &mut DisputeRow, now: DateTime<Utc>) {
        let policy = &self.policies.disputes;
        let holidays = &policy.holidays;
        row.status = Status::AwaitingSeller.as_str().into();
        row.seller_due_at = Some(naive(calendar::add_working_days(
            now,
            policy.deadlines.seller_response_business_days,
            holidays,
        )));
        row.resolution_due_at = Some(naive(calendar::add_working_days(
            now,
            policy.deadlines.resolution_working_days,
            holidays,
        )));
        row.updated_at = naive(now);
    }

    /// The buyer confirms their address with the case link: the case goes to the seller.
    pub fn confirm(&self, token: &str) -> Result<DisputeView, DisputeError> {
        let now = self.now();
        let hash = sha256_hex(token.trim());
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let mut row = store::find_by_token(conn, &hash)?.ok_or_else(|| {
                invalid(
                    "token",
                    "the link is not valid; use the newest link we mailed you",
                )
            })?;
            let status = status_of(&row)?;
            if status != Status::Filed {
                // Opening the link again is harmless.
                return self.view(conn, &row, &[Role::Buyer]);
            }
            if let Some(existing) =
                store::open_duplicate(conn, &row.buyer_key, &row.platform_id, &row.listing_id)?
            {
                return self.link_confirmed(conn, row, existing, now);
            }
            let before = row.version;
            self.open_for_seller(&mut row, now);
            row.version += 1;
            if !store::update(conn, &row, before)? {
                return Err(DisputeError::Stale(
                    "the case changed meanwhile; open the link again".into(),
                ));
            }
            self.event(
                conn,
                &row,
                "buyer",
                Move::Confirm.as_str(),
                Some((Some(Status::Filed), Status::AwaitingSeller)),
                false,
                serde_json::json!({}),
            )?;
            self.tell(conn, &row, "filed", &[Role::Buyer, Role::Seller], None)?;
            self.view(conn, &row, &[Role::Buyer])
        })
    }

    /// A confirmed direct filing about a listing the buyer already has an open case on:
    /// its content joins that case, and the filing itself is withdrawn.
    fn link_confirmed(
        &self,
        conn: &mut DbConnection,
        filing: DisputeRow,
        existing: DisputeRow,
        now: DateTime<Utc>,
    ) -> Result<DisputeView, DisputeError> {
        self.event(
            conn,
            &existing,
            "buyer",
            "filing_linked",
            None,
            false,
            serde_json::json!({ "kind": filing.kind, "claim": filing.claim, "description": filing.description, "filing": filing.reference }),
        )?;
        let mut closed = filing.clone();
        closed.status = Status::Withdrawn.as_str().into();
        closed.updated_at = naive(now);
        closed.version += 1;
        if !store::update(conn, &closed, filing.version)? {
            return Err(DisputeError::Conflict(
                "the case changed meanwhile; open the link again".into(),
            ));
        }
        self.event(
            conn,
            &closed,
            "system",
            Move::Withdraw.as_str(),
            Some((Some(Status::Filed), Status::Withdrawn)),
            false,
            serde_json::json!({ "reason": "linked to the open case", "case": existing.reference }),
        )?;
        self.view(conn, &existing, &[Role::Buyer])
    }

    /// A case as the caller may see it.
    pub fn get(&self, caller: &Caller, id: &str) -> Result<DisputeView, DisputeError> {
        let mut conn = self.pool.get()?;
        let (row, roles) = self.load(&mut conn, caller, id)?;
        self.view(&mut conn, &row, &roles)
    }

    /// Makes a move. `if_match` is the version the caller read (from `ETag`), if sent.
    pub fn act(
        &self,
        caller: &Caller,
        id: &str,
        input: &ActionInput,
        if_match: Option<i64>,
    ) -> Result<DisputeView, DisputeError> {
        let now = self.now();
        let mut effects = Effects::new(self.facts);
        let mut conn = self.pool.get()?;
        let view = write_transaction(&mut conn, |conn| {
            let (row, roles) = self.load(conn, caller, id)?;
            if let Some(version) = if_match
                && version != row.version
            {
                return Err(DisputeError::Stale(format!(
                    "the case is at version {} now, you read version {version}; read it again",
                    row.version
                )));
            }
            let from = status_of(&row)?;
            let mv = input.kind();
            let refuse = |why: &str| DisputeError::InvalidMove {
                detail: format!(
                    "{why}; possible now: {}",
                    names(&lifecycle::possible(from, &roles))
                ),
                allowed: lifecycle::possible(from, &roles)
                    .iter()
                    .map(|m| m.as_str().to_string())
                    .collect(),
            };
            let to = lifecycle::next(from, mv, &roles).ok_or_else(|| {
                refuse(&format!(
                    "{} is not possible while the case is {}",
                    mv.as_str(),
                    from.as_str()
                ))
            })?;
            // A case assigned to an officer is worked by that officer (or a supervisor).
            if let Caller::Officer {
                id: officer,
                role: OfficerRole::Officer,
                ..
            } = caller
                && row.assignee_id.as_ref().is_some_and(|a| a != officer)
                && roles == [Role::Officer]
            {
                return Err(DisputeError::Forbidden(
                    "the case is assigned to another officer; ask a supervisor to reassign it"
                        .into(),
                ));
            }
            let mut next = row.clone();
            next.status = to.as_str().into();
            next.updated_at = naive(now);
            next.version += 1;
            let (step, details, note) = self.apply_move(
                conn,
                caller,
                &roles,
                &row,
                &mut next,
                input,
                now,
                &mut effects,
            )?;
            if !store::update(conn, &next, row.version)? {
                return Err(changed_meanwhile(if_match));
            }
            self.event(
                conn,
                &next,
                &caller.actor(),
                mv.as_str(),
                Some((Some(from), to)),
                false,
                details.clone(),
            )?;
            let recipients = recipients_of(mv);
            self.tell(conn, &next, step, &recipients, note)?;
            self.view(conn, &next, &roles)
        })?;
        effects.finish();
        Ok(view)
    }

    /// Changes `next` for the move; returns the mail step, the event details and the note
    /// the parties are sent.
    #[allow(clippy::too_many_arguments)]
    fn apply_move(
        &self,
        conn: &mut DbConnection,
        caller: &Caller,
        roles: &[Role],
        row: &DisputeRow,
        next: &mut DisputeRow,
        input: &ActionInput,
        now: DateTime<Utc>,
        effects: &mut Effects<'_>,
    ) -> Result<(&'static str, serde_json::Value, Option<MailNote>), DisputeError> {
        let policy = &self.policies.disputes;
        Ok(match input {
            ActionInput::Respond { statement, offer } => {
                let statement = text("statement", statement, 10, 5000)?;
                let offer = match offer.as_deref() {
                    None | Some("none") => None,
                    Some(o) if policy.claims.iter().any(|c| c == o) => Some(o.to_string()),
                    Some(_) => {
                        return Err(invalid(
                            "offer",
                            format!("use none or one of {}", policy.claims.join(", ")),
                        ));
                    }
                };
                next.seller_due_at = None;
                next.buyer_due_at = Some(naive(calendar::add_working_days(
                    now,
                    policy.deadlines.buyer_reply_business_days,
                    &policy.holidays,
                )));
                (
                    "responded",
                    serde_json::json!({ "statement": statement, "offer": offer }),
                    Some(MailNote::Answer {
                        statement: statement.clone(),
                        offer: offer.clone(),
                    }),
                )
            }
            ActionInput::Accept { note } => {
                let note = optional_text("note", note)?;
                next.buyer_due_at = None;
                ("settled", serde_json::json!({ "note": note }), None)
            }
            ActionInput::Escalate { reason } => {
                let reason = optional_text("reason", reason)?;
                next.seller_due_at = None;
                next.buyer_due_at = None;
                (
                    "escalated",
                    serde_json::json!({ "reason": reason }),
                    reason.map(MailNote::Words),
                )
            }
            ActionInput::RequestInformation { from, question } => {
                if from != "buyer" && from != "seller" {
                    return Err(invalid("from", "ask the buyer or the seller"));
                }
                let question = text("question", question, 5, 2000)?;
                next.info_requested_from = Some(from.clone());
                next.paused_at = Some(naive(now));
                let step = "information_requested";
                // Only the party asked is told.
                let to = if from == "buyer" {
                    Role::Buyer
                } else {
                    Role::Seller
                };
                self.tell(
                    conn,
                    next,
                    step,
                    &[to],
                    Some(MailNote::Words(question.clone())),
                )?;
                (
                    "",
                    serde_json::json!({ "from": from, "question": question }),
                    None,
                )
            }
            ActionInput::SupplyInformation { answer } => {
                let asked = row.info_requested_from.as_deref().unwrap_or("");
                let party = if roles.contains(&Role::Seller) {
                    "seller"
                } else {
                    "buyer"
                };
                if asked != party {
                    return Err(DisputeError::InvalidMove {
                        detail: format!("the officer asked the {asked}, not the {party}"),
                        allowed: Vec::new(),
                    });
                }
                let answer = text("answer", answer, 1, 5000)?;
                self.resume(next, now);
                (
                    "information_supplied",
                    serde_json::json!({ "answer": answer }),
                    None,
                )
            }
            ActionInput::ResumeReview { note } => {
                let note = text("note", note, 5, 2000)?;
                self.resume(next, now);
                (
                    "information_supplied",
                    serde_json::json!({ "note": note }),
                    None,
                )
            }
            ActionInput::Decide {
                outcome,
                statement,
                sanctions,
            } => {
                let Caller::Officer { id, .. } = caller else {
                    return Err(DisputeError::Forbidden("only officers decide".into()));
                };
                if !OUTCOMES.contains(&outcome.as_str()) {
                    return Err(invalid(
                        "outcome",
                        format!("use one of {}", OUTCOMES.join(", ")),
                    ));
                }
                let statement = text("statement", statement, 20, 10000)?;
                if outcome == "dismissed" && !sanctions.is_empty() {
                    return Err(invalid(
                        "sanctions",
                        "a dismissed case carries no sanctions",
                    ));
                }
                next.outcome = Some(outcome.clone());
                next.decided_at = Some(naive(now));
                next.appeal_due_at = Some(naive(
                    now + TimeDelta::days(i64::from(policy.deadlines.appeal_days)),
                ));
                store::insert_decision(
                    conn,
                    &store::DecisionRow {
                        id: uuid::Uuid::now_v7().to_string(),
                        dispute_id: row.id.clone(),
                        stage: "first".into(),
                        outcome: outcome.clone(),
                        statement: statement.clone(),
                        decided_by: id.clone(),
                        decided_at: naive(now),
                    },
                )?;
                let applied =
                    sanctions::apply(conn, self.policies, id, next, sanctions, now, effects)?;
                (
                    "decided",
                    serde_json::json!({ "outcome": outcome, "sanctions": english(&applied) }),
                    Some(MailNote::Decision {
                        outcome: outcome.clone(),
                        statement: statement.clone(),
                        sanctions: applied,
                    }),
                )
            }
            ActionInput::RecordSettlement { note } => {
                let note = text("note", note, 5, 2000)?;
                (
                    "settled",
                    serde_json::json!({ "note": note }),
                    Some(MailNote::Words(note)),
                )
            }
            ActionInput::Appeal { grounds } => {
                let grounds = text("grounds", grounds, 20, 5000)?;
                if row.appeal_due_at.is_some_and(|due| naive(now) > due) {
                    return Err(DisputeError::Conflict(
                        "the time to appeal has passed".into(),
                    ));
                }
                (
                    "appealed",
                    serde_json::json!({ "grounds": grounds, "by": if roles.contains(&Role::Seller) { "seller" } else { "buyer" } }),
                    Some(MailNote::Words(grounds)),
                )
            }
            ActionInput::DecideAppeal {
                result,
                statement,
                outcome,
                sanctions,
            } => {
                let Caller::Officer { id, .. } = caller else {
                    return Err(DisputeError::Forbidden(
                        "only supervisors decide appeals".into(),
                    ));
                };
                let first = store::decisions_of(conn, &row.id)?
                    .into_iter()
                    .find(|d| d.stage == "first");
                if first.as_ref().is_some_and(|d| &d.decided_by == id) {
                    return Err(DisputeError::Forbidden(
                        "an appeal goes to a supervisor who did not decide the case".into(),
                    ));
                }
                let statement = text("statement", statement, 20, 10000)?;
                let (final_outcome, applied) = match result.as_str() {
                    "dismissed" => {
                        if outcome.is_some() || !sanctions.is_empty() {
                            return Err(invalid(
                                "result",
                                "a dismissed appeal leaves the first decision as it is: send no outcome or sanctions",
                            ));
                        }
                        (row.outcome.clone().unwrap_or_default(), Vec::new())
                    }
                    "upheld" => {
                        let outcome = outcome.clone().ok_or_else(|| {
                            invalid(
                                "outcome",
                                "an upheld appeal names the outcome that replaces the first one",
                            )
                        })?;
                        if !OUTCOMES.contains(&outcome.as_str()) {
                            return Err(invalid(
                                "outcome",
                                format!("use one of {}", OUTCOMES.join(", ")),
                            ));
                        }
                        if outcome == "dismissed" && !sanctions.is_empty() {
                            return Err(invalid(
                                "sanctions",
                                "a dismissed case carries no sanctions",
                            ));
                        }
                        sanctions::lift_all(conn, next, now, effects)?;
                        let applied = sanctions::apply(
                            conn,
                            self.policies,
                            id,
                            next,
                            sanctions,
                            now,
                            effects,
                        )?;
                        (outcome, applied)
                    }
                    _ => return Err(invalid("result", "use upheld or dismissed")),
                };
                next.outcome = Some(final_outcome.clone());
                store::insert_decision(
                    conn,
                    &store::DecisionRow {
                        id: uuid::Uuid::now_v7().to_string(),
                        dispute_id: row.id.clone(),
                        stage: "appeal".into(),
                        outcome: format!("appeal_{result}"),
                        statement: statement.clone(),
                        decided_by: id.clone(),
                        decided_at: naive(now),
                    },
                )?;
                (
                    "appeal_decided",
                    serde_json::json!({ "result": result, "outcome": final_outcome, "sanctions": english(&applied) }),
                    Some(MailNote::Decision {
                        outcome: final_outcome,
                        statement: statement.clone(),
                        sanctions: applied,
                    }),
                )
            }
            ActionInput::Withdraw { reason } => {
                let reason = optional_text("reason", reason)?;
                next.seller_due_at = None;
                next.buyer_due_at = None;
                (
                    "withdrawn",
                    serde_json::json!({ "reason": reason }),
                    reason.map(MailNote::Words),
                )
            }
        })
    }

    /// A move the deadline worker makes (as `system`), in its own transaction. Returns
    /// false if the case changed meanwhile (the next round looks again).
    pub(crate) fn system_move(
        &self,
        row: &DisputeRow,
        mv: Move,
        step: &'static str,
        details: serde_json::Value,
    ) -> Result<bool, DisputeError> {
        let now = self.now();
        let from = status_of(row)?;
        let Some(to) = lifecycle::next(from, mv, &[Role::System]) else {
            return Ok(false);
        };
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let mut next = row.clone();
            next.status = to.as_str().into();
            next.updated_at = naive(now);
            next.version += 1;
            if matches!(mv, Move::Escalate | Move::Withdraw) {
                next.seller_due_at = None;
                next.buyer_due_at = None;
            }
            if !store::update(conn, &next, row.version)? {
                return Ok(false);
            }
            self.event(
                conn,
                &next,
                "system",
                mv.as_str(),
                Some((Some(from), to)),
                false,
                details.clone(),
            )?;
            // An unconfirmed filing never reached the seller: only the buyer's address knew.
            if from != Status::Filed {
                self.tell(conn, &next, step, &recipients_of(mv), None)?;
            }
            Ok(true)
        })
    }

    /// Reminds the seller of a coming deadline, once.
    pub(crate) fn remind_seller(&self, row: &DisputeRow) -> Result<bool, DisputeError> {
        self.system_step(
            row,
            |next, at| next.reminded_at = Some(at),
            "reminder_sent",
            serde_json::json!({ "to": "seller" }),
            ("reminder", &[Role::Seller]),
        )
    }

    /// Flags a case past its resolution deadline and tells the province's supervisors.
    pub(crate) fn mark_overdue(&self, row: &DisputeRow) -> Result<bool, DisputeError> {
        self.system_step(
            row,
            |next, at| next.escalated_at = Some(at),
            "overdue",
            serde_json::json!({ "resolution_due_at": row.resolution_due_at.map(shown) }),
            ("overdue", &[Role::Supervisor]),
        )
    }

    /// A step of the deadline worker that leaves the status as it is: `stamp` marks the
    /// case so that the step is taken once; the step is recorded and `tell` mailed.
    fn system_step(
        &self,
        row: &DisputeRow,
        stamp: impl FnOnce(&mut DisputeRow, NaiveDateTime),
        action: &'static str,
        details: serde_json::Value,
        tell: (&'static str, &[Role]),
    ) -> Result<bool, DisputeError> {
        let now = self.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let mut next = row.clone();
            stamp(&mut next, naive(now));
            next.version += 1;
            if !store::update(conn, &next, row.version)? {
                return Ok(false);
            }
            self.event(conn, &next, "system", action, None, false, details)?;
            self.tell(conn, &next, tell.0, tell.1, None)?;
            Ok(true)
        })
    }

    /// Ends a suspension whose days have run out.
    pub(crate) fn end_suspension(
        &self,
        sanction: &store::SanctionRow,
    ) -> Result<bool, DisputeError> {
        let now = self.now();
        let mut effects = Effects::new(self.facts);
        let mut conn = self.pool.get()?;
        let reinstated = write_transaction(&mut conn, |conn| {
            sanctions::end_suspension(conn, sanction, now, &mut effects)
        })?;
        effects.finish();
        Ok(reinstated)
    }

    /// Ends a pause: the resolution deadline moves by the time the clock stood still.
    fn resume(&self, next: &mut DisputeRow, now: DateTime<Utc>) {
        if let (Some(paused), Some(due)) = (next.paused_at, next.resolution_due_at) {
            next.resolution_due_at = Some(naive(calendar::extend(
                utc(due),
                naive(now) - paused,
                &self.policies.disputes.holidays,
            )));
        }
        next.paused_at = None;
        next.info_requested_from = None;
    }

    /// Adds a step to the case's timeline and to the audit log.
    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        conn: &mut DbConnection,
        row: &DisputeRow,
        actor: &str,
        action: &str,
        change: Option<(Option<Status>, Status)>,
        internal: bool,
        details: serde_json::Value,
    ) -> Result<(), DisputeError> {
        store::insert_event(
            conn,
            &EventRow {
                id: uuid::Uuid::now_v7().to_string(),
                dispute_id: row.id.clone(),
                occurred_at: naive(self.now()),
                actor: actor.to_string(),
                action: action.to_string(),
                from_status: change
                    .and_then(|(from, _)| from)
                    .map(|s| s.as_str().to_string()),
                to_status: change.map(|(_, to)| to.as_str().to_string()),
                internal,
                details: details.to_string(),
            },
        )?;
        // Every step of a case is also in the hash-chained audit log.
        audit::append(
            conn,
            self.now(),
            &NewAuditEntry::new(actor, audit_action(action), format!("dispute:{}", row.id))
                .details(serde_json::json!({
                    "reference": row.reference,
                    "from": change.and_then(|(from, _)| from).map(Status::as_str),
                    "to": change.map(|(_, to)| to.as_str()),
                    "details": details,
                })),
        )?;
        Ok(())
    }

    /// Mails the parties named (and, for cases a platform filed, sends it a webhook).
    fn tell(
        &self,
        conn: &mut DbConnection,
        row: &DisputeRow,
        step: &'static str,
        to: &[Role],
        note: Option<MailNote>,
    ) -> Result<(), DisputeError> {
        if step.is_empty() {
            return Ok(());
        }
        let now = self.now();
        for role in to {
            match role {
                Role::Buyer => {
                    let deadline = (row.status == Status::SellerResponded.as_str())
                        .then_some(row.buyer_due_at)
                        .flatten()
                        .map(shown);
                    notify::queue_mail(
                        conn,
                        now,
                        &row.buyer_email,
                        &DisputeUpdate {
                            lang: Language::from_code(&row.buyer_language),
                            reference: row.reference.clone(),
                            step,
                            to: "buyer",
                            note: note.clone(),
                            deadline,
                            link: self.buyer_link(&row.id),
                        },
                    )?;
                }
                Role::Seller => {
                    let (email, lang) = crate::identity::monitor::contact(conn, &row.seller_id)?;
                    let deadline = (row.status == Status::AwaitingSeller.as_str())
                        .then_some(row.seller_due_at)
                        .flatten()
                        .map(shown);
                    notify::queue_mail(
                        conn,
                        now,
                        &email,
                        &DisputeUpdate {
                            lang,
                            reference: row.reference.clone(),
                            step,
                            to: "seller",
                            note: note.clone(),
                            deadline,
                            link: self.party_link(&row.id),
                        },
                    )?;
                }
                Role::Officer | Role::Supervisor => {
                    for (email, lang) in supervisors_for(conn, &row.province)? {
                        notify::queue_mail(
                            conn,
                            now,
                            &email,
                            &DisputeUpdate {
                                lang,
                                reference: row.reference.clone(),
                                step,
                                to: "officer",
                                note: note.clone(),
                                deadline: row.resolution_due_at.map(shown),
                                link: self.console_link(&row.id),
                            },
                        )?;
                    }
                }
                Role::System => {}
            }
        }
        if row.filed_by_platform() {
            webhooks::queue_webhook(
                conn,
                now,
                &row.platform_id,
                &DisputeUpdated {
                    dispute_id: row.id.clone(),
                    reference: row.reference.clone(),
                    listing_id: row.listing_id.clone(),
                    status: status_of(row)?,
                    step: step.to_string(),
                },
            )?;
        }
        Ok(())
    }

    /// The case's steps; internal notes only for officers.
    pub fn timeline(&self, caller: &Caller, id: &str) -> Result<Vec<EventView>, DisputeError> {
        let mut conn = self.pool.get()?;
        let (row, roles) = self.load(&mut conn, caller, id)?;
        let officer = roles.contains(&Role::Officer);
        let hidden: Vec<String> = store::evidence_of(&mut conn, &row.id)?
            .into_iter()
            .filter(|e| e.hidden_at.is_some())
            .map(|e| e.id)
            .collect();
        Ok(store::events(&mut conn, &row.id)?
            .into_iter()
            .filter(|e| officer || !e.internal)
            // Parties do not learn even the name of evidence an officer hid.
            .filter(|e| officer || !hidden.iter().any(|h| e.details.contains(h.as_str())))
            .map(|e| {
                let mut view = views::event_view(e);
                if !officer {
                    view.actor = views::as_party_sees(&view.actor, &row.seller_id);
                }
                view
            })
            .collect())
    }

    /// Checks that the caller may add evidence to the case now (before the upload is read).
    pub fn may_attach(&self, caller: &Caller, id: &str) -> Result<(), DisputeError> {
        let mut conn = self.pool.get()?;
        let (row, _) = self.load(&mut conn, caller, id)?;
        if status_of(&row)?.is_final() {
            return Err(DisputeError::Conflict(
                "the case is over; no more evidence can be added".into(),
            ));
        }
        // A party at its limit is turned away before its upload is read.
        let (files, bytes) = store::evidence_totals(&mut conn, &row.id, &caller.actor())?;
        EvidenceLimit::check(&self.policies.disputes.evidence, files, bytes, 0)
    }

    /// An officer's internal note (never shown to the parties).
    pub fn note(&self, caller: &Caller, id: &str, note: &str) -> Result<EventView, DisputeError> {
        let note = text("note", note, 1, 5000)?;
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let (row, roles) = self.load(conn, caller, id)?;
            if !roles.contains(&Role::Officer) {
                return Err(DisputeError::Forbidden(
                    "only officers add internal notes".into(),
                ));
            }
            self.event(
                conn,
                &row,
                &caller.actor(),
                "note",
                None,
                true,
                serde_json::json!({ "note": note }),
            )?;
            store::events(conn, &row.id)?
                .pop()
                .map(views::event_view)
                .ok_or_else(|| DisputeError::Internal("note not stored".into()))
        })
    }

    /// A supervisor assigns the case to an officer of its province (or unassigns it).
    pub fn assign(
        &self,
        caller: &Caller,
        id: &str,
        assignee: Option<&str>,
        if_match: Option<i64>,
    ) -> Result<DisputeView, DisputeError> {
        let now = self.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let (row, roles) = self.load(conn, caller, id)?;
            if !roles.contains(&Role::Supervisor) {
                return Err(DisputeError::Forbidden(
                    "only supervisors assign cases".into(),
                ));
            }
            if let Some(version) = if_match
                && version != row.version
            {
                return Err(DisputeError::Stale(format!(
                    "the case is at version {} now, you read version {version}",
                    row.version
                )));
            }
            if status_of(&row)?.is_final() {
                return Err(DisputeError::Conflict(
                    "the case is over; nothing to assign".into(),
                ));
            }
            if let Some(officer) = assignee {
                let found: Option<(String, Option<String>, String, String)> = accounts::table
                    .find(officer)
                    .select((
                        accounts::kind,
                        accounts::role,
                        accounts::provinces,
                        accounts::status,
                    ))
                    .first(conn)
                    .optional()?;
                let fits = found.is_some_and(|(kind, role, provinces, status)| {
                    kind == "officer"
                        && role.is_some()
                        && status == "active"
                        && ProvinceScope::from_codes(
                            &provinces.split(',').map(str::to_string).collect::<Vec<_>>(),
                        )
                        .covers(&row.province)
                });
                if !fits {
                    return Err(invalid(
                        "assignee",
                        "not an active officer whose provinces include the case's",
                    ));
                }
            }
            let mut next = row.clone();
            next.assignee_id = assignee.map(str::to_string);
            next.updated_at = naive(now);
            next.version += 1;
            if !store::update(conn, &next, row.version)? {
                return Err(changed_meanwhile(if_match));
            }
            self.event(
                conn,
                &next,
                &caller.actor(),
                "assigned",
                None,
                true,
                serde_json::json!({ "assignee": assignee, "previous": row.assignee_id }),
            )?;
            self.view(conn, &next, &roles)
        })
    }

    /// The officers' queue.
    pub fn queue(
        &self,
        scope: &ProvinceScope,
        officer_id: &str,
        query: &QueueQuery,
    ) -> Result<(Vec<DisputeSummary>, Option<String>), DisputeError> {
        let provinces = match (&query.province, scope) {
            (Some(p), scope) if !scope.covers(p) => {
                return Err(DisputeError::Forbidden(format!(
                    "province {p} is outside your scope"
                )));
            }
            (Some(p), _) => Some(vec![p.clone()]),
            (None, ProvinceScope::All) => None,
            (None, ProvinceScope::Only(codes)) => Some(codes.clone()),
        };
        let mut statuses = Vec::new();
        if let Some(list) = &query.status {
            for s in list.split(',').filter(|s| !s.is_empty()) {
                let status = Status::parse(s)
                    .ok_or_else(|| invalid("status", format!("{s:?} is not a case status")))?;
                statuses.push(status.as_str().to_string());
            }
        }
        let limit = query.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(invalid("limit", "1 to 200"));
        }
        let assignee = match query.assignee.as_deref() {
            None => None,
            Some("me") => Some(Some(officer_id.to_string())),
            Some("none") => Some(None),
            Some(id) => Some(Some(id.to_string())),
        };
        let filter = store::QueueFilter {
            provinces,
            statuses,
            kind: query.kind.clone(),
            assignee,
            overdue_at: query.overdue.unwrap_or(false).then(|| naive(self.now())),
            before: query.cursor.clone(),
            limit: i64::from(limit) + 1,
        };
        let mut rows = store::queue(&mut *self.pool.get()?, &filter)?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let cursor = more.then(|| rows.last().map(|r| r.id.clone())).flatten();
        let now = naive(self.now());
        Ok((
            rows.iter().map(|r| views::summary(r, now)).collect(),
            cursor,
        ))
    }

    /// One page of the console's queue: the cases of the officer's provinces that match
    /// what they search for, sorted as asked, with the shop of each and the total count.
    pub fn console_queue(
        &self,
        scope: &ProvinceScope,
        officer_id: &str,
        search: &ConsoleSearch,
    ) -> Result<(Vec<(DisputeSummary, String)>, i64), DisputeError> {
        let provinces = match (&search.province, scope) {
            (Some(p), scope) if !scope.covers(p) => {
                return Err(invalid(
                    "province",
                    format!("province {p} is outside your scope"),
                ));
            }
            (Some(p), _) => Some(vec![p.clone()]),
            (None, ProvinceScope::All) => None,
            (None, ProvinceScope::Only(codes)) => Some(codes.clone()),
        };
        let mut statuses = Vec::new();
        if let Some(s) = search.status.as_deref().filter(|s| !s.is_empty()) {
            let status = Status::parse(s)
                .ok_or_else(|| invalid("status", format!("{s:?} is not a case status")))?;
            statuses.push(status.as_str().to_string());
        }
        let assignee = match search.assignee.as_deref() {
            None => None,
            Some("me") => Some(Some(officer_id.to_string())),
            Some("none") => Some(None),
            Some(id) => Some(Some(id.to_string())),
        };
        let now = naive(self.now());
        // Vietnam keeps one offset all year: a day there starts at 17:00 UTC the day before.
        let day_start =
            |d: chrono::NaiveDate| d.and_time(chrono::NaiveTime::MIN) - TimeDelta::hours(7);
        let mut conn = self.pool.get()?;
        let seller_ids = match search.seller.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(text) => Some(crate::identity::sellers_matching(&mut conn, text)?),
            None => None,
        };
        let shop = match search.shop.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(text) => Some((
                text.to_string(),
                crate::identity::sellers_with_shops_like(&mut conn, text)?,
            )),
            None => None,
        };
        let filter = store::ConsoleFilter {
            queue: store::QueueFilter {
                provinces,
                statuses,
                kind: None,
                assignee,
                overdue_at: search
                    .overdue_days
                    .map(|days| now - TimeDelta::days(days.max(0))),
                before: None,
                limit: 0,
            },
            reference: search.reference.clone().filter(|r| !r.trim().is_empty()),
            seller_ids,
            shop,
            filed_from: search.filed_from.map(day_start),
            filed_before: search.filed_to.and_then(|d| d.succ_opt()).map(day_start),
            sort: search.sort,
            descending: search.descending,
            offset: (search.page.max(1) - 1) * search.page_size,
        };
        let (rows, total) = store::console_queue(&mut conn, &filter, search.page_size)?;
        Ok((
            rows.iter()
                .map(|r| (views::summary(r, now), r.shop_id.clone()))
                .collect(),
            total,
        ))
    }

    /// The cases against a seller.
    pub fn of_seller(&self, seller_id: &str) -> Result<Vec<DisputeSummary>, DisputeError> {
        let now = naive(self.now());
        Ok(store::of_seller(&mut *self.pool.get()?, seller_id)?
            .iter()
            .map(|r| views::summary(r, now))
            .collect())
    }

    /// Attaches an evidence file. It can never be changed or removed afterwards.
    pub fn attach(
        &self,
        caller: &Caller,
        id: &str,
        file_name: &str,
        media_type: &str,
        content: &[u8],
    ) -> Result<EvidenceView, DisputeError> {
        let file_name = text(
            "file",
            file_name.rsplit(['/', '\\']).next().unwrap_or(""),
            1,
            200,
        )?;
        evidence::check_type(media_type, &self.config.evidence_types, content).map_err(
            |e| match e {
                evidence::EvidenceError::Empty => invalid("file", e.to_string()),
                other => DisputeError::UnsupportedType(other.to_string()),
            },
        )?;
        let now = self.now();
        let evidence_id = uuid::Uuid::now_v7().to_string();
        let mut conn = self.pool.get()?;
        // The case is checked before the file is written, and again in the transaction.
        self.may_attach(caller, id)?;
        let (row, _) = self.load(&mut conn, caller, id)?;
        let path = EvidenceStore::relative_path(&row.id, &evidence_id);
        self.evidence
            .write(&path, content)
            .map_err(|e| DisputeError::Internal(format!("cannot store evidence: {e}")))?;
        let media = media_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let stored = write_transaction(&mut conn, |conn| {
            let (row, roles) = self.load(conn, caller, id)?;
            if status_of(&row)?.is_final() {
                return Err(DisputeError::Conflict(
                    "the case is over; no more evidence can be added".into(),
                ));
            }
            // Counted under the case's lock: parallel uploads cannot all pass the limit.
            store::lock(conn, &row.id)?;
            let (files, bytes) = store::evidence_totals(conn, &row.id, &caller.actor())?;
            EvidenceLimit::check(
                &self.policies.disputes.evidence,
                files,
                bytes,
                content.len(),
            )?;
            let evidence = store::EvidenceRow {
                id: evidence_id.clone(),
                dispute_id: row.id.clone(),
                uploaded_by: caller.actor(),
                file_name: file_name.clone(),
                media_type: media.clone(),
                size_bytes: content.len() as i64,
                sha256: evidence::sha256_hex(content),
                storage_path: path.clone(),
                hidden_at: None,
                hidden_by: None,
                hidden_reason: None,
                created_at: naive(now),
            };
            store::insert_evidence(conn, &evidence)?;
            self.event(
                conn,
                &row,
                &caller.actor(),
                "evidence_added",
                None,
                false,
                serde_json::json!({ "evidence_id": evidence.id, "file_name": evidence.file_name, "sha256": evidence.sha256, "size_bytes": evidence.size_bytes }),
            )?;
            Ok::<_, DisputeError>(views::evidence_view(
                &evidence,
                roles.contains(&Role::Officer),
            ))
        });
        if stored.is_err() {
            self.evidence.discard(&path);
        }
        stored
    }

    /// An evidence file, checked against its recorded hash: (record, content).
    pub fn evidence_file(
        &self,
        caller: &Caller,
        id: &str,
        evidence_id: &str,
    ) -> Result<(EvidenceView, Vec<u8>), DisputeError> {
        let mut conn = self.pool.get()?;
        let (row, roles) = self.load(&mut conn, caller, id)?;
        let officer = roles.contains(&Role::Officer);
        let record = store::find_evidence(&mut conn, &row.id, evidence_id)?
            .filter(|e| officer || e.hidden_at.is_none())
            .ok_or_else(|| DisputeError::NotFound("no such evidence on this case".into()))?;
        if store::evidence_expired_at(&mut conn, &record.id)?.is_some() {
            return Err(DisputeError::NotFound(
                "the evidence file was removed under the retention policy; its record and SHA-256 remain".into(),
            ));
        }
        let content = self
            .evidence
            .read_verified(&record.storage_path, &record.sha256)
            .map_err(DisputeError::Internal)?;
        Ok((views::evidence_view(&record, officer), content))
    }

    /// An officer hides an evidence file from the parties (it stays stored), with a reason.
    pub fn hide_evidence(
        &self,
        caller: &Caller,
        id: &str,
        evidence_id: &str,
        reason: &str,
    ) -> Result<EvidenceView, DisputeError> {
        let reason = text("reason", reason, 5, 2000)?;
        let now = self.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let (row, roles) = self.load(conn, caller, id)?;
            if !roles.contains(&Role::Officer) {
                return Err(DisputeError::Forbidden(
                    "only officers hide evidence".into(),
                ));
            }
            store::find_evidence(conn, &row.id, evidence_id)?
                .ok_or_else(|| DisputeError::NotFound("no such evidence on this case".into()))?;
            if !store::hide_evidence(conn, evidence_id, &caller.actor(), &reason, naive(now))? {
                return Err(DisputeError::Conflict(
                    "the evidence is hidden already".into(),
                ));
            }
            self.event(
                conn,
                &row,
                &caller.actor(),
                "evidence_hidden",
                None,
                true,
                serde_json::json!({ "evidence_id": evidence_id, "reason": reason }),
            )?;
            let record = store::find_evidence(conn, &row.id, evidence_id)?
                .ok_or_else(|| DisputeError::Internal("evidence vanished".into()))?;
            Ok(views::evidence_view(&record, true))
        })
    }

    /// Counts for officers over cases filed in `[from, to)`, in their provinces.
    pub fn report(
        &self,
        scope: &ProvinceScope,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> Result<(Report, Vec<DisputeRow>), DisputeError> {
        let provinces = match scope {
            ProvinceScope::All => None,
            ProvinceScope::Only(codes) => Some(codes.as_slice()),
        };
        let rows = store::for_report(&mut *self.pool.get()?, provinces, from, to)?;
        Ok((report::build(&rows, naive(self.now())), rows))
    }

    /// The CSV export of the cases a report covers.
    pub fn export_csv(
        &self,
        scope: &ProvinceScope,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> Result<String, DisputeError> {
        let (_, rows) = self.report(scope, from, to)?;
        Ok(report::csv(&rows, naive(self.now())))
    }

    fn view(
        &self,
        conn: &mut DbConnection,
        row: &DisputeRow,
        roles: &[Role],
    ) -> Result<DisputeView, DisputeError> {
        views::build(conn, row, roles, naive(self.now()))
    }
}

pub use store::DisputeRow as Row;
pub use store::QueueSort;

/// Filters of the officers' queue.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Statuses, comma-separated.
    pub status: Option<String>,
    /// One province code (within your scope).
    pub province: Option<String>,
    pub kind: Option<String>,
    /// Only cases past their resolution deadline.
    pub overdue: Option<bool>,
    /// `me`, `none`, or an officer's account id.
    pub assignee: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// What an officer searches the console's queue for.
#[derive(Debug, Clone, Default)]
pub struct ConsoleSearch {
    pub status: Option<String>,
    pub province: Option<String>,
    /// `me`, `none`, or an officer's account id.
    pub assignee: Option<String>,
    /// Cases overdue by at least this many days (0: overdue at all).
    pub overdue_days: Option<i64>,
    pub reference: Option<String>,
    /// A seller's name (business or own) or enterprise code.
    pub seller: Option<String>,
    /// A shop's name or platform id.
    pub shop: Option<String>,
    /// Filed on or after this day, in Vietnam.
    pub filed_from: Option<chrono::NaiveDate>,
    /// Filed on or before this day, in Vietnam.
    pub filed_to: Option<chrono::NaiveDate>,
    pub sort: QueueSort,
    pub descending: bool,
    /// From 1.
    pub page: i64,
    pub page_size: i64,
}

/// Someone else changed the case between reading and writing it: 412 for a caller who
/// named the version they read, 409 otherwise.
fn changed_meanwhile(if_match: Option<i64>) -> DisputeError {
    let detail = "the case changed while you were acting on it; read it again";
    match if_match {
        Some(_) => DisputeError::Stale(detail.into()),
        None => DisputeError::Conflict(detail.into()),
    }
}

fn names(moves: &[Move]) -> String {
    if moves.is_empty() {
        return "none".into();
    }
    moves
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The audit action of a timeline step.
fn audit_action(step: &str) -> &'static str {
    match step {
        "filed" => "dispute.filed",
        "confirm" => "dispute.confirmed",
        "filing_linked" => "dispute.linked",
        "respond" => "dispute.responded",
        "accept" => "dispute.accepted",
        "escalate" => "dispute.escalated",
        "request_information" => "dispute.information_requested",
        "supply_information" => "dispute.information_supplied",
        "resume_review" => "dispute.review_resumed",
        "decide" => "dispute.decided",
        "record_settlement" => "dispute.settled",
        "appeal" => "dispute.appealed",
        "decide_appeal" => "dispute.appeal_decided",
        "close" => "dispute.closed",
        "withdraw" => "dispute.withdrawn",
        "note" => "dispute.noted",
        "assigned" => "dispute.assigned",
        "evidence_added" => "dispute.evidence_added",
        "evidence_hidden" => "dispute.evidence_hidden",
        "reminder_sent" => "dispute.reminded",
        "overdue" => "dispute.overdue",
        _ => "dispute.step",
    }
}

/// Who hears of a move.
fn recipients_of(mv: Move) -> Vec<Role> {
    match mv {
        Move::Respond => vec![Role::Buyer],
        Move::Accept | Move::Withdraw | Move::RecordSettlement => vec![Role::Buyer, Role::Seller],
        Move::Escalate => vec![Role::Buyer, Role::Seller, Role::Supervisor],
        Move::RequestInformation => Vec::new(),
        Move::SupplyInformation | Move::ResumeReview => vec![Role::Buyer, Role::Seller],
        Move::Decide | Move::DecideAppeal | Move::Close | Move::Confirm => {
            vec![Role::Buyer, Role::Seller]
        }
        Move::Appeal => vec![Role::Buyer, Role::Seller, Role::Supervisor],
    }
}

/// Sanctions as the case's record keeps them (in English, as the API has always read).
fn english(sanctions: &[Phrase]) -> Vec<String> {
    sanctions.iter().map(|p| p.words(Language::En)).collect()
}

/// Active supervisors whose provinces include `province`: (email, language).
fn supervisors_for(
    conn: &mut DbConnection,
    province: &str,
) -> Result<Vec<(String, Language)>, DisputeError> {
    let rows: Vec<(String, String, String)> = accounts::table
        .filter(accounts::kind.eq("officer"))
        .filter(accounts::role.eq("supervisor"))
        .filter(accounts::status.eq("active"))
        .select((accounts::email, accounts::language, accounts::provinces))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, provinces)| {
            ProvinceScope::from_codes(&provinces.split(',').map(str::to_string).collect::<Vec<_>>())
                .covers(province)
        })
        .map(|(email, language, _)| (email, Language::from_code(&language)))
        .collect())
}
