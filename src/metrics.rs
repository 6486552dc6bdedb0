//! Prometheus metrics: requests by route and status, request latency, database pool use,
//! outbox deliveries, optional mails silenced by their recipients, and how often the
//! listing gate decides from its caches.
//!
//! Routes are labelled by their pattern (`/v1/disputes/{id}`), never the raw path, so the
//! number of series stays bounded whatever clients send.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Media type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    kind: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CategoryLabels {
    category: &'static str,
}

/// Optional mails not queued because their recipient silenced the category. Process-wide
/// because mails are queued deep inside services' transactions, which hold no registry;
/// each registry registers this one family.
static MAILS_SUPPRESSED: LazyLock<Family<CategoryLabels, Counter>> = LazyLock::new(Family::default);

/// Counts one optional mail not queued, by its category's code.
pub fn count_mail_suppressed(category: &'static str) {
    MAILS_SUPPRESSED
        .get_or_create(&CategoryLabels { category })
        .inc();
}

/// Why an attempt was throttled or refused by an abuse limit (the `reason` label of
/// `tracegate_attempts_refused_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A sign-in from a source locked after failed passwords or codes.
    LoginLocked,
    /// A client token request from a source locked after wrong secrets.
    ClientLocked,
    /// No hashing thread was free within the wait.
    HashingBusy,
    /// An identity check from an account or source locked after checks that did not match.
    IdentityLocked,
    /// An evidence file past the policy's count per party and case.
    EvidenceFiles,
    /// An evidence file past the policy's total bytes per party and case.
    EvidenceBytes,
    /// An officer's status change on a code whose owner is outside their provinces.
    CodeOutOfScope,
    /// A request body not received within the body read timeout.
    BodyTimeout,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Refusal::LoginLocked => "login_locked",
            Refusal::ClientLocked => "client_locked",
            Refusal::HashingBusy => "hashing_busy",
            Refusal::IdentityLocked => "identity_locked",
            Refusal::EvidenceFiles => "evidence_files",
            Refusal::EvidenceBytes => "evidence_bytes",
            Refusal::CodeOutOfScope => "code_out_of_scope",
            Refusal::BodyTimeout => "body_timeout",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms … ~4 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// The service's metrics registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pool_connections: Family<PoolLabels, Gauge>,
    pool_max: Gauge,
    deliveries: Family<DeliveryLabels, Counter>,
    outbox_pending: Family<KindLabels, Gauge>,
    /// Listing decisions stored, replayed (the same content on unchanged facts), and
    /// decided again because a fact changed meanwhile (handles into one family, made once:
    /// the check path does no label look-up).
    decisions_stored: Counter,
    decisions_replayed: Counter,
    decisions_redecided: Counter,
    decision_commit: Histogram,
    decision_group: Histogram,
    refused: Family<ReasonLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// A snapshot of the connection pool for [`Metrics::render`].
