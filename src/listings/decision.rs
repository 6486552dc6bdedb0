//! The listing decision, free of storage and HTTP: given what tracegate knows about the
//! seller and each code, and the category's rule, allow, review or deny, with every
//! reason.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::codes::facts::CodeState;
use crate::codes::{CodeError, Form, Level, ParsedCode};
use crate::identity::{SellerKind, Standing};
use crate::policies::{CategoryRule, CustodyRule, Origin, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Review,
    Deny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Review => "review",
            Decision::Deny => "deny",
        }
    }

    /// Reads a stored decision; anything unknown reads as deny (never as allow).
    pub fn parse(text: &str) -> Self {
        match text {
            "allow" => Decision::Allow,
            "review" => Decision::Review,
            _ => Decision::Deny,
        }
    }

    fn of(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Deny => Decision::Deny,
            Outcome::Review => Decision::Review,
        }
    }
}

/// Why a listing is not simply allowed: the stable machine code of a [`Reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    CategoryUnknown,
    SellerNotBound,
    SellerSuspended,
    VerificationExpired,
    SellerPendingReview,
    SellerNotVerified,
    CategoryNotPermitted,
    BusinessLineMissing,
    CodeMissing,
    CodeMalformed,
    CodeSchemeNotAccepted,
    CodeLevelInsufficient,
    CodeUnregistered,
    CodeRecalled,
    CodeRevoked,
    ProductExpired,
    SellerNotAuthorized,
    OriginMismatch,
    ListingBlocked,
    NotInChainOfCustody,
    QuantityExceedsReceived,
}

impl ReasonCode {
    /// Every code, in the order the documentation lists them.
    pub const ALL: [ReasonCode; 21] = [
        ReasonCode::CategoryUnknown,
        ReasonCode::SellerNotBound,
        ReasonCode::SellerSuspended,
        ReasonCode::VerificationExpired,
        ReasonCode::SellerPendingReview,
        ReasonCode::SellerNotVerified,
        ReasonCode::CategoryNotPermitted,
        ReasonCode::BusinessLineMissing,
        ReasonCode::CodeMissing,
        ReasonCode::CodeMalformed,
        ReasonCode::CodeSchemeNotAccepted,
        ReasonCode::CodeLevelInsufficient,
        ReasonCode::CodeUnregistered,
        ReasonCode::CodeRecalled,
        ReasonCode::CodeRevoked,
        ReasonCode::ProductExpired,
        ReasonCode::SellerNotAuthorized,
        ReasonCode::OriginMismatch,
        ReasonCode::ListingBlocked,
        ReasonCode::NotInChainOfCustody,
        ReasonCode::QuantityExceedsReceived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::CategoryUnknown => "category_unknown",
            ReasonCode::SellerNotBound => "seller_not_bound",
            ReasonCode::SellerSuspended => "seller_suspended",
            ReasonCode::VerificationExpired => "verification_expired",
            ReasonCode::SellerPendingReview => "seller_pending_review",
            ReasonCode::SellerNotVerified => "seller_not_verified",
            ReasonCode::CategoryNotPermitted => "category_not_permitted",
            ReasonCode::BusinessLineMissing => "business_line_missing",
            ReasonCode::CodeMissing => "code_missing",
            ReasonCode::CodeMalformed => "code_malformed",
            ReasonCode::CodeSchemeNotAccepted => "code_scheme_not_accepted",
            ReasonCode::CodeLevelInsufficient => "code_level_insufficient",
            ReasonCode::CodeUnregistered => "code_unregistered",
            ReasonCode::CodeRecalled => "code_recalled",
            ReasonCode::CodeRevoked => "code_revoked",
            ReasonCode::ProductExpired => "product_expired",
            ReasonCode::SellerNotAuthorized => "seller_not_authorized",
            ReasonCode::OriginMismatch => "origin_mismatch",
            ReasonCode::ListingBlocked => "listing_blocked",
            ReasonCode::NotInChainOfCustody => "not_in_chain_of_custody",
            ReasonCode::QuantityExceedsReceived => "quantity_exceeds_received",
        }
    }

    /// What the code means and what clears it, as the API documentation states it.
    pub fn description(self) -> &'static str {
        match self {
            ReasonCode::CategoryUnknown => {
                "The category is not in the listing policy; the default category's rule was applied (outcome per policy)."
            }
            ReasonCode::SellerNotBound => {
                "No verified seller is bound to the shop: the seller must bind it with a binding code (deny)."
            }
            ReasonCode::SellerSuspended => "The seller is suspended (deny).",
            ReasonCode::VerificationExpired => {
                "The seller's verification has expired; they must verify again (deny)."
            }
            ReasonCode::SellerPendingReview => {
                "The seller's authorisation to act for their business awaits an officer (review)."
            }
            ReasonCode::SellerNotVerified => "The seller is not verified, or was rejected (deny).",
            ReasonCode::CategoryNotPermitted => {
                "Sellers of this kind may not list in the category (deny)."
            }
            ReasonCode::BusinessLineMissing => {
                "The category needs a registered business line the seller's business lacks (deny)."
            }
            ReasonCode::CodeMissing => {
                "The category requires a traceability code and the listing carries none (deny)."
            }
            ReasonCode::CodeMalformed => {
                "A code cannot be read; `field` names it and `message` says why (deny)."
            }
            ReasonCode::CodeSchemeNotAccepted => {
                "The category does not accept codes of this scheme (`gs1` or `issuer`) (deny)."
            }
            ReasonCode::CodeLevelInsufficient => {
                "The category needs codes down to a finer level (e.g. lot or serial) (deny)."
            }
            ReasonCode::CodeUnregistered => {
                "No recognised issuer registered the code (outcome per policy: review or deny)."
            }
            ReasonCode::CodeRecalled => "The code, or a level above it, is recalled (deny).",
            ReasonCode::CodeRevoked => "The code, or a level above it, is revoked (deny).",
            ReasonCode::ProductExpired => {
                "The product's expiry date has passed and the category does not allow expired products (deny)."
            }
            ReasonCode::SellerNotAuthorized => {
                "The code belongs to a business that has not authorised this seller to distribute it (deny)."
            }
            ReasonCode::OriginMismatch => {
                "The listing's claimed origin disagrees with the origin the issuer registered (deny)."
            }
            ReasonCode::ListingBlocked => {
                "An officer's decision on a dispute blocked this listing (deny)."
            }
            ReasonCode::NotInChainOfCustody => {
                "The category asks resellers for a step of the lot's chain of custody, and no EPCIS event shows the seller's business receiving the lot (outcome per policy: review or deny)."
            }
            ReasonCode::QuantityExceedsReceived => {
                "The listing offers more units than EPCIS events show the seller's business received of the lot (review)."
            }
        }
    }
}

