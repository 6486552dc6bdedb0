//! How a decision is identified, stored and vouched for: the content hash, the replay key
//! (content and the versions of every fact the decision rested on), the compact stored
//! record, the claims of a single attestation, and the digest a batch attestation lists.

use chrono::{DateTime, NaiveDateTime, Utc};
use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{CheckedCode, Decision, ListingDecision, ListingRequest, Reason};

/// Feeds one field, length first, so that no two different field lists hash alike.
fn field(hash: &mut Sha256, value: &[u8]) {
    hash.update((value.len() as u64).to_le_bytes());
    hash.update(value);
}

/// SHA-256 (hex) of what a listing says: shop, category, title, codes and origin as sent.
pub fn content_hash(request: &ListingRequest) -> String {
    let mut hash = Sha256::new();
    field(&mut hash, b"tracegate-listing-content-v2");
    field(&mut hash, request.shop_id.as_bytes());
    field(&mut hash, request.category.as_bytes());
    field(&mut hash, request.title.as_bytes());
    hash.update((request.codes.len() as u64).to_le_bytes());
    for code in &request.codes {
        field(&mut hash, code.as_bytes());
    }
    match &request.origin {
        Some(origin) => field(&mut hash, origin.as_bytes()),
        None => hash.update([0xff]),
    }
    // Only when given, so that listings without a quantity keep their hashes.
    if let Some(quantity) = request.quantity {
        field(&mut hash, b"quantity");
        hash.update(quantity.to_le_bytes());
    }
    HEXLOWER.encode(&hash.finalize())
}

/// The versions of the facts a decision rested on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactVersions {
    /// The model's sequence when the facts were read.
    pub seq: i64,
    pub binding: i64,
    pub seller: Option<(String, i64)>,
    /// Every look-up key of every readable code, with its version.
    pub codes: Vec<(String, i64)>,
    pub rights: Vec<i64>,
    /// Versions of the custody facts read (one per code that needed a chain step).
    pub custody: Vec<i64>,
    pub block: i64,
    /// When the decision would change with time alone (verification or a right ending, a
    /// product expiring), if ever.
    pub horizon: Option<NaiveDateTime>,
}

/// 16 bytes naming a decision that may be replayed: the same platform, listing and content
/// decided on facts of the same versions under the same policy.
pub fn replay_key(
    platform: &str,
    listing: &str,
    content_hash: &str,
    policy_version: &str,
    facts: &FactVersions,
) -> Vec<u8> {
    let mut hash = Sha256::new();
    field(&mut hash, b"tracegate-replay-v1");
    for value in [platform, listing, content_hash, policy_version] {
        field(&mut hash, value.as_bytes());
    }
    hash.update(facts.binding.to_le_bytes());
    match &facts.seller {
        Some((id, version)) => {
            field(&mut hash, id.as_bytes());
            hash.update(version.to_le_bytes());
        }
        None => hash.update([0xff]),
    }
    hash.update((facts.codes.len() as u64).to_le_bytes());
    for (key, version) in &facts.codes {
        field(&mut hash, key.as_bytes());
        hash.update(version.to_le_bytes());
    }
    hash.update((facts.rights.len() as u64).to_le_bytes());
    for version in &facts.rights {
        hash.update(version.to_le_bytes());
    }
    hash.update(facts.block.to_le_bytes());
    // Absent for decisions that read no custody, so their keys stay as they were.
    if !facts.custody.is_empty() {
        hash.update((facts.custody.len() as u64).to_le_bytes());
        for version in &facts.custody {
            hash.update(version.to_le_bytes());
        }
    }
    hash.update(
        facts
            .horizon
            .map_or(i64::MIN, |h| h.and_utc().timestamp())
            .to_le_bytes(),
    );
    hash.finalize()[..16].to_vec()
}

/// What is stored of a decision beyond its columns: the reasons and codes as answered.
/// (Rows written before this form hold the whole answer, which reads the same way.)
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    pub reasons: Vec<Reason>,
    pub codes: Vec<CheckedCode>,
}

/// What a single check's attestation says (a JWT, EdDSA).
#[derive(Debug, Serialize)]
pub struct Claims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub jti: &'a str,
    pub iat: i64,
    pub exp: i64,
    pub platform: &'a str,
    pub listing_id: &'a str,
    pub shop_id: &'a str,
    pub seller_id: Option<&'a str>,
    pub decision: Decision,
    pub reasons: Vec<&'a str>,
    pub codes: Vec<&'a str>,
    pub policy_version: &'a str,
    pub content_sha256: &'a str,
}

