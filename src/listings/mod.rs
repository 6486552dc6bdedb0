//! The listing gate: a platform asks whether a listing may go live; the answer rests on
//! who the seller really is, the listing's codes and the category's rule. Each decision is
//! stored as evidence (idempotent on platform, listing and content) and returned with a
//! signed attestation.

pub mod attestation;
pub mod cache;
mod decision;
pub mod routes;
mod store;
mod writer;

pub use attestation::Attester;
pub use cache::HotCache;
pub use decision::{CodeFacts, Decision, Reason, SellerFacts, decide};
pub use writer::{DecisionWriter, Stored};

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::clock::Clock;
use crate::codes::ParsedCode;
use crate::codes::store::{self as code_store, CodeRow};
use crate::db::{DbConnection, DbPool};
use crate::identity::{SellerKind, SellerRow, standing};
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

/// The listing gate of a running service: caches, the decision writer, the signer.
pub struct Gate {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub policies: Arc<Policies>,
    pub attester: Arc<Attester>,
    pub issuer: String,
    pub cache: Arc<HotCache>,
    pub writer: DecisionWriter,
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gate")
    }
}

/// What a decision rests on.
struct Facts {
    seller: Option<Arc<SellerRow>>,
    codes: Vec<CodeFacts>,
    /// Every look-up key of every readable code (the registry keys the decision depends on).
    keys: Vec<String>,
    /// A dispute decision blocked this listing.
    blocked: bool,
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

type ParsedCodes = Vec<Result<ParsedCode, crate::codes::CodeError>>;

/// Parsed codes of a request and all their look-up keys.
fn parse_codes(request: &ListingRequest, year: i32) -> (ParsedCodes, Vec<String>) {
    let parsed: ParsedCodes = request
        .codes
        .iter()
        .map(|c| crate::codes::parse(c, year))
        .collect();
    let mut keys: Vec<String> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .flat_map(|p| p.lookup_keys().iter().map(str::to_owned))
        .collect();
    keys.sort();
    keys.dedup();
    (parsed, keys)
}

/// Whether a dispute sanction blocks this listing.
fn is_blocked(blocked: &HashSet<String>, platform: &str, listing: &str) -> bool {
    !blocked.is_empty() && blocked.contains(&HotCache::listing_key(platform, listing))
}

fn verified_business(row: &SellerRow) -> Option<String> {
    (row.business_status == "verified")
        .then(|| row.business_code.clone())
        .flatten()
}

fn seller_facts(row: &SellerRow, now: chrono::NaiveDateTime) -> SellerFacts {
    SellerFacts {
        standing: standing(row, now).0,
        kind: SellerKind::parse(&row.kind),
        business_code: verified_business(row),
        business_lines: row
            .business_lines
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    }
}

/// A decided request, ready to store.
struct Prepared {
    answer: ListingDecision,
    row: store::CheckRow,
    keys: Vec<String>,
}

impl Gate {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, ListingError> + Send + 'static,
    ) -> Result<T, ListingError> {
        crate::telemetry::spawn_blocking(f)
            .await
            .map_err(|e| ListingError::Internal(format!("blocking task failed: {e}")))?
    }

    /// Listings blocked by dispute sanctions: few and rarely changed, so read whole and
    /// only when the cached set has expired (never per listing).
    async fn blocked_listings(&self) -> Result<Arc<HashSet<String>>, ListingError> {
        if let Some(blocked) = self.cache.blocked_listings() {
            return Ok(blocked);
        }
        let (pool, cache) = (self.pool.clone(), self.cache.clone());
        self.blocking(move || {
            let read = store::blocked_listings(&mut *pool.get()?)?;
            Ok(cache.put_blocked_listings(read.into_iter().collect()))
        })
        .await
    }

