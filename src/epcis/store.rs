//! EPCIS tables: events, what they name, their parties, and receipts of lots.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{epcis_event_items, epcis_event_parties, epcis_events, epcis_receipts};
use crate::on_backend;

/// Rows written per statement.
const CHUNK: usize = 500;

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = epcis_events)]
#[diesel(treat_none_as_default_value = false)]
pub struct EventRow {
    pub event_hash: String,
    pub event_id: String,
    pub event_type: String,
    pub event_time: NaiveDateTime,
    pub record_time: NaiveDateTime,
    pub action: Option<String>,
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    pub captured_by: String,
    pub body: String,
    /// The event's number in capture order, which what it names and its parties refer to.
    pub seq: i64,
}

/// What an event names, with the event's hash and number (stored under the number).
#[derive(Debug, Clone, Queryable)]
pub struct ItemRow {
    pub event_hash: String,
    pub event_seq: i64,
    pub role: String,
    pub item: String,
    pub lot_key: Option<String>,
    pub quantity: Option<f64>,
    pub uom: Option<String>,
}

/// A source or destination of an event, with the event's hash and number (stored under
/// the number).
#[derive(Debug, Clone, Queryable)]
pub struct PartyRow {
    pub event_hash: String,
    pub event_seq: i64,
    pub role: String,
    pub party_type: String,
    pub party: String,
    pub business_code: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = epcis_event_items)]
#[diesel(treat_none_as_default_value = false)]
struct NewItem<'a> {
    event_seq: i64,
    role: &'a str,
    item: &'a str,
    lot_key: Option<&'a str>,
    quantity: Option<f64>,
    uom: Option<&'a str>,
}

#[derive(Insertable)]
#[diesel(table_name = epcis_event_parties)]
#[diesel(treat_none_as_default_value = false)]
struct NewParty<'a> {
    event_seq: i64,
    role: &'a str,
    party_type: &'a str,
    party: &'a str,
    business_code: Option<&'a str>,
}

/// The columns of an [`ItemRow`]: what an event names, with the event's hash.
type ItemColumns = (
    epcis_events::event_hash,
    epcis_event_items::event_seq,
    epcis_event_items::role,
    epcis_event_items::item,
    epcis_event_items::lot_key,
    epcis_event_items::quantity,
    epcis_event_items::uom,
);
const ITEM_COLUMNS: ItemColumns = (
    epcis_events::event_hash,
    epcis_event_items::event_seq,
    epcis_event_items::role,
    epcis_event_items::item,
    epcis_event_items::lot_key,
    epcis_event_items::quantity,
    epcis_event_items::uom,
);

/// The columns of a [`PartyRow`].
type PartyColumns = (
    epcis_events::event_hash,
    epcis_event_parties::event_seq,
    epcis_event_parties::role,
    epcis_event_parties::party_type,
    epcis_event_parties::party,
    epcis_event_parties::business_code,
);
const PARTY_COLUMNS: PartyColumns = (
    epcis_events::event_hash,
    epcis_event_parties::event_seq,
    epcis_event_parties::role,
    epcis_event_parties::party_type,
    epcis_event_parties::party,
    epcis_event_parties::business_code,
);

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = epcis_receipts)]
#[diesel(treat_none_as_default_value = false)]
pub struct ReceiptRow {
    pub business_code: String,
    pub lot_key: String,
    pub event_hash: String,
    pub receiving: bool,
    pub units: Option<f64>,
}

/// The hashes among these that are stored already.
pub fn stored_hashes(conn: &mut DbConnection, hashes: &[&str]) -> QueryResult<Vec<String>> {
    let mut found = Vec::new();
    for chunk in hashes.chunks(CHUNK) {
        found.extend(
            epcis_events::table
                .filter(epcis_events::event_hash.eq_any(chunk))
                .select(epcis_events::event_hash)
                .load::<String>(conn)?,
        );
    }
    Ok(found)
}

