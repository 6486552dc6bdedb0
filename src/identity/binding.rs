//! Shop binding: a verified seller gives a platform a one-time code; the platform binds its
//! shop to the seller with it, and from then on asks tracegate about the shop.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::store::{self, BindingRow, SellerRow};
use super::{IdentityError, SellerKind, Standing, standing};
use crate::audit::{self, NewAuditEntry};
use crate::auth::{store as throttle_store, throttle, token_digest};
use crate::clock::Clock;
use crate::db::schema::{accounts, clients};
use crate::db::{DbConnection, DbPool, write_transaction};
use crate::facts::{Change, Fact, FactBus};
use crate::notify::events::BindingRevoked;
use crate::notify::webhooks;
use crate::policies::Policies;

/// Letters and digits that cannot be misread for each other (no I, L, O, U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// How long a binding code works.
const CODE_TTL: TimeDelta = TimeDelta::minutes(15);
/// Wrong codes a platform may send before it is slowed down.
const MAX_WRONG_CODES: u32 = 20;

/// A fresh binding code, shown to the seller once.
#[derive(Debug, Serialize, ToSchema)]
pub struct BindingCode {
    /// `XXXXX-XXXXX`; give it to the platform within its lifetime.
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BindingView {
    pub id: String,
    pub platform_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_name: Option<String>,
    pub shop_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shop_name: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What the law says buyers must be able to see about a seller.
#[derive(Debug, Serialize, ToSchema)]
pub struct TraderInfo {
    /// The business's registered name, or the person's full name for an individual.
    pub legal_name: String,
    /// Enterprise code, or household business registration number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Province code of the registered address (or residence, for an individual).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    pub contact_email: String,
}

/// A bound shop's seller, as its platform sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShopSeller {
    pub binding_id: String,
    pub shop_id: String,
    pub seller_id: String,
    pub status: Standing,
    pub kind: SellerKind,
    pub level: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_expires_at: Option<DateTime<Utc>>,
    pub trader: TraderInfo,
    pub bound_at: DateTime<Utc>,
}

fn utc(naive: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(naive, Utc)
}

fn new_code() -> Result<String, IdentityError> {
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes)
        .map_err(|e| IdentityError::Internal(format!("random code: {e}")))?;
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b % 32)] as char)
        .collect();
    Ok(format!("{}-{}", &chars[..5], &chars[5..]))
}

/// Upper-case, without dashes or spaces, with look-alikes read as what they must be.
fn normalise_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

pub struct Bindings<'a> {
    pub pool: &'a DbPool,
    pub clock: &'a dyn Clock,
    pub policies: &'a Policies,
    /// Where changes to bindings are published.
    pub facts: &'a FactBus,
}

fn shop_seller(
    conn: &mut DbConnection,
    row: &SellerRow,
    binding: &BindingRow,
    now: NaiveDateTime,
    policies: &Policies,
) -> QueryResult<ShopSeller> {
    let email: String = accounts::table
        .find(&row.account_id)
        .select(accounts::email)
        .first(conn)?;
    let (status, _) = standing(row, now);
    let kind = SellerKind::parse(&row.kind);
    let business = row.business_status == "verified";
    Ok(ShopSeller {
        binding_id: binding.id.clone(),
        shop_id: binding.shop_id.clone(),
        seller_id: row.account_id.clone(),
        status,
        kind,
        level: if status == Standing::Verified {
            policies.verification.level(kind.as_str())
        } else {
            0
        },
        verification_expires_at: row.verification_expires_at.map(utc),
        trader: TraderInfo {
            legal_name: if business {
                row.business_name.clone()
            } else {
                None
            }
            .or_else(|| row.full_name.clone())
            .unwrap_or_default(),
            business_code: if business {
                row.business_code.clone()
            } else {
                None
            },
            address: if business {
                row.business_address.clone()
            } else {
                None
            },
            province: super::seller_province(row).map(str::to_string),
            contact_email: email,
        },
        bound_at: utc(binding.created_at),
    })
}

