//! Hash-chained audit log: every state-changing action appends an entry in the same
//! transaction as the change, and each entry's hash covers the previous entry's hash, so
//! editing, deleting or reordering any row is detected by [`verify`]. Signed checkpoints
//! ([`checkpoint`]) catch what a chain cannot: a rewrite by someone who can write the
//! database and recomputes every later hash, or rows cut from the end.

mod chain;
pub mod checkpoint;
pub mod routes;
mod store;

pub use chain::{ChainBreak, GENESIS_HASH, HashedFields, entry_hash};
pub use checkpoint::{Checkpoint, CheckpointSigner, checkpoint_if_due};
pub use store::{
    AuditEntry, ChainAnchor, TRUNCATION_ACTION, TRUNCATION_KIND, VerifyReport, append, verify,
    verify_against,
};

/// What happened, by whom, to what. `actor` and `subject` are `kind:id` strings
/// (`seller:0190…`, `client:…`, `system`), `action` a dotted verb (`account.created`).
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub actor: String,
    pub action: &'static str,
    pub subject: String,
    pub details: serde_json::Value,
}

impl NewAuditEntry {
    pub fn new(actor: impl Into<String>, action: &'static str, subject: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            action,
            subject: subject.into(),
            details: serde_json::Value::Object(Default::default()),
        }
    }

    /// Adds facts about the action. Never put personal identifiers here in clear.
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}