    /// The facts from the caches alone, if everything needed is cached.
    fn cached_facts(
        &self,
        platform: &str,
        request: &ListingRequest,
        year: i32,
        blocked: &HashSet<String>,
    ) -> Option<Facts> {
        let blocked = is_blocked(blocked, platform, &request.listing_id);
        let seller = self.cache.shop(platform, &request.shop_id)?;
        let business = seller.as_deref().and_then(verified_business);
        let (parsed, keys) = parse_codes(request, year);
        let mut codes = Vec::with_capacity(parsed.len());
        for p in parsed {
            let mut registered = None;
            if let Ok(code) = &p {
                for key in code.lookup_keys() {
                    if let Some(row) = self.cache.code(key)? {
                        registered = Some((*row).clone());
                        break;
                    }
                }
            }
            // A distributor's right to sell is looked up in the database.
            if let (Some(row), Some(business)) = (&registered, &business)
                && &row.owner_code != business
            {
                return None;
            }
            codes.push(CodeFacts {
                parsed: p,
                registered,
                authorised: false,
            });
        }
        Some(Facts {
            seller,
            codes,
            keys,
            blocked,
        })
    }

    /// The facts of several requests from the database (a few queries for all of them),
    /// filling the caches.
    fn load_facts(
        cache: &HotCache,
        conn: &mut DbConnection,
        platform: &str,
        requests: &[ListingRequest],
        now: DateTime<Utc>,
        blocked: &HashSet<String>,
    ) -> Result<Vec<Facts>, ListingError> {
        let mut shops: Vec<&str> = requests.iter().map(|r| r.shop_id.as_str()).collect();
        shops.sort_unstable();
        shops.dedup();
        let sellers = crate::identity::bound_sellers(conn, platform, &shops)?;
        for shop in &shops {
            cache.put_shop(platform, shop, sellers.get(*shop).cloned());
        }
        let parsed: Vec<_> = requests
            .iter()
            .map(|r| parse_codes(r, now.year()))
            .collect();
        let mut all_keys: Vec<String> = parsed
            .iter()
            .flat_map(|(_, keys)| keys.iter().cloned())
            .collect();
        all_keys.sort_unstable();
        all_keys.dedup();
        let found: std::collections::HashMap<String, CodeRow> =
            code_store::find_codes(conn, &all_keys)?
                .into_iter()
                .map(|row| (row.code_key.clone(), row))
                .collect();
        for key in &all_keys {
            cache.put_code(key, found.get(key).cloned());
        }
        let mut facts = Vec::with_capacity(requests.len());
        for (request, (codes_parsed, keys)) in requests.iter().zip(parsed) {
            let seller = sellers.get(&request.shop_id).cloned().map(Arc::new);
            let business = seller.as_deref().and_then(verified_business);
            let mut codes = Vec::with_capacity(codes_parsed.len());
            for p in codes_parsed {
                let registered = p
                    .as_ref()
                    .ok()
                    .and_then(|code| code.lookup_keys().iter().find_map(|k| found.get(k)))
                    .cloned();
                let authorised = match (&registered, business.as_deref(), &p) {
                    (Some(row), Some(distributor), Ok(code)) if row.owner_code != distributor => {
                        code_store::is_authorised(
                            conn,
                            &code.lookup_keys().to_vec(),
                            distributor,
                            now.naive_utc(),
                        )?
                    }
                    _ => false,
                };
                codes.push(CodeFacts {
                    parsed: p,
                    registered,
                    authorised,
                });
            }
            facts.push(Facts {
                seller,
                codes,
                keys,
                blocked: is_blocked(blocked, platform, &request.listing_id),
            });
        }
        Ok(facts)
    }