impl utoipa::PartialSchema for ReasonCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let table: String = Self::ALL
            .iter()
            .map(|c| format!("\n- `{}`: {}", c.as_str(), c.description()))
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Self::ALL.iter().map(|c| c.as_str())))
            .description(Some(format!("Stable machine code of a reason:{table}")))
            .into()
    }
}

impl ToSchema for ReasonCode {}

/// One reason, with a stable machine code, a message, and the request field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reason {
    pub code: ReasonCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What this reason alone leads to.
    pub effect: Decision,
}

fn reason(code: ReasonCode, effect: Decision, field: Option<String>, message: String) -> Reason {
    Reason {
        code,
        message,
        field,
        effect,
    }
}

/// What tracegate knows of the seller behind the shop, at the moment of deciding.
#[derive(Debug, Clone)]
pub struct SellerStanding<'a> {
    pub standing: Standing,
    pub kind: SellerKind,
    pub business_code: Option<&'a str>,
    pub business_lines: &'a [String],
}

/// A registered code as a decision sees it: the most specific registered level, with the
/// worst status of every registered level above it (a recalled product recalls its lots).
#[derive(Debug, Clone)]
pub struct RegisteredCode {
    pub key: String,
    pub state: CodeState,
    pub status_reason: Option<String>,
    pub owner_code: String,
    pub product_name: String,
    /// The origin the issuer registered, when it can be read.
    pub origin: Option<Origin>,
    pub expiry: Option<NaiveDate>,
}

/// What tracegate knows of one code of the listing.
#[derive(Debug, Clone)]
pub struct CodeFacts {
    pub parsed: Result<ParsedCode, CodeError>,
    pub registered: Option<RegisteredCode>,
    /// The seller is the owner's authorised distributor.
    pub authorised: bool,
    /// What the seller's business received of the code's lot, when the category asks
    /// for a chain step and the seller is not the owner.
    pub custody: Option<Custody>,
}

