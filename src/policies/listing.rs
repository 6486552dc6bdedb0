//! Listing rules by category (`policies/listing.toml`), resolved through the category tree.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::PolicyError;
use super::verification::SELLER_KINDS;

/// Code schemes a category may accept.
pub const SCHEMES: &[&str] = &["gs1", "issuer"];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFields {
    parent: Option<String>,
    codes_required: Option<bool>,
    schemes: Option<Vec<String>>,
    level: Option<String>,
    seller_kinds: Option<Vec<String>>,
    business_lines: Option<Vec<String>>,
    allow_expired: Option<bool>,
    unregistered_code: Option<String>,
    custody: Option<String>,
    not_in_chain_of_custody: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListingFile {
    version: String,
    default_category: String,
    unknown_category: String,
    attestations: AttestationPolicy,
    defaults: RuleFields,
    scans: ScanPolicy,
    categories: BTreeMap<String, RuleFields>,
}

/// When scans of one serialised item suggest copies of its code: scanned from more than
/// `max_places` networks, or more than `max_scans` times, within `window_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanPolicy {
    pub max_places: u32,
    pub max_scans: u32,
    pub window_days: u32,
}

/// What an unregistered code yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Deny,
    Review,
}

/// How long an attestation of a decision is valid, at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationPolicy {
    pub valid_days: u32,
}

/// What a seller that does not own a code must show to list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustodyRule {
    /// The owner's distributor authorisation suffices.
    Authorisation,
    /// A step of the lot's chain of custody: the seller's business received the lot
    /// (EPCIS events), directly or inside a container.
    Chain,
}

impl CustodyRule {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "authorisation" => Some(CustodyRule::Authorisation),
            "chain" => Some(CustodyRule::Chain),
            _ => None,
        }
    }
}

fn outcome(text: &str) -> Outcome {
    if text == "deny" {
        Outcome::Deny
    } else {
        Outcome::Review
    }
}

/// The rules in force for one category, inheritance resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRule {
    pub category: String,
    pub codes_required: bool,
    pub schemes: Vec<String>,
    /// `gtin`, `lot` or `serial`.
    pub level: String,
    pub seller_kinds: Vec<String>,
    pub business_lines: Vec<String>,
    pub allow_expired: bool,
    pub unregistered_code: Outcome,
    pub custody: CustodyRule,
    /// What a listing whose seller is missing from the lot's chain yields.
    pub not_in_chain_of_custody: Outcome,
}

#[derive(Debug, Clone)]
pub struct ListingPolicy {
    pub version: String,
    pub scans: ScanPolicy,
    pub attestations: AttestationPolicy,
    /// What a category that is not listed (nor any of its ancestors) yields.
    pub unknown_category: Outcome,
    default_category: String,
    rules: BTreeMap<String, CategoryRule>,
}

fn parent_of(id: &str, fields: &RuleFields) -> Option<String> {
    fields
        .parent
        .clone()
        .or_else(|| id.rsplit_once('.').map(|(p, _)| p.to_string()))
}