    fn prepare(
        &self,
        platform: &str,
        request: &ListingRequest,
        hash: String,
        facts: Facts,
        now: DateTime<Utc>,
    ) -> Result<Prepared, ListingError> {
        let rule = self.policies.listing.rule(&request.category);
        let seller = facts
            .seller
            .as_ref()
            .map(|row| seller_facts(row, now.naive_utc()));
        let (mut decision, mut reasons) = decide(
            rule,
            seller.as_ref(),
            &facts.codes,
            request.origin.as_deref(),
            now.date_naive(),
        );
        if facts.blocked {
            decision = Decision::Deny;
            reasons.insert(
                0,
                Reason {
                    code: "listing_blocked".into(),
                    message: "an officer's decision on a dispute blocked this listing".into(),
                    field: Some("listing_id".into()),
                    effect: Decision::Deny,
                },
            );
        }
        let id = uuid::Uuid::now_v7().to_string();
        let codes: Vec<CheckedCode> = request
            .codes
            .iter()
            .zip(&facts.codes)
            .map(|(input, f)| CheckedCode {
                input: input.clone(),
                canonical: f.parsed.as_ref().ok().map(|c| c.canonical().to_owned()),
                status: f
                    .registered
                    .as_ref()
                    .map_or("unregistered".to_string(), |r| r.status.clone()),
                owner: f.registered.as_ref().map(|r| r.owner_code.clone()),
                product_name: f.registered.as_ref().map(|r| r.product_name.clone()),
            })
            .collect();
        let seller_id = facts.seller.as_ref().map(|r| r.account_id.clone());
        let claims = AttestationClaims {
            iss: &self.issuer,
            sub: &id,
            iat: now.timestamp(),
            platform,
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
            platform_id: platform.to_string(),
            listing_id: request.listing_id.clone(),
            content_hash: hash,
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
        Ok(Prepared {
            answer,
            row,
            keys: facts.keys,
        })
    }

    /// Decides one listing (or returns the stored decision for the same content).
    pub async fn check(
        &self,
        platform: &str,
        request: ListingRequest,
    ) -> Result<ListingDecision, ListingError> {
        check_request(&request, "")?;
        let mut decided = self.check_all(platform, vec![request]).await?;
        decided
            .pop()
            .ok_or_else(|| ListingError::Internal("no decision".into()))
    }

    /// Decides up to [`MAX_BATCH`] listings, in order.
    pub async fn check_batch(
        &self,
        platform: &str,
        requests: Vec<ListingRequest>,
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
        self.check_all(platform, requests).await
    }

    async fn check_all(
        &self,
        platform: &str,
        requests: Vec<ListingRequest>,
    ) -> Result<Vec<ListingDecision>, ListingError> {
        let now = self.clock.now();
        let blocked = self.blocked_listings().await?;
        let mut facts: Vec<Option<Facts>> = requests
            .iter()
            .map(|r| self.cached_facts(platform, r, now.year(), &blocked))
            .collect();
        let missing: Vec<usize> = (0..requests.len())
            .filter(|&i| facts[i].is_none())
            .collect();
        self.metrics.observe_listing_facts(
            (requests.len() - missing.len()) as u64,
            missing.len() as u64,
        );
        if !missing.is_empty() {
            let (pool, cache, owner, blocked) = (
                self.pool.clone(),
                self.cache.clone(),
                platform.to_string(),
                blocked.clone(),
            );
            let wanted: Vec<ListingRequest> =
                missing.iter().map(|&i| requests[i].clone()).collect();
            let loaded = self
                .blocking(move || {
                    let mut conn = pool.get()?;
                    Gate::load_facts(&cache, &mut conn, &owner, &wanted, now, &blocked)
                })
                .await?;
            for (i, f) in missing.into_iter().zip(loaded) {
                facts[i] = Some(f);
            }
        }
        let mut pending = Vec::with_capacity(requests.len());
        for (request, f) in requests.iter().zip(facts) {
            let f = f.ok_or_else(|| ListingError::Internal("facts missing".into()))?;
            let hash = content_hash(request);
            let prepared = self.prepare(platform, request, hash.clone(), f, now)?;
            let stored = self.writer.submit(prepared.row, prepared.keys);
            pending.push((prepared.answer, hash, stored));
        }
        let mut answers = Vec::with_capacity(pending.len());
        for (answer, hash, stored) in pending {
            match stored.await.map_err(ListingError::Internal)? {
                Stored::Written => answers.push(answer),
                Stored::AlreadyDecided => {
                    let (pool, owner, listing) = (
                        self.pool.clone(),
                        platform.to_string(),
                        answer.listing_id.clone(),
                    );
                    let existing = self
                        .blocking(move || {
                            let mut conn = pool.get()?;
                            store::find_same(&mut conn, &owner, &listing, &hash)?.ok_or_else(|| {
                                ListingError::Internal("stored decision not found".into())
                            })
                        })
                        .await?;
                    answers.push(decoded(&existing)?);
                }
            }
        }
        Ok(answers)
    }

    /// A stored decision of this platform.
    pub async fn get(
        &self,
        platform: &str,
        id: &str,
    ) -> Result<Option<ListingDecision>, ListingError> {
        let (pool, platform, id) = (self.pool.clone(), platform.to_string(), id.to_string());
        self.blocking(move || {
            let mut conn = pool.get()?;
            store::find(&mut conn, &platform, &id)?
                .map(|r| decoded(&r))
                .transpose()
        })
        .await
    }
}

fn decoded(row: &store::CheckRow) -> Result<ListingDecision, ListingError> {
    serde_json::from_str(&row.reasons)
        .map_err(|e| ListingError::Internal(format!("stored decision {}: {e}", row.id)))
}

/// Withdraws the decisions in force that rested on `code_key` (so that asking again
/// decides anew) and tells each platform whose listing was allowed. Call inside the
/// transaction that changed the code.
pub fn withdraw_for_code(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    code_key: &str,
    reason: &str,
) -> diesel::QueryResult<usize> {
    let affected = store::in_force_for_code(conn, code_key)?;
    withdraw(
        conn,
        now,
        affected,
        reason,
        serde_json::json!({ "code": code_key }),
    )
}

/// Withdraws the decisions in force on a platform's listing, telling the platform if it
/// was allowed.
pub fn withdraw_listing(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    platform: &str,
    listing: &str,
    reason: &str,
) -> diesel::QueryResult<usize> {
    let affected = store::in_force_for_listing(conn, platform, listing)?;
    withdraw(
        conn,
        now,
        affected,
        reason,
        serde_json::json!({ "listing_id": listing }),
    )
}

/// Registry keys of the codes the decisions on a platform's listing rested on.
pub fn codes_of_listing(
    conn: &mut DbConnection,
    platform: &str,
    listing: &str,
) -> diesel::QueryResult<Vec<String>> {
    store::codes_of_listing(conn, platform, listing)
}

/// The newest decision on a platform's listing, as answered: (check id, codes as sent).
pub fn latest_decision(
    conn: &mut DbConnection,
    platform: &str,
    listing: &str,
) -> diesel::QueryResult<Option<(String, Vec<String>)>> {
    store::latest_for_listing(conn, platform, listing)?
        .map(|row| {
            // A stored decision that cannot be read is an error, not a decision without codes.
            let decision: ListingDecision = serde_json::from_str(&row.reasons)
                .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
            Ok((
                row.id,
                decision.codes.into_iter().map(|c| c.input).collect(),
            ))
        })
        .transpose()
}

/// Withdraws the decisions in force on a seller's listings (suspension, reinstatement),
/// telling each platform whose listing was allowed.
pub fn withdraw_for_seller(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    seller_id: &str,
    reason: &str,
) -> diesel::QueryResult<usize> {
    let affected = store::in_force_for_seller(conn, seller_id)?;
    withdraw(
        conn,
        now,
        affected,
        reason,
        serde_json::json!({ "seller_id": seller_id }),
    )
}

/// Marks decisions withdrawn; a listing that was allowed is revoked at its platform
/// (`listing.revoked`). Returns how many allowed listings were revoked.
fn withdraw(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    affected: Vec<store::InForce>,
    reason: &str,
    cause: serde_json::Value,
) -> diesel::QueryResult<usize> {
    let ids: Vec<String> = affected.iter().map(|d| d.id.clone()).collect();
    for chunk in ids.chunks(code_store::CHUNK) {
        store::mark_withdrawn(conn, chunk, now.naive_utc())?;
    }
    let mut revoked = 0;
    for d in affected
        .iter()
        .filter(|d| d.decision == Decision::Allow.as_str())
    {
        webhooks::queue_webhook(
            conn,
            now,
            &d.platform_id,
            "listing.revoked",
            serde_json::json!({ "listing_id": d.listing_id, "shop_id": d.shop_id, "check_id": d.id, "reason": reason, "cause": cause }),
        )?;
        revoked += 1;
    }
    Ok(revoked)
}
