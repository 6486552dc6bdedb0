//! Access tokens that ended before they expire: the sessions ended (log-out, a reused
//! refresh token, a password change or reset) and the clients disabled.
//!
//! Access tokens are checked without the database, so what ends them must be known in
//! memory. The list holds what was revoked since the oldest token that can still be live
//! (the longest token lifetime plus clock skew): older entries cannot matter and are
//! dropped, so it stays small. It is loaded when the service starts and kept current by
//! following the tables that record revocations: at once in the process that revoked (a
//! nudge after the write), and on every node within a poll interval (250 ms), since every
//! node reads the same database. A node whose follower keeps failing still refuses what it
//! knew; it reports itself not ready after missing updates for longer than a token lives
//! past its revocation would matter (see [`Revocations::is_current`]).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use super::tokens::{Claims, PrincipalKind};
use crate::clock::Clock;
use crate::db::{DbConnection, DbPool};

/// How far back each look repeats, so that a revocation committed a little after a later
/// one is not skipped.
const OVERLAP: TimeDelta = TimeDelta::seconds(10);
/// How long the list may go without an update before the node reports not ready.
const STALE_AFTER: Duration = Duration::from_secs(5);
/// How often the follower looks when nothing nudges it.
pub const FOLLOW_POLL: Duration = Duration::from_millis(250);

#[derive(Debug, Default)]
struct Revoked {
    /// Session (refresh token family) id → when it ended.
    sessions: HashMap<String, NaiveDateTime>,
    /// Client id → when it was disabled.
    clients: HashMap<String, NaiveDateTime>,
    /// Everything revoked at or after this moment (less [`OVERLAP`]) is yet to be read.
    read_until: Option<NaiveDateTime>,
    /// When the last look succeeded (a monotonic instant: the service clock may be moved).
    updated_at: Option<Instant>,
}

/// The revoked sessions and clients that live tokens may still name.
#[derive(Debug)]
pub struct Revocations {
    revoked: RwLock<Revoked>,
    /// Tokens live at most this long (longest lifetime plus skew).
    horizon: TimeDelta,
    nudge: tokio::sync::Notify,
}

impl Revocations {
    /// An empty list for tokens that live at most `longest_token_secs`.
    pub fn new(longest_token_secs: u32) -> Self {
        Self {
            revoked: RwLock::new(Revoked::default()),
            horizon: TimeDelta::seconds(i64::from(longest_token_secs) + 60),
            nudge: tokio::sync::Notify::new(),
        }
    }

    /// True when what the token was issued under has ended.
    pub fn is_revoked(&self, claims: &Claims) -> bool {
        let revoked = self.revoked.read().unwrap_or_else(|p| p.into_inner());
        match claims.kind {
            PrincipalKind::Platform | PrincipalKind::Issuer => {
                revoked.clients.contains_key(&claims.sub)
            }
            PrincipalKind::Seller | PrincipalKind::Officer => claims
                .sid
                .as_ref()
                .is_some_and(|sid| revoked.sessions.contains_key(sid)),
        }
    }

    /// Reads what was revoked since the last look (or, the first time, within the
    /// horizon), and forgets what no live token can name any more.
    pub fn update(&self, conn: &mut DbConnection, now: DateTime<Utc>) -> diesel::QueryResult<()> {
        let now = now.naive_utc();
        let oldest = now - self.horizon;
        let since = {
            let revoked = self.revoked.read().unwrap_or_else(|p| p.into_inner());
            revoked
                .read_until
                .map_or(oldest, |until| (until - OVERLAP).max(oldest))
        };
        let sessions = crate::accounts::sessions_revoked_since(conn, since)?;
        let clients = crate::clients::disabled_since(conn, since)?;
        let mut revoked = self.revoked.write().unwrap_or_else(|p| p.into_inner());
        revoked.sessions.extend(sessions);
        revoked.clients.extend(clients);
        revoked.sessions.retain(|_, at| *at >= oldest);
        revoked.clients.retain(|_, at| *at >= oldest);
        revoked.read_until = Some(now);
        revoked.updated_at = Some(Instant::now());
        Ok(())
    }

    /// False when the list has not been brought up to date recently: the node then
    /// reports itself not ready rather than accept tokens it may no longer know ended.
    pub fn is_current(&self) -> bool {
        let revoked = self.revoked.read().unwrap_or_else(|p| p.into_inner());
        revoked
            .updated_at
            .is_some_and(|at| at.elapsed() <= STALE_AFTER)
    }

    /// Says that this process has just revoked something: the follower looks at once.
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// Waits for a nudge, or `at_most`.
    pub async fn wait_nudge(&self, at_most: Duration) {
        let _ = tokio::time::timeout(at_most, self.nudge.notified()).await;
    }

    /// How many entries the list holds (sessions, clients).
    pub fn sizes(&self) -> (usize, usize) {
        let revoked = self.revoked.read().unwrap_or_else(|p| p.into_inner());
        (revoked.sessions.len(), revoked.clients.len())
    }
}

/// Keeps `revocations` current until `stopped`: at once when nudged, else every
/// [`FOLLOW_POLL`].
pub async fn follow(
    revocations: Arc<Revocations>,
    pool: DbPool,
    clock: Arc<dyn Clock>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = revocations.wait_nudge(FOLLOW_POLL) => {}
            _ = stopped.changed() => return,
        }
        let (list, pool, clock) = (revocations.clone(), pool.clone(), clock.clone());
        let looked = crate::telemetry::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            list.update(&mut conn, clock.now())
                .map_err(|e| e.to_string())
        })
        .await;
        match looked {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "cannot read revoked sessions and clients"),
            Err(error) => tracing::warn!(%error, "revocation follower task failed"),
        }
    }
}
