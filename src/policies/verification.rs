//! Seller verification policy (`policies/verification.toml`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::PolicyError;

/// What a kind of seller must prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    Identity,
    HouseholdRegistration,
    EnterpriseRegistration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindRule {
    pub proves: Vec<Proof>,
    pub level: u8,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationPolicy {
    pub valid_days: u32,
    pub reminder_days_before: u32,
    pub max_accounts_per_person: u32,
    pub business_recheck_hours: u32,
    /// Identity checks that do not match the population register one seller account may
    /// make before it must wait.
    #[serde(default = "default_identity_failures_per_account")]
    pub max_identity_failures_per_account: u32,
    /// Identity checks that do not match from one source (address), for any account,
    /// before it must wait.
    #[serde(default = "default_identity_failures_per_source")]
    pub max_identity_failures_per_source: u32,
    /// First wait after the limit, in seconds; doubles per further failure, up to 15 min.
    #[serde(default = "default_identity_lock_secs")]
    pub identity_lock_secs: u32,
    pub kinds: BTreeMap<String, KindRule>,
}

fn default_identity_failures_per_account() -> u32 {
    5
}

fn default_identity_failures_per_source() -> u32 {
    20
}

fn default_identity_lock_secs() -> u32 {
    60
}

/// Seller kinds the code knows; the policy must describe exactly these.
pub const SELLER_KINDS: &[&str] = &["individual", "household_business", "enterprise"];

impl VerificationPolicy {
    pub fn parse(file: &str, text: &str) -> Result<Self, PolicyError> {
        let policy: VerificationPolicy = toml::from_str(text).map_err(|e| {
            PolicyError::new(file, e.to_string().lines().collect::<Vec<_>>().join(" "))
        })?;
        for (key, value) in [
            ("valid_days", policy.valid_days),
            ("max_accounts_per_person", policy.max_accounts_per_person),
            ("business_recheck_hours", policy.business_recheck_hours),
            (
                "max_identity_failures_per_account",
                policy.max_identity_failures_per_account,
            ),
            (
                "max_identity_failures_per_source",
                policy.max_identity_failures_per_source,
            ),
            ("identity_lock_secs", policy.identity_lock_secs),
        ] {
            if value == 0 {
                return Err(PolicyError::new(file, format!("{key}: must be at least 1")));
            }
        }
        if policy.reminder_days_before >= policy.valid_days {
            return Err(PolicyError::new(
                file,
                "reminder_days_before: must be less than valid_days",
            ));
        }
        for kind in SELLER_KINDS {
            let rule = policy
                .kinds
                .get(*kind)
                .ok_or_else(|| PolicyError::new(file, format!("kinds.{kind}: missing")))?;
            if !rule.proves.contains(&Proof::Identity) {
                return Err(PolicyError::new(
                    file,
                    format!("kinds.{kind}.proves: every seller proves identity"),
                ));
            }
        }
        if let Some(unknown) = policy
            .kinds
            .keys()
            .find(|k| !SELLER_KINDS.contains(&k.as_str()))
        {
            return Err(PolicyError::new(
                file,
                format!(
                    "kinds.{unknown}: unknown seller kind; expected one of {}",
                    SELLER_KINDS.join(", ")
                ),
            ));
        }
        let business = |kind: &str, proof: Proof| {
            policy
                .kinds
                .get(kind)
                .is_some_and(|r| r.proves.contains(&proof))
        };
        if !business("household_business", Proof::HouseholdRegistration) {
            return Err(PolicyError::new(
                file,
                "kinds.household_business.proves: must include household_registration",
            ));
        }
        if !business("enterprise", Proof::EnterpriseRegistration) {
            return Err(PolicyError::new(
                file,
                "kinds.enterprise.proves: must include enterprise_registration",
            ));
        }
        Ok(policy)
    }

    /// Level shown to platforms for a kind of seller.
    pub fn level(&self, kind: &str) -> u8 {
        self.kinds.get(kind).map_or(0, |r| r.level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = include_str!("../../policies/verification.toml");

    #[test]
    fn shipped_policy_is_valid() {
        let p = VerificationPolicy::parse("verification.toml", GOOD).expect("valid");
        assert_eq!(p.valid_days, 365);
        assert_eq!(p.level("enterprise"), 3);
    }

    #[test]
    fn errors_name_the_key() {
        let bad = GOOD.replace("[kinds.enterprise]", "[kinds.enterprize]");
        let err = VerificationPolicy::parse("v.toml", &bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("kinds.enterprise: missing"), "{err}");
        let bad = GOOD.replace("valid_days = 365", "valid_days = 20");
        let err = VerificationPolicy::parse("v.toml", &bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("reminder_days_before"), "{err}");
        let bad = GOOD.replace("level = 1", "level = 1\ncolour = \"red\"");
        let err = VerificationPolicy::parse("v.toml", &bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("colour"), "{err}");
    }
}
