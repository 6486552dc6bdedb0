//! Counts for officers: cases by province, kind and status, how many are overdue, and the
//! median time from filing to decision; and the same cases as CSV.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use super::store::DisputeRow;
use super::views;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountBy {
    pub key: String,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub total: usize,
    pub by_province: Vec<CountBy>,
    pub by_kind: Vec<CountBy>,
    pub by_status: Vec<CountBy>,
    /// Cases past their resolution deadline without a decision.
    pub overdue: usize,
    /// Median hours from filing to the first decision, over decided cases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_hours_to_decision: Option<f64>,
}

fn counts<'a>(values: impl Iterator<Item = &'a str>) -> Vec<CountBy> {
    let mut map: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values {
        *map.entry(v).or_default() += 1;
    }
    map.into_iter()
        .map(|(key, count)| CountBy {
            key: key.to_string(),
            count,
        })
        .collect()
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

pub(super) fn build(rows: &[DisputeRow], now: NaiveDateTime) -> Report {
    let hours: Vec<f64> = rows
        .iter()
        .filter_map(|r| {
            r.decided_at
                .map(|d| (d - r.created_at).num_seconds() as f64 / 3600.0)
        })
        .collect();
    Report {
        total: rows.len(),
        by_province: counts(rows.iter().map(|r| r.province.as_str())),
        by_kind: counts(rows.iter().map(|r| r.kind.as_str())),
        by_status: counts(rows.iter().map(|r| r.status.as_str())),
        overdue: rows
            .iter()
            .filter(|r| views::summary(r, now).overdue)
            .count(),
        median_hours_to_decision: median(hours).map(|h| (h * 10.0).round() / 10.0),
    }
}

/// Quotes a CSV field when it needs it (RFC 4180), and defuses spreadsheet formulas.
fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

pub(super) fn csv(rows: &[DisputeRow], now: NaiveDateTime) -> String {
    let mut out = String::from(
        "reference,status,kind,claim,province,platform_id,listing_id,seller_id,assignee_id,outcome,overdue,filed_at,resolution_due_at,decided_at\r\n",
    );
    for row in rows {
        let summary = views::summary(row, now);
        let shown = |at: Option<NaiveDateTime>| {
            at.map(|a| {
                super::calendar::local(chrono::DateTime::from_naive_utc_and_offset(a, chrono::Utc))
                    .to_rfc3339()
            })
            .unwrap_or_default()
        };
        let line = [
            row.reference.clone(),
            row.status.clone(),
            row.kind.clone(),
            row.claim.clone(),
            row.province.clone(),
            row.platform_id.clone(),
            row.listing_id.clone(),
            row.seller_id.clone(),
            row.assignee_id.clone().unwrap_or_default(),
            row.outcome.clone().unwrap_or_default(),
            summary.overdue.to_string(),
            shown(Some(row.created_at)),
            shown(row.resolution_due_at),
            shown(row.decided_at),
        ]
        .iter()
        .map(|v| field(v))
        .collect::<Vec<_>>()
        .join(",");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
