//! The listing gate: a platform asks whether a listing may go live; the answer rests on
//! who the seller really is, the listing's codes and the category's rule.
//!
//! Decisions are made on the worker that received the request, from the gate's in-memory
//! read model ([`model`]), and stored durably by the group-committing writer ([`writer`])
//! before they are answered. A stored decision is replayed only while the facts it rested
//! on are unchanged (the replay key covers their versions); a change that takes a fact
//! away withdraws the decisions that rested on it ([`withdraw`]), and a withdrawn decision
//! reads as withdrawn everywhere.

pub mod attestation;
mod decision;
pub mod model;
mod record;
pub mod routes;
pub(crate) mod store;
mod withdraw;
mod writer;

pub use attestation::Attester;
pub use decision::{
    Claims as ListingClaims, CodeFacts, Custody, Decision, Reason, ReasonCode, RegisteredCode,
    RuleUsed, SellerStanding, decide,
};
pub use model::{BlockedListings, GateModel};
pub use record::digest_text;
pub use withdraw::Withdrawals;
pub use writer::{DecisionWriter, WriteError};

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Clock;
use crate::codes::facts::CodeState;
use crate::codes::{Level, ParsedCode};
use crate::db::{DbConnection, DbPool, write_transaction};
use crate::facts::FactBus;
use crate::identity::Standing;
use crate::policies::Policies;
use record::{BatchClaims, Claims, FactVersions, Record};
use writer::{Pending, Stored, Watch};

/// Listings in one batch request at most.
pub const MAX_BATCH: usize = 1000;
/// Codes on one listing at most.
pub const MAX_CODES: usize = 50;
/// Rounds of deciding again when facts change while a decision is stored.
const MAX_ROUNDS: usize = 4;

/// Longest text fields of a listing request, in characters; the schema states the same
/// (a test compares them).
const FIELD_LIMITS: [(&str, usize); 4] = [
    ("shop_id", 128),
    ("listing_id", 128),
    ("category", 100),
    ("title", 500),
];

/// What a platform asks about one listing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "shop_id": "shop-senviet",
    "listing_id": "demo-1",
    "category": "cosmetics",
    "title": "Sữa rửa mặt trà xanh",
    "codes": ["(01)08938500001017(10)LOT2026A"],
    "origin": "79"
}))]
pub struct ListingRequest {
    /// The platform's id of the shop (bound to a seller).
    #[schema(min_length = 1, max_length = 128)]
    pub shop_id: String,
    /// The platform's id of the listing.
    #[schema(min_length = 1, max_length = 128)]
    pub listing_id: String,
    /// Category id (see `policies/listing.toml`), in any case; an id the policy does not
    /// list gets the policy's `unknown_category` outcome with reason `category_unknown`.
    #[schema(min_length = 1, max_length = 100)]
    pub category: String,
    #[schema(min_length = 1, max_length = 500)]
    pub title: String,
    /// Traceability codes on the product, in any accepted form (at most 50, each at most
    /// 512 bytes).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub codes: Vec<String>,
    /// Claimed origin: ISO 3166-1 alpha-2 country (`VN`, `CN`) or Vietnamese province
    /// code (`79`; the codes of the 63 provinces before July 2025 are read as the province
    /// they are part of now).
    #[serde(default)]
    pub origin: Option<String>,
    /// Units offered. Where the category asks resellers for a chain step, more than the
    /// seller's business received gets `quantity_exceeds_received` (review).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u64>,
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

/// Where a decision stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionState {
    /// The platform may rely on it until `expires_at`.
    InForce,
    /// A fact it rested on was taken away (a recall, a suspension, an unbinding, a
    /// sanction): see `withdrawn_at` and `withdrawn_reason`.
    Withdrawn,
    /// Its attestation's time ran out: ask again.
    Expired,
    /// A newer decision on the same listing replaced it (`superseded_by`).
    Superseded,
}