impl Bindings<'_> {
    /// A one-time code for the seller to give a platform. Only verified sellers get one.
    pub fn issue_code(&self, seller_id: &str) -> Result<BindingCode, IdentityError> {
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        let row = store::find(&mut conn, seller_id)?;
        let verified = row
            .as_ref()
            .is_some_and(|r| standing(r, now.naive_utc()).0 == Standing::Verified);
        if !verified {
            return Err(IdentityError::Conflict(
                "only verified sellers can bind shops; see GET /v1/me/verification for what is missing".into(),
            ));
        }
        let code = new_code()?;
        let expires_at = now + CODE_TTL;
        write_transaction(&mut conn, |conn| {
            store::insert_binding_code(
                conn,
                &token_digest(&normalise_code(&code)),
                seller_id,
                now.naive_utc(),
                expires_at.naive_utc(),
            )?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    format!("account:{seller_id}"),
                    "binding_code.issued",
                    format!("account:{seller_id}"),
                ),
            )?;
            Ok::<_, IdentityError>(())
        })?;
        Ok(BindingCode { code, expires_at })
    }

    /// Binds a platform's shop to the seller who issued `code`.
    pub fn bind(
        &self,
        platform_id: &str,
        code: &str,
        shop_id: &str,
        shop_name: Option<&str>,
    ) -> Result<ShopSeller, IdentityError> {
        let shop_id = shop_id.trim();
        if shop_id.is_empty()
            || shop_id.chars().count() > 128
            || shop_id.chars().any(char::is_control)
        {
            return Err(IdentityError::Invalid {
                field: "shop_id",
                message: "shop_id must be 1 to 128 printable characters: your own id of the shop"
                    .into(),
            });
        }
        let shop_name = shop_name.map(str::trim).filter(|n| !n.is_empty());
        if shop_name.is_some_and(|n| n.chars().count() > 200) {
            return Err(IdentityError::Invalid {
                field: "shop_name",
                message: "shop_name must be at most 200 characters".into(),
            });
        }
        let now = self.clock.now();
        let throttle_key = format!("binding:{platform_id}");
        let mut conn = self.pool.get()?;
        if let Some(retry) = throttle_store::locked_for(&mut conn, &throttle_key, now)? {
            return Err(IdentityError::Conflict(format!(
                "too many wrong binding codes; try again in {retry} seconds"
            )));
        }
        let hash = token_digest(&normalise_code(code));
        let outcome = write_transaction(&mut conn, |conn| {
            let Some(seller_id) = store::take_binding_code(conn, &hash, now.naive_utc())? else {
                return Ok(None);
            };
            let row =
                store::find(conn, &seller_id)?.ok_or(IdentityError::NotFound("no such seller"))?;
            if standing(&row, now.naive_utc()).0 != Standing::Verified {
                return Err(IdentityError::Conflict(
                    "the seller is no longer verified".into(),
                ));
            }
            if store::binding_by_shop(conn, platform_id, shop_id)?.is_some() {
                return Err(IdentityError::Conflict(format!(
                    "shop {shop_id} is already bound; the seller must revoke that binding first"
                )));
            }
            let binding = BindingRow {
                id: uuid::Uuid::now_v7().to_string(),
                seller_id: seller_id.clone(),
                platform_id: platform_id.to_string(),
                shop_id: shop_id.to_string(),
                shop_name: shop_name.map(str::to_string),
                created_at: now.naive_utc(),
                revoked_at: None,
            };
            store::insert_binding(conn, &binding)?;
            self.facts.publish(
                conn,
                now,
                &[Change::of(Fact::Binding {
                    platform: platform_id.to_string(),
                    shop: shop_id.to_string(),
                })],
            )?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    format!("client:{platform_id}"),
                    "binding.created",
                    format!("account:{seller_id}"),
                )
                .details(serde_json::json!({ "binding": binding.id, "shop_id": shop_id })),
            )?;
            Ok(Some(shop_seller(
                conn,
                &row,
                &binding,
                now.naive_utc(),
                self.policies,
            )?))
        })?;
        match outcome {
            Some(seller) => {
                self.facts.committed();
                Ok(seller)
            }
            None => {
                let policy = throttle::Policy {
                    max_failures: MAX_WRONG_CODES,
                    base_secs: 30,
                };
                throttle_store::record_failure(&mut conn, &throttle_key, now, policy)?;
                Err(IdentityError::Invalid {
                    field: "binding_code",
                    message: "the binding code is wrong, already used, or expired; ask the seller for a new one".into(),
                })
            }
        }
    }

    /// The seller behind one of the platform's shops.
    pub fn by_shop(&self, platform_id: &str, shop_id: &str) -> Result<ShopSeller, IdentityError> {
        let now = self.clock.now().naive_utc();
        let mut conn = self.pool.get()?;
        let binding = store::binding_by_shop(&mut conn, platform_id, shop_id)?
            .ok_or(IdentityError::NotFound("no seller is bound to this shop"))?;
        let row = store::find(&mut conn, &binding.seller_id)?
            .ok_or(IdentityError::NotFound("no such seller"))?;
        Ok(shop_seller(&mut conn, &row, &binding, now, self.policies)?)
    }

    pub fn list(&self, seller_id: &str) -> Result<Vec<BindingView>, IdentityError> {
        let mut conn = self.pool.get()?;
        let rows = store::bindings_of(&mut conn, seller_id)?;
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            let platform_name: Option<String> = clients::table
                .find(&row.platform_id)
                .select(clients::name)
                .first(&mut conn)
                .optional()?;
            views.push(BindingView {
                id: row.id,
                platform_id: row.platform_id,
                platform_name,
                shop_id: row.shop_id,
                shop_name: row.shop_name,
                created_at: utc(row.created_at),
                revoked_at: row.revoked_at.map(utc),
            });
        }
        Ok(views)
    }

    /// Ends one of the seller's bindings and tells the platform.
    pub fn revoke(&self, seller_id: &str, binding_id: &str) -> Result<(), IdentityError> {
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        let revoked = write_transaction(&mut conn, |conn| {
            let binding = store::revoke_binding(conn, seller_id, binding_id, now.naive_utc())?
                .ok_or(IdentityError::NotFound("no active binding with this id"))?;
            webhooks::queue_webhook(
                conn,
                now,
                &binding.platform_id,
                &BindingRevoked {
                    binding_id: binding.id.clone(),
                    shop_id: binding.shop_id.clone(),
                    seller_id: seller_id.to_string(),
                },
            )?;
            // The shop's allowed listings are withdrawn with the binding.
            let withdrawn = self.facts.publish(
                conn,
                now,
                &[Change::withdrawing(
                    Fact::Binding {
                        platform: binding.platform_id.clone(),
                        shop: binding.shop_id.clone(),
                    },
                    "binding_revoked",
                )],
            )?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    format!("account:{seller_id}"),
                    "binding.revoked",
                    format!("account:{seller_id}"),
                )
                .details(serde_json::json!({ "binding": binding.id, "shop_id": binding.shop_id, "listings_withdrawn": withdrawn })),
            )?;
            Ok::<_, IdentityError>(())
        });
        self.facts.committed();
        revoked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_readable_and_forgiving() {
        let code = new_code().expect("code");
        assert_eq!(code.len(), 11);
        assert!(
            code.chars()
                .all(|c| c == '-' || ALPHABET.contains(&(c as u8)))
        );
        assert_eq!(normalise_code("ab0o1-il x"), "AB00111X");
    }
}
