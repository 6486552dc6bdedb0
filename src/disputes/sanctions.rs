//! Sanctions a decision applies, in the decision's transaction: a warning, blocking the
//! listing, flagging (recalling) or revoking its codes, a strike (enough strikes suspend
//! the seller), or suspending the seller for some days. An upheld appeal lifts them.

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::{self, DisputeRow, SanctionRow};
use super::{DisputeError, Effects, invalid};
use crate::codes::registry::{CodeStatus, StatusActor, apply_status};
use crate::db::DbConnection;
use crate::facts::{Change, Fact};
use crate::i18n::catalogue::Phrase;
use crate::policies::Policies;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SanctionKind {
    Warning,
    BlockListing,
    FlagCodes,
    RevokeCodes,
    Strike,
    SuspendSeller,
}

impl SanctionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SanctionKind::Warning => "warning",
            SanctionKind::BlockListing => "block_listing",
            SanctionKind::FlagCodes => "flag_codes",
            SanctionKind::RevokeCodes => "revoke_codes",
            SanctionKind::Strike => "strike",
            SanctionKind::SuspendSeller => "suspend_seller",
        }
    }
}

/// One sanction an officer orders.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SanctionInput {
    pub kind: SanctionKind,
    /// For `suspend_seller`: how many days.
    #[serde(default)]
    pub days: Option<u32>,
    /// For `flag_codes` and `revoke_codes`: the codes; by default those of the listing's
    /// latest check.
    #[serde(default)]
    pub codes: Option<Vec<String>>,
}

