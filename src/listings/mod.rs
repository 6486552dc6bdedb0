//! The listing gate: a platform asks whether a listing may go live; the answer rests on
//! who the seller really is, the listing's codes and the category's rule. Each decision is
//! stored as evidence (idempotent on platform, listing and content) and returned with a
//! signed attestation.

pub mod attestation;
mod decision;
pub mod routes;
mod store;

pub use attestation::Attester;
pub use decision::{CodeFacts, Decision, Reason, SellerFacts, decide};

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::clock::Clock;
use crate::codes::store as code_store;
use crate::db::{DbConnection, DbPool, write_transaction};
use crate::identity::{SellerKind, standing};
use crate::notify::webhooks;
use crate::policies::Policies;

/// Listings in one batch request at most.
pub const MAX_BATCH: usize = 1000;

/// What a platform asks about one listing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListingRequest {
    /// The platform's id of the shop (bound to a seller).
    pub shop_id: String,
    /// The platform's id of the listing.
    pub listing_id: String,
    /// Category id (see `policies/listing.toml`); unknown ids fall back to the default.
    pub category: String,
    pub title: String,
    /// Traceability codes on the product, in any accepted form.
    #[serde(default)]
    pub codes: Vec<String>,
    /// Claimed origin: province code or ISO 3166 alpha-2 country.
    #[serde(default)]
    pub origin: Option<String>,
}

/// One code as the decision saw it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckedCode {
    pub input: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    /// `active`, `recalled`, `revoked`, or `unregistered`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
}

/// The answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListingDecision {
    pub id: String,
    pub listing_id: String,
    pub shop_id: String,
    pub decision: Decision,
    pub reasons: Vec<Reason>,
    /// Category whose rule applied (after falling back).
    pub category: String,
    /// Version (hash) of the policy files that applied.
    pub policy_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<String>,
    pub codes: Vec<CheckedCode>,
    pub created_at: DateTime<Utc>,
    /// Compact JWS (EdDSA) of this decision; verify with `/.well-known/jwks.json`.
    pub attestation: String,
}

/// What the attestation says.
#[derive(Debug, Serialize)]
struct AttestationClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    iat: i64,
    platform: &'a str,
    listing_id: &'a str,
    shop_id: &'a str,
    seller_id: Option<&'a str>,
    decision: Decision,
    reasons: Vec<&'a str>,
    codes: Vec<&'a str>,
    policy_version: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
    #[error("{0}")]
    Internal(String),
}

pub struct ListingChecks<'a> {
    pub pool: &'a DbPool,
    pub clock: &'a dyn Clock,
    pub policies: &'a Policies,
    pub attester: &'a Attester,
    pub issuer: &'a str,
}

