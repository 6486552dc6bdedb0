//! Dispute queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{
    dispute_counters, dispute_decisions, dispute_events, dispute_evidence, dispute_sanctions,
    disputes,
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = disputes)]
#[diesel(treat_none_as_null = true)]
pub struct DisputeRow {
    pub id: String,
    pub reference: String,
    pub status: String,
    pub kind: String,
    pub claim: String,
    pub description: String,
    pub platform_id: String,
    pub listing_id: String,
    pub shop_id: String,
    pub listing_check_id: Option<String>,
    pub seller_id: String,
    pub province: String,
    /// `platform:{client}:{buyer reference}` or `email:{address}`: who the buyer is, for
    /// linking duplicate filings.
    pub buyer_key: String,
    pub buyer_reference: Option<String>,
    pub buyer_email: String,
    pub buyer_language: String,
    /// SHA-256 of the buyer's case link token.
    pub buyer_token_hash: Option<String>,
    pub assignee_id: Option<String>,
    pub outcome: Option<String>,
    /// `buyer` or `seller` while information is requested.
    pub info_requested_from: Option<String>,
    pub paused_at: Option<NaiveDateTime>,
    pub seller_due_at: Option<NaiveDateTime>,
    pub buyer_due_at: Option<NaiveDateTime>,
    pub resolution_due_at: Option<NaiveDateTime>,
    pub appeal_due_at: Option<NaiveDateTime>,
    pub reminded_at: Option<NaiveDateTime>,
    pub escalated_at: Option<NaiveDateTime>,
    pub decided_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl DisputeRow {
    pub fn filed_by_platform(&self) -> bool {
        self.buyer_key.starts_with("platform:")
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dispute_events)]
pub struct EventRow {
    pub id: String,
    pub dispute_id: String,
    pub occurred_at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub internal: bool,
    pub details: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dispute_evidence)]
pub struct EvidenceRow {
    pub id: String,
    pub dispute_id: String,
    pub uploaded_by: String,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_path: String,
    pub hidden_at: Option<NaiveDateTime>,
    pub hidden_by: Option<String>,
    pub hidden_reason: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dispute_sanctions)]
pub struct SanctionRow {
    pub id: String,
    pub dispute_id: String,
    pub seller_id: String,
    pub kind: String,
    pub target: Option<String>,
    pub days: Option<i32>,
    pub ends_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub lifted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dispute_decisions)]