impl<'a> Claims<'a> {
    pub fn of(issuer: &'a str, platform: &'a str, decision: &'a ListingDecision) -> Self {
        Claims {
            iss: issuer,
            sub: &decision.id,
            jti: &decision.id,
            iat: decision.created_at.timestamp(),
            exp: decision.expires_at.timestamp(),
            platform,
            listing_id: &decision.listing_id,
            shop_id: &decision.shop_id,
            seller_id: decision.seller_id.as_deref(),
            decision: decision.decision,
            reasons: decision.reasons.iter().map(|r| r.code.as_str()).collect(),
            codes: decision
                .codes
                .iter()
                .filter_map(|c| c.canonical.as_deref())
                .collect(),
            policy_version: &decision.policy_version,
            content_sha256: &decision.content_sha256,
        }
    }
}

/// The text a batch decision's digest is taken over: one field per line, in this order
/// (documented in the README and the API description, so anyone can hash it again):
/// `tracegate-decision-v1`, id, platform, listing id, shop id, seller id (empty if none),
/// decision, reason codes joined by `,`, canonical codes joined by ` `, policy version,
/// content SHA-256, issued-at and expiry as Unix seconds.
pub fn digest_text(platform: &str, decision: &ListingDecision) -> String {
    let reasons: Vec<&str> = decision.reasons.iter().map(|r| r.code.as_str()).collect();
    let codes: Vec<&str> = decision
        .codes
        .iter()
        .filter_map(|c| c.canonical.as_deref())
        .collect();
    [
        "tracegate-decision-v1",
        &decision.id,
        platform,
        &decision.listing_id,
        &decision.shop_id,
        decision.seller_id.as_deref().unwrap_or(""),
        decision.decision.as_str(),
        &reasons.join(","),
        &codes.join(" "),
        &decision.policy_version,
        &decision.content_sha256,
        &decision.created_at.timestamp().to_string(),
        &decision.expires_at.timestamp().to_string(),
    ]
    .join("\n")
}

/// Base64url (no padding) SHA-256 of [`digest_text`].
pub fn digest(platform: &str, decision: &ListingDecision) -> String {
    BASE64URL_NOPAD.encode(&Sha256::digest(digest_text(platform, decision).as_bytes()))
}

/// What a batch attestation says: the digests of its decisions, in order.
#[derive(Debug, Serialize)]
pub struct BatchClaims<'a> {
    pub iss: &'a str,
    pub jti: &'a str,
    pub iat: i64,
    pub exp: i64,
    pub platform: &'a str,
    /// How each digest was made (see [`digest_text`]).
    pub digest_alg: &'static str,
    pub decisions: Vec<String>,
}

/// Seconds since the epoch as a UTC time (whole seconds, as attestations carry them).
pub fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(title: &str) -> ListingRequest {
        ListingRequest {
            shop_id: "s".into(),
            listing_id: "l".into(),
            category: "food".into(),
            title: title.into(),
            codes: vec!["a".into(), "b".into()],
            origin: None,
            quantity: None,
        }
    }

    #[test]
    fn content_and_replay_keys_change_with_what_they_cover() {
        assert_eq!(content_hash(&request("x")), content_hash(&request("x")));
        assert_ne!(content_hash(&request("x")), content_hash(&request("y")));
        let mut moved = request("x");
        moved.codes = vec!["ab".into()];
        assert_ne!(content_hash(&request("x")), content_hash(&moved));
        let facts = FactVersions {
            codes: vec![("/01/x".into(), 3)],
            ..FactVersions::default()
        };
        let key = replay_key("p", "l", "h", "v", &facts);
        assert_eq!(key.len(), 16);
        assert_eq!(key, replay_key("p", "l", "h", "v", &facts));
        let mut newer = facts.clone();
        newer.codes[0].1 = 4;
        assert_ne!(key, replay_key("p", "l", "h", "v", &newer));
        assert_ne!(key, replay_key("p", "l", "h", "w", &facts), "policy");
        // The model's sequence alone does not change what a decision rests on.
        let mut later = facts.clone();
        later.seq = 99;
        assert_eq!(key, replay_key("p", "l", "h", "v", &later));
    }
}
