//! Dispute policy (`policies/disputes.toml`): kinds of complaint, claims, deadlines,
//! sanctions, strikes and the holiday calendar.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Deserialize;

use super::PolicyError;

/// Sanctions the code knows how to apply.
pub const SANCTIONS: &[&str] = &[
    "warning",
    "block_listing",
    "flag_codes",
    "revoke_codes",
    "strike",
    "suspend_seller",
];

/// Claims the code knows.
pub const CLAIMS: &[&str] = &["refund", "replacement", "report_only"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    pub seller_response_business_days: u32,
    pub buyer_reply_business_days: u32,
    pub resolution_working_days: u32,
    pub appeal_days: u32,
    pub reminder_hours_before: u32,
    pub confirm_hours: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Strikes {
    pub count: u32,
    pub within_days: u32,
    pub suspend_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanctionLimits {
    pub max_suspend_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisputeKind {
    pub name: String,
    pub name_en: String,
    pub sanctions: Vec<String>,
}

/// How much evidence one party may attach to one case: enough for photos, invoices and
/// papers, not a store for anything a link holder wants to upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceLimits {
    pub max_files_per_party: u32,
    pub max_bytes_per_party: u64,
}

impl Default for EvidenceLimits {
    fn default() -> Self {
        Self {
            max_files_per_party: 20,
            max_bytes_per_party: 50 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    holidays: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisputesFile {
    version: String,
    claims: Vec<String>,
    deadlines: Deadlines,
    strikes: Strikes,
    sanctions: SanctionLimits,
    kinds: BTreeMap<String, DisputeKind>,
    #[serde(default)]
    evidence: EvidenceLimits,
    calendar: CalendarFile,
}

#[derive(Debug, Clone)]
pub struct DisputePolicy {
    pub version: String,
    pub claims: Vec<String>,
    pub deadlines: Deadlines,
    pub strikes: Strikes,
    pub sanctions: SanctionLimits,
    pub kinds: BTreeMap<String, DisputeKind>,
    pub evidence: EvidenceLimits,
    pub holidays: BTreeSet<NaiveDate>,
}

impl DisputePolicy {
    pub fn parse(file: &str, text: &str) -> Result<Self, PolicyError> {
        let parsed: DisputesFile = toml::from_str(text).map_err(|e| {
            PolicyError::new(file, e.to_string().lines().collect::<Vec<_>>().join(" "))
        })?;
        let err =
            |key: String, message: String| PolicyError::new(file, format!("{key}: {message}"));
        if let Some(bad) = parsed.claims.iter().find(|c| !CLAIMS.contains(&c.as_str())) {
            return Err(err(
                "claims".into(),
                format!("{bad:?} is not one of {}", CLAIMS.join(", ")),
            ));
        }
        if parsed.claims.is_empty() {
            return Err(err("claims".into(), "name at least one claim".into()));
        }
        let d = &parsed.deadlines;
        for (key, value) in [
            (
                "seller_response_business_days",
                d.seller_response_business_days,
            ),
            ("buyer_reply_business_days", d.buyer_reply_business_days),
            ("resolution_working_days", d.resolution_working_days),
            ("appeal_days", d.appeal_days),
            ("confirm_hours", d.confirm_hours),
        ] {
            if value == 0 || value > 365 {
                return Err(err(format!("deadlines.{key}"), "must be 1 to 365".into()));
            }
        }
        for (key, value) in [
            ("count", parsed.strikes.count),
            ("within_days", parsed.strikes.within_days),
            ("suspend_days", parsed.strikes.suspend_days),
        ] {
            if value == 0 {
                return Err(err(format!("strikes.{key}"), "must be at least 1".into()));
            }
        }
        if parsed.sanctions.max_suspend_days == 0 {
            return Err(err(
                "sanctions.max_suspend_days".into(),
                "must be at least 1".into(),
            ));
        }
        if parsed.evidence.max_files_per_party == 0 {
            return Err(err(
                "evidence.max_files_per_party".into(),
                "must be at least 1".into(),
            ));
        }
        if parsed.evidence.max_bytes_per_party == 0 {
            return Err(err(
                "evidence.max_bytes_per_party".into(),
                "must be at least 1".into(),
            ));
        }
        if parsed.kinds.is_empty() {
            return Err(err(
                "kinds".into(),
                "name at least one kind of complaint".into(),
            ));
        }
        for (id, kind) in &parsed.kinds {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(err(
                    format!("kinds.{id}"),
                    "a kind id is lower-case words joined by _".into(),
                ));
            }
            if let Some(bad) = kind
                .sanctions
                .iter()
                .find(|s| !SANCTIONS.contains(&s.as_str()))
            {
                return Err(err(
                    format!("kinds.{id}.sanctions"),
                    format!("{bad:?} is not one of {}", SANCTIONS.join(", ")),
                ));
            }
        }
        let mut holidays = BTreeSet::new();
        for (i, day) in parsed.calendar.holidays.iter().enumerate() {
            let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
                err(
                    format!("calendar.holidays[{i}]"),
                    format!("{day:?} is not a date YYYY-MM-DD"),
                )
            })?;
            holidays.insert(date);
        }
        Ok(Self {
            version: parsed.version,
            claims: parsed.claims,
            deadlines: parsed.deadlines,
            strikes: parsed.strikes,
            sanctions: parsed.sanctions,
            kinds: parsed.kinds,
            evidence: parsed.evidence,
            holidays,
        })
    }

    /// The kind of complaint, if the policy knows it.
    pub fn kind(&self, id: &str) -> Option<&DisputeKind> {
        self.kinds.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILT_IN: &str = include_str!("../../policies/disputes.toml");

    #[test]
    fn built_in_policy_is_valid() {
        let p = DisputePolicy::parse("disputes.toml", BUILT_IN).expect("valid");
        assert_eq!(p.deadlines.seller_response_business_days, 3);
        assert!(p.kind("counterfeit").is_some());
        assert!(
            p.holidays
                .contains(&NaiveDate::from_ymd_opt(2026, 9, 2).expect("date"))
        );
    }

    #[test]
    fn errors_name_the_key() {
        let bad = BUILT_IN.replace("\"strike\", \"suspend_seller\"]", "\"jail\"]");
        let e = DisputePolicy::parse("disputes.toml", &bad)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("kinds.counterfeit.sanctions") && e.contains("jail"),
            "{e}"
        );
        let bad = BUILT_IN.replace("\"2026-04-27\"", "\"27/04/2026\"");
        let e = DisputePolicy::parse("disputes.toml", &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("calendar.holidays[6]"), "{e}");
        let bad = BUILT_IN.replace("appeal_days = 15", "appeal_days = 0");
        let e = DisputePolicy::parse("disputes.toml", &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("deadlines.appeal_days"), "{e}");
        let bad = BUILT_IN.replace("max_files_per_party = 20", "max_files_per_party = 0");
        let e = DisputePolicy::parse("disputes.toml", &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("evidence.max_files_per_party"), "{e}");
    }

    #[test]
    fn evidence_limits_default_when_the_file_leaves_them_out() {
        let start = BUILT_IN.find("[evidence]").expect("section");
        let end = BUILT_IN.find("# Public holidays").expect("next section");
        let without = format!("{}{}", &BUILT_IN[..start], &BUILT_IN[end..]);
        let p = DisputePolicy::parse("disputes.toml", &without).expect("valid");
        assert_eq!(p.evidence, EvidenceLimits::default());
    }
}
