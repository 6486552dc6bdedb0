//! What the listing gate needs to know of sellers and shops: narrow projections of the
//! seller and binding tables, never the sealed identity. The gate loads them whole at start
//! and again for each seller or shop a published change names.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{SellerKind, Standing, Step, standing_of};
use crate::db::DbConnection;
use crate::db::schema::{seller_bindings, sellers};
use crate::facts::{Change, Fact};

/// A seller as a listing decision sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellerFacts {
    pub seller_id: String,
    pub kind: SellerKind,
    pub suspended: bool,
    pub identity: Step,
    pub business: Step,
    /// The enterprise or household code, once the business is verified.
    pub business_code: Option<String>,
    /// VSIC codes of the verified business's registered lines.
    pub business_lines: Vec<String>,
    pub verification_expires_at: Option<NaiveDateTime>,
}

impl SellerFacts {
    /// Standing at `now`.
    pub fn standing(&self, now: NaiveDateTime) -> Standing {
        standing_of(
            self.suspended,
            self.identity,
            self.business,
            self.verification_expires_at,
            now,
        )
        .0
    }
}

impl SellerFacts {
    /// The facts of a full seller row.
    pub fn of_row(row: &super::SellerRow) -> Self {
        SellerFacts::from(Row {
            account_id: row.account_id.clone(),
            kind: row.kind.clone(),
            status: row.status.clone(),
            identity_status: row.identity_status.clone(),
            business_status: row.business_status.clone(),
            business_code: row.business_code.clone(),
            business_lines: row.business_lines.clone(),
            verification_expires_at: row.verification_expires_at,
        })
    }
}

/// The change to publish when a seller row changes from `before` to `after`, if the gate's
/// facts changed at all. It withdraws what allowed decisions rested on when the standing
/// worsened or the business behind the seller changed.
pub fn seller_change(
    before: Option<&super::SellerRow>,
    after: &super::SellerRow,
    now: NaiveDateTime,
) -> Option<Change> {
    let new = SellerFacts::of_row(after);
    let fact = Fact::Seller(after.account_id.clone());
    let Some(old) = before.map(SellerFacts::of_row) else {
        return Some(Change::of(fact));
    };
    if old == new {
        return None;
    }
    let (was, is) = (old.standing(now), new.standing(now));
    let rank = |s: Standing| match s {
        Standing::Verified => 2,
        Standing::PendingReview => 1,
        _ => 0,
    };
    let reason = if rank(is) < rank(was) {
        Some(match is {
            Standing::Suspended => "seller_suspended",
            Standing::Expired => "verification_expired",
            Standing::PendingReview => "seller_pending_review",
            _ => "seller_not_verified",
        })
    } else if old.business_code != new.business_code
        || old.business_lines != new.business_lines
        || old.kind != new.kind
    {
        Some("seller_changed")
    } else {
        None
    };
    Some(match reason {
        Some(reason) => Change::withdrawing(fact, reason),
        None => Change::of(fact),
    })
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = sellers)]
struct Row {
    account_id: String,
    kind: String,
    status: String,
    identity_status: String,
    business_status: String,
    business_code: Option<String>,
    business_lines: Option<String>,
    verification_expires_at: Option<NaiveDateTime>,
}