pub struct DecisionRow {
    pub id: String,
    pub dispute_id: String,
    /// `first` or `appeal`.
    pub stage: String,
    pub outcome: String,
    pub statement: String,
    pub decided_by: String,
    pub decided_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<DisputeRow>> {
    disputes::table
        .find(id)
        .select(DisputeRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_token(conn: &mut DbConnection, token_hash: &str) -> QueryResult<Option<DisputeRow>> {
    disputes::table
        .filter(disputes::buyer_token_hash.eq(token_hash))
        .select(DisputeRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, row: &DisputeRow) -> QueryResult<()> {
    diesel::insert_into(disputes::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Saves a changed case if nobody changed it since `read_version`; false otherwise.
pub fn update(conn: &mut DbConnection, row: &DisputeRow, read_version: i64) -> QueryResult<bool> {
    let changed = diesel::update(
        disputes::table
            .find(&row.id)
            .filter(disputes::version.eq(read_version)),
    )
    .set(row)
    .execute(conn)?;
    Ok(changed == 1)
}

/// An open (confirmed) case of the same buyer about the same listing.
pub fn open_duplicate(
    conn: &mut DbConnection,
    buyer_key: &str,
    platform_id: &str,
    listing_id: &str,
) -> QueryResult<Option<DisputeRow>> {
    disputes::table
        .filter(disputes::buyer_key.eq(buyer_key))
        .filter(disputes::platform_id.eq(platform_id))
        .filter(disputes::listing_id.eq(listing_id))
        .filter(disputes::status.ne_all(["filed", "closed", "withdrawn", "settled"]))
        .select(DisputeRow::as_select())
        .first(conn)
        .optional()
}

/// Direct filings of a buyer not confirmed yet.
pub fn unconfirmed_count(conn: &mut DbConnection, buyer_key: &str) -> QueryResult<i64> {
    disputes::table
        .filter(disputes::buyer_key.eq(buyer_key))
        .filter(disputes::status.eq("filed"))
        .count()
        .get_result(conn)
}

/// The next reference number of `year` (inside the filing's transaction, so numbers are
/// never given twice and never skipped by a failed filing).
pub fn next_number(conn: &mut DbConnection, year: i32) -> QueryResult<i64> {
    // One statement: the first filings of a year cannot race on inserting the counter.
    crate::on_backend!(conn, c => diesel::insert_into(dispute_counters::table)
        .values((
            dispute_counters::year.eq(year),
            dispute_counters::last_number.eq(1i64),
        ))
        .on_conflict(dispute_counters::year)
        .do_update()
        .set(dispute_counters::last_number.eq(dispute_counters::last_number + 1))
        .returning(dispute_counters::last_number)
        .get_result(c))
}

pub fn insert_event(conn: &mut DbConnection, row: &EventRow) -> QueryResult<()> {
    diesel::insert_into(dispute_events::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn events(conn: &mut DbConnection, dispute_id: &str) -> QueryResult<Vec<EventRow>> {
    dispute_events::table
        .filter(dispute_events::dispute_id.eq(dispute_id))
        .order(dispute_events::id.asc())
        .select(EventRow::as_select())
        .load(conn)
}

/// When the retention run removed an evidence file (its record stays).
pub fn evidence_expired_at(
    conn: &mut DbConnection,
    evidence_id: &str,
) -> QueryResult<Option<NaiveDateTime>> {
    dispute_evidence::table
        .find(evidence_id)
        .select(dispute_evidence::expired_at)
        .first(conn)
}

pub fn insert_evidence(conn: &mut DbConnection, row: &EvidenceRow) -> QueryResult<()> {
    diesel::insert_into(dispute_evidence::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// How many files, and how many bytes in all, one uploader has attached to a case.
pub fn evidence_totals(
    conn: &mut DbConnection,
    dispute_id: &str,
    uploaded_by: &str,
) -> QueryResult<(i64, i64)> {
    let sizes: Vec<i64> = dispute_evidence::table
        .filter(dispute_evidence::dispute_id.eq(dispute_id))
        .filter(dispute_evidence::uploaded_by.eq(uploaded_by))
        .select(dispute_evidence::size_bytes)
        .load(conn)?;
    Ok((sizes.len() as i64, sizes.iter().sum()))
}

/// Takes the case's row lock until the transaction ends (PostgreSQL; SQLite's write
/// transactions are serial anyway), so that counts about the case are not raced.
pub fn lock(conn: &mut DbConnection, dispute_id: &str) -> QueryResult<()> {
    diesel::update(disputes::table.find(dispute_id))
        .set(disputes::version.eq(disputes::version))
        .execute(conn)?;
    Ok(())
}

pub fn evidence_of(conn: &mut DbConnection, dispute_id: &str) -> QueryResult<Vec<EvidenceRow>> {
    dispute_evidence::table
        .filter(dispute_evidence::dispute_id.eq(dispute_id))
        .order(dispute_evidence::id.asc())
        .select(EvidenceRow::as_select())
        .load(conn)
}

pub fn find_evidence(
    conn: &mut DbConnection,
    dispute_id: &str,
    evidence_id: &str,
) -> QueryResult<Option<EvidenceRow>> {
    dispute_evidence::table
        .find(evidence_id)
        .filter(dispute_evidence::dispute_id.eq(dispute_id))
        .select(EvidenceRow::as_select())
        .first(conn)
        .optional()
}

/// Hides a visible evidence file; false if it was hidden already.
pub fn hide_evidence(
    conn: &mut DbConnection,
    evidence_id: &str,
    by: &str,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(
        dispute_evidence::table
            .find(evidence_id)
            .filter(dispute_evidence::hidden_at.is_null()),
    )
    .set((
        dispute_evidence::hidden_at.eq(now),
        dispute_evidence::hidden_by.eq(by),
        dispute_evidence::hidden_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn insert_sanction(conn: &mut DbConnection, row: &SanctionRow) -> QueryResult<()> {
    diesel::insert_into(dispute_sanctions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn sanctions_of(conn: &mut DbConnection, dispute_id: &str) -> QueryResult<Vec<SanctionRow>> {
    dispute_sanctions::table
        .filter(dispute_sanctions::dispute_id.eq(dispute_id))
        .order(dispute_sanctions::id.asc())
        .select(SanctionRow::as_select())
        .load(conn)
}

pub fn lift_sanction(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(dispute_sanctions::table.find(id))
        .set(dispute_sanctions::lifted_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Strikes against a seller since `since`, not lifted.
pub fn strikes_since(
    conn: &mut DbConnection,
    seller_id: &str,
    since: NaiveDateTime,
) -> QueryResult<i64> {
    dispute_sanctions::table
        .filter(dispute_sanctions::seller_id.eq(seller_id))
        .filter(dispute_sanctions::kind.eq("strike"))
        .filter(dispute_sanctions::lifted_at.is_null())
        .filter(dispute_sanctions::created_at.ge(since))
        .count()
        .get_result(conn)
}

/// Suspensions of a seller not lifted yet.
pub fn active_suspensions(
    conn: &mut DbConnection,
    seller_id: &str,
) -> QueryResult<Vec<SanctionRow>> {
    dispute_sanctions::table
        .filter(dispute_sanctions::seller_id.eq(seller_id))
        .filter(dispute_sanctions::kind.eq("suspend_seller"))
        .filter(dispute_sanctions::lifted_at.is_null())
        .select(SanctionRow::as_select())
        .load(conn)
}

/// Suspensions for a fixed time that have run out.
pub fn ended_suspensions(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> QueryResult<Vec<SanctionRow>> {
    dispute_sanctions::table
        .filter(dispute_sanctions::kind.eq("suspend_seller"))
        .filter(dispute_sanctions::lifted_at.is_null())
        .filter(dispute_sanctions::ends_at.le(now))
        .select(SanctionRow::as_select())
        .load(conn)
}

pub fn insert_decision(conn: &mut DbConnection, row: &DecisionRow) -> QueryResult<()> {
    diesel::insert_into(dispute_decisions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn decisions_of(conn: &mut DbConnection, dispute_id: &str) -> QueryResult<Vec<DecisionRow>> {
    dispute_decisions::table
        .filter(dispute_decisions::dispute_id.eq(dispute_id))
        .order(dispute_decisions::decided_at.asc())
        .select(DecisionRow::as_select())
        .load(conn)
}

/// What the officers' queue is filtered by.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// `None`: every province.
    pub provinces: Option<Vec<String>>,
    pub statuses: Vec<String>,
    pub kind: Option<String>,
    /// `Some(None)`: unassigned cases.
    pub assignee: Option<Option<String>>,
    /// Cases past their resolution deadline, not yet decided.
    pub overdue_at: Option<NaiveDateTime>,
    /// Cases whose id is below this one (ids are time-ordered: newest first).
    pub before: Option<String>,
    pub limit: i64,
}

pub fn queue(conn: &mut DbConnection, filter: &QueueFilter) -> QueryResult<Vec<DisputeRow>> {
    let mut query = disputes::table
        .select(DisputeRow::as_select())
        .filter(disputes::status.ne("filed"))
        .into_boxed();
    if let Some(provinces) = &filter.provinces {
        query = query.filter(disputes::province.eq_any(provinces.clone()));
    }
    if !filter.statuses.is_empty() {
        query = query.filter(disputes::status.eq_any(filter.statuses.clone()));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(disputes::kind.eq(kind.clone()));
    }
    match &filter.assignee {
        Some(Some(id)) => query = query.filter(disputes::assignee_id.eq(id.clone())),
        Some(None) => query = query.filter(disputes::assignee_id.is_null()),
        None => {}
    }
    if let Some(now) = filter.overdue_at {
        query = query
            .filter(disputes::resolution_due_at.lt(now))
            .filter(disputes::paused_at.is_null())
            .filter(disputes::status.eq_any([
                "awaiting_seller",
                "seller_responded",
                "under_review",
            ]));
    }
    if let Some(before) = &filter.before {
        query = query.filter(disputes::id.lt(before.clone()));
    }
    query
        .order(disputes::id.desc())
        .limit(filter.limit)
        .load(conn)
}

/// How the console's queue is sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QueueSort {
    /// By filing time.
    #[default]
    Filed,
    Reference,
    /// By resolution deadline: the most overdue first when ascending.
    Due,
    Province,
    Status,
}

/// What the console's queue is filtered, sorted and paged by: the queue's own filter
/// (its cursor and limit aside) and what an officer searches for.
#[derive(Debug, Clone, Default)]
pub struct ConsoleFilter {
    pub queue: QueueFilter,
    /// Part of the reference, upper case.
    pub reference: Option<String>,
    /// Only these sellers' cases (`Some(empty)`: none).
    pub seller_ids: Option<Vec<String>>,
    /// A shop: part of its id, or one of these sellers (whose shop names matched).
    pub shop: Option<(String, Vec<String>)>,
    pub filed_from: Option<NaiveDateTime>,
    pub filed_before: Option<NaiveDateTime>,
    pub sort: QueueSort,
    pub descending: bool,
    pub offset: i64,
}

/// The console's filters, on a query over `disputes` (rows or a count).
macro_rules! console_filtered {
    ($query:expr, $filter:expr) => {{
        let f: &ConsoleFilter = $filter;
        let q = &f.queue;
        let mut query = $query.filter(disputes::status.ne("filed")).into_boxed();
        if let Some(provinces) = &q.provinces {
            query = query.filter(disputes::province.eq_any(provinces.clone()));
        }
        if !q.statuses.is_empty() {
            query = query.filter(disputes::status.eq_any(q.statuses.clone()));
        }
        if let Some(kind) = &q.kind {
            query = query.filter(disputes::kind.eq(kind.clone()));
        }
        match &q.assignee {
            Some(Some(id)) => query = query.filter(disputes::assignee_id.eq(id.clone())),
            Some(None) => query = query.filter(disputes::assignee_id.is_null()),
            None => {}
        }
        if let Some(before) = q.overdue_at {
            query = query
                .filter(disputes::resolution_due_at.lt(before))
                .filter(disputes::paused_at.is_null())
                .filter(disputes::status.eq_any([
                    "awaiting_seller",
                    "seller_responded",
                    "under_review",
                ]));
        }
        if let Some(reference) = &f.reference {
            query = query.filter(
                disputes::reference
                    .like(crate::db::contains_pattern(reference).to_uppercase())
                    .escape('\\'),
            );
        }
        if let Some(ids) = &f.seller_ids {
            query = query.filter(disputes::seller_id.eq_any(ids.clone()));
        }
        if let Some((text, sellers)) = &f.shop {
            query = query.filter(
                crate::db::lower(disputes::shop_id)
                    .like(crate::db::contains_pattern(text))
                    .escape('\\')
                    .or(disputes::seller_id.eq_any(sellers.clone())),
            );
        }
        if let Some(from) = f.filed_from {
            query = query.filter(disputes::created_at.ge(from));
        }
        if let Some(before) = f.filed_before {
            query = query.filter(disputes::created_at.lt(before));
        }
        query
    }};
}

/// One page of the console's queue, and how many cases match in all.
pub fn console_queue(
    conn: &mut DbConnection,
    filter: &ConsoleFilter,
    limit: i64,
) -> QueryResult<(Vec<DisputeRow>, i64)> {
    let total: i64 =
        console_filtered!(disputes::table.select(diesel::dsl::count_star()), filter).first(conn)?;
    let query = console_filtered!(disputes::table.select(DisputeRow::as_select()), filter);
    let query = match (filter.sort, filter.descending) {
        (QueueSort::Filed, false) => query.order((disputes::created_at.asc(), disputes::id.asc())),
        (QueueSort::Filed, true) => query.order((disputes::created_at.desc(), disputes::id.desc())),
        (QueueSort::Reference, false) => query.order(disputes::reference.asc()),
        (QueueSort::Reference, true) => query.order(disputes::reference.desc()),
        (QueueSort::Due, false) => {
            query.order((disputes::resolution_due_at.asc(), disputes::id.asc()))
        }
        (QueueSort::Due, true) => {
            query.order((disputes::resolution_due_at.desc(), disputes::id.desc()))
        }
        (QueueSort::Province, false) => {
            query.order((disputes::province.asc(), disputes::id.desc()))
        }
        (QueueSort::Province, true) => {
            query.order((disputes::province.desc(), disputes::id.desc()))
        }
        (QueueSort::Status, false) => query.order((disputes::status.asc(), disputes::id.desc())),
        (QueueSort::Status, true) => query.order((disputes::status.desc(), disputes::id.desc())),
    };
    let rows = query.offset(filter.offset).limit(limit).load(conn)?;
    Ok((rows, total))
}

/// Cases of a seller, newest first.
pub fn of_seller(conn: &mut DbConnection, seller_id: &str) -> QueryResult<Vec<DisputeRow>> {
    disputes::table
        .filter(disputes::seller_id.eq(seller_id))
        .filter(disputes::status.ne("filed"))
        .order(disputes::id.desc())
        .select(DisputeRow::as_select())
        .load(conn)
}

/// Which deadline of a case the worker looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    Seller,
    Buyer,
    Resolution,
    Appeal,
    /// Filing time (unconfirmed direct filings).
    Filed,
}

/// Cases in `statuses` whose `deadline` is at or before `at`, oldest first. Paused cases
/// are left out of the resolution deadline.
pub fn due(
    conn: &mut DbConnection,
    statuses: &[&str],
    deadline: Deadline,
    at: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<DisputeRow>> {
    let query = disputes::table
        .select(DisputeRow::as_select())
        .filter(disputes::status.eq_any(statuses.to_vec()))
        .into_boxed();
    let query = match deadline {
        Deadline::Seller => query.filter(disputes::seller_due_at.le(at)),
        Deadline::Buyer => query.filter(disputes::buyer_due_at.le(at)),
        Deadline::Resolution => query
            .filter(disputes::resolution_due_at.le(at))
            .filter(disputes::paused_at.is_null())
            .filter(disputes::escalated_at.is_null()),
        Deadline::Appeal => query.filter(disputes::appeal_due_at.le(at)),
        Deadline::Filed => query.filter(disputes::created_at.le(at)),
    };
    query.order(disputes::id.asc()).limit(limit).load(conn)
}

/// Cases awaiting the seller, due before `horizon`, whose seller was not reminded yet.
pub fn to_remind(
    conn: &mut DbConnection,
    horizon: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<DisputeRow>> {
    disputes::table
        .filter(disputes::status.eq("awaiting_seller"))
        .filter(disputes::reminded_at.is_null())
        .filter(disputes::seller_due_at.le(horizon))
        .order(disputes::id.asc())
        .limit(limit)
        .select(DisputeRow::as_select())
        .load(conn)
}

/// Cases in provinces (all when `None`) filed in a period, for reports.
pub fn for_report(
    conn: &mut DbConnection,
    provinces: Option<&[String]>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<DisputeRow>> {
    let mut query = disputes::table
        .select(DisputeRow::as_select())
        .filter(disputes::status.ne("filed"))
        .filter(disputes::created_at.ge(from))
        .filter(disputes::created_at.lt(to))
        .into_boxed();
    if let Some(provinces) = provinces {
        query = query.filter(disputes::province.eq_any(provinces.to_vec()));
    }
    query.order(disputes::id.asc()).load(conn)
}

/// Targets of `block_listing` sanctions in force (`{platform}/{listing}`), all or one.
pub fn blocked_targets(conn: &mut DbConnection, only: Option<&str>) -> QueryResult<Vec<String>> {
    let mut query = dispute_sanctions::table
        .filter(dispute_sanctions::kind.eq("block_listing"))
        .filter(dispute_sanctions::lifted_at.is_null())
        .select(dispute_sanctions::target)
        .into_boxed();
    if let Some(target) = only {
        query = query.filter(dispute_sanctions::target.eq(target));
    }
    Ok(query
        .load::<Option<String>>(conn)?
        .into_iter()
        .flatten()
        .collect())
}
