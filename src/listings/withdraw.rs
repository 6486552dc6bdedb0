//! The gate's side of a published change: the decisions in force that let a listing go on
//! and rested on what a change took away are withdrawn in the change's own transaction,
//! and each platform is told (`listing.revoked`).

use chrono::{DateTime, Utc};

use super::Decision;
use super::store::{self, InForce};
use crate::db::DbConnection;
use crate::facts::{Change, Fact, Subscriber};
use crate::notify::events::ListingRevoked;
use crate::notify::webhooks;

/// Withdraws decisions when a change takes away what they rested on.
#[derive(Debug, Default)]
pub struct Withdrawals;

impl Subscriber for Withdrawals {
    fn on_changes(
        &self,
        conn: &mut DbConnection,
        now: DateTime<Utc>,
        changes: &[Change],
    ) -> diesel::QueryResult<usize> {
        let mut withdrawn = 0;
        for change in changes {
            let Some(reason) = change.withdraws else {
                continue;
            };
            let (affected, cause) = match &change.fact {
                Fact::Code(key) | Fact::Authorisation(key) => (
                    store::in_force_for_code(conn, key)?,
                    serde_json::json!({ "code": key }),
                ),
                Fact::Seller(id) => {
                    // A seller's decisions in force are on the shops bound to them: an
                    // unbinding withdrew those of any shop bound before.
                    let mut affected = Vec::new();
                    for shop in crate::identity::facts::shops_of(conn, id)? {
                        affected.extend(store::in_force_for_seller_on_shop(
                            conn,
                            id,
                            &shop.platform_id,
                            &shop.shop_id,
                        )?);
                    }
                    (affected, serde_json::json!({ "seller_id": id }))
                }
                Fact::Binding { platform, shop } => (
                    store::in_force_for_shop(conn, platform, shop)?,
                    serde_json::json!({ "shop_id": shop }),
                ),
                Fact::Block { platform, listing } => (
                    store::in_force_for_listing(conn, platform, listing)?,
                    serde_json::json!({ "listing_id": listing }),
                ),
                // A batch only registers codes, custody only grows, links decide nothing:
                // nothing taken away.
                Fact::CodeBatch(_) | Fact::Custody { .. } | Fact::Links(_) => continue,
            };
            withdrawn += withdraw(conn, now, affected, reason, &cause)?;
        }
        Ok(withdrawn)
    }
}

/// Marks decisions withdrawn with the reason, and tells each platform.
fn withdraw(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    affected: Vec<InForce>,
    reason: &str,
    cause: &serde_json::Value,
) -> diesel::QueryResult<usize> {
    let ids: Vec<String> = affected.iter().map(|d| d.id.clone()).collect();
    store::mark_withdrawn(conn, &ids, now.naive_utc(), reason)?;
    for d in &affected {
        webhooks::queue_webhook(
            conn,
            now,
            &d.platform_id,
            &ListingRevoked {
                listing_id: d.listing_id.clone(),
                shop_id: d.shop_id.clone(),
                check_id: d.id.clone(),
                decision: Decision::parse(&d.decision),
                reason: reason.to_string(),
                cause: cause.clone(),
            },
        )?;
    }
    Ok(affected.len())
}