/// The answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListingDecision {
    pub id: String,
    pub listing_id: String,
    pub shop_id: String,
    pub decision: Decision,
    pub reasons: Vec<Reason>,
    /// Category whose rule applied.
    pub category: String,
    /// Version (hash) of the policy files that applied.
    pub policy_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<String>,
    pub codes: Vec<CheckedCode>,
    pub created_at: DateTime<Utc>,
    /// Until when the decision and its attestation may be relied on.
    pub expires_at: DateTime<Utc>,
    /// SHA-256 (hex) of the listing content the decision is about.
    pub content_sha256: String,
    pub state: DecisionState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Machine code of why it was withdrawn (`code_recalled`, `seller_suspended`,
    /// `binding_revoked`, `listing_blocked`, `expired`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
    /// Compact JWS (EdDSA), verifiable with `/.well-known/jwks.json`: this decision's own
    /// for a single check; for a decision of a batch, the batch's (when read alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    /// For a decision of a batch: the batch whose attestation lists it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
    /// For a decision of a batch: base64url SHA-256 of its digest text (README, "Batch
    /// attestations"), as listed in the batch attestation's `decisions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Decisions of a batch, with the attestation over those decided now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchDecisions {
    /// One decision per listing, in order.
    pub decisions: Vec<ListingDecision>,
    /// Compact JWS (EdDSA) whose `decisions` claim lists the digest of every decision made
    /// by this request, in order; decisions replayed from earlier requests carry their
    /// own attestation or batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
}

