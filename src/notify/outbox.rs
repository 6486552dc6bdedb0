//! The outbox table: enqueue in the caller's transaction, claim due messages one at a time
//! per lane (several workers never claim the same one), renew the claim while delivering,
//! record the outcome.
//!
//! A claim is a lease: `locked_until` and `lease_holder`. It lasts about as long as one
//! delivery may take and its holder renews it while working, so a message whose node died
//! mid-delivery is taken over by another node soon after, not minutes later.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::outbox;
use crate::db::{DbConnection, write_transaction};

/// What a message is, and so how the worker delivers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutboxKind {
    Mail,
    Webhook,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Mail => "mail",
            OutboxKind::Webhook => "webhook",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "mail" => Some(OutboxKind::Mail),
            "webhook" => Some(OutboxKind::Webhook),
            _ => None,
        }
    }
}

/// A stored message.
#[derive(Debug, Clone, Queryable)]
pub struct OutboxRow {
    pub id: String,
    pub kind: String,
    /// Recipient address or URL.
    pub destination: String,
    pub payload: String,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
    pub attempts: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
    pub dead_at: Option<NaiveDateTime>,
    /// The node delivering it while `locked_until` has not passed.
    pub lease_holder: Option<String>,
}

/// Messages are delivered in lanes: all mail in one, each platform's webhooks in their
/// own, so that a platform whose endpoint hangs delays only its own events.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Lane {
    Mail,
    /// A platform's webhooks, by outbox destination (`platform:<client id>`).
    Webhook(String),
}

impl Lane {
    /// The lane a stored message travels in.
    pub fn of(row: &OutboxRow) -> Self {
        match OutboxKind::parse(&row.kind) {
            Some(OutboxKind::Webhook) => Lane::Webhook(row.destination.clone()),
            _ => Lane::Mail,
        }
    }

    /// `mail` or `webhook:<platform>`, for logs.
    pub fn key(&self) -> String {
        match self {
            Lane::Mail => "mail".into(),
            Lane::Webhook(destination) => format!(
                "webhook:{}",
                destination.strip_prefix("platform:").unwrap_or(destination)
            ),
        }
    }
}

/// A message as administrators see it (without its content), times in UTC.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutboxMessage {
    pub id: String,
    pub kind: OutboxKind,
    /// Recipient address, or `platform:<client id>` for a webhook.
    pub destination: String,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub attempts: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_at: Option<DateTime<Utc>>,
}

