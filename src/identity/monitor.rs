//! The identity monitor: re-checks verified businesses against the business register on a
//! schedule (a business that is suspended, dissolving, dissolved or gone suspends its
//! sellers, and every bound platform is told), and reminds sellers whose verification is
//! about to expire.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use tokio::sync::watch;

use super::store::{self, SellerRow};
use super::{BusinessKey, BusinessStatus, EnterpriseCode, Registers};
use crate::audit::{self, NewAuditEntry};
use crate::clock::Clock;
use crate::db::schema::{accounts, seller_bindings};
use crate::db::{DbConnection, DbPool, write_transaction};
use crate::facts::FactBus;
use crate::i18n::Language;
use crate::leases::{self, NodeId};
use crate::notify::{self, SellerSuspended, VerificationExpiring, events, webhooks};
use crate::policies::Policies;

/// Sellers handled per round.
const BATCH: i64 = 100;
/// One node at a time runs a round, so the register is asked once per business and a
/// reminder mailed once; long enough for a round of slow register calls. A node that dies
/// mid-round leaves the next round to another node after this long.
const ROUND_LEASE: TimeDelta = TimeDelta::minutes(10);
/// The lease's name in `worker_leases`.
const LEASE_NAME: &str = "identity-monitor";

pub struct IdentityMonitor {
    pub pool: DbPool,
    /// Where changes to sellers are published.
    pub facts: Arc<FactBus>,
    pub clock: Arc<dyn Clock>,
    pub registers: Registers,
    pub policies: Arc<Policies>,
    pub public_url: String,
    pub interval: Duration,
    /// This node, as the holder of the round's lease.
    pub node: NodeId,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub checked: usize,
    pub suspended: usize,
    pub reminded: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
    #[error(transparent)]
    Notify(#[from] notify::NotifyError),
}

impl IdentityMonitor {
    /// Runs rounds until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let monitor = Arc::new(self);
        loop {
            let worker = monitor.clone();
            match tokio::task::spawn_blocking(move || worker.round()).await {
                Ok(Ok(round)) if round != Round::default() => {
                    tracing::info!(?round, "identity monitor round")
                }
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::warn!(error = %error, "identity monitor round failed"),
                Err(error) => tracing::error!(error = %error, "identity monitor task failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(monitor.interval) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// One round: business re-checks, then expiry reminders; nothing when another node is
    /// running one.
    pub fn round(&self) -> Result<Round, MonitorError> {
        let now = self.clock.now();
        leases::under_lease(&self.pool, LEASE_NAME, &self.node, now, ROUND_LEASE, || {
            self.round_held()
        })
        .map(Option::unwrap_or_default)
    }

    fn round_held(&self) -> Result<Round, MonitorError> {
        let now = self.clock.now();
        let recheck =
            TimeDelta::hours(i64::from(self.policies.verification.business_recheck_hours));
        let mut round = Round::default();
        let due =
            store::due_business_checks(&mut *self.pool.get()?, now.naive_utc() - recheck, BATCH)?;
        for seller in due {
            let Some(key) = business_key(&seller) else {
                continue;
            };
            // A register that cannot answer says nothing about the business: try next round.
            let record = match self.registers.business.lookup(&key) {
                Ok(record) => record,
                Err(error) => {
                    tracing::warn!(error = %error, "business re-check postponed");
                    continue;
                }
            };
            round.checked += 1;
            let problem = match &record {
                None => Some("business_not_in_register".to_string()),
                Some(r) if r.status != BusinessStatus::Active => {
                    Some(format!("business_{}", r.status.as_str()))
                }
                Some(_) => None,
            };
            match problem {
                Some(reason) => {
                    if self.suspend(&seller, &reason, now.naive_utc())? {
                        round.suspended += 1;
                    }
                }
                None => {
                    let mut row = seller.clone();
                    row.business_checked_at = Some(now.naive_utc());
                    row.version += 1;
                    store::update(&mut *self.pool.get()?, &row, seller.version)?;
                }
            }
        }
        let notice = TimeDelta::days(i64::from(self.policies.verification.reminder_days_before));
        for seller in store::due_reminders(&mut *self.pool.get()?, now.naive_utc() + notice, BATCH)?
        {
            if self.remind(&seller, now.naive_utc())? {
                round.reminded += 1;
            }
        }
        if round.suspended > 0 {
            self.facts.committed();
        }
        Ok(round)
    }

    /// Suspends a seller, mails them, and tells each bound platform, in one transaction.
    /// Returns false if the seller changed meanwhile (the next round looks again).
    fn suspend(
        &self,
        seller: &SellerRow,
        reason: &str,
        now: NaiveDateTime,
    ) -> Result<bool, MonitorError> {
        let at = self.clock.now();
        let mut conn = self.pool.get()?;
        let mut checked = seller.clone();
        checked.business_checked_at = Some(now);
        write_transaction(&mut conn, |conn| {
            if !suspend_in(conn, &self.facts, at, &checked, reason, "system")? {
                return Ok(false);
            }
            let (email, language) = contact(conn, &seller.account_id)?;
            notify::queue_mail(
                conn,
                at,
                &email,
                &SellerSuspended {
                    lang: language,
                    business: seller.business_name.clone().unwrap_or_default(),
                    reason: reason.to_string(),
                },
            )?;
            Ok(true)
        })
    }

    fn remind(&self, seller: &SellerRow, now: NaiveDateTime) -> Result<bool, MonitorError> {
        let at = self.clock.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let mut row = seller.clone();
            row.reminder_sent_at = Some(now);
            row.version += 1;
            if !store::update(conn, &row, seller.version)? {
                return Ok(false);
            }
            let (email, language) = contact(conn, &seller.account_id)?;
            let expires_on = seller
                .verification_expires_at
                .map(|at| at.format("%d/%m/%Y").to_string())
                .unwrap_or_default();
            notify::queue_mail(
                conn,
                at,
                &email,
                &VerificationExpiring {
                    lang: language,
                    expires_on,
                    link: format!(
                        "{}/portal/verification",
                        self.public_url.trim_end_matches('/')
                    ),
                },
            )?;
            audit::append(
                conn,
                at,
                &NewAuditEntry::new(
                    "system",
                    "seller.reverification_requested",
                    format!("account:{}", seller.account_id),
                ),
            )?;
            Ok(true)
        })
    }
}

/// Suspends a seller inside the caller's transaction: every bound platform is told
/// (`seller.suspended`), the change is published (the seller's allowed listings are
/// withdrawn), and the step is audited. Returns false if the seller changed since `seller`
/// was read. The caller tells the seller, and the bus, after commit.
pub fn suspend_in(
    conn: &mut DbConnection,
    facts: &FactBus,
    at: chrono::DateTime<chrono::Utc>,
    seller: &SellerRow,
    reason: &str,
    actor: &str,
) -> QueryResult<bool> {
    let now = at.naive_utc();
    let mut row = seller.clone();
    row.status = "suspended".into();
    row.suspended_at = Some(now);
    row.suspended_reason = Some(reason.to_string());
    row.updated_at = now;
    row.version += 1;
    if !store::update(conn, &row, seller.version)? {
        return Ok(false);
    }
    for (platform, shop) in bound_shops(conn, &seller.account_id)? {
        webhooks::queue_webhook(
            conn,
            at,
            &platform,
            &events::SellerSuspended {
                seller_id: seller.account_id.clone(),
                shop_id: shop,
                reason: reason.to_string(),
            },
        )?;
    }
    let withdrawn = match super::facts::seller_change(Some(seller), &row, now) {
        Some(change) => facts.publish(conn, at, &[change])?,
        None => 0,
    };
    audit::append(
        conn,
        at,
        &NewAuditEntry::new(actor, "seller.suspended", format!("account:{}", seller.account_id))
            .details(serde_json::json!({ "reason": reason, "business": seller.business_code, "listings_withdrawn": withdrawn })),
    )?;
    Ok(true)
}

/// Ends a suspension inside the caller's transaction, if the seller is still suspended
/// for `reason`; bound platforms are told (`seller.reinstated`) and the change is
/// published. Returns whether it did.
pub fn reinstate_in(
    conn: &mut DbConnection,
    facts: &FactBus,
    at: chrono::DateTime<chrono::Utc>,
    seller_id: &str,
    reason: &str,
    actor: &str,
) -> QueryResult<bool> {
    let Some(seller) = store::find(conn, seller_id)? else {
        return Ok(false);
    };
    if seller.status != "suspended" || seller.suspended_reason.as_deref() != Some(reason) {
        return Ok(false);
    }
    let mut row = seller.clone();
    row.status = "active".into();
    row.suspended_at = None;
    row.suspended_reason = None;
    row.updated_at = at.naive_utc();
    row.version += 1;
    if !store::update(conn, &row, seller.version)? {
        return Ok(false);
    }
    // Decisions made while suspended are decided anew: the seller's facts changed.
    if let Some(change) = super::facts::seller_change(Some(&seller), &row, at.naive_utc()) {
        facts.publish(conn, at, &[change])?;
    }
    for (platform, shop) in bound_shops(conn, seller_id)? {
        webhooks::queue_webhook(
            conn,
            at,
            &platform,
            &events::SellerReinstated {
                seller_id: seller_id.to_string(),
                shop_id: shop,
                reason: reason.to_string(),
            },
        )?;
    }
    audit::append(
        conn,
        at,
        &NewAuditEntry::new(actor, "seller.reinstated", format!("account:{seller_id}"))
            .details(serde_json::json!({ "suspension": reason })),
    )?;
    Ok(true)
}

/// Keeps a seller suspended under another reason when the suspension they were held under
/// ends while another runs on. Returns whether the seller was held under `from`.
pub fn change_suspension_reason(
    conn: &mut DbConnection,
    at: chrono::DateTime<chrono::Utc>,
    seller_id: &str,
    from: &str,
    to: &str,
) -> QueryResult<bool> {
    let Some(seller) = store::find(conn, seller_id)? else {
        return Ok(false);
    };
    if seller.status != "suspended" || seller.suspended_reason.as_deref() != Some(from) {
        return Ok(false);
    }
    let mut row = seller.clone();
    row.suspended_reason = Some(to.to_string());
    row.updated_at = at.naive_utc();
    row.version += 1;
    if !store::update(conn, &row, seller.version)? {
        return Ok(false);
    }
    audit::append(
        conn,
        at,
        &NewAuditEntry::new(
            "system",
            "seller.suspension_continued",
            format!("account:{seller_id}"),
        )
        .details(serde_json::json!({ "ended": from, "continues": to })),
    )?;
    Ok(true)
}

fn bound_shops(conn: &mut DbConnection, seller_id: &str) -> QueryResult<Vec<(String, String)>> {
    seller_bindings::table
        .filter(seller_bindings::seller_id.eq(seller_id))
        .filter(seller_bindings::revoked_at.is_null())
        .select((seller_bindings::platform_id, seller_bindings::shop_id))
        .load(conn)
}

fn business_key(seller: &SellerRow) -> Option<BusinessKey> {
    let code = seller.business_code.as_deref()?;
    match seller.business_kind.as_deref()? {
        "enterprise" => EnterpriseCode::parse(code)
            .ok()
            .map(BusinessKey::Enterprise),
        "household_business" => Some(BusinessKey::Household(code.to_string())),
        _ => None,
    }
}

/// A person's email address and language.
pub fn contact(conn: &mut DbConnection, account_id: &str) -> QueryResult<(String, Language)> {
    let (email, language): (String, String) = accounts::table
        .find(account_id)
        .select((accounts::email, accounts::language))
        .first(conn)?;
    Ok((email, Language::from_code(&language)))
}