/// What anyone holding an attestation may learn of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttestationStatus {
    pub id: String,
    pub state: DecisionState,
    pub decision: Decision,
    pub expires_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn_reason: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("the listing gate cannot store decisions now")]
    Unavailable(#[source] Arc<WriteError>),
    #[error("the listing gate's facts kept changing; ask again")]
    Unsettled,
    #[error("the listing gate has not loaded its facts yet")]
    NotReady,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
    #[error("stored decision {id} cannot be read")]
    Unreadable {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("an attestation could not be made")]
    Signing(#[source] serde_json::Error),
    #[error("a blocking task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// The listing gate of a running service.
pub struct Gate {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub policies: Arc<Policies>,
    pub attester: Arc<Attester>,
    pub issuer: String,
    pub model: Arc<GateModel>,
    pub writer: DecisionWriter,
    pub facts: Arc<FactBus>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gate")
    }
}

/// The bus every process publishes fact changes through: the gate withdraws what a change
/// takes away, in the change's transaction.
pub fn fact_bus() -> Arc<FactBus> {
    Arc::new(FactBus::with(vec![Arc::new(Withdrawals)]))
}

/// Whether `text` holds a control character (which no id, title or code may).
fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

impl Gate {
    /// Refuses what no decision can be made on, naming the field.
    fn check_request(&self, request: &ListingRequest, prefix: &str) -> Result<(), ListingError> {
        let bad = |field: &str, message: String| ListingError::Invalid {
            field: format!("{prefix}{field}"),
            message,
        };
        let values = [
            &request.shop_id,
            &request.listing_id,
            &request.category,
            &request.title,
        ];
        for ((field, max), value) in FIELD_LIMITS.into_iter().zip(values) {
            if value.trim().is_empty() || value.chars().count() > max {
                return Err(bad(field, format!("must be 1 to {max} characters")));
            }
            if has_control(value) {
                return Err(bad(field, "must not contain control characters".into()));
            }
        }
        if request.codes.len() > MAX_CODES {
            return Err(bad(
                "codes",
                format!("at most {MAX_CODES} codes per listing"),
            ));
        }
        for (i, code) in request.codes.iter().enumerate() {
            if code.len() > 512 {
                return Err(bad(&format!("codes[{i}]"), "at most 512 bytes".into()));
            }
            // GS1's group separator (U+001D) is how scanners end a variable-length field.
            if code.chars().any(|c| c.is_control() && c != '\u{1d}') {
                return Err(bad(
                    &format!("codes[{i}]"),
                    "must not contain control characters other than GS (U+001D)".into(),
                ));
            }
        }
        if let Some(origin) = &request.origin {
            self.policies
                .jurisdictions
                .parse_origin(origin)
                .map_err(|message| bad("origin", message))?;
        }
        Ok(())
    }

    /// Decides one listing (or returns the decision stored for the same content and facts).
    pub async fn check(
        &self,
        platform: &str,
        request: ListingRequest,
    ) -> Result<ListingDecision, ListingError> {
        self.check_request(&request, "")?;
        let mut decided = self
            .decide_all(platform, &[request], Vouching::Each)
            .await?;
        Ok(decided.remove(0))
    }

    /// Decides up to [`MAX_BATCH`] listings, in order, under one attestation.
    pub async fn check_batch(
        &self,
        platform: &str,
        requests: Vec<ListingRequest>,
    ) -> Result<BatchDecisions, ListingError> {
        if requests.is_empty() || requests.len() > MAX_BATCH {
            return Err(ListingError::Invalid {
                field: "listings".into(),
                message: format!("send 1 to {MAX_BATCH} listings"),
            });
        }
        for (i, request) in requests.iter().enumerate() {
            self.check_request(request, &format!("listings[{i}]."))?;
        }
        let batch_id = uuid::Uuid::now_v7().to_string();
        let mut decisions = self
            .decide_all(platform, &requests, Vouching::Batch(&batch_id))
            .await?;
        // Decided now (the rest were replayed, with their own attestations).
        let fresh: Vec<usize> = (0..decisions.len())
            .filter(|&i| decisions[i].batch_id.as_deref() == Some(batch_id.as_str()))
            .collect();
        if fresh.is_empty() {
            return Ok(BatchDecisions {
                decisions,
                attestation: None,
                batch_id: None,
            });
        }
        let now = self.clock.now();
        let mut digests = Vec::with_capacity(fresh.len());
        for &i in &fresh {
            let digest = record::digest(platform, &decisions[i]);
            decisions[i].digest = Some(digest.clone());
            digests.push(digest);
        }
        let exp = fresh
            .iter()
            .map(|&i| decisions[i].expires_at.timestamp())
            .max()
            .unwrap_or_else(|| now.timestamp());
        let attestation = self
            .attester
            .sign(&BatchClaims {
                iss: &self.issuer,
                jti: &batch_id,
                iat: now.timestamp(),
                exp,
                platform,
                digest_alg: "tracegate-decision-v1+sha256",
                decisions: digests,
            })
            .map_err(ListingError::Signing)?;
        let (pool, id, owner, jws) = (
            self.pool.clone(),
            batch_id.clone(),
            platform.to_string(),
            attestation.clone(),
        );
        self.blocking(move || {
            let mut conn = pool.get()?;
            write_transaction(&mut conn, |conn| {
                store::insert_batch(conn, &id, &owner, &jws, now.naive_utc())
            })?;
            Ok(())
        })
        .await?;
        Ok(BatchDecisions {
            decisions,
            attestation: Some(attestation),
            batch_id: Some(batch_id),
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, ListingError> + Send + 'static,
    ) -> Result<T, ListingError> {
        crate::telemetry::spawn_blocking(f)
            .await
            .map_err(ListingError::Task)?
    }

    /// Decides, stores, and answers every request: a decision whose facts changed while it
    /// was stored is decided again on the new facts; one replayed is read back.
    async fn decide_all(
        &self,
        platform: &str,
        requests: &[ListingRequest],
        vouching: Vouching<'_>,
    ) -> Result<Vec<ListingDecision>, ListingError> {
        if !self.model.is_loaded() {
            return Err(ListingError::NotReady);
        }
        let mut answers: Vec<Option<ListingDecision>> = vec![None; requests.len()];
        let mut todo: Vec<usize> = (0..requests.len()).collect();
        let (mut stored, mut replayed, mut redecided) = (0u64, 0u64, 0u64);
        for _ in 0..MAX_ROUNDS {
            let now = self.clock.now();
            let mut pending = Vec::with_capacity(todo.len());
            let mut made = Vec::with_capacity(todo.len());
            for &i in &todo {
                let (answer, decision) = self.prepare(platform, &requests[i], now, vouching)?;
                made.push((i, answer));
                pending.push(decision);
            }
            let outcomes = self
                .writer
                .submit(pending)
                .await
                .map_err(ListingError::Unavailable)?;
            let mut again = Vec::new();
            let mut stale_up_to = None;
            let mut replays = Vec::new();
            for ((i, answer), outcome) in made.into_iter().zip(outcomes) {
                match outcome {
                    Stored::Written => {
                        stored += 1;
                        answers[i] = Some(answer.answer);
                    }
                    Stored::AlreadyDecided => {
                        replays.push((i, answer.answer.listing_id, answer.replay_key))
                    }
                    Stored::Stale(seq) => {
                        redecided += 1;
                        stale_up_to = stale_up_to.max(Some(seq));
                        again.push(i);
                    }
                }
            }
            if !replays.is_empty() {
                let found = self.replays(platform, replays, now).await?;
                for (i, decision) in found {
                    match decision {
                        Some(decision) => {
                            replayed += 1;
                            answers[i] = Some(decision);
                        }
                        None => again.push(i),
                    }
                }
            }
            if let Some(seq) = stale_up_to {
                self.catch_up(seq).await?;
            }
            if again.is_empty() {
                todo.clear();
                break;
            }
            again.sort_unstable();
            todo = again;
        }
        self.metrics
            .observe_listing_decisions(stored, replayed, redecided);
        if !todo.is_empty() {
            return Err(ListingError::Unsettled);
        }
        Ok(answers.into_iter().flatten().collect())
    }

    /// The decisions stored with the same replay keys as these (which lost the race to
    /// store). One that has expired is withdrawn as such and `None` returned: decide again.
    async fn replays(
        &self,
        platform: &str,
        keys: Vec<(usize, String, Vec<u8>)>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(usize, Option<ListingDecision>)>, ListingError> {
        let (pool, platform) = (self.pool.clone(), platform.to_string());
        self.blocking(move || {
            let mut conn = pool.get()?;
            let mut found = Vec::with_capacity(keys.len());
            for (i, listing, key) in keys {
                let row = store::find_replay(&mut conn, &platform, &listing, &key)?;
                let decision = match row {
                    Some(row) if row.expires_at > now.naive_utc() => {
                        Some(decoded(&mut conn, &platform, row, false, now.naive_utc())?)
                    }
                    Some(row) => {
                        write_transaction(&mut conn, |conn| {
                            store::mark_withdrawn(conn, &[row.id], now.naive_utc(), "expired")
                        })?;
                        None
                    }
                    None => None,
                };
                found.push((i, decision));
            }
            Ok(found)
        })
        .await
    }

    /// Applies fact changes up to `seq` before deciding again.
    pub async fn catch_up(&self, seq: i64) -> Result<(), ListingError> {
        let _round = self.model.follow_lock().await;
        if self.model.applied() >= seq {
            return Ok(());
        }
        let (pool, model, now) = (self.pool.clone(), self.model.clone(), self.clock.now());
        self.blocking(move || {
            model.follow(&mut *pool.get()?, now.naive_utc())?;
            Ok(())
        })
        .await
    }

    /// Applies every change committed so far: a write that changed facts answers only once
    /// this node reads what it wrote (the resolver answers from the model). A failure is
    /// logged and left to the follower: the write itself stands.
    pub async fn catch_up_all(&self) {
        if let Err(error) = self.catch_up(i64::MAX).await {
            tracing::warn!(error = %format!("{:#}", anyhow::Error::new(error)), "catching up with fact changes failed");
        }
    }

    /// Follows fact changes until `shutdown`: woken by this process's commits, and every
    /// `poll` for changes made elsewhere (another node, the command line).
    pub async fn follow(
        self: Arc<Self>,
        poll: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = self.facts.wait_committed(poll) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
            let _round = self.model.follow_lock().await;
            let (pool, model, now) = (self.pool.clone(), self.model.clone(), self.clock.now());
            let followed = crate::telemetry::spawn_blocking(move || {
                pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
                    model
                        .follow(&mut conn, now.naive_utc())
                        .map_err(|e| e.to_string())
                })
            })
            .await;
            match followed {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::warn!(error = %error, "following fact changes failed"),
                Err(error) => tracing::error!(error = %error, "following fact changes failed"),
            }
        }
    }

    /// Reads the facts of one listing from the model and decides.
    fn prepare(
        &self,
        platform: &str,
        request: &ListingRequest,
        now: DateTime<Utc>,
        vouching: Vouching<'_>,
    ) -> Result<(Prepared, Pending), ListingError> {
        let today = now.date_naive();
        let at = now.naive_utc();
        let mut versions = FactVersions {
            seq: self.model.applied(),
            ..FactVersions::default()
        };
        let mut watch = Watch {
            seq: versions.seq,
            ..Watch::default()
        };
        let mut horizon: Option<NaiveDateTime> = None;
        let mut until = |at: NaiveDateTime| horizon = Some(horizon.map_or(at, |h| h.min(at)));

        let shop = self.model.shop(platform, &request.shop_id);
        versions.binding = shop.binding_version;
        let seller = shop.seller.as_ref().map(|(facts, version)| {
            versions.seller = Some((facts.seller_id.clone(), *version));
            watch.seller = Some(facts.seller_id.clone());
            let standing = facts.standing(at);
            if standing == Standing::Verified
                && let Some(end) = facts.verification_expires_at
            {
                until(end);
            }
            SellerStanding {
                standing,
                kind: facts.kind,
                business_code: facts.business_code.as_deref(),
                business_lines: &facts.business_lines,
            }
        });
        let (rule, known) = self.policies.listing.classify(&request.category);
        let used = RuleUsed {
            rule,
            unknown: !known,
            unknown_outcome: self.policies.listing.unknown_category,
        };
        let jurisdictions = &self.policies.jurisdictions;
        let mut codes = Vec::with_capacity(request.codes.len());
        for input in &request.codes {
            let parsed = crate::codes::parse(input, today.year());
            let mut registered: Option<RegisteredCode> = None;
            let mut authorised = false;
            let mut custody = None;
            if let Ok(code) = &parsed {
                let (found, right) = self.registered(code, &seller, at, &mut versions, &mut watch);
                if let Some(end) = right.until {
                    until(end);
                }
                authorised = right.authorised;
                if rule.custody == crate::policies::CustodyRule::Chain
                    && let (Some(business), Some(found)) =
                        (seller.as_ref().and_then(|s| s.business_code), &found)
                    && business != found.owner_code
                {
                    custody = Some(self.custody(code, business, &mut versions, &mut watch));
                }
                if let Some(expiry) = found.as_ref().and_then(|r| r.expiry).or(code.expiry)
                    && expiry >= today
                    && let Some(next_day) = expiry.succ_opt()
                {
                    until(next_day.and_time(chrono::NaiveTime::MIN));
                }
                registered = found;
            }
            codes.push(CodeFacts {
                parsed,
                registered,
                authorised,
                custody,
            });
        }
        let (blocked, block_version) = self.model.block(platform, &request.listing_id);
        versions.block = block_version;
        versions.horizon = horizon;
        let origin = request
            .origin
            .as_deref()
            .and_then(|o| jurisdictions.parse_origin(o).ok());
        let claims = ListingClaims {
            origin: origin.as_ref(),
            quantity: request.quantity,
        };
        let (mut decision, mut reasons) = decide(used, seller.as_ref(), &codes, claims, today);
        if blocked {
            decision = Decision::Deny;
            reasons.insert(
                0,
                Reason {
                    code: ReasonCode::ListingBlocked,
                    message: "an officer's decision on a dispute blocked this listing".into(),
                    field: Some("listing_id".into()),
                    effect: Decision::Deny,
                },
            );
        }
        let content_sha256 = record::content_hash(request);
        let replay_key = record::replay_key(
            platform,
            &request.listing_id,
            &content_sha256,
            &self.policies.version,
            &versions,
        );
        let created_at = record::whole_seconds(now);
        let valid = TimeDelta::days(i64::from(self.policies.listing.attestations.valid_days));
        let mut expires_at = created_at + valid;
        if let Some(h) = horizon {
            expires_at = expires_at.min(h.and_utc());
        }
        let checked: Vec<CheckedCode> = request
            .codes
            .iter()
            .zip(&codes)
            .map(|(input, f)| CheckedCode {
                input: input.clone(),
                canonical: f.parsed.as_ref().ok().map(|c| c.canonical().to_owned()),
                status: f
                    .registered
                    .as_ref()
                    .map_or("unregistered", |r| r.state.as_str())
                    .to_string(),
                owner: f.registered.as_ref().map(|r| r.owner_code.clone()),
                product_name: f.registered.as_ref().map(|r| r.product_name.clone()),
            })
            .collect();
        let mut links: Vec<String> = if decision == Decision::Deny {
            Vec::new()
        } else {
            codes
                .iter()
                .filter_map(|c| c.parsed.as_ref().ok().map(|p| p.canonical().to_owned()))
                .collect()
        };
        links.sort_unstable();
        links.dedup();
        let mut answer = ListingDecision {
            id: uuid::Uuid::now_v7().to_string(),
            listing_id: request.listing_id.clone(),
            shop_id: request.shop_id.clone(),
            decision,
            reasons,
            category: rule.category.clone(),
            policy_version: self.policies.version.clone(),
            seller_id: shop.seller.as_ref().map(|(f, _)| f.seller_id.clone()),
            codes: checked,
            created_at,
            expires_at,
            content_sha256,
            state: DecisionState::InForce,
            withdrawn_at: None,
            withdrawn_reason: None,
            superseded_by: None,
            attestation: None,
            batch_id: None,
            digest: None,
        };
        match vouching {
            Vouching::Each => {
                answer.attestation = Some(
                    self.attester
                        .sign(&Claims::of(&self.issuer, platform, &answer))
                        .map_err(ListingError::Signing)?,
                );
            }
            Vouching::Batch(batch) => answer.batch_id = Some(batch.to_string()),
        }
        let record = serde_json::to_string(&Record {
            reasons: answer.reasons.clone(),
            codes: answer.codes.clone(),
        })
        .map_err(ListingError::Signing)?;
        let row = store::CheckRow {
            id: answer.id.clone(),
            platform_id: platform.to_string(),
            listing_id: answer.listing_id.clone(),
            content_hash: answer.content_sha256.clone(),
            shop_id: answer.shop_id.clone(),
            seller_id: answer.seller_id.clone(),
            category: answer.category.clone(),
            decision: decision.as_str().to_string(),
            record,
            policy_version: answer.policy_version.clone(),
            attestation: answer.attestation.clone(),
            created_at: created_at.naive_utc(),
            withdrawn_at: None,
            replay_key: Some(replay_key.clone()),
            facts_seq: versions.seq,
            batch_id: answer.batch_id.clone(),
            expires_at: expires_at.naive_utc(),
            withdrawn_reason: None,
        };
        Ok((
            Prepared { answer, replay_key },
            Pending { row, links, watch },
        ))
    }

    /// The registered code a parsed code names: its most specific registered level, with
    /// the worst status of any registered level it falls under; and the seller's right to
    /// sell it when another business owns it.
    fn registered(
        &self,
        code: &ParsedCode,
        seller: &Option<SellerStanding<'_>>,
        at: NaiveDateTime,
        versions: &mut FactVersions,
        watch: &mut Watch,
    ) -> (Option<RegisteredCode>, model::RightView) {
        let mut found: Option<model::CodeView> = None;
        let mut worst: Option<(CodeState, &str)> = None;
        for key in code.lookup_keys().iter() {
            // The most specific registered level in full; of the broader ones, the status.
            let (state, version) = if found.is_none() {
                let (view, version) = self.model.code(key);
                let state = view.as_ref().map(|v| v.state);
                found = view;
                (state, version)
            } else {
                self.model.code_state(key)
            };
            versions.codes.push((key.to_owned(), version));
            watch.code_keys.push(key.to_owned());
            match state {
                Some(state) => {
                    if worst.is_none_or(|(s, _)| state > s) {
                        worst = Some((state, key));
                    }
                }
                None => watch.unregistered = true,
            }
        }
        let Some(view) = found else {
            return (None, model::RightView::default());
        };
        let (state, reason_key) =
            worst.map_or((view.state, view.key.clone()), |(s, k)| (s, k.to_owned()));
        let mut right = model::RightView::default();
        if let Some(business) = seller.as_ref().and_then(|s| s.business_code)
            && business != &*view.owner_code
        {
            // Rights are granted on a product or a lot key.
            let keys: Vec<String> = code
                .lookup_keys()
                .iter()
                .skip(usize::from(code.level == Level::Serial))
                .map(str::to_owned)
                .collect();
            right = self.model.right(&keys, business, at);
            versions.rights.extend(&right.versions);
            watch.right_keys.extend(keys);
        }
        let registered = RegisteredCode {
            key: view.key.clone(),
            state,
            status_reason: (state != CodeState::Active)
                .then(|| self.model.status_reason(&reason_key))
                .flatten(),
            owner_code: view.owner_code.to_string(),
            product_name: view.product_name.clone(),
            origin: view
                .origin
                .as_deref()
                .and_then(|o| self.policies.jurisdictions.parse_origin(o).ok()),
            expiry: view.expiry,
        };
        (Some(registered), right)
    }

    /// What the seller's business received of the code's lot, with the fact's version.
    fn custody(
        &self,
        code: &ParsedCode,
        business: &str,
        versions: &mut FactVersions,
        watch: &mut Watch,
    ) -> Custody {
        let (Some(gtin), Some(lot)) = (code.gtin(), code.lot()) else {
            return Custody::NoLot;
        };
        let Some(lot_key) = crate::epcis::ids::lot_key(&format!(
            "{}/01/{gtin}/10/{}",
            crate::epcis::ids::GS1_HOST,
            crate::codes::percent_encode(lot)
        )) else {
            return Custody::NoLot;
        };
        let view = self.model.custody(business, &lot_key);
        versions.custody.push(view.version);
        watch.custody.push((business.to_string(), lot_key));
        Custody::Received {
            receipts: view.receipts,
            units: view.units,
        }
    }

    /// A stored decision of this platform, with where it stands now.
    pub async fn get(
        &self,
        platform: &str,
        id: &str,
    ) -> Result<Option<ListingDecision>, ListingError> {
        let (pool, platform, id) = (self.pool.clone(), platform.to_string(), id.to_string());
        let now = self.clock.now().naive_utc();
        self.blocking(move || {
            let mut conn = pool.get()?;
            match store::find(&mut conn, Some(&platform), &id)? {
                Some(row) => Ok(Some(decoded(&mut conn, &platform, row, true, now)?)),
                None => Ok(None),
            }
        })
        .await
    }

    /// Where the decision an attestation vouches for stands (anyone holding it may ask).
    pub async fn status(&self, id: &str) -> Result<Option<AttestationStatus>, ListingError> {
        let (pool, id, now) = (self.pool.clone(), id.to_string(), self.clock.now());
        self.blocking(move || {
            let mut conn = pool.get()?;
            let Some(row) = store::find(&mut conn, None, &id)? else {
                return Ok(None);
            };
            let superseded = if row.withdrawn_at.is_none() {
                store::newer_on_listing(&mut conn, &row)?
            } else {
                None
            };
            Ok(Some(AttestationStatus {
                state: state_of(&row, superseded.is_some(), now.naive_utc()),
                decision: Decision::parse(&row.decision),
                expires_at: row.expires_at.and_utc(),
                withdrawn_at: row.withdrawn_at.map(|t| t.and_utc()),
                withdrawn_reason: row.withdrawn_reason,
                id: row.id,
            }))
        })
        .await
    }
}

/// How decisions are vouched for: each with its own attestation, or together by the
/// attestation of a batch.
#[derive(Debug, Clone, Copy)]
enum Vouching<'a> {
    Each,
    Batch(&'a str),
}

/// A decision just made: the answer, and the replay key to find its twin by.
struct Prepared {
    answer: ListingDecision,
    replay_key: Vec<u8>,
}

fn state_of(row: &store::CheckRow, superseded: bool, now: NaiveDateTime) -> DecisionState {
    if row.withdrawn_at.is_some() {
        DecisionState::Withdrawn
    } else if row.expires_at <= now {
        DecisionState::Expired
    } else if superseded {
        DecisionState::Superseded
    } else {
        DecisionState::InForce
    }
}

/// A stored decision as answered; `fully` adds where it stands against newer decisions
/// and a batch decision's batch attestation (reads a single check and a replay do not need).
/// `now` is the gate's clock, so that expiry reads the same time as deciding does.
fn decoded(
    conn: &mut DbConnection,
    platform: &str,
    row: store::CheckRow,
    fully: bool,
    now: NaiveDateTime,
) -> Result<ListingDecision, ListingError> {
    let record: Record =
        serde_json::from_str(&row.record).map_err(|source| ListingError::Unreadable {
            id: row.id.clone(),
            source,
        })?;
    let superseded_by = if fully && row.withdrawn_at.is_none() {
        store::newer_on_listing(conn, &row)?
    } else {
        None
    };
    let mut decision = ListingDecision {
        state: state_of(&row, superseded_by.is_some(), now),
        id: row.id,
        listing_id: row.listing_id,
        shop_id: row.shop_id,
        decision: Decision::parse(&row.decision),
        reasons: record.reasons,
        category: row.category,
        policy_version: row.policy_version,
        seller_id: row.seller_id,
        codes: record.codes,
        created_at: row.created_at.and_utc(),
        expires_at: row.expires_at.and_utc(),
        content_sha256: row.content_hash,
        withdrawn_at: row.withdrawn_at.map(|t| t.and_utc()),
        withdrawn_reason: row.withdrawn_reason,
        superseded_by,
        attestation: row.attestation,
        batch_id: row.batch_id,
        digest: None,
    };
    if decision.batch_id.is_some() {
        decision.digest = Some(record::digest(platform, &decision));
        if fully && let Some(batch) = &decision.batch_id {
            decision.attestation = store::batch_attestation(conn, batch)?;
        }
    }
    Ok(decision)
}

/// The newest decision on a platform's listing.
#[derive(Debug, Clone)]
pub struct LatestDecision {
    pub id: String,
    pub shop_id: String,
    pub seller_id: Option<String>,
    /// The codes as the platform sent them.
    pub codes: Vec<String>,
}

/// The newest decision on a platform's listing, if any.
pub fn latest_decision(
    conn: &mut DbConnection,
    platform: &str,
    listing: &str,
) -> Result<Option<LatestDecision>, diesel::result::Error> {
    let Some(row) = store::of_listing(conn, platform, listing, 1)?.pop() else {
        return Ok(None);
    };
    // A stored decision that cannot be read is an error, not a decision without codes.
    let record: Record = serde_json::from_str(&row.record)
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    Ok(Some(LatestDecision {
        id: row.id,
        shop_id: row.shop_id,
        seller_id: row.seller_id,
        codes: record.codes.into_iter().map(|c| c.input).collect(),
    }))
}

/// Registry keys of the codes decisions on a platform's listing named, with every broader
/// level of each (what an officer's sanction on the listing may act on).
pub fn codes_of_listing(
    conn: &mut DbConnection,
    platform: &str,
    listing: &str,
    year: i32,
) -> Result<Vec<String>, diesel::result::Error> {
    let mut keys = Vec::new();
    for row in store::of_listing(conn, platform, listing, 100)? {
        let record: Record = serde_json::from_str(&row.record)
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
        for code in record.codes {
            if let Ok(parsed) = crate::codes::parse(&code.input, year) {
                keys.extend(parsed.lookup_keys().to_vec());
            }
        }
    }
    keys.sort_unstable();
    keys.dedup();
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;

    #[test]
    fn the_schema_states_the_limits_the_gate_enforces() {
        let schema = serde_json::to_value(ListingRequest::schema()).expect("schema");
        for (field, max) in FIELD_LIMITS {
            assert_eq!(
                schema["properties"][field]["maxLength"],
                serde_json::json!(max),
                "{field}"
            );
        }
        assert_eq!(
            schema["properties"]["codes"]["maxItems"],
            serde_json::json!(MAX_CODES)
        );
        let batch = serde_json::to_value(routes::BatchInput::schema()).expect("schema");
        assert_eq!(
            batch["properties"]["listings"]["maxItems"],
            serde_json::json!(MAX_BATCH)
        );
    }
}
