//! Policies: the rules in `policies/*.toml` that officers can read and change. They are
//! checked once at start-up; a bad file stops the service with the file and key named.
//!
//! The files in the repository are built into the binary, so the service runs anywhere with
//! no configuration; `policies.dir` points at a folder of edited copies instead.

pub mod countries;
mod disputes;
mod jurisdictions;
mod listing;
mod verification;

pub use disputes::{CLAIMS, DisputeKind, DisputePolicy, EvidenceLimits, SANCTIONS};
pub use jurisdictions::{
    ALL_PROVINCES, FormerProvince, Jurisdictions, Origin, Province, ProvinceScope,
};
pub use listing::{
    AttestationPolicy, CategoryRule, CustodyRule, ListingPolicy, Outcome, ScanPolicy,
    normalise_category,
};
pub use verification::{KindRule, Proof, SELLER_KINDS, VerificationPolicy};

use std::path::Path;

use sha2::{Digest, Sha256};

/// A policy file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("policy file {file}: {message}")]
pub struct PolicyError {
    pub file: String,
    pub message: String,
}

impl PolicyError {
    pub fn new(file: &str, message: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            message: message.into(),
        }
    }
}

const BUILT_IN: &[(&str, &str)] = &[
    (
        "jurisdictions.toml",
        include_str!("../../policies/jurisdictions.toml"),
    ),
    (
        "verification.toml",
        include_str!("../../policies/verification.toml"),
    ),
    ("listing.toml", include_str!("../../policies/listing.toml")),
    (
        "disputes.toml",
        include_str!("../../policies/disputes.toml"),
    ),
];

/// All policies in force, and their version (a hash of the files' text).
#[derive(Debug, Clone)]
pub struct Policies {
    pub jurisdictions: Jurisdictions,
    pub verification: VerificationPolicy,
    pub listing: ListingPolicy,
    pub disputes: DisputePolicy,
    pub version: String,
}

impl Policies {
    /// The policies built into the binary.
    pub fn built_in() -> Result<Self, PolicyError> {
        Self::from_texts(
            BUILT_IN
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
        )
    }

    /// Reads every policy file from `dir`.
    pub fn from_dir(dir: &Path) -> Result<Self, PolicyError> {
        let mut texts = Vec::new();
        for (name, _) in BUILT_IN {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                PolicyError::new(&path.display().to_string(), format!("cannot read: {e}"))
            })?;
            texts.push((name.to_string(), text));
        }
        Self::from_texts(texts)
    }

    fn from_texts(texts: Vec<(String, String)>) -> Result<Self, PolicyError> {
        let mut hasher = Sha256::new();
        let mut jurisdictions = None;
        let mut verification = None;
        let mut listing = None;
        let mut disputes = None;
        for (name, text) in &texts {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
            match name.as_str() {
                "jurisdictions.toml" => jurisdictions = Some(Jurisdictions::parse(name, text)?),
                "verification.toml" => verification = Some(VerificationPolicy::parse(name, text)?),
                "listing.toml" => listing = Some(ListingPolicy::parse(name, text)?),
                "disputes.toml" => disputes = Some(DisputePolicy::parse(name, text)?),
                _ => {}
            }
        }
        let digest = hasher.finalize();
        Ok(Self {
            jurisdictions: jurisdictions
                .ok_or_else(|| PolicyError::new("jurisdictions.toml", "missing"))?,
            verification: verification
                .ok_or_else(|| PolicyError::new("verification.toml", "missing"))?,
            listing: listing.ok_or_else(|| PolicyError::new("listing.toml", "missing"))?,
            disputes: disputes.ok_or_else(|| PolicyError::new("disputes.toml", "missing"))?,
            version: digest[..8].iter().map(|b| format!("{b:02x}")).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_policies_load() {
        let p = Policies::built_in().expect("built-in policies are valid");
        assert_eq!(p.version.len(), 16);
        assert_eq!(p.jurisdictions.provinces().count(), 34);
    }
}
