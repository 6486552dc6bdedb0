//! The national registers tracegate checks sellers against, behind two traits: the
//! population register (is this a living citizen with this name and birth date?) and the
//! business register (what does the register say about this enterprise or household
//! business?). Each has a local implementation (files) and an HTTP connector.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use utoipa::ToSchema;

use super::{EnterpriseCode, NationalId};

/// The population register's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonCheck {
    /// A living citizen with this ID, name and birth date; `province` is where they live.
    Match {
        province: Option<String>,
    },
    /// The ID exists, but the name or birth date differ.
    Mismatch,
    NotFound,
    Deceased,
}

/// Kind of registered business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BusinessKind {
    Enterprise,
    HouseholdBusiness,
}

impl BusinessKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BusinessKind::Enterprise => "enterprise",
            BusinessKind::HouseholdBusiness => "household_business",
        }
    }
}

/// Legal status in the business register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BusinessStatus {
    Active,
    Suspended,
    Dissolving,
    Dissolved,
}

impl BusinessStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BusinessStatus::Active => "active",
            BusinessStatus::Suspended => "suspended",
            BusinessStatus::Dissolving => "dissolving",
            BusinessStatus::Dissolved => "dissolved",
        }
    }
}

/// A business register record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessRecord {
    /// Enterprise code (normalised) or household business registration number.
    pub code: String,
    pub kind: BusinessKind,
    pub name: String,
    pub status: BusinessStatus,
    /// Citizen ID of the legal representative (the owner, for a household business).
    pub legal_representative_id: String,
    /// Province code (policies/jurisdictions.toml) of the registered address.
    pub province: String,
    pub address: String,
    /// Registered lines of business, as VSIC codes.
    pub business_lines: Vec<String>,
    pub registered_on: NaiveDate,
}

/// How a business is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusinessKey {
    Enterprise(EnterpriseCode),
    /// A household business registration number as issued by the district.
    Household(String),
}

impl BusinessKey {
    pub fn code(&self) -> String {
        match self {
            BusinessKey::Enterprise(code) => code.normalized(),
            BusinessKey::Household(number) => number.clone(),
        }
    }

    pub fn kind(&self) -> BusinessKind {
        match self {
            BusinessKey::Enterprise(_) => BusinessKind::Enterprise,
            BusinessKey::Household(_) => BusinessKind::HouseholdBusiness,
        }
    }
}

/// The register could not answer: never taken as a verdict about the person or business.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{register} register unavailable: {reason}")]
pub struct RegistryUnavailable {
    pub register: &'static str,
    pub reason: String,
}

pub trait PopulationRegister: Send + Sync {
    fn check(
        &self,
        id: &NationalId,
        full_name: &str,
        birth_date: NaiveDate,
    ) -> Result<PersonCheck, RegistryUnavailable>;
}

pub trait BusinessRegister: Send + Sync {
    fn lookup(&self, key: &BusinessKey) -> Result<Option<BusinessRecord>, RegistryUnavailable>;
}

/// Names compare equal when they differ only in case, spacing or Unicode composition
/// (keyboards on different systems produce different forms of the same Vietnamese letters).
pub fn same_name(a: &str, b: &str) -> bool {
    fn canonical(name: &str) -> String {
        name.nfc()
            .collect::<String>()
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
    canonical(a) == canonical(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_across_case_spacing_and_composition() {
        assert!(same_name("Nguyễn Văn An", "  NGUYỄN   văn an "));
        // "ễ" precomposed vs e + combining circumflex + combining tilde.
        assert!(same_name("Nguy\u{1ec5}n", "Nguye\u{302}\u{303}n"));
        assert!(same_name("Đỗ Thị Hà", "đỗ thị hà"));
        assert!(!same_name("Nguyễn Văn An", "Nguyễn Văn Ân"));
    }
}