impl OutboxMessage {
    /// The view of a stored row; `None` for a kind this version does not know.
    pub fn of(row: OutboxRow) -> Option<Self> {
        Some(Self {
            kind: OutboxKind::parse(&row.kind)?,
            id: row.id,
            destination: row.destination,
            created_at: row.created_at.and_utc(),
            next_attempt_at: row.next_attempt_at.and_utc(),
            attempts: row.attempts,
            last_error: row.last_error,
            delivered_at: row.delivered_at.map(|t| t.and_utc()),
            dead_at: row.dead_at.map(|t| t.and_utc()),
        })
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutboxState {
    /// Not delivered yet, still being tried.
    Pending,
    /// Given up after the last allowed attempt.
    Dead,
    Delivered,
}

/// Adds a message, due at once. Call inside the transaction of the change that causes it.
pub fn enqueue(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    kind: OutboxKind,
    destination: &str,
    payload: &str,
) -> QueryResult<String> {
    enqueue_as(
        conn,
        &uuid::Uuid::now_v7().to_string(),
        now,
        kind,
        destination,
        payload,
    )
}

/// As [`enqueue`], with the message id chosen by the caller (a webhook's event id).
pub fn enqueue_as(
    conn: &mut DbConnection,
    id: &str,
    now: DateTime<Utc>,
    kind: OutboxKind,
    destination: &str,
    payload: &str,
) -> QueryResult<String> {
    let id = id.to_string();
    let now = now.naive_utc();
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(&id),
            outbox::kind.eq(kind.as_str()),
            outbox::destination.eq(destination),
            outbox::payload.eq(payload),
            outbox::created_at.eq(now),
            outbox::next_attempt_at.eq(now),
            outbox::attempts.eq(0),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Undelivered messages of a lane whose time has come and that no worker holds, oldest
/// first. A macro because the PostgreSQL branch needs its own concrete query type for the
/// locking clause, and each lane its own filter.
macro_rules! due_in_lane {
    ($now:expr, $lane_filter:expr) => {
        outbox::table
            .filter($lane_filter)
            .filter(outbox::delivered_at.is_null())
            .filter(outbox::dead_at.is_null())
            .filter(outbox::next_attempt_at.le($now))
            .filter(
                outbox::locked_until
                    .is_null()
                    .or(outbox::locked_until.lt($now)),
            )
            .order(outbox::next_attempt_at.asc())
            .limit(1)
            .select(outbox::id)
    };
}

/// Lanes with a message due that no worker holds: mail first, then up to `limit` platforms.
pub fn due_lanes(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Lane>> {
    let now = now.naive_utc();
    let due = || {
        outbox::table
            .filter(outbox::delivered_at.is_null())
            .filter(outbox::dead_at.is_null())
            .filter(outbox::next_attempt_at.le(now))
            .filter(
                outbox::locked_until
                    .is_null()
                    .or(outbox::locked_until.lt(now)),
            )
    };
    let mut lanes = Vec::new();
    let mail: Option<String> = due()
        .filter(outbox::kind.eq(OutboxKind::Mail.as_str()))
        .select(outbox::id)
        .first(conn)
        .optional()?;
    if mail.is_some() {
        lanes.push(Lane::Mail);
    }
    let platforms: Vec<String> = due()
        .filter(outbox::kind.eq(OutboxKind::Webhook.as_str()))
        .select(outbox::destination)
        .distinct()
        .limit(limit)
        .load(conn)?;
    lanes.extend(platforms.into_iter().map(Lane::Webhook));
    Ok(lanes)
}

/// Claims the oldest due message of `lane` for `holder` until `now + lease`, counting the
/// attempt. On PostgreSQL a row another worker is claiming is skipped (`FOR UPDATE SKIP
/// LOCKED`); SQLite has one writer, and `BEGIN IMMEDIATE` makes select and update one step.
pub fn claim_next(
    conn: &mut DbConnection,
    lane: &Lane,
    holder: &str,
    now: DateTime<Utc>,
    lease: TimeDelta,
) -> QueryResult<Option<OutboxRow>> {
    let now = now.naive_utc();
    let mail = OutboxKind::Mail.as_str();
    let webhook = OutboxKind::Webhook.as_str();
    write_transaction(conn, |conn| {
        let id: Option<String> = match (&mut *conn, lane) {
            (DbConnection::Postgresql(pg), Lane::Mail) => due_in_lane!(now, outbox::kind.eq(mail))
                .for_update()
                .skip_locked()
                .first(pg)
                .optional()?,
            (DbConnection::Postgresql(pg), Lane::Webhook(to)) => due_in_lane!(
                now,
                outbox::kind.eq(webhook).and(outbox::destination.eq(to))
            )
            .for_update()
            .skip_locked()
            .first(pg)
            .optional()?,
            (DbConnection::Sqlite(lite), Lane::Mail) => due_in_lane!(now, outbox::kind.eq(mail))
                .first(lite)
                .optional()?,
            (DbConnection::Sqlite(lite), Lane::Webhook(to)) => due_in_lane!(
                now,
                outbox::kind.eq(webhook).and(outbox::destination.eq(to))
            )
            .first(lite)
            .optional()?,
        };
        let Some(id) = id else {
            return Ok(None);
        };
        diesel::update(outbox::table.find(&id))
            .set((
                outbox::locked_until.eq(now + lease),
                outbox::lease_holder.eq(holder),
                outbox::attempts.eq(outbox::attempts + 1),
            ))
            .execute(conn)?;
        outbox::table.find(&id).first(conn).optional()
    })
}

/// Extends `holder`'s lease on a message it is still delivering. False when the lease was
/// lost (it ran out and another worker took the message): the delivery may then happen
/// twice, which the receiver notices by its event id.
pub fn renew(
    conn: &mut DbConnection,
    id: &str,
    holder: &str,
    now: DateTime<Utc>,
    lease: TimeDelta,
) -> QueryResult<bool> {
    let changed = diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::lease_holder.eq(holder))
            .filter(outbox::delivered_at.is_null())
            .filter(outbox::dead_at.is_null()),
    )
    .set(outbox::locked_until.eq((now + lease).naive_utc()))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn mark_delivered(conn: &mut DbConnection, id: &str, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::delivered_at.eq(now.naive_utc()),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::lease_holder.eq(None::<String>),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt: try again at `retry_at`, or give up when it is `None`.
pub fn mark_failed(
    conn: &mut DbConnection,
    id: &str,
    now: DateTime<Utc>,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    let now = now.naive_utc();
    let error: String = error.chars().take(2000).collect();
    match retry_at {
        Some(at) => diesel::update(outbox::table.find(id))
            .set((
                outbox::next_attempt_at.eq(at.naive_utc()),
                outbox::locked_until.eq(None::<NaiveDateTime>),
                outbox::lease_holder.eq(None::<String>),
                outbox::last_error.eq(error),
            ))
            .execute(conn)?,
        None => diesel::update(outbox::table.find(id))
            .set((
                outbox::dead_at.eq(now),
                outbox::locked_until.eq(None::<NaiveDateTime>),
                outbox::lease_holder.eq(None::<String>),
                outbox::last_error.eq(error),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// Messages in a state, newest first, after the cursor (an id from the previous page).
pub fn list(
    conn: &mut DbConnection,
    state: OutboxState,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    let mut query = outbox::table.into_boxed();
    query = match state {
        OutboxState::Pending => query
            .filter(outbox::delivered_at.is_null())
            .filter(outbox::dead_at.is_null()),
        OutboxState::Dead => query.filter(outbox::dead_at.is_not_null()),
        OutboxState::Delivered => query.filter(outbox::delivered_at.is_not_null()),
    };
    if let Some(cursor) = before {
        query = query.filter(outbox::id.lt(cursor.to_string()));
    }
    query.order(outbox::id.desc()).limit(limit).load(conn)
}

/// Puts a dead or pending message back in line, due now, with a fresh set of attempts.
/// Returns false when there is no such undelivered message.
pub fn retry(conn: &mut DbConnection, id: &str, now: DateTime<Utc>) -> QueryResult<bool> {
    let changed = diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::delivered_at.is_null()),
    )
    .set((
        outbox::dead_at.eq(None::<NaiveDateTime>),
        outbox::next_attempt_at.eq(now.naive_utc()),
        outbox::attempts.eq(0),
        outbox::locked_until.eq(None::<NaiveDateTime>),
        outbox::lease_holder.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Undelivered, not dead messages by kind.
pub fn pending_counts(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    outbox::table
        .filter(outbox::delivered_at.is_null())
        .filter(outbox::dead_at.is_null())
        .group_by(outbox::kind)
        .select((outbox::kind, diesel::dsl::count_star()))
        .load(conn)
}
