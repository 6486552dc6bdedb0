//! Cases as each party sees them: times in Vietnam's time zone, the buyer's contact only
//! for officers and the buyer's side, internal matters only for officers.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::lifecycle::{self, Move, Role, Status};
use super::store::{self, DisputeRow, EventRow, EvidenceRow};
use super::{DisputeError, calendar};
use crate::db::DbConnection;

fn local(at: NaiveDateTime) -> DateTime<FixedOffset> {
    calendar::local(DateTime::<Utc>::from_naive_utc_and_offset(at, Utc))
}

/// A case in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisputeSummary {
    pub id: String,
    /// `DSP-2026-000123`.
    pub reference: String,
    pub status: String,
    pub kind: String,
    pub province: String,
    pub platform_id: String,
    pub listing_id: String,
    pub seller_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<String>,
    /// Past its resolution deadline without a decision.
    pub overdue: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub resolution_due_at: Option<DateTime<FixedOffset>>,
    #[schema(value_type = String)]
    pub created_at: DateTime<FixedOffset>,
}

/// Deadlines of a case, in Vietnam's time.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Deadlines {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub seller_answer: Option<DateTime<FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub buyer_reply: Option<DateTime<FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub resolution: Option<DateTime<FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub appeal: Option<DateTime<FixedOffset>>,
    /// The resolution clock stands still while information is awaited.
    pub paused: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionView {
    /// `first` or `appeal`.
    pub stage: String,
    pub outcome: String,
    pub statement: String,
    pub decided_by: String,
    #[schema(value_type = String)]
    pub decided_at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SanctionView {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub ends_at: Option<DateTime<FixedOffset>>,
    pub lifted: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceView {
    pub id: String,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the file as attached; every download is checked against it.
    pub sha256: String,
    pub uploaded_by: String,
    #[schema(value_type = String)]
    pub created_at: DateTime<FixedOffset>,
    /// Hidden from the parties by an officer (shown to officers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    pub id: String,
    #[schema(value_type = String)]
    pub at: DateTime<FixedOffset>,
    /// `account:…`, `client:…`, `buyer` or `system`.
    pub actor: String,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_status: Option<String>,
    /// Shown to officers only.
    pub internal: bool,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// A case, whole.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisputeView {
    #[serde(flatten)]
    pub summary: DisputeSummary,
    pub claim: String,
    pub description: String,
    pub shop_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing_check_id: Option<String>,
    /// The buyer's contact: for officers and the buyer's side only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// While information is requested: from whom (`buyer`, `seller`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub information_requested_from: Option<String>,
    pub deadlines: Deadlines,
    pub decisions: Vec<DecisionView>,
    pub sanctions: Vec<SanctionView>,
    pub evidence: Vec<EvidenceView>,
    /// What you may do now.
    pub allowed_actions: Vec<Move>,
    /// Your roles on this case.
    pub your_roles: Vec<Role>,
    /// Send it back as `If-Match` (it is also the `ETag`).
    pub version: i64,
    #[schema(value_type = String)]
    pub updated_at: DateTime<FixedOffset>,
}

pub(super) fn summary(row: &DisputeRow, now: NaiveDateTime) -> DisputeSummary {
    let pending = Status::parse(&row.status).is_some_and(|s| s.is_pending_decision());
    DisputeSummary {
        id: row.id.clone(),
        reference: row.reference.clone(),
        status: row.status.clone(),
        kind: row.kind.clone(),
        province: row.province.clone(),
        platform_id: row.platform_id.clone(),
        listing_id: row.listing_id.clone(),
        seller_id: row.seller_id.clone(),
        assignee_id: row.assignee_id.clone(),
        overdue: pending
            && row.paused_at.is_none()
            && row.resolution_due_at.is_some_and(|due| due < now),
        resolution_due_at: row.resolution_due_at.map(local),
        created_at: local(row.created_at),
    }
}

pub(super) fn evidence_view(row: &EvidenceRow, officer: bool) -> EvidenceView {
    EvidenceView {
        id: row.id.clone(),
        file_name: row.file_name.clone(),
        media_type: row.media_type.clone(),
        size_bytes: row.size_bytes,
        sha256: row.sha256.clone(),
        uploaded_by: row.uploaded_by.clone(),
        created_at: local(row.created_at),
        hidden_reason: row.hidden_reason.clone().filter(|_| officer),
    }
}

/// Who did something, as a party to the case sees it: the seller and machine actors by
/// name, officers only as "officer".
pub(super) fn as_party_sees(actor: &str, seller_id: &str) -> String {
    match actor.strip_prefix("account:") {
        Some(id) if id == seller_id => "seller".into(),
        Some(_) => "officer".into(),
        None => actor.to_string(),
    }
}

pub(super) fn event_view(row: EventRow) -> EventView {
    EventView {
        id: row.id,
        at: local(row.occurred_at),
        actor: row.actor,
        action: row.action,
        from_status: row.from_status,
        to_status: row.to_status,
        internal: row.internal,
        details: serde_json::from_str(&row.details).unwrap_or(serde_json::Value::Null),
    }
}

pub(super) fn build(
    conn: &mut DbConnection,
    row: &DisputeRow,
    roles: &[Role],
    now: NaiveDateTime,
) -> Result<DisputeView, DisputeError> {
    let officer = roles.contains(&Role::Officer);
    let buyer_side = roles.contains(&Role::Buyer);
    let status = Status::parse(&row.status)
        .ok_or_else(|| DisputeError::Internal(format!("unknown status {}", row.status)))?;
    let decisions = store::decisions_of(conn, &row.id)?
        .into_iter()
        .map(|d| DecisionView {
            stage: d.stage,
            outcome: d.outcome,
            statement: d.statement,
            decided_by: if officer {
                d.decided_by
            } else {
                "officer".into()
            },
            decided_at: local(d.decided_at),
        })
        .collect();
    let sanctions = store::sanctions_of(conn, &row.id)?
        .into_iter()
        .map(|s| SanctionView {
            kind: s.kind,
            target: s.target,
            days: s.days,
            ends_at: s.ends_at.map(local),
            lifted: s.lifted_at.is_some(),
        })
        .collect();
    let evidence = store::evidence_of(conn, &row.id)?
        .iter()
        .filter(|e| officer || e.hidden_at.is_none())
        .map(|e| evidence_view(e, officer))
        .collect();
    Ok(DisputeView {
        summary: summary(row, now),
        claim: row.claim.clone(),
        description: row.description.clone(),
        shop_id: row.shop_id.clone(),
        listing_check_id: row.listing_check_id.clone(),
        buyer_email: (officer || buyer_side).then(|| row.buyer_email.clone()),
        buyer_reference: (officer || buyer_side)
            .then(|| row.buyer_reference.clone())
            .flatten(),
        outcome: row.outcome.clone(),
        information_requested_from: row.info_requested_from.clone(),
        deadlines: Deadlines {
            seller_answer: row.seller_due_at.map(local),
            buyer_reply: row.buyer_due_at.map(local),
            resolution: row.resolution_due_at.map(local),
            appeal: row.appeal_due_at.map(local),
            paused: row.paused_at.is_some(),
        },
        decisions,
        sanctions,
        evidence,
        allowed_actions: lifecycle::possible(status, roles),
        your_roles: roles.to_vec(),
        version: row.version,
        updated_at: local(row.updated_at),
    })
}