impl From<Row> for SellerFacts {
    fn from(row: Row) -> Self {
        let business = Step::parse(&row.business_status);
        let verified = business == Step::Verified;
        SellerFacts {
            kind: SellerKind::parse(&row.kind),
            suspended: row.status == super::SUSPENDED,
            identity: Step::parse(&row.identity_status),
            business,
            business_code: row.business_code.filter(|_| verified),
            business_lines: row
                .business_lines
                .filter(|_| verified)
                .map(|lines| {
                    lines
                        .split(',')
                        .filter(|l| !l.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            verification_expires_at: row.verification_expires_at,
            seller_id: row.account_id,
        }
    }
}

/// Every seller.
pub fn all_sellers(conn: &mut DbConnection) -> QueryResult<Vec<SellerFacts>> {
    sellers::table
        .select(Row::as_select())
        .load_iter::<Row, diesel::connection::DefaultLoadingMode>(conn)?
        .map(|row| row.map(SellerFacts::from))
        .collect()
}

/// The sellers with these ids (absent ones are left out).
pub fn sellers_by_id(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<Vec<SellerFacts>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        found.extend(
            sellers::table
                .filter(sellers::account_id.eq_any(chunk))
                .select(Row::as_select())
                .load::<Row>(conn)?
                .into_iter()
                .map(SellerFacts::from),
        );
    }
    Ok(found)
}

/// A platform's shop bound to a seller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopBinding {
    pub platform_id: String,
    pub shop_id: String,
    pub seller_id: String,
}

/// Every binding in force.
pub fn all_bindings(conn: &mut DbConnection) -> QueryResult<Vec<ShopBinding>> {
    seller_bindings::table
        .filter(seller_bindings::revoked_at.is_null())
        .select((
            seller_bindings::platform_id,
            seller_bindings::shop_id,
            seller_bindings::seller_id,
        ))
        .load_iter::<(String, String, String), diesel::connection::DefaultLoadingMode>(conn)?
        .map(|row| {
            row.map(|(platform_id, shop_id, seller_id)| ShopBinding {
                platform_id,
                shop_id,
                seller_id,
            })
        })
        .collect()
}

/// The shops bound to a seller.
pub fn shops_of(conn: &mut DbConnection, seller_id: &str) -> QueryResult<Vec<ShopBinding>> {
    Ok(seller_bindings::table
        .filter(seller_bindings::seller_id.eq(seller_id))
        .filter(seller_bindings::revoked_at.is_null())
        .select((seller_bindings::platform_id, seller_bindings::shop_id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .map(|(platform_id, shop_id)| ShopBinding {
            platform_id,
            shop_id,
            seller_id: seller_id.to_string(),
        })
        .collect())
}

/// The seller bound to a platform's shop, if any.
pub fn bound_seller(
    conn: &mut DbConnection,
    platform_id: &str,
    shop_id: &str,
) -> QueryResult<Option<String>> {
    seller_bindings::table
        .filter(seller_bindings::platform_id.eq(platform_id))
        .filter(seller_bindings::shop_id.eq(shop_id))
        .filter(seller_bindings::revoked_at.is_null())
        .select(seller_bindings::seller_id)
        .first(conn)
        .optional()
}

/// A verified business as the resolver shows its owner: (name, province), if verified.
pub type OwnerBusiness = Option<(Option<String>, Option<String>)>;

/// Verified businesses by enterprise or household code, remembered as the resolver asks for
/// them (code owners are few) and forgotten whenever any seller changes: the follower
/// applies that change before it counts as applied, so nothing older is answered after.
#[derive(Debug, Default)]
pub struct VerifiedBusinesses {
    /// Bumped by every forgetting; a read from the database is remembered only if no
    /// change came in between.
    generation: std::sync::atomic::AtomicU64,
    known: std::sync::RwLock<std::collections::HashMap<String, OwnerBusiness>>,
}

/// More owners than this are forgotten at once rather than tracked one by one.
const MAX_REMEMBERED_BUSINESSES: usize = 10_000;

impl VerifiedBusinesses {
    pub fn new() -> Self {
        Self::default()
    }

    /// The generation to hand back to [`VerifiedBusinesses::remember`] with what a
    /// database read found.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn get(&self, code: &str) -> Option<OwnerBusiness> {
        self.known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(code)
            .cloned()
    }

    pub fn remember(&self, generation: u64, code: &str, facts: OwnerBusiness) {
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        if self.generation() != generation {
            return;
        }
        if known.len() >= MAX_REMEMBERED_BUSINESSES {
            known.clear();
        }
        known.insert(code.to_string(), facts);
    }

    fn forget(&self) {
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        known.clear();
    }
}

impl crate::facts::Projection for VerifiedBusinesses {
    fn load(&self, _conn: &mut DbConnection) -> QueryResult<()> {
        self.forget();
        Ok(())
    }

    fn apply(&self, _conn: &mut DbConnection, fact: &Fact) -> QueryResult<()> {
        if matches!(fact, Fact::Seller(_)) {
            self.forget();
        }
        Ok(())
    }
}

/// A verified business as others may name it (by its code): its name and province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessFacts {
    pub code: String,
    pub name: Option<String>,
    pub province: Option<String>,
    /// A household business, which trades under its owner's name.
    pub household: bool,
}

/// The verified businesses among these enterprise codes (one each, whichever seller of it).
pub fn verified_businesses(
    conn: &mut DbConnection,
    codes: &[&str],
) -> QueryResult<Vec<BusinessFacts>> {
    let mut found: Vec<BusinessFacts> = Vec::new();
    for chunk in codes.chunks(500) {
        type Row = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sellers::table
            .filter(sellers::business_code.eq_any(chunk))
            .filter(sellers::business_status.eq("verified"))
            .select((
                sellers::business_code,
                sellers::business_name,
                sellers::business_province,
                sellers::business_kind,
            ))
            .load(conn)?;
        for (code, name, province, kind) in rows {
            let Some(code) = code else { continue };
            if !found.iter().any(|b| b.code == code) {
                found.push(BusinessFacts {
                    code,
                    name,
                    province,
                    household: kind.as_deref() == Some("household_business"),
                });
            }
        }
    }
    Ok(found)
}

/// The verified business of a seller's account, if any.
pub fn business_of_seller(conn: &mut DbConnection, seller_id: &str) -> QueryResult<Option<String>> {
    let code: Option<Option<String>> = sellers::table
        .filter(sellers::account_id.eq(seller_id))
        .filter(sellers::business_status.eq("verified"))
        .select(sellers::business_code)
        .first(conn)
        .optional()?;
    Ok(code.flatten())
}