/// Applies `sanctions` to the case's seller, listing and codes; returns a line for each,
/// as the parties are told.
pub(super) fn apply(
    conn: &mut DbConnection,
    policies: &Policies,
    officer_id: &str,
    row: &DisputeRow,
    sanctions: &[SanctionInput],
    now: DateTime<Utc>,
    effects: &mut Effects<'_>,
) -> Result<Vec<Phrase>, DisputeError> {
    let policy = &policies.disputes;
    let allowed = policy
        .kind(&row.kind)
        .map(|k| k.sanctions.clone())
        .unwrap_or_default();
    let mut applied = Vec::new();
    for (i, sanction) in sanctions.iter().enumerate() {
        let field = format!("sanctions[{i}]");
        if !allowed.iter().any(|a| a == sanction.kind.as_str()) {
            return Err(invalid(
                format!("{field}.kind"),
                format!(
                    "not a sanction for {} cases; use one of {}",
                    row.kind,
                    allowed.join(", ")
                ),
            ));
        }
        if sanction.days.is_some() && sanction.kind != SanctionKind::SuspendSeller {
            return Err(invalid(
                format!("{field}.days"),
                "only a suspension lasts days",
            ));
        }
        if sanction.codes.is_some()
            && !matches!(
                sanction.kind,
                SanctionKind::FlagCodes | SanctionKind::RevokeCodes
            )
        {
            return Err(invalid(
                format!("{field}.codes"),
                "only code sanctions name codes",
            ));
        }
        let mut record = SanctionRow {
            id: uuid::Uuid::now_v7().to_string(),
            dispute_id: row.id.clone(),
            seller_id: row.seller_id.clone(),
            kind: sanction.kind.as_str().into(),
            target: None,
            days: None,
            ends_at: None,
            created_at: now.naive_utc(),
            lifted_at: None,
        };
        match sanction.kind {
            SanctionKind::Warning => applied.push(Phrase::new("applied", "warning", Vec::new())),
            SanctionKind::BlockListing => {
                record.target = Some(block_target(&row.platform_id, &row.listing_id));
                // Stored first: the published change reads the blocks anew.
                store::insert_sanction(conn, &record)?;
                effects.publish(
                    conn,
                    now,
                    &[Change::withdrawing(
                        Fact::Block {
                            platform: row.platform_id.clone(),
                            listing: row.listing_id.clone(),
                        },
                        "listing_blocked",
                    )],
                )?;
                applied.push(Phrase::new(
                    "applied",
                    "block_listing",
                    vec![row.listing_id.clone()],
                ));
                continue;
            }
            SanctionKind::FlagCodes | SanctionKind::RevokeCodes => {
                let status = if sanction.kind == SanctionKind::FlagCodes {
                    CodeStatus::Recalled
                } else {
                    CodeStatus::Revoked
                };
                let keys = code_rows(conn, row, sanction.codes.as_deref(), &field, now)?;
                let reason = format!("dispute {}: {}", row.reference, row.kind);
                for code in &keys {
                    if code.status == CodeStatus::Revoked.as_str() {
                        continue;
                    }
                    apply_status(
                        conn,
                        effects.bus(),
                        now,
                        StatusActor::Decision(officer_id),
                        code,
                        status,
                        &reason,
                    )?;
                }
                record.target = Some(
                    keys.iter()
                        .map(|c| c.code_key.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                applied.push(Phrase::new(
                    "applied",
                    sanction.kind.as_str(),
                    vec![record.target.clone().unwrap_or_default()],
                ));
            }
            SanctionKind::Strike => {
                // Two decisions at once must each count the other's strike.
                crate::identity::lock_seller(conn, &row.seller_id)?;
                store::insert_sanction(conn, &record)?;
                applied.push(Phrase::new("applied", "strike", Vec::new()));
                let strikes = &policy.strikes;
                let since = now - TimeDelta::days(i64::from(strikes.within_days));
                let count = store::strikes_since(conn, &row.seller_id, since.naive_utc())?;
                if count >= i64::from(strikes.count) {
                    let reason = format!("strikes:{}", row.reference);
                    suspend(conn, row, &reason, strikes.suspend_days, now, effects)?;
                    applied.push(Phrase::new(
                        "applied",
                        "strike_suspension",
                        vec![count.to_string(), strikes.suspend_days.to_string()],
                    ));
                }
                continue;
            }
            SanctionKind::SuspendSeller => {
                let max = policy.sanctions.max_suspend_days;
                let days = sanction
                    .days
                    .filter(|d| (1..=max).contains(d))
                    .ok_or_else(|| invalid(format!("{field}.days"), format!("1 to {max} days")))?;
                let reason = format!("dispute:{}", row.reference);
                suspend(conn, row, &reason, days, now, effects)?;
                applied.push(Phrase::new(
                    "applied",
                    "suspend_seller",
                    vec![days.to_string()],
                ));
                continue;
            }
        }
        store::insert_sanction(conn, &record)?;
    }
    Ok(applied)
}

/// How a blocked listing is named in its sanction: `{platform}/{listing}`.
pub(crate) fn block_target(platform: &str, listing: &str) -> String {
    format!("{platform}/{listing}")
}

/// Listings a dispute sanction in force blocks: (platform, listing).
pub fn blocked_listings(
    conn: &mut DbConnection,
    only: Option<(&str, &str)>,
) -> diesel::QueryResult<Vec<(String, String)>> {
    let targets = store::blocked_targets(
        conn,
        only.map(|(platform, listing)| block_target(platform, listing))
            .as_deref(),
    )?;
    Ok(targets
        .into_iter()
        .filter_map(|t| {
            t.split_once('/')
                .map(|(p, l)| (p.to_string(), l.to_string()))
        })
        .collect())
}

/// Suspends the seller for `days` and records the suspension with its end, which the
/// worker keeps. A seller suspended already stays so; the suspension that ends last
/// decides when they are reinstated.
fn suspend(
    conn: &mut DbConnection,
    row: &DisputeRow,
    reason: &str,
    days: u32,
    now: DateTime<Utc>,
    effects: &mut Effects<'_>,
) -> Result<(), DisputeError> {
    let seller = crate::identity::find_seller(conn, &row.seller_id)?
        .ok_or_else(|| DisputeError::Internal(format!("seller {} is gone", row.seller_id)))?;
    if seller.status != "suspended"
        && !crate::identity::monitor::suspend_in(
            conn,
            effects.bus(),
            now,
            &seller,
            reason,
            "system",
        )?
    {
        return Err(DisputeError::Stale(
            "the seller changed meanwhile; decide again".into(),
        ));
    }
    store::insert_sanction(
        conn,
        &SanctionRow {
            id: uuid::Uuid::now_v7().to_string(),
            dispute_id: row.id.clone(),
            seller_id: row.seller_id.clone(),
            kind: SanctionKind::SuspendSeller.as_str().into(),
            target: Some(reason.to_string()),
            days: Some(days as i32),
            ends_at: Some((now + TimeDelta::days(i64::from(days))).naive_utc()),
            created_at: now.naive_utc(),
            lifted_at: None,
        },
    )?;
    Ok(())
}

/// Ends one suspension: the seller is reinstated if it was what held them and no other
/// suspension runs on; otherwise the one ending last holds them. Returns whether the
/// seller was reinstated.
pub(super) fn end_suspension(
    conn: &mut DbConnection,
    sanction: &SanctionRow,
    now: DateTime<Utc>,
    effects: &mut Effects<'_>,
) -> Result<bool, DisputeError> {
    store::lift_sanction(conn, &sanction.id, now.naive_utc())?;
    let reason = sanction.target.clone().unwrap_or_default();
    let next = store::active_suspensions(conn, &sanction.seller_id)?
        .into_iter()
        .filter(|s| s.id != sanction.id && s.ends_at.is_some_and(|end| end > now.naive_utc()))
        .max_by_key(|s| s.ends_at);
    let reinstated = match next {
        Some(other) => {
            crate::identity::monitor::change_suspension_reason(
                conn,
                now,
                &sanction.seller_id,
                &reason,
                other.target.as_deref().unwrap_or_default(),
            )?;
            false
        }
        None => crate::identity::monitor::reinstate_in(
            conn,
            effects.bus(),
            now,
            &sanction.seller_id,
            &reason,
            "system",
        )?,
    };
    Ok(reinstated)
}

/// The registered codes a code sanction acts on: those named, or those the listing's
/// latest check saw; either way only codes this listing was checked with.
fn code_rows(
    conn: &mut DbConnection,
    row: &DisputeRow,
    named: Option<&[String]>,
    field: &str,
    now: DateTime<Utc>,
) -> Result<Vec<crate::codes::store::CodeRow>, DisputeError> {
    let codes: Vec<String> = match named {
        Some(codes) => codes.to_vec(),
        None => crate::listings::latest_decision(conn, &row.platform_id, &row.listing_id)?
            .map(|d| d.codes)
            .unwrap_or_default(),
    };
    // An officer acts on the codes this listing showed, not on any code in the registry.
    let shown =
        crate::listings::codes_of_listing(conn, &row.platform_id, &row.listing_id, now.year())?;
    let mut rows = Vec::new();
    for (j, code) in codes.iter().enumerate() {
        let Ok(parsed) = crate::codes::parse(code, now.year()) else {
            if named.is_some() {
                return Err(invalid(
                    format!("{field}.codes[{j}]"),
                    "not a readable code",
                ));
            }
            continue;
        };
        let found = crate::codes::store::find_codes(conn, &parsed.lookup_keys().to_vec())?;
        // The most specific registered level, as the listing check used.
        let registered = parsed
            .lookup_keys()
            .iter()
            .find_map(|k| found.iter().find(|r| r.code_key == k))
            .filter(|code| shown.contains(&code.code_key));
        match registered {
            Some(code) => rows.push(code.clone()),
            None if named.is_some() => {
                return Err(invalid(
                    format!("{field}.codes[{j}]"),
                    "not a registered code this listing was checked with",
                ));
            }
            None => {}
        }
    }
    if rows.is_empty() {
        return Err(invalid(
            format!("{field}.codes"),
            "the listing has no registered code to act on; name the codes",
        ));
    }
    Ok(rows)
}

/// Lifts the sanctions of a case whose decision an appeal overturned. Code status
/// changes stand (the issuer or an officer restores a code); the timeline says so.
pub(super) fn lift_all(
    conn: &mut DbConnection,
    row: &DisputeRow,
    now: DateTime<Utc>,
    effects: &mut Effects<'_>,
) -> Result<(), DisputeError> {
    for sanction in store::sanctions_of(conn, &row.id)?
        .into_iter()
        .filter(|s| s.lifted_at.is_none())
    {
        match sanction.kind.as_str() {
            "flag_codes" | "revoke_codes" => continue,
            "suspend_seller" => {
                end_suspension(conn, &sanction, now, effects)?;
                continue;
            }
            "block_listing" => {
                // Lifted first: the published change reads the blocks anew, and the
                // denials made while blocked are decided anew when asked again.
                store::lift_sanction(conn, &sanction.id, now.naive_utc())?;
                effects.publish(
                    conn,
                    now,
                    &[Change::of(Fact::Block {
                        platform: row.platform_id.clone(),
                        listing: row.listing_id.clone(),
                    })],
                )?;
                continue;
            }
            _ => {}
        }
        store::lift_sanction(conn, &sanction.id, now.naive_utc())?;
    }
    Ok(())
}