impl ListingPolicy {
    pub fn parse(file: &str, text: &str) -> Result<Self, PolicyError> {
        let parsed: ListingFile = toml::from_str(text).map_err(|e| {
            PolicyError::new(file, e.to_string().lines().collect::<Vec<_>>().join(" "))
        })?;
        let err =
            |key: String, message: String| PolicyError::new(file, format!("{key}: {message}"));
        let check = |key: &str, fields: &RuleFields| -> Result<(), PolicyError> {
            if let Some(schemes) = &fields.schemes
                && let Some(bad) = schemes.iter().find(|s| !SCHEMES.contains(&s.as_str()))
            {
                return Err(err(
                    format!("{key}.schemes"),
                    format!("{bad:?} is not a scheme; use gs1 or issuer"),
                ));
            }
            if let Some(level) = &fields.level
                && crate::codes::Level::parse(level).is_none()
            {
                return Err(err(
                    format!("{key}.level"),
                    format!("{level:?} is not gtin, lot or serial"),
                ));
            }
            if let Some(kinds) = &fields.seller_kinds
                && let Some(bad) = kinds.iter().find(|k| !SELLER_KINDS.contains(&k.as_str()))
            {
                return Err(err(
                    format!("{key}.seller_kinds"),
                    format!("{bad:?} is not a seller kind"),
                ));
            }
            if let Some(lines) = &fields.business_lines
                && let Some(bad) = lines
                    .iter()
                    .find(|l| l.is_empty() || l.len() > 5 || !l.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(err(
                    format!("{key}.business_lines"),
                    format!("{bad:?} is not a VSIC code prefix (1–5 digits)"),
                ));
            }
            for (name, value) in [
                ("unregistered_code", &fields.unregistered_code),
                ("not_in_chain_of_custody", &fields.not_in_chain_of_custody),
            ] {
                if let Some(u) = value
                    && u != "deny"
                    && u != "review"
                {
                    return Err(err(
                        format!("{key}.{name}"),
                        format!("{u:?} is not deny or review"),
                    ));
                }
            }
            if let Some(c) = &fields.custody
                && CustodyRule::parse(c).is_none()
            {
                return Err(err(
                    format!("{key}.custody"),
                    format!("{c:?} is not authorisation or chain"),
                ));
            }
            Ok(())
        };
        check("defaults", &parsed.defaults)?;
        let d = &parsed.defaults;
        let missing = |name: &str| err(format!("defaults.{name}"), "is required".into());
        let base = CategoryRule {
            category: String::new(),
            codes_required: d.codes_required.ok_or_else(|| missing("codes_required"))?,
            schemes: d.schemes.clone().ok_or_else(|| missing("schemes"))?,
            level: d.level.clone().ok_or_else(|| missing("level"))?,
            seller_kinds: d
                .seller_kinds
                .clone()
                .ok_or_else(|| missing("seller_kinds"))?,
            business_lines: d
                .business_lines
                .clone()
                .ok_or_else(|| missing("business_lines"))?,
            allow_expired: d.allow_expired.ok_or_else(|| missing("allow_expired"))?,
            unregistered_code: match d.unregistered_code.as_deref() {
                Some("deny") => Outcome::Deny,
                Some(_) => Outcome::Review,
                None => return Err(missing("unregistered_code")),
            },
            custody: d
                .custody
                .as_deref()
                .and_then(CustodyRule::parse)
                .ok_or_else(|| missing("custody"))?,
            not_in_chain_of_custody: d
                .not_in_chain_of_custody
                .as_deref()
                .map(outcome)
                .ok_or_else(|| missing("not_in_chain_of_custody"))?,
        };
        for (id, fields) in &parsed.categories {
            let key = format!("categories.{id}");
            if id.is_empty()
                || !id.split('.').all(|p| {
                    !p.is_empty()
                        && p.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                })
            {
                return Err(err(
                    key,
                    "a category id is lower-case words joined by dots".into(),
                ));
            }
            check(&key, fields)?;
            if let Some(parent) = &fields.parent
                && !parsed.categories.contains_key(parent)
            {
                return Err(err(
                    format!("{key}.parent"),
                    format!("{parent:?} is not a category here"),
                ));
            }
        }
        let mut rules = BTreeMap::new();
        for id in parsed.categories.keys() {
            // Walk to the root, refusing cycles, then apply fields from the root down.
            let mut chain = vec![id.clone()];
            let mut current = id.clone();
            while let Some(parent) = parsed
                .categories
                .get(&current)
                .and_then(|f| parent_of(&current, f))
            {
                if !parsed.categories.contains_key(&parent) {
                    break;
                }
                if chain.contains(&parent) {
                    return Err(err(
                        format!("categories.{id}.parent"),
                        format!("the parents form a cycle: {} → {parent}", chain.join(" → ")),
                    ));
                }
                chain.push(parent.clone());
                current = parent;
            }
            let mut rule = base.clone();
            for link in chain.iter().rev() {
                let f = &parsed.categories[link];
                if let Some(v) = f.codes_required {
                    rule.codes_required = v;
                }
                if let Some(v) = &f.schemes {
                    rule.schemes = v.clone();
                }
                if let Some(v) = &f.level {
                    rule.level = v.clone();
                }
                if let Some(v) = &f.seller_kinds {
                    rule.seller_kinds = v.clone();
                }
                if let Some(v) = &f.business_lines {
                    rule.business_lines = v.clone();
                }
                if let Some(v) = f.allow_expired {
                    rule.allow_expired = v;
                }
                if let Some(v) = &f.unregistered_code {
                    rule.unregistered_code = outcome(v);
                }
                if let Some(v) = f.custody.as_deref().and_then(CustodyRule::parse) {
                    rule.custody = v;
                }
                if let Some(v) = &f.not_in_chain_of_custody {
                    rule.not_in_chain_of_custody = outcome(v);
                }
            }
            rule.category = id.clone();
            rules.insert(id.clone(), rule);
        }
        if !rules.contains_key(&parsed.default_category) {
            return Err(err(
                "default_category".into(),
                format!("{:?} is not a category here", parsed.default_category),
            ));
        }
        for (key, value) in [
            ("max_places", parsed.scans.max_places),
            ("max_scans", parsed.scans.max_scans),
            ("window_days", parsed.scans.window_days),
        ] {
            if value == 0 {
                return Err(err(format!("scans.{key}"), "must be at least 1".into()));
            }
        }
        let unknown_category = match parsed.unknown_category.as_str() {
            "deny" => Outcome::Deny,
            "review" => Outcome::Review,
            other => {
                return Err(err(
                    "unknown_category".into(),
                    format!("{other:?} is not deny or review"),
                ));
            }
        };
        if !(1..=3650).contains(&parsed.attestations.valid_days) {
            return Err(err(
                "attestations.valid_days".into(),
                "must be 1 to 3650 days".into(),
            ));
        }
        Ok(Self {
            version: parsed.version,
            scans: parsed.scans,
            attestations: parsed.attestations,
            unknown_category,
            default_category: parsed.default_category,
            rules,
        })
    }

