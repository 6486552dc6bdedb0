//! Facts a listing decision rests on, and every change to them.
//!
//! Features own their facts (identity: sellers and bindings; codes: registrations, status,
//! distributor rights; disputes: blocked listings) and publish each change through the
//! [`FactBus`] inside the transaction that makes it. Publishing records the change in
//! `fact_changes` under a sequence number and lets subscribers act in the same transaction
//! (the gate withdraws the decisions that rested on what was taken away). Nodes follow the
//! sequence to keep their read models current; the listing gate's writer checks it so that
//! no decision made on facts that changed meanwhile is ever stored.
//!
//! Ordering: publishers take the facts lock exclusively and record their change last, just
//! before commit; the decision writer takes it shared. So sequence numbers commit in order
//! (a reader that sees change N has seen every change before it), and a decision either
//! commits before a change (which then sees and withdraws it) or sees the change and is not
//! stored.

mod store;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::db::DbConnection;

pub use store::{RecordedChange, changes_since, latest_seq, lock_shared};

/// One fact, by what names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fact {
    /// A registered code by its canonical key: its registration, status, owner, dates.
    Code(String),
    /// The codes one batch registered (too many to name one by one).
    CodeBatch(String),
    /// A seller's standing: identity, business, verification period, suspension.
    Seller(String),
    /// The seller bound to a platform's shop.
    Binding { platform: String, shop: String },
    /// The distributors a code's owner authorised (by the code's key).
    Authorisation(String),
    /// A dispute sanction blocking (or no longer blocking) a platform's listing.
    Block { platform: String, listing: String },
    /// The links an issuer or owner publishes for a code level (by the code's key): no
    /// decision rests on them, the resolver answers from them.
    Links(String),
    /// What a business received of a lot (`/01/{gtin}/10/{lot}`), as EPCIS events record.
    Custody { business: String, lot: String },
}

impl Fact {
    /// (kind, scope, key) as stored.
    fn parts(&self) -> (&'static str, &str, &str) {
        match self {
            Fact::Code(key) => ("code", "", key),
            Fact::CodeBatch(batch) => ("code_batch", "", batch),
            Fact::Seller(id) => ("seller", "", id),
            Fact::Binding { platform, shop } => ("binding", platform, shop),
            Fact::Authorisation(key) => ("authorisation", "", key),
            Fact::Block { platform, listing } => ("block", platform, listing),
            Fact::Links(key) => ("links", "", key),
            Fact::Custody { business, lot } => ("custody", business, lot),
        }
    }

    fn from_parts(kind: &str, scope: String, key: String) -> Option<Self> {
        Some(match kind {
            "code" => Fact::Code(key),
            "code_batch" => Fact::CodeBatch(key),
            "seller" => Fact::Seller(key),
            "binding" => Fact::Binding {
                platform: scope,
                shop: key,
            },
            "authorisation" => Fact::Authorisation(key),
            "block" => Fact::Block {
                platform: scope,
                listing: key,
            },
            "links" => Fact::Links(key),
            "custody" => Fact::Custody {
                business: scope,
                lot: key,
            },
            _ => return None,
        })
    }
}

/// A published change: the fact, and whether it took away what allowed decisions rested on
/// (then they are withdrawn, with this reason code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub fact: Fact,
    pub withdraws: Option<&'static str>,
}

impl Change {
    /// A change that only adds or corrects (decisions made before are decided anew when
    /// asked again, nothing is withdrawn).
    pub fn of(fact: Fact) -> Self {
        Self {
            fact,
            withdraws: None,
        }
    }

    /// A change that takes away what allowed decisions rested on.
    pub fn withdrawing(fact: Fact, reason: &'static str) -> Self {
        Self {
            fact,
            withdraws: Some(reason),
        }
    }
}

/// Acts on changes inside the transaction that publishes them.
pub trait Subscriber: Send + Sync {
    /// Returns how many listing decisions it withdrew.
    fn on_changes(
        &self,
        conn: &mut DbConnection,
        now: DateTime<Utc>,
        changes: &[Change],
    ) -> diesel::QueryResult<usize>;
}

/// A read model of another feature, loaded and kept current with the gate's (by the same
/// follower, so it is exactly as current as the gate's facts).
pub trait Projection: Send + Sync {
    /// Loads everything (at start, or after the follower lost track).
    fn load(&self, conn: &mut DbConnection) -> diesel::QueryResult<()>;
    /// Reads anew what a recorded change names, if it is of this projection's kind.
    fn apply(&self, conn: &mut DbConnection, fact: &Fact) -> diesel::QueryResult<()>;
}

/// Where changes are published: the subscribers, and a wake-up for this process's
/// followers once a publishing transaction has committed.
pub struct FactBus {
    subscribers: RwLock<Vec<Arc<dyn Subscriber>>>,
    committed: tokio::sync::Notify,
}

impl std::fmt::Debug for FactBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FactBus")
    }
}

impl FactBus {
    /// A bus with its subscribers. Every process that changes facts publishes through a
    /// bus with the same subscribers (`listings::fact_bus` builds it), or what they do in
    /// the changing transaction would be skipped.
    pub fn with(subscribers: Vec<Arc<dyn Subscriber>>) -> Self {
        Self {
            subscribers: RwLock::new(subscribers),
            committed: tokio::sync::Notify::new(),
        }
    }

    /// Records `changes` and lets the subscribers act, inside the caller's write
    /// transaction; returns how many listing decisions were withdrawn. Call it as late as
    /// the transaction allows: it holds the facts lock until the transaction ends, and
    /// decisions wait for it meanwhile.
    pub fn publish(
        &self,
        conn: &mut DbConnection,
        now: DateTime<Utc>,
        changes: &[Change],
    ) -> diesel::QueryResult<usize> {
        if changes.is_empty() {
            return Ok(0);
        }
        store::lock_exclusive(conn)?;
        store::record(conn, now, changes)?;
        let subscribers = self
            .subscribers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut withdrawn = 0;
        for subscriber in subscribers {
            withdrawn += subscriber.on_changes(conn, now, changes)?;
        }
        Ok(withdrawn)
    }

    /// Tells this process's followers that a transaction that published changes has
    /// committed (they also poll, so a missed call only delays them).
    pub fn committed(&self) {
        self.committed.notify_waiters();
    }

    /// Waits until a publishing transaction commits in this process, or `at_most`.
    pub async fn wait_committed(&self, at_most: Duration) {
        let _ = tokio::time::timeout(at_most, self.committed.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_survive_their_stored_form() {
        for fact in [
            Fact::Code("/01/09506000134352/10/A1".into()),
            Fact::CodeBatch("b".into()),
            Fact::Seller("s".into()),
            Fact::Binding {
                platform: "p".into(),
                shop: "shop 1".into(),
            },
            Fact::Authorisation("/01/09506000134352".into()),
            Fact::Block {
                platform: "p".into(),
                listing: "l".into(),
            },
            Fact::Custody {
                business: "0312345678".into(),
                lot: "/01/09506000134352/10/A1".into(),
            },
        ] {
            let (kind, scope, key) = fact.parts();
            assert_eq!(
                Fact::from_parts(kind, scope.to_string(), key.to_string()),
                Some(fact.clone())
            );
        }
        assert_eq!(Fact::from_parts("nope", String::new(), String::new()), None);
    }
}