fn content_hash(request: &ListingRequest) -> String {
    let canonical = serde_json::json!([
        request.shop_id,
        request.category,
        request.title,
        request.codes,
        request.origin
    ]);
    Sha256::digest(canonical.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn check_request(request: &ListingRequest, prefix: &str) -> Result<(), ListingError> {
    let bad = |field: &str, message: &str| ListingError::Invalid {
        field: format!("{prefix}{field}"),
        message: message.to_string(),
    };
    for (field, value, max) in [
        ("shop_id", &request.shop_id, 128),
        ("listing_id", &request.listing_id, 128),
        ("category", &request.category, 100),
        ("title", &request.title, 500),
    ] {
        if value.trim().is_empty() || value.chars().count() > max {
            return Err(bad(field, &format!("must be 1 to {max} characters")));
        }
    }
    if request.codes.len() > 50 {
        return Err(bad("codes", "at most 50 codes per listing"));
    }
    Ok(())
}

impl ListingChecks<'_> {
    /// Decides one listing (or returns the stored decision for the same content).
    pub fn check(
        &self,
        platform_id: &str,
        request: &ListingRequest,
    ) -> Result<ListingDecision, ListingError> {
        check_request(request, "")?;
        let mut conn = self.pool.get()?;
        self.check_on(&mut conn, platform_id, request)
    }

    /// Decides up to [`MAX_BATCH`] listings, in order.
    pub fn check_batch(
        &self,
        platform_id: &str,
        requests: &[ListingRequest],
    ) -> Result<Vec<ListingDecision>, ListingError> {
        if requests.is_empty() || requests.len() > MAX_BATCH {
            return Err(ListingError::Invalid {
                field: "listings".into(),
                message: format!("send 1 to {MAX_BATCH} listings"),
            });
        }
        for (i, request) in requests.iter().enumerate() {
            check_request(request, &format!("listings[{i}]."))?;
        }
        let mut conn = self.pool.get()?;
        requests
            .iter()
            .map(|r| self.check_on(&mut conn, platform_id, r))
            .collect()
    }

    fn check_on(
        &self,
        conn: &mut DbConnection,
        platform_id: &str,
        request: &ListingRequest,
    ) -> Result<ListingDecision, ListingError> {
        let hash = content_hash(request);
        if let Some(stored) = store::find_same(conn, platform_id, &request.listing_id, &hash)? {
            return decoded(&stored);
        }
        let now = self.clock.now();
        let today = now.date_naive();
        let rule = self.policies.listing.rule(&request.category);

        let binding = crate::identity::binding_seller(conn, platform_id, &request.shop_id)?;
        let seller = binding.as_ref().map(|row| SellerFacts {
            standing: standing(row, now.naive_utc()).0,
            kind: SellerKind::parse(&row.kind),
            business_code: (row.business_status == "verified")
                .then(|| row.business_code.clone())
                .flatten(),
            business_lines: row
                .business_lines
                .as_deref()
                .unwrap_or("")
                .split(',')
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        });

        let parsed: Vec<_> = request
            .codes
            .iter()
            .map(|c| crate::codes::parse(c, now.year()))
            .collect();
        let all_keys: Vec<String> = parsed
            .iter()
            .filter_map(|p| p.as_ref().ok())
            .flat_map(|p| p.lookup_keys.iter().cloned())
            .collect();
        let registered = code_store::find_codes(conn, &all_keys)?;
        let mut facts = Vec::with_capacity(parsed.len());
        for p in parsed {
            let found = p
                .as_ref()
                .ok()
                .and_then(|code| {
                    code.lookup_keys
                        .iter()
                        .find_map(|k| registered.iter().find(|r| &r.code_key == k))
                })
                .cloned();
            let authorised = match (
                &found,
                seller.as_ref().and_then(|s| s.business_code.as_deref()),
                &p,
            ) {
                (Some(row), Some(distributor), Ok(code)) if row.owner_code != distributor => {
                    code_store::is_authorised(
                        conn,
                        &code.lookup_keys,
                        distributor,
                        now.naive_utc(),
                    )?
                }
                _ => false,
            };
            facts.push(CodeFacts {
                parsed: p,
                registered: found,
                authorised,
            });
        }
        let (decision, reasons) = decide(
            rule,
            seller.as_ref(),
            &facts,
            request.origin.as_deref(),
            today,
        );

        let id = uuid::Uuid::now_v7().to_string();
        let codes: Vec<CheckedCode> = request
            .codes
            .iter()
            .zip(&facts)
            .map(|(input, f)| CheckedCode {
                input: input.clone(),
                canonical: f.parsed.as_ref().ok().map(|c| c.canonical.clone()),
                status: f
                    .registered
                    .as_ref()
                    .map_or("unregistered".to_string(), |r| r.status.clone()),
                owner: f.registered.as_ref().map(|r| r.owner_code.clone()),
                product_name: f.registered.as_ref().map(|r| r.product_name.clone()),
            })
            .collect();
        let seller_id = binding.as_ref().map(|r| r.account_id.clone());
        let claims = AttestationClaims {
            iss: self.issuer,
            sub: &id,
            iat: now.timestamp(),
            platform: platform_id,
            listing_id: &request.listing_id,
            shop_id: &request.shop_id,
            seller_id: seller_id.as_deref(),
            decision,
            reasons: reasons.iter().map(|r| r.code.as_str()).collect(),
            codes: codes
                .iter()
                .filter_map(|c| c.canonical.as_deref())
                .collect(),
            policy_version: &self.policies.version,
        };
        let attestation = self
            .attester
            .sign(&claims)
            .map_err(|e| ListingError::Internal(e.to_string()))?;
        let answer = ListingDecision {
            id: id.clone(),
            listing_id: request.listing_id.clone(),
            shop_id: request.shop_id.clone(),
            decision,
            reasons,
            category: rule.category.clone(),
            policy_version: self.policies.version.clone(),
            seller_id,
            codes,
            created_at: DateTime::from_naive_utc_and_offset(now.naive_utc(), Utc),
            attestation: attestation.clone(),
        };
        let row = store::CheckRow {
            id,
            platform_id: platform_id.to_string(),
            listing_id: request.listing_id.clone(),
            content_hash: hash.clone(),
            shop_id: request.shop_id.clone(),
            seller_id: answer.seller_id.clone(),
            category: answer.category.clone(),
            decision: decision.as_str().to_string(),
            reasons: serde_json::to_string(&answer)
                .map_err(|e| ListingError::Internal(e.to_string()))?,
            policy_version: answer.policy_version.clone(),
            attestation,
            created_at: now.naive_utc(),
            withdrawn_at: None,
        };
        let mut keys = all_keys;
        keys.sort();
        keys.dedup();
        let stored = write_transaction(conn, |conn| store::insert(conn, &row, &keys));
        match stored {
            Ok(()) => Ok(answer),
            // The same listing content decided concurrently: answer with the stored one.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {
                let existing = store::find_same(conn, platform_id, &request.listing_id, &hash)?
                    .ok_or_else(|| {
                        ListingError::Internal("decision vanished after a conflict".into())
                    })?;
                decoded(&existing)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A stored decision of this platform.
    pub fn get(
        &self,
        platform_id: &str,
        id: &str,
    ) -> Result<Option<ListingDecision>, ListingError> {
        let mut conn = self.pool.get()?;
        store::find(&mut conn, platform_id, id)?
            .map(|r| decoded(&r))
            .transpose()
    }
}

fn decoded(row: &store::CheckRow) -> Result<ListingDecision, ListingError> {
    serde_json::from_str(&row.reasons)
        .map_err(|e| ListingError::Internal(format!("stored decision {}: {e}", row.id)))
}

/// Withdraws every allowed listing that rested on `code_key` and tells each platform.
/// Call inside the transaction that changed the code.
pub fn withdraw_for_code(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    code_key: &str,
    reason: &str,
) -> diesel::QueryResult<usize> {
    let affected = store::allowed_for_code(conn, code_key)?;
    withdraw(
        conn,
        now,
        affected,
        reason,
        serde_json::json!({ "code": code_key }),
    )
}

/// Withdraws every allowed listing of a seller and tells each platform.
pub fn withdraw_for_seller(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    seller_id: &str,
    reason: &str,
) -> diesel::QueryResult<usize> {
    let affected = store::allowed_for_seller(conn, seller_id)?;
    withdraw(
        conn,
        now,
        affected,
        reason,
        serde_json::json!({ "seller_id": seller_id }),
    )
}

fn withdraw(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    affected: Vec<(String, String, String, String)>,
    reason: &str,
    cause: serde_json::Value,
) -> diesel::QueryResult<usize> {
    let ids: Vec<String> = affected.iter().map(|(id, ..)| id.clone()).collect();
    for chunk in ids.chunks(code_store::CHUNK) {
        store::mark_withdrawn(conn, chunk, now.naive_utc())?;
    }
    for (check_id, platform, listing, shop) in &affected {
        webhooks::queue_webhook(
            conn,
            now,
            platform,
            "listing.revoked",
            serde_json::json!({ "listing_id": listing, "shop_id": shop, "check_id": check_id, "reason": reason, "cause": cause }),
        )?;
    }
    Ok(affected.len())
}