/// Numbers for `count` new events, increasing within a capture. PostgreSQL draws them
/// from a sequence: concurrent captures get distinct numbers, interleaved, so numbers do
/// not follow commit order (nothing relies on it). SQLite counts on from the largest
/// stored, which is safe only inside the capture's write transaction (`BEGIN IMMEDIATE`:
/// one writer at a time).
pub fn numbers(conn: &mut DbConnection, count: usize) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Number {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    // At most MAX_EVENTS: a count that does not fit is a defect, reported as one.
    let count =
        i64::try_from(count).map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))?;
    match conn {
        DbConnection::Postgresql(c) => Ok(diesel::sql_query(
            "SELECT nextval('epcis_events_seq') AS n FROM generate_series(1, $1)",
        )
        .bind::<diesel::sql_types::BigInt, _>(count)
        .load::<Number>(c)?
        .into_iter()
        .map(|row| row.n)
        .collect()),
        DbConnection::Sqlite(c) => {
            let last: Option<i64> = epcis_events::table
                .select(diesel::dsl::max(epcis_events::seq))
                .first(c)?;
            let last = last.unwrap_or(0);
            Ok((1..=count).map(|n| last + n).collect())
        }
    }
}

/// Writes new events (numbered by [`numbers`]) with what they name, under the same
/// numbers (none of them stored before). On PostgreSQL the rows go in by `COPY … (FORMAT binary)`: a document's tens of
/// thousands of rows cost the server a fraction of what multi-row `INSERT`s do.
pub fn insert(
    conn: &mut DbConnection,
    events: &[EventRow],
    items: &[ItemRow],
    parties: &[PartyRow],
) -> QueryResult<()> {
    let items: Vec<NewItem> = items
        .iter()
        .map(|i| NewItem {
            event_seq: i.event_seq,
            role: &i.role,
            item: &i.item,
            lot_key: i.lot_key.as_deref(),
            quantity: i.quantity,
            uom: i.uom.as_deref(),
        })
        .collect();
    let parties: Vec<NewParty> = parties
        .iter()
        .map(|p| NewParty {
            event_seq: p.event_seq,
            role: &p.role,
            party_type: &p.party_type,
            party: &p.party,
            business_code: p.business_code.as_deref(),
        })
        .collect();
    match conn {
        DbConnection::Postgresql(c) => {
            diesel::copy_from(epcis_events::table)
                .from_insertable(events)
                .execute(c)?;
            diesel::copy_from(epcis_event_items::table)
                .from_insertable(&items)
                .execute(c)?;
            diesel::copy_from(epcis_event_parties::table)
                .from_insertable(&parties)
                .execute(c)?;
        }
        DbConnection::Sqlite(c) => {
            for chunk in events.chunks(CHUNK) {
                diesel::insert_into(epcis_events::table)
                    .values(chunk)
                    .execute(c)?;
            }
            for chunk in items.chunks(CHUNK) {
                diesel::insert_into(epcis_event_items::table)
                    .values(chunk)
                    .execute(c)?;
            }
            for chunk in parties.chunks(CHUNK) {
                diesel::insert_into(epcis_event_parties::table)
                    .values(chunk)
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

/// Records receipts (those already recorded are kept as they are).
pub fn insert_receipts(conn: &mut DbConnection, receipts: &[ReceiptRow]) -> QueryResult<()> {
    for chunk in receipts.chunks(CHUNK) {
        on_backend!(conn, c => diesel::insert_into(epcis_receipts::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// Some of a lot inside a container, as an aggregation event put it there.
#[derive(Debug, Clone)]
pub struct Content {
    pub container: String,
    pub lot: String,
    /// Items, or the class's quantity in `uom`.
    pub units: Option<f64>,
    pub uom: Option<String>,
    pub aggregation: String,
}

/// Lots inside containers, as aggregation events (not deletions) put them there.
pub fn contents_of(conn: &mut DbConnection, containers: &[&str]) -> QueryResult<Vec<Content>> {
    let mut found = Vec::new();
    for chunk in containers.chunks(CHUNK) {
        let aggregations: Vec<(i64, String, String)> = epcis_event_items::table
            .inner_join(epcis_events::table.on(epcis_events::seq.eq(epcis_event_items::event_seq)))
            .filter(epcis_event_items::role.eq("parent"))
            .filter(epcis_event_items::item.eq_any(chunk))
            .filter(epcis_events::event_type.eq("AggregationEvent"))
            .filter(epcis_events::action.ne("DELETE"))
            .select((
                epcis_events::seq,
                epcis_events::event_hash,
                epcis_event_items::item,
            ))
            .load(conn)?;
        let numbers: Vec<i64> = aggregations.iter().map(|(n, _, _)| *n).collect();
        let aggregations: Vec<(String, String)> = aggregations
            .into_iter()
            .map(|(_, hash, item)| (hash, item))
            .collect();
        let children: Vec<ItemRow> = epcis_event_items::table
            .inner_join(epcis_events::table.on(epcis_events::seq.eq(epcis_event_items::event_seq)))
            .filter(epcis_event_items::event_seq.eq_any(&numbers))
            .filter(epcis_event_items::role.eq_any(["child", "child_quantity"]))
            .filter(epcis_event_items::lot_key.is_not_null())
            .select(ITEM_COLUMNS)
            .load(conn)?;
        for child in children {
            if let (Some((_, container)), Some(lot)) = (
                aggregations.iter().find(|(h, _)| *h == child.event_hash),
                child.lot_key,
            ) {
                let units = if child.role == "child" {
                    Some(1.0)
                } else {
                    child.quantity
                };
                found.push(Content {
                    container: container.clone(),
                    lot,
                    units,
                    uom: child.uom,
                    aggregation: child.event_hash,
                });
            }
        }
    }
    Ok(found)
}

/// An event (not an aggregation) that moved a container to a known business.
#[derive(Debug, Clone)]
pub struct Move {
    pub event: String,
    pub business: String,
    pub captured_by: String,
    pub biz_step: Option<String>,
}

/// Events other than aggregations that moved these containers to a known business.
pub fn moves_of_containers(conn: &mut DbConnection, containers: &[&str]) -> QueryResult<Vec<Move>> {
    let mut found = Vec::new();
    for chunk in containers.chunks(CHUNK) {
        let numbers: Vec<i64> = epcis_event_items::table
            .filter(epcis_event_items::role.eq_any(["epc", "parent"]))
            .filter(epcis_event_items::item.eq_any(chunk))
            .select(epcis_event_items::event_seq)
            .load(conn)?;
        let receivers: Vec<(String, String, String, Option<String>)> = epcis_event_parties::table
            .inner_join(
                epcis_events::table.on(epcis_events::seq.eq(epcis_event_parties::event_seq)),
            )
            .filter(epcis_event_parties::event_seq.eq_any(&numbers))
            .filter(epcis_event_parties::role.eq("destination"))
            .filter(epcis_event_parties::party_type.eq_any(["owning_party", "possessing_party"]))
            .filter(epcis_events::event_type.ne("AggregationEvent"))
            .select((
                epcis_events::event_hash,
                epcis_event_parties::business_code.assume_not_null(),
                epcis_events::captured_by,
                epcis_events::biz_step,
            ))
            .filter(epcis_event_parties::business_code.is_not_null())
            .load(conn)?;
        found.extend(
            receivers
                .into_iter()
                .map(|(event, business, captured_by, biz_step)| Move {
                    event,
                    business,
                    captured_by,
                    biz_step,
                }),
        );
    }
    Ok(found)
}

/// What a business received of a lot, in all.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiptTotal {
    pub business: String,
    pub lot: String,
    pub receipts: i64,
    pub units: Option<f64>,
}

/// Per business and lot: receipts, and the units received when every receipt counts them
/// (summed over receiving steps and over the other steps, the larger of the two: a
/// shipment is often recorded at both ends).
pub fn receipt_totals(
    conn: &mut DbConnection,
    only: Option<(&str, &str)>,
) -> QueryResult<Vec<ReceiptTotal>> {
    let mut query = epcis_receipts::table
        .select((
            epcis_receipts::business_code,
            epcis_receipts::lot_key,
            epcis_receipts::receiving,
            epcis_receipts::units,
        ))
        .order((epcis_receipts::business_code, epcis_receipts::lot_key))
        .into_boxed();
    if let Some((business, lot)) = only {
        query = query
            .filter(epcis_receipts::business_code.eq(business))
            .filter(epcis_receipts::lot_key.eq(lot));
    }
    // (business, lot, receipts, units shipped to it, units it was seen receiving)
    type Sums = (String, String, i64, Option<f64>, Option<f64>);
    let mut sums: Vec<Sums> = Vec::new();
    for row in query
        .load_iter::<(String, String, bool, Option<f64>), diesel::connection::DefaultLoadingMode>(
            conn,
        )?
    {
        let (business, lot, receiving, units) = row?;
        if !sums
            .last()
            .is_some_and(|last| last.0 == business && last.1 == lot)
        {
            sums.push((business, lot, 0, Some(0.0), Some(0.0)));
        }
        if let Some(last) = sums.last_mut() {
            last.2 += 1;
            let side = if receiving { &mut last.4 } else { &mut last.3 };
            *side = side.zip(units).map(|(a, b)| a + b);
        }
    }
    Ok(sums
        .into_iter()
        .map(
            |(business, lot, receipts, shipped, received)| ReceiptTotal {
                business,
                lot,
                receipts,
                units: shipped.zip(received).map(|(s, r)| s.max(r)),
            },
        )
        .collect())
}

/// Filters of an event query, read and normalised.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub epcs: Vec<String>,
    pub classes: Vec<String>,
    pub biz_steps: Vec<String>,
    pub from: Option<NaiveDateTime>,
    pub before: Option<NaiveDateTime>,
    pub sources: Vec<String>,
    pub destinations: Vec<String>,
    /// Only events after this (time, hash).
    pub after: Option<(NaiveDateTime, String)>,
    pub hashes: Option<Vec<String>>,
    /// Only the events this viewer may read; `None` reads every event (officers, and
    /// tracegate itself).
    pub viewer: Option<Viewer>,
}

/// Whose events a caller may read: those that name its business (as source or
/// destination), that it captured, or that name a product it owns or registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// A business, by its enterprise or household code.
    Business(String),
    /// An issuer client, by its client id.
    Issuer(String),
    /// A caller party to no event (a seller whose business is not verified yet).
    Nobody,
}

diesel::define_sql_function! {
    /// SQL's `substr` (1-based), the same on SQLite and PostgreSQL.
    fn substr(text: diesel::sql_types::Text, start: diesel::sql_types::Integer, length: diesel::sql_types::Integer) -> diesel::sql_types::Text;
}

/// `/01/` and a GTIN-14: how every GS1 item key of a product starts.
const GTIN_PATH_PREFIX: &str = "/01/";

/// Events matching the filter, in time order, at most `limit`.
pub fn find_events(
    conn: &mut DbConnection,
    filter: &EventFilter,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    let mut query = epcis_events::table.into_boxed();
    if !filter.epcs.is_empty() {
        query = query.filter(
            epcis_events::seq.eq_any(
                epcis_event_items::table
                    .filter(
                        epcis_event_items::role
                            .eq_any(["epc", "child", "parent", "input", "output"]),
                    )
                    .filter(epcis_event_items::item.eq_any(filter.epcs.clone()))
                    .select(epcis_event_items::event_seq),
            ),
        );
    }
    if !filter.classes.is_empty() {
        query = query.filter(
            epcis_events::seq.eq_any(
                epcis_event_items::table
                    .filter(epcis_event_items::role.eq_any([
                        "quantity",
                        "child_quantity",
                        "input_quantity",
                        "output_quantity",
                    ]))
                    .filter(epcis_event_items::item.eq_any(filter.classes.clone()))
                    .select(epcis_event_items::event_seq),
            ),
        );
    }
    if !filter.biz_steps.is_empty() {
        query = query.filter(epcis_events::biz_step.eq_any(filter.biz_steps.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(epcis_events::event_time.ge(from));
    }
    if let Some(before) = filter.before {
        query = query.filter(epcis_events::event_time.lt(before));
    }
    for (role, parties) in [
        ("source", &filter.sources),
        ("destination", &filter.destinations),
    ] {
        if !parties.is_empty() {
            query = query.filter(
                epcis_events::seq.eq_any(
                    epcis_event_parties::table
                        .filter(epcis_event_parties::role.eq(role))
                        .filter(epcis_event_parties::party.eq_any(parties.clone()))
                        .select(epcis_event_parties::event_seq),
                ),
            );
        }
    }
    if let Some(hashes) = &filter.hashes {
        query = query.filter(epcis_events::event_hash.eq_any(hashes.clone()));
    }
    if let Some(viewer) = &filter.viewer {
        use crate::db::schema::codes;
        let gtins = codes::table
            .filter(codes::gtin.is_not_null())
            .select(codes::gtin.assume_not_null())
            .distinct();
        let (actor, gtins): (String, Vec<String>) = match viewer {
            Viewer::Business(code) => (
                format!("business:{code}"),
                gtins.filter(codes::owner_code.eq(code)).load(conn)?,
            ),
            Viewer::Issuer(id) => (
                format!("issuer:{id}"),
                gtins.filter(codes::issuer_id.eq(id)).load(conn)?,
            ),
            Viewer::Nobody => (String::new(), Vec::new()),
        };
        // Events naming a product of the viewer's codes (any lot or item of its GTIN).
        let naming_products = epcis_events::seq.eq_any(
            epcis_event_items::table
                .filter(substr(epcis_event_items::item, 1, 4).eq(GTIN_PATH_PREFIX))
                .filter(substr(epcis_event_items::item, 5, 14).eq_any(gtins))
                .select(epcis_event_items::event_seq),
        );
        query = match viewer {
            Viewer::Business(code) => query.filter(
                epcis_events::seq
                    .eq_any(
                        epcis_event_parties::table
                            .filter(epcis_event_parties::business_code.eq(code.clone()))
                            .select(epcis_event_parties::event_seq),
                    )
                    .or(epcis_events::captured_by.eq(actor))
                    .or(naming_products),
            ),
            Viewer::Issuer(_) => {
                query.filter(epcis_events::captured_by.eq(actor).or(naming_products))
            }
            Viewer::Nobody => query.filter(epcis_events::event_hash.ne(epcis_events::event_hash)),
        };
    }
    if let Some((time, hash)) = &filter.after {
        query = query.filter(
            epcis_events::event_time
                .gt(*time)
                .or(epcis_events::event_time
                    .eq(*time)
                    .and(epcis_events::event_hash.gt(hash.clone()))),
        );
    }
    query
        .order((epcis_events::event_time, epcis_events::event_hash))
        .limit(limit)
        .load(conn)
}

/// Events that name a lot directly (an item or class of it), and the aggregation events
/// that put it in containers: (event, role, quantity, uom).
pub fn items_of_lot(conn: &mut DbConnection, lot: &str) -> QueryResult<Vec<ItemRow>> {
    epcis_event_items::table
        .inner_join(epcis_events::table.on(epcis_events::seq.eq(epcis_event_items::event_seq)))
        .filter(epcis_event_items::lot_key.eq(lot))
        .select(ITEM_COLUMNS)
        .load(conn)
}

/// Items of these events in these roles.
pub fn items_of_events(
    conn: &mut DbConnection,
    hashes: &[&str],
    roles: &[&str],
) -> QueryResult<Vec<ItemRow>> {
    let mut found = Vec::new();
    for chunk in hashes.chunks(CHUNK) {
        found.extend(
            epcis_event_items::table
                .inner_join(
                    epcis_events::table.on(epcis_events::seq.eq(epcis_event_items::event_seq)),
                )
                .filter(epcis_events::event_hash.eq_any(chunk))
                .filter(epcis_event_items::role.eq_any(roles))
                .select(ITEM_COLUMNS)
                .load::<ItemRow>(conn)?,
        );
    }
    Ok(found)
}

/// Events naming these identifiers (as instances or parents).
pub fn events_naming(conn: &mut DbConnection, items: &[&str]) -> QueryResult<Vec<ItemRow>> {
    let mut found = Vec::new();
    for chunk in items.chunks(CHUNK) {
        found.extend(
            epcis_event_items::table
                .inner_join(
                    epcis_events::table.on(epcis_events::seq.eq(epcis_event_items::event_seq)),
                )
                .filter(epcis_event_items::item.eq_any(chunk))
                .filter(epcis_event_items::role.eq_any(["epc", "parent"]))
                .select(ITEM_COLUMNS)
                .load::<ItemRow>(conn)?,
        );
    }
    Ok(found)
}

/// The parties of these events.
pub fn parties_of(conn: &mut DbConnection, hashes: &[&str]) -> QueryResult<Vec<PartyRow>> {
    let mut found = Vec::new();
    for chunk in hashes.chunks(CHUNK) {
        found.extend(
            epcis_event_parties::table
                .inner_join(
                    epcis_events::table.on(epcis_events::seq.eq(epcis_event_parties::event_seq)),
                )
                .filter(epcis_events::event_hash.eq_any(chunk))
                .select(PARTY_COLUMNS)
                .load::<PartyRow>(conn)?,
        );
    }
    Ok(found)
}
