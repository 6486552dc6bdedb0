//! Hash-chained audit log: every state-changing action appends an entry in the same
//! transaction as the change, and each entry's hash covers the previous entry's hash, so
//! editing, deleting or reordering any row is detected by [`verify`].

mod chain;
mod store;

pub use chain::{ChainBreak, GENESIS_HASH, HashedFields, entry_hash};
pub use store::{AuditEntry, VerifyReport, append, verify};

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