/// What a business received of a lot, as the chain of custody records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Custody {
    /// The code names no lot (the chain is kept per lot).
    NoLot,
    /// Receipts of the lot, and the units received when every receipt counts them.
    Received { receipts: i64, units: Option<f64> },
}

/// The category's rule as the policy gave it.
#[derive(Debug, Clone, Copy)]
pub struct RuleUsed<'a> {
    pub rule: &'a CategoryRule,
    /// The category was not listed (nor any ancestor): `rule` is the default category's
    /// and the listing gets `unknown_outcome` with `category_unknown`.
    pub unknown: bool,
    pub unknown_outcome: Outcome,
}

/// What the listing claims beyond its codes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Claims<'a> {
    /// The listing's claimed origin, already read.
    pub origin: Option<&'a Origin>,
    /// Units offered.
    pub quantity: Option<u64>,
}

/// Decides.
pub fn decide(
    used: RuleUsed<'_>,
    seller: Option<&SellerStanding<'_>>,
    codes: &[CodeFacts],
    claims: Claims<'_>,
    today: NaiveDate,
) -> (Decision, Vec<Reason>) {
    let origin = claims.origin;
    let rule = used.rule;
    let mut reasons = Vec::new();
    let deny = Decision::Deny;
    if used.unknown {
        reasons.push(reason(
            ReasonCode::CategoryUnknown,
            Decision::of(used.unknown_outcome),
            Some("category".into()),
            format!(
                "the category is not in the listing policy; it was checked as {}",
                rule.category
            ),
        ));
    }
    match seller {
        None => reasons.push(reason(
            ReasonCode::SellerNotBound,
            deny,
            Some("shop_id".into()),
            "no verified seller is bound to this shop; the seller must bind it with a code from tracegate".into(),
        )),
        Some(s) => {
            match s.standing {
                Standing::Verified => {}
                Standing::Suspended => reasons.push(reason(ReasonCode::SellerSuspended, deny, None, "the seller is suspended".into())),
                Standing::Expired => reasons.push(reason(
                    ReasonCode::VerificationExpired,
                    deny,
                    None,
                    "the seller's verification has expired; they must verify again".into(),
                )),
                Standing::PendingReview => reasons.push(reason(
                    ReasonCode::SellerPendingReview,
                    Decision::Review,
                    None,
                    "the seller's authorisation to act for their business awaits an officer".into(),
                )),
                Standing::Unverified | Standing::Rejected => {
                    reasons.push(reason(ReasonCode::SellerNotVerified, deny, None, "the seller is not verified".into()))
                }
            }
            if !rule.seller_kinds.iter().any(|k| k == s.kind.as_str()) {
                reasons.push(reason(
                    ReasonCode::CategoryNotPermitted,
                    deny,
                    Some("category".into()),
                    format!("{} sellers may not list in {} (allowed: {})", s.kind.as_str(), rule.category, rule.seller_kinds.join(", ")),
                ));
            }
            if !rule.business_lines.is_empty()
                && !s.business_lines.iter().any(|line| rule.business_lines.iter().any(|p| line.starts_with(p.as_str())))
            {
                reasons.push(reason(
                    ReasonCode::BusinessLineMissing,
                    deny,
                    Some("category".into()),
                    format!(
                        "{} needs a registered business line starting with one of {}",
                        rule.category,
                        rule.business_lines.join(", ")
                    ),
                ));
            }
        }
    }
    if rule.codes_required && codes.is_empty() {
        reasons.push(reason(
            ReasonCode::CodeMissing,
            deny,
            Some("codes".into()),
            format!("{} listings must carry a traceability code", rule.category),
        ));
    }
    let needed = Level::parse(&rule.level).unwrap_or(Level::Gtin);
    for (i, facts) in codes.iter().enumerate() {
        let field = Some(format!("codes[{i}]"));
        let code = match &facts.parsed {
            Ok(code) => code,
            Err(e) => {
                reasons.push(reason(
                    ReasonCode::CodeMalformed,
                    deny,
                    field,
                    e.to_string(),
                ));
                continue;
            }
        };
        let scheme = if code.form == Form::Issuer {
            "issuer"
        } else {
            "gs1"
        };
        if !rule.schemes.iter().any(|s| s == scheme) {
            reasons.push(reason(
                ReasonCode::CodeSchemeNotAccepted,
                deny,
                field.clone(),
                format!(
                    "{} does not accept {scheme} codes (accepted: {})",
                    rule.category,
                    rule.schemes.join(", ")
                ),
            ));
        }
        if code.level < needed {
            reasons.push(reason(
                ReasonCode::CodeLevelInsufficient,
                deny,
                field.clone(),
                format!(
                    "{} needs codes down to the {} level; this one names a {}",
                    rule.category,
                    needed.as_str(),
                    code.level.as_str()
                ),
            ));
        }
        let Some(registered) = &facts.registered else {
            let effect = Decision::of(rule.unregistered_code);
            reasons.push(reason(
                ReasonCode::CodeUnregistered,
                effect,
                field,
                format!("no recognised issuer registered {}", code.canonical()),
            ));
            continue;
        };
        match registered.state {
            CodeState::Recalled => reasons.push(reason(
                ReasonCode::CodeRecalled,
                deny,
                field.clone(),
                format!(
                    "recalled: {}",
                    registered.status_reason.clone().unwrap_or_default()
                ),
            )),
            CodeState::Revoked => reasons.push(reason(
                ReasonCode::CodeRevoked,
                deny,
                field.clone(),
                format!(
                    "revoked: {}",
                    registered.status_reason.clone().unwrap_or_default()
                ),
            )),
            CodeState::Active => {}
        }
        let expiry = registered.expiry.or(code.expiry);
        if let Some(expiry) = expiry.filter(|e| *e < today)
            && !rule.allow_expired
        {
            reasons.push(reason(
                ReasonCode::ProductExpired,
                deny,
                field.clone(),
                format!("the product expired on {expiry}"),
            ));
        }
        let owner_is_seller =
            seller.and_then(|s| s.business_code) == Some(registered.owner_code.as_str());
        if seller.is_some() && !owner_is_seller && rule.custody == CustodyRule::Chain {
            chain_of_custody(rule, facts.custody, claims.quantity, &field, &mut reasons);
        } else if seller.is_some() && !owner_is_seller && !facts.authorised {
            reasons.push(reason(
                ReasonCode::SellerNotAuthorized,
                deny,
                field.clone(),
                format!(
                    "the code belongs to {}, which has not authorised this seller to distribute it",
                    registered.owner_code
                ),
            ));
        }
        if let (Some(claimed), Some(registered_origin)) = (origin, registered.origin.as_ref())
            && !claimed.agrees_with(registered_origin)
        {
            reasons.push(reason(
                ReasonCode::OriginMismatch,
                deny,
                Some("origin".into()),
                format!(
                    "the listing claims origin {}, the issuer registered {}",
                    claimed.code(),
                    registered_origin.code()
                ),
            ));
        }
    }
    let decision = reasons
        .iter()
        .map(|r| r.effect)
        .max()
        .unwrap_or(Decision::Allow);
    (decision, reasons)
}