    /// The rule for a category as a platform sends it, and whether the category is known.
    /// The id is read in lower case with spaces trimmed and runs of spaces, dashes or
    /// underscores as one underscore; then itself, else its nearest listed ancestor by
    /// dots. An unknown category gets the default category's rule, and the caller adds
    /// the policy's `unknown_category` outcome: never a silent fallback to a looser rule.
    pub fn classify(&self, category: &str) -> (&CategoryRule, bool) {
        let id = normalise_category(category);
        let mut id = id.as_str();
        loop {
            if let Some(rule) = self.rules.get(id) {
                return (rule, true);
            }
            match id.rsplit_once('.') {
                Some((parent, _)) => id = parent,
                None => break,
            }
        }
        (&self.rules[&self.default_category], false)
    }

    /// The rule for a category id (see [`ListingPolicy::classify`]).
    pub fn rule(&self, category: &str) -> &CategoryRule {
        self.classify(category).0
    }
}

/// A category id as platforms may write it, in the policy's form: lower case, trimmed,
/// dots kept, other runs of spaces, dashes and underscores as one underscore.
pub fn normalise_category(category: &str) -> String {
    let mut id = String::with_capacity(category.len());
    let mut gap = false;
    for c in category.trim().chars().flat_map(char::to_lowercase) {
        if c.is_whitespace() || c == '-' || c == '_' {
            gap = true;
            continue;
        }
        if gap && !id.is_empty() && !id.ends_with('.') && c != '.' {
            id.push('_');
        }
        gap = false;
        id.push(c);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../policies/listing.toml");

    #[test]
    fn shipped_policy_resolves_inheritance() {
        let p = ListingPolicy::parse("listing.toml", SHIPPED).expect("valid");
        let fresh = p.rule("food.fresh");
        assert_eq!(
            (fresh.level.as_str(), fresh.codes_required),
            ("lot", true),
            "inherited from food"
        );
        assert_eq!(fresh.unregistered_code, Outcome::Deny);
        assert_eq!(p.rule("food.supplements").level, "serial");
        assert_eq!(
            p.rule("food.fresh.vegetables").category,
            "food.fresh",
            "nearest ancestor"
        );
        assert_eq!(p.rule("toys").category, "general", "unknown → default rule");
        assert!(!p.classify("toys").1, "…but marked unknown");
        for written in ["Cosmetics", "cosmetics ", " COSMETICS"] {
            assert_eq!(
                p.classify(written),
                (p.rule("cosmetics"), true),
                "{written:?}"
            );
        }
        assert!(!p.classify("cosmetic").1);
        assert_eq!(normalise_category(" Food . Fresh "), "food.fresh");
        assert_eq!(normalise_category("home  and-garden"), "home_and_garden");
        assert_eq!(p.rule("electronics").schemes, vec!["gs1"]);
        assert_eq!(p.rule("food.fresh").custody, CustodyRule::Chain);
        assert_eq!(p.rule("food").not_in_chain_of_custody, Outcome::Review);
        assert_eq!(p.rule("cosmetics").custody, CustodyRule::Authorisation);
    }

    #[test]
    fn bad_files_name_the_key() {
        let bad = SHIPPED.replacen(
            "level = \"serial\"\nseller_kinds = [\"enterprise\"]",
            "level = \"item\"\nseller_kinds = [\"enterprise\"]",
            1,
        );
        let e = ListingPolicy::parse("l.toml", &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("categories.food.supplements.level"), "{e}");
        let bad = SHIPPED.replace(
            "[categories.fashion]",
            "[categories.fashion]\ncolour = \"red\"",
        );
        assert!(
            ListingPolicy::parse("l.toml", &bad)
                .unwrap_err()
                .to_string()
                .contains("colour")
        );
        let bad =
            format!("{SHIPPED}\n[categories.a]\nparent = \"b\"\n[categories.b]\nparent = \"a\"\n");
        let e = ListingPolicy::parse("l.toml", &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cycle"), "{e}");
        let bad = SHIPPED.replace("custody = \"chain\"", "custody = \"trust\"");
        let e = ListingPolicy::parse("l.toml", &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("categories.food.custody"), "{e}");
        let bad = SHIPPED.replace(
            "default_category = \"general\"",
            "default_category = \"misc\"",
        );
        assert!(
            ListingPolicy::parse("l.toml", &bad)
                .unwrap_err()
                .to_string()
                .contains("default_category")
        );
    }
}
