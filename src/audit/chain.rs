//! The chain rule, free of storage: how an entry's hash is computed and checked.

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

/// `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields an entry's hash covers.
#[derive(Debug, Clone, Copy)]
pub struct HashedFields<'a> {
    pub seq: i64,
    pub occurred_at: NaiveDateTime,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub details: &'a str,
    pub request_id: Option<&'a str>,
    pub prev_hash: &'a str,
}

/// SHA-256 (lower-case hex) of the entry's canonical form: a JSON array of its fields in a
/// fixed order, the time in RFC 3339 with microseconds (the precision both backends keep).
pub fn entry_hash(fields: &HashedFields<'_>) -> String {
    let canonical = serde_json::json!([
        fields.seq,
        fields
            .occurred_at
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string(),
        fields.actor,
        fields.action,
        fields.subject,
        fields.details,
        fields.request_id,
        fields.prev_hash,
    ]);
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why the chain is broken at an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {seq}: its contents do not match its hash (the row was edited)")]
    Altered { seq: i64 },
    #[error(
        "entry {seq}: it does not point at the hash of entry {previous} (a row was replaced or reordered)"
    )]
    Unlinked { seq: i64, previous: i64 },
    #[error("entry {seq} follows entry {previous}: entries in between are missing")]
    Gap { seq: i64, previous: i64 },
    #[error(
        "the chain's recorded head (entry {head_seq}) does not match its last entry ({last_seq}): entries were removed from the end or the head was edited"
    )]
    Head { head_seq: i64, last_seq: i64 },
    #[error(
        "entry {seq} is not the entry the checkpoint at {seq} signed: an entry after {since} and up to {seq} was rewritten (hashes recomputed)"
    )]
    Rewritten { seq: i64, since: i64 },
    #[error(
        "a signed checkpoint covers entry {checkpoint_seq} but the chain ends at entry {last_seq}: entries were removed from the end"
    )]
    Truncated { checkpoint_seq: i64, last_seq: i64 },
    #[error(
        "the checkpoint at entry {seq} does not carry a valid signature of the audit key: it was forged or altered"
    )]
    CheckpointForged { seq: i64 },
    #[error(
        "the chain starts at entry {first} but no signed checkpoint at entry {anchor} anchors it: entries were removed from the start"
    )]
    Unanchored { first: i64, anchor: i64 },
    #[error(
        "entries up to {anchor} are gone but no retention.exported entry records their export: they were removed outside a retention run"
    )]
    UnrecordedTruncation { anchor: i64 },
    #[error(
        "the chain starts after entry {anchor}, but the checkpoint there is not signed by the audit key it is verified with"
    )]
    AnchorUnsigned { anchor: i64 },
    #[error(
        "the export of entries up to {anchor} is recorded, but no checkpoint signed by the audit key covers that record: it cannot be told from a forged one"
    )]
    TruncationUnsigned { anchor: i64 },
}

impl ChainBreak {
    /// The break in the reader's language (`chain_break.*` in the catalogue).
    pub fn describe(&self, lang: crate::i18n::Language) -> String {
        let (code, args): (&str, Vec<i64>) = match *self {
            ChainBreak::Altered { seq } => ("altered", vec![seq]),
            ChainBreak::Unlinked { seq, previous } => ("unlinked", vec![seq, previous]),
            ChainBreak::Gap { seq, previous } => ("gap", vec![seq, previous]),
            ChainBreak::Head { head_seq, last_seq } => ("head", vec![head_seq, last_seq]),
            ChainBreak::Rewritten { seq, since } => ("rewritten", vec![seq, since]),
            ChainBreak::Truncated {
                checkpoint_seq,
                last_seq,
            } => ("truncated", vec![checkpoint_seq, last_seq]),
            ChainBreak::CheckpointForged { seq } => ("checkpoint_forged", vec![seq]),
            ChainBreak::Unanchored { first, anchor } => ("unanchored", vec![first, anchor]),
            ChainBreak::UnrecordedTruncation { anchor } => ("unrecorded_truncation", vec![anchor]),
            ChainBreak::AnchorUnsigned { anchor } => ("anchor_unsigned", vec![anchor]),
            ChainBreak::TruncationUnsigned { anchor } => ("truncation_unsigned", vec![anchor]),
        };
        let args: Vec<String> = args.iter().map(i64::to_string).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::i18n::catalogue::format("chain_break", code, &args, lang)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> NaiveDateTime {
        chrono::DateTime::parse_from_rfc3339("2026-11-26T01:02:03.123456Z")
            .expect("valid")
            .naive_utc()
    }

    fn fields(details: &str) -> HashedFields<'_> {
        HashedFields {
            seq: 1,
            occurred_at: at(),
            actor: "system",
            action: "account.created",
            subject: "seller:1",
            details,
            request_id: None,
            prev_hash: GENESIS_HASH,
        }
    }

    #[test]
    fn hash_is_stable_and_hex() {
        let h = entry_hash(&fields("{}"));
        assert_eq!(h, entry_hash(&fields("{}")));
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn any_field_change_changes_the_hash() {
        let base = entry_hash(&fields("{}"));
        assert_ne!(base, entry_hash(&fields("{\"a\":1}")));
        assert_ne!(
            base,
            entry_hash(&HashedFields {
                seq: 2,
                ..fields("{}")
            })
        );
        assert_ne!(
            base,
            entry_hash(&HashedFields {
                request_id: Some("r"),
                ..fields("{}")
            })
        );
        assert_ne!(
            base,
            entry_hash(&HashedFields {
                actor: "seller:2",
                ..fields("{}")
            })
        );
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        // "ab"+"c" and "a"+"bc" must not collide.
        let one = entry_hash(&HashedFields {
            actor: "ab",
            action: "c",
            ..fields("{}")
        });
        let two = entry_hash(&HashedFields {
            actor: "a",
            action: "bc",
            ..fields("{}")
        });
        assert_ne!(one, two);
    }
}