/// A reseller under a category that asks for a chain step: its business must have
/// received the lot, and not fewer units than it offers.
fn chain_of_custody(
    rule: &CategoryRule,
    custody: Option<Custody>,
    quantity: Option<u64>,
    field: &Option<String>,
    reasons: &mut Vec<Reason>,
) {
    let missing = Decision::of(rule.not_in_chain_of_custody);
    match custody {
        None | Some(Custody::NoLot) => reasons.push(reason(
            ReasonCode::NotInChainOfCustody,
            missing,
            field.clone(),
            format!(
                "{} asks resellers for a step of the lot's chain of custody, and the code names no lot",
                rule.category
            ),
        )),
        Some(Custody::Received { receipts: 0, .. }) => reasons.push(reason(
            ReasonCode::NotInChainOfCustody,
            missing,
            field.clone(),
            "no EPCIS event recorded by another party shows the seller's business receiving this lot".into(),
        )),
        Some(Custody::Received {
            units: Some(units), ..
        }) if quantity.is_some_and(|q| q as f64 > units) => reasons.push(reason(
            ReasonCode::QuantityExceedsReceived,
            Decision::Review,
            Some("quantity".into()),
            format!(
                "the listing offers {} units; the chain of custody shows the seller's business received {units}",
                quantity.unwrap_or_default()
            ),
        )),
        Some(Custody::Received { .. }) => {}
    }
}