#[derive(Debug, Clone, Copy)]
pub struct PoolUsage {
    pub idle: u32,
    pub in_use: u32,
    pub max: u32,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tracegate");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route pattern and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from receiving a request to its response, by method and route pattern",
            latency.clone(),
        );
        let pool_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections in the pool, by state (idle or in_use)",
            pool_connections.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "db_pool_max_connections",
            "Largest number of connections the pool may open",
            pool_max.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "outbox_deliveries",
            "Outbox delivery attempts, by message kind and outcome (delivered, retry, dead)",
            deliveries.clone(),
        );
        let outbox_pending = Family::<KindLabels, Gauge>::default();
        registry.register(
            "outbox_pending",
            "Outbox messages not yet delivered nor given up, by kind",
            outbox_pending.clone(),
        );
        let listing_decisions = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "listing_decisions",
            "Listing decisions by outcome: stored, replayed (same content, unchanged facts), decided_again (a fact changed while deciding)",
            listing_decisions.clone(),
        );
        let decision_commit = latency_histogram();
        registry.register(
            "decision_commit_seconds",
            "Time to store one group of listing decisions durably",
            decision_commit.clone(),
        );
        let decision_group = Histogram::new(exponential_buckets(1.0, 2.0, 11));
        registry.register(
            "decision_group_size",
            "Listing decisions stored per transaction",
            decision_group.clone(),
        );
        let refused = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "attempts_refused",
            "Attempts throttled or refused by an abuse limit, by reason",
            refused.clone(),
        );
        registry.register(
            "mails_suppressed",
            "Optional mails not queued because the recipient silenced their category, by category",
            MAILS_SUPPRESSED.clone(),
        );
        // One statement each: the family's read guard must be gone before the next look-up.
        let decisions_stored = listing_decisions
            .get_or_create(&OutcomeLabels { outcome: "stored" })
            .clone();
        let decisions_replayed = listing_decisions
            .get_or_create(&OutcomeLabels {
                outcome: "replayed",
            })
            .clone();
        let decisions_redecided = listing_decisions
            .get_or_create(&OutcomeLabels {
                outcome: "decided_again",
            })
            .clone();
        Self {
            refused,
            decisions_stored,
            decisions_replayed,
            decisions_redecided,
            decision_commit,
            decision_group,
            registry,
            requests,
            latency,
            pool_connections,
            pool_max,
            deliveries,
            outbox_pending,
        }
    }

    /// Records one answered request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts listing decisions by what became of them.
    pub fn observe_listing_decisions(&self, stored: u64, replayed: u64, redecided: u64) {
        self.decisions_stored.inc_by(stored);
        self.decisions_replayed.inc_by(replayed);
        self.decisions_redecided.inc_by(redecided);
    }

    /// Records one group commit of listing decisions.
    pub fn observe_decision_group(&self, decisions: usize, elapsed: Duration) {
        self.decision_commit.observe(elapsed.as_secs_f64());
        self.decision_group.observe(decisions as f64);
    }

    /// Counts one attempt refused by an abuse limit.
    pub fn refused(&self, why: Refusal) {
        self.refused
            .get_or_create(&ReasonLabels {
                reason: why.label(),
            })
            .inc();
    }

    /// Records one delivery attempt of an outbox message.
    pub fn observe_delivery(&self, kind: &str, outcome: &'static str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                kind: kind.to_string(),
                outcome,
            })
            .inc();
    }

    /// Sets the number of pending outbox messages per kind (kinds not listed: 0).
    pub fn set_outbox_pending(&self, counts: &[(String, i64)]) {
        self.outbox_pending
            .get_or_create(&KindLabels {
                kind: "mail".into(),
            })
            .set(0);
        for (kind, count) in counts {
            self.outbox_pending
                .get_or_create(&KindLabels { kind: kind.clone() })
                .set(*count);
        }
    }

    /// The metrics in Prometheus text format, with the pool figures as of now.
    pub fn render(&self, pool: PoolUsage) -> String {
        self.pool_connections
            .get_or_create(&PoolLabels { state: "idle" })
            .set(i64::from(pool.idle));
        self.pool_connections
            .get_or_create(&PoolLabels { state: "in_use" })
            .set(i64::from(pool.in_use));
        self.pool_max.set(i64::from(pool.max));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_and_status() {
        let metrics = Metrics::new();
        metrics.observe_request("GET", "/healthz", 200, Duration::from_millis(1));
        metrics.observe_request("GET", "/healthz", 200, Duration::from_millis(2));
        metrics.observe_request("POST", "unmatched", 404, Duration::from_millis(1));
        let text = metrics.render(PoolUsage {
            idle: 1,
            in_use: 2,
            max: 10,
        });
        assert!(
            text.contains(
                r#"tracegate_http_requests_total{method="GET",route="/healthz",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"status="404""#), "{text}");
        assert!(
            text.contains(r#"tracegate_db_pool_connections{state="in_use"} 2"#),
            "{text}"
        );
        assert!(
            text.contains("tracegate_http_request_duration_seconds_bucket"),
            "{text}"
        );
    }
}
