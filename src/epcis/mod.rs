//! Chain of custody: GS1 EPCIS 2.0 events captured from every actor (issuers, code owners,
//! verified businesses), queried back, and read as the custody of a lot: who had it, when,
//! where and how much, one step before and one step after each party.
//!
//! Capture is idempotent by the CBV event hash ([`hash`]); a document is refused whole,
//! naming every bad event ([`document`]). Capture also records *receipts*: a business
//! that is a destination (owning or possessing party) of an event that moved a lot,
//! directly or inside a container aggregated before, receives it, unless the business
//! recorded that event itself (a reseller cannot vouch for its own supply). Receipts are
//! the `custody` fact the listing gate decides from ([`facts`]).

mod document;
pub mod facts;
pub mod hash;
pub mod ids;
pub mod routes;
mod store;

pub use document::{Action, CapturedEvent, DocumentError, EventType, MAX_EVENTS};
pub use store::{EventFilter, Viewer};

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::audit::{self, NewAuditEntry};
use crate::clock::Clock;
use crate::db::{DbConnection, DbPool, write_transaction};
use crate::error::FieldError;
use crate::facts::{Change, Fact, FactBus};
use crate::identity::facts::{BusinessFacts, business_of_seller, verified_businesses};
use document::{ItemRole, PartyRole};
use ids::PartyId;
use store::{EventRow, ItemRow, PartyRow, ReceiptRow};

/// Events per page of a query, by default and at most.
pub const PAGE: i64 = 100;
pub const MAX_PAGE: i64 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum EpcisError {
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
}

/// Who asks to capture: an issuer client (holding `epcis:capture`), a seller's account,
/// or the operator importing history at the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Issuer(String),
    Seller(String),
    Operator,
}

/// Who captures: an issuer client, or a verified business (by its enterprise code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capturer {
    Issuer(String),
    Business(String),
    /// `tracegate epcis import`.
    Operator,
}

impl Capturer {
    /// As stored with each event and in the audit log.
    pub fn actor(&self) -> String {
        match self {
            Capturer::Issuer(id) => format!("issuer:{id}"),
            Capturer::Business(code) => format!("business:{code}"),
            Capturer::Operator => "operator:import".to_string(),
        }
    }
}

/// What a capture did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaptureSummary {
    /// Events stored now.
    pub captured: usize,
    /// Events stored before (same event hash), left as they were.
    pub duplicates: usize,
    /// The `eventID` of every event of the document, in order.
    pub event_ids: Vec<String>,
    /// The event hash ID of every event of the document, in order.
    pub event_hashes: Vec<String>,
}

/// A party as custody shows it: a business by name and province when tracegate knows
/// it, otherwise the identifier only (`known: false`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
pub struct PartyView {
    /// The identifier as events give it (GLN path `/417/…`, `/414/…`, or `urn:vn:mst:…`).
    pub id: String,
    /// `owning_party`, `possessing_party`, `location`, …
    #[serde(rename = "type")]
    pub party_type: String,
    pub known: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
}

/// One step of a lot's chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustodyStep {
    pub event_id: String,
    pub event_type: String,
    pub event_time: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    /// Where it happened (GLN path of the read point or business location).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The container the lot moved in, when the event names the container, not the lot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// How much of the lot (units unless `uom` says otherwise), when the events say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uom: Option<String>,
    pub sources: Vec<PartyView>,
    pub destinations: Vec<PartyView>,
}

/// One step before and one step after a party of the chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartyLinks {
    pub party: PartyView,
    pub received_from: Vec<PartyView>,
    pub shipped_to: Vec<PartyView>,
}

/// The chain of custody of a lot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Custody {
    pub view: FullView,
    /// `/01/{gtin}/10/{lot}`.
    pub lot_key: String,
    pub gtin: String,
    pub lot: String,
    pub steps: Vec<CustodyStep>,
    pub parties: Vec<PartyLinks>,
}

/// A party as the public custody shows it: a business tracegate knows, by name and
/// province (a household business's name masked); any other party only as unknown.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
pub struct PublicParty {
    pub known: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
}

/// One step of a lot's chain as anyone may read it: the day, what happened, between whom.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicStep {
    /// The day of the event (UTC); the hour is left out.
    pub date: chrono::NaiveDate,
    pub event_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    /// Holders the lot came from (owning or possessing parties).
    pub from: Vec<PublicParty>,
    /// Holders the lot went to.
    pub to: Vec<PublicParty>,
}

/// One step before and one step after a known business of the chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicLinks {
    pub party: PublicParty,
    pub received_from: Vec<PublicParty>,
    pub shipped_to: Vec<PublicParty>,
}

/// The chain of custody of a lot as anyone may read it. It answers "who stood behind this
/// lot, one step before and one step after", and nothing a competitor could mine: no
/// quantities, locations, containers, event ids, times of day, or identifiers of parties
/// (GLNs, enterprise codes); parties tracegate does not know are only counted as unknown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicCustody {
    pub view: PublicView,
    pub gtin: String,
    pub lot: String,
    pub steps: Vec<PublicStep>,
    /// Known businesses of the chain.
    pub parties: Vec<PublicLinks>,
}

impl PartyView {
    fn public(&self) -> PublicParty {
        PublicParty {
            known: self.known,
            name: self.name.clone().filter(|_| self.known),
            province: self.province.clone().filter(|_| self.known),
        }
    }
}

impl Custody {
    /// What anyone may read of the chain (see [`PublicCustody`]).
    pub fn public(&self) -> PublicCustody {
        let holders = |list: &[PartyView]| -> Vec<PublicParty> {
            list.iter()
                .filter(|p| is_holder(&p.party_type))
                .map(PartyView::public)
                .collect()
        };
        let known = |list: &[PartyView]| -> Vec<PublicParty> {
            list.iter()
                .filter(|p| p.known)
                .map(PartyView::public)
                .collect()
        };
        PublicCustody {
            view: PublicView::Public,
            gtin: self.gtin.clone(),
            lot: self.lot.clone(),
            steps: self
                .steps
                .iter()
                .map(|step| PublicStep {
                    date: step.event_time.date_naive(),
                    event_type: step.event_type.clone(),
                    biz_step: step.biz_step.clone(),
                    disposition: step.disposition.clone(),
                    from: holders(&step.sources),
                    to: holders(&step.destinations),
                })
                .collect(),
            parties: self
                .parties
                .iter()
                .filter(|links| links.party.known)
                .map(|links| PublicLinks {
                    party: links.party.public(),
                    received_from: known(&links.received_from),
                    shipped_to: known(&links.shipped_to),
                })
                .collect(),
        }
    }
}

/// A lot's chain as its reader may see it, told apart by `view`: `full` (every step with
/// quantities, places, containers and party identifiers) for officers and the business
/// that owns the product, otherwise `public` (businesses by name and province, people
/// masked, nothing else).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CustodyView {
    Full(Custody),
    Public(PublicCustody),
}

/// Marks the full view of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FullView {
    Full,
}

/// Marks the public view of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublicView {
    Public,
}

/// A page of events, as captured (with `eventID` and `recordTime`).
#[derive(Debug, Clone)]
pub struct EventPage {
    pub events: Vec<Value>,
    /// Give it back as `nextPageToken` for the next page.
    pub next: Option<String>,
}

/// EPCIS with what it needs.
pub struct Epcis<'a> {
    pub pool: &'a DbPool,
    pub clock: &'a dyn Clock,
    pub facts: &'a FactBus,
}

/// Parties that own or hold goods (not places).
fn is_holder(party_type: &str) -> bool {
    party_type == "owning_party" || party_type == "possessing_party"
}

/// How a party is stored and matched: a GLN as its Digital Link path, an enterprise as
/// `urn:vn:mst:{code}`, anything else as given.
pub fn party_key(id: &str) -> String {
    match ids::party(id) {
        Ok(PartyId::Gln(_)) | Err(_) => ids::item_key(id),
        Ok(PartyId::Enterprise(code)) => format!("{}{code}", ids::ENTERPRISE_URN),
    }
}

impl Epcis<'_> {
    /// The capturer a caller is: an issuer, or a seller's verified business (else refused).
    fn capturer(&self, conn: &mut DbConnection, caller: &Caller) -> Result<Capturer, EpcisError> {
        match caller {
            Caller::Issuer(id) => Ok(Capturer::Issuer(id.clone())),
            Caller::Operator => Ok(Capturer::Operator),
            Caller::Seller(account) => business_of_seller(conn, account)?
                .map(Capturer::Business)
                .ok_or_else(|| {
                    EpcisError::Forbidden(
                        "events are captured by issuers and by sellers whose business is verified"
                            .into(),
                    )
                }),
        }
    }

    /// Captures a document whole, or refuses it naming every bad event. The document is
    /// read before the caller's business is looked up.
    pub fn capture(&self, caller: &Caller, document: &Value) -> Result<CaptureSummary, EpcisError> {
        let events = document::read(document)?;
        let now = self.clock.now();
        let event_ids: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
        let event_hashes: Vec<String> = events.iter().map(|e| e.hash.clone()).collect();
        let mut conn = self.pool.get()?;
        let capturer = self.capturer(&mut conn, caller)?;
        let (captured, duplicates) = write_transaction(&mut conn, |conn| {
            self.store_events(conn, &capturer, events, now)
        })?;
        self.facts.committed();
        Ok(CaptureSummary {
            captured,
            duplicates,
            event_ids,
            event_hashes,
        })
    }

    fn store_events(
        &self,
        conn: &mut DbConnection,
        capturer: &Capturer,
        mut events: Vec<CapturedEvent>,
        now: DateTime<Utc>,
    ) -> Result<(usize, usize), EpcisError> {
        let total = events.len();
        let hashes: Vec<&str> = events.iter().map(|e| e.hash.as_str()).collect();
        let stored: BTreeSet<String> = store::stored_hashes(conn, &hashes)?.into_iter().collect();
        let mut seen = BTreeSet::new();
        events.retain(|e| !stored.contains(&e.hash) && seen.insert(e.hash.clone()));
        let captured = events.len();
        if events.is_empty() {
            return Ok((0, total));
        }
        let businesses = resolve_parties(conn, &events)?;
        let actor = capturer.actor();
        let record_time = now.naive_utc();
        let recorded = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut rows = Vec::with_capacity(events.len());
        let mut items = Vec::new();
        let mut parties = Vec::new();
        let numbers = store::numbers(conn, events.len())?;
        for (event, seq) in events.iter().zip(numbers) {
            let body = event.stored_body(&recorded);
            rows.push(EventRow {
                event_hash: event.hash.clone(),
                event_id: event.event_id.clone(),
                event_type: event.event_type.as_str().to_string(),
                event_time: event.event_time,
                record_time,
                action: event.action.map(|a| a.as_str().to_string()),
                biz_step: event.biz_step.clone(),
                disposition: event.disposition.clone(),
                read_point: event.read_point.clone(),
                biz_location: event.biz_location.clone(),
                captured_by: actor.clone(),
                body,
                seq,
            });
            for item in &event.items {
                items.push(ItemRow {
                    event_hash: event.hash.clone(),
                    event_seq: seq,
                    role: item.role.as_str().to_string(),
                    item: item.item.clone(),
                    lot_key: item.lot_key.clone(),
                    quantity: item.quantity,
                    uom: item.uom.clone(),
                });
            }
            for party in &event.parties {
                let key = party_key(&party.party);
                parties.push(PartyRow {
                    event_hash: event.hash.clone(),
                    event_seq: seq,
                    role: party.role.as_str().to_string(),
                    party_type: party.party_type.clone(),
                    business_code: businesses.get(&key).cloned(),
                    party: key,
                });
            }
        }
        store::insert(conn, &rows, &items, &parties)?;
        let receipts = receipts(conn, &events, &parties, &actor)?;
        store::insert_receipts(conn, &receipts)?;
        audit::append(
            conn,
            now,
            &NewAuditEntry::new(actor, "epcis.captured", "epcis").details(
                serde_json::json!({ "captured": captured, "duplicates": total - captured }),
            ),
        )?;
        let changes: BTreeSet<(String, String)> = receipts
            .into_iter()
            .map(|r| (r.business_code, r.lot_key))
            .collect();
        let changes: Vec<Change> = changes
            .into_iter()
            .map(|(business, lot)| Change::of(Fact::Custody { business, lot }))
            .collect();
        self.facts.publish(conn, now, &changes)?;
        Ok((captured, total - captured))
    }

    /// Whether `business` owns the product of this chain's lot (registered the lot, or
    /// its GTIN, as its owner).
    pub fn owns_lot(&self, business: &str, custody: &Custody) -> Result<bool, EpcisError> {
        let mut conn = self.pool.get()?;
        let product = format!("/01/{}", custody.gtin);
        let owners = crate::codes::facts::codes_by_key(
            &mut conn,
            &[custody.lot_key.as_str(), product.as_str()],
        )?;
        Ok(owners.iter().any(|c| c.owner_code == business))
    }

    /// The verified business a seller acts for, if any.
    pub fn business_of(&self, seller: &str) -> Result<Option<String>, EpcisError> {
        let mut conn = self.pool.get()?;
        Ok(business_of_seller(&mut conn, seller)?)
    }

    /// Events matching `filter`, a page at a time.
    pub fn query(&self, filter: &EventFilter, per_page: i64) -> Result<EventPage, EpcisError> {
        let mut conn = self.pool.get()?;
        let mut rows = store::find_events(&mut conn, filter, per_page + 1)?;
        let next = if rows.len() as i64 > per_page {
            rows.truncate(per_page as usize);
            rows.last().map(|r| page_token(r.event_time, &r.event_hash))
        } else {
            None
        };
        let events = rows
            .into_iter()
            .map(|row| {
                serde_json::from_str(&row.body)
                    .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)).into())
            })
            .collect::<Result<Vec<Value>, EpcisError>>()?;
        Ok(EventPage { events, next })
    }

    /// The chain of custody of a lot.
    pub fn custody(&self, gtin: &str, lot: &str) -> Result<Custody, EpcisError> {
        let code = crate::codes::parse(&format!("(01){gtin}(10){lot}"), 2000).map_err(|e| {
            EpcisError::Invalid {
                field: "gtin".into(),
                message: e.to_string(),
            }
        })?;
        let lot_key = ids::lot_key(&format!("{}{}", ids::GS1_HOST, code.canonical()))
            .unwrap_or_else(|| code.canonical().to_string());
        let mut conn = self.pool.get()?;
        let conn = &mut *conn;
        // Events naming the lot, and the containers aggregations put it in.
        let direct = store::items_of_lot(conn, &lot_key)?;
        let mut amounts: HashMap<String, Share> = HashMap::new();
        let mut aggregations = Vec::new();
        for item in &direct {
            let role = ItemRole::parse(&item.role);
            let units = if role.is_some_and(ItemRole::is_class) {
                item.quantity
            } else {
                Some(1.0)
            };
            let entry = amounts.entry(item.event_hash.clone()).or_insert(Share {
                quantity: Some(0.0),
                uom: item.uom.clone(),
                via: None,
            });
            entry.quantity = entry.quantity.zip(units).map(|(a, b)| a + b);
            if matches!(role, Some(ItemRole::Child | ItemRole::ChildQuantity)) {
                aggregations.push((item.event_hash.clone(), units, item.uom.clone()));
            }
        }
        let hashes: Vec<&str> = aggregations.iter().map(|(h, _, _)| h.as_str()).collect();
        let parents = store::items_of_events(conn, &hashes, &["parent"])?;
        let containers: Vec<&str> = parents.iter().map(|p| p.item.as_str()).collect();
        for moved in store::events_naming(conn, &containers)? {
            if amounts.contains_key(&moved.event_hash) {
                continue;
            }
            let inside = parents
                .iter()
                .filter(|p| p.item == moved.item)
                .filter_map(|p| aggregations.iter().find(|(h, _, _)| *h == p.event_hash))
                .next();
            amounts.insert(
                moved.event_hash.clone(),
                Share {
                    quantity: inside.and_then(|(_, units, _)| *units),
                    uom: inside.and_then(|(_, _, uom)| uom.clone()),
                    via: Some(moved.item.clone()),
                },
            );
        }
        let hashes: Vec<String> = amounts.keys().cloned().collect();
        let rows = if hashes.is_empty() {
            Vec::new()
        } else {
            store::find_events(
                conn,
                &EventFilter {
                    hashes: Some(hashes.clone()),
                    ..EventFilter::default()
                },
                i64::MAX,
            )?
        };
        let refs: Vec<&str> = hashes.iter().map(String::as_str).collect();
        let party_rows = store::parties_of(conn, &refs)?;
        let codes: Vec<&str> = party_rows
            .iter()
            .filter_map(|p| p.business_code.as_deref())
            .collect();
        let known: HashMap<String, BusinessFacts> = verified_businesses(conn, &codes)?
            .into_iter()
            .map(|b| (b.code.clone(), b))
            .collect();
        let view = |p: &PartyRow| PartyView {
            id: p.party.clone(),
            party_type: p.party_type.clone(),
            known: p.business_code.is_some(),
            business_code: p.business_code.clone(),
            name: p
                .business_code
                .as_ref()
                .and_then(|c| known.get(c))
                .and_then(|b| b.public_name()),
            province: p
                .business_code
                .as_ref()
                .and_then(|c| known.get(c))
                .and_then(|b| b.province.clone()),
        };
        let mut steps = Vec::with_capacity(rows.len());
        for row in rows {
            let Share { quantity, uom, via } = amounts.remove(&row.event_hash).unwrap_or_default();
            let of_role = |role: PartyRole| -> Vec<PartyView> {
                let mut found: Vec<PartyView> = party_rows
                    .iter()
                    .filter(|p| p.event_hash == row.event_hash && p.role == role.as_str())
                    .map(view)
                    .collect();
                found.sort();
                found
            };
            steps.push(CustodyStep {
                event_time: row.event_time.and_utc(),
                event_type: row.event_type,
                action: row.action,
                biz_step: row.biz_step,
                disposition: row.disposition,
                location: row.biz_location.or(row.read_point),
                via,
                quantity,
                uom,
                sources: of_role(PartyRole::Source),
                destinations: of_role(PartyRole::Destination),
                event_id: row.event_id,
            });
        }
        let parties = links_of(&steps);
        Ok(Custody {
            view: FullView::Full,
            lot_key,
            gtin: code.gtin().unwrap_or(gtin).to_string(),
            lot: code.lot().unwrap_or(lot).to_string(),
            steps,
            parties,
        })
    }
}

impl BusinessFacts {
    /// The name shown publicly: a household business trades under a person's name, which
    /// is masked.
    fn public_name(&self) -> Option<String> {
        let name = self.name.clone()?;
        if self.household {
            Some(mask_name(&name))
        } else {
            Some(name)
        }
    }
}

/// A person's name with each word cut to its first letter (`Nguyễn Văn An` → `N. V. A.`).
fn mask_name(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|word| word.chars().next())
        .map(|c| format!("{c}."))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How much of a lot an event moved, and the container it moved in.
#[derive(Debug, Clone, Default)]
struct Share {
    quantity: Option<f64>,
    uom: Option<String>,
    via: Option<String>,
}

/// For each holder in the chain: from whom it received, to whom it shipped.
fn links_of(steps: &[CustodyStep]) -> Vec<PartyLinks> {
    let mut links: BTreeMap<String, PartyLinks> = BTreeMap::new();
    let holders = |list: &[PartyView]| -> Vec<PartyView> {
        list.iter()
            .filter(|p| is_holder(&p.party_type))
            .cloned()
            .collect()
    };
    for step in steps {
        let (sources, destinations) = (holders(&step.sources), holders(&step.destinations));
        for party in sources.iter().chain(&destinations) {
            links.entry(party.id.clone()).or_insert_with(|| PartyLinks {
                party: party.clone(),
                received_from: Vec::new(),
                shipped_to: Vec::new(),
            });
        }
        for to in &destinations {
            if let Some(entry) = links.get_mut(&to.id) {
                for from in sources.iter().filter(|f| f.id != to.id) {
                    if !entry.received_from.iter().any(|p| p.id == from.id) {
                        entry.received_from.push(from.clone());
                    }
                }
            }
        }
        for from in &sources {
            if let Some(entry) = links.get_mut(&from.id) {
                for to in destinations.iter().filter(|t| t.id != from.id) {
                    if !entry.shipped_to.iter().any(|p| p.id == to.id) {
                        entry.shipped_to.push(to.clone());
                    }
                }
            }
        }
    }
    links.into_values().collect()
}

/// The business each party of these events resolves to (by its stored key): an
/// enterprise code of a verified business, or a GLN inside a company prefix licensed to
/// an enterprise.
fn resolve_parties(
    conn: &mut DbConnection,
    events: &[CapturedEvent],
) -> Result<HashMap<String, String>, EpcisError> {
    let mut glns: BTreeMap<String, String> = BTreeMap::new();
    let mut enterprises: BTreeSet<String> = BTreeSet::new();
    for party in events.iter().flat_map(|e| &e.parties) {
        match &party.id {
            Some(PartyId::Gln(gln)) => {
                glns.insert(party_key(&party.party), gln.clone());
            }
            Some(PartyId::Enterprise(code)) => {
                enterprises.insert(code.clone());
            }
            None => {}
        }
    }
    let mut resolved = HashMap::new();
    let gln_list: Vec<&str> = glns.values().map(String::as_str).collect();
    let licensees: HashMap<String, String> =
        crate::codes::facts::licensees_of_glns(conn, &gln_list)?
            .into_iter()
            .collect();
    for (key, gln) in &glns {
        if let Some(enterprise) = licensees.get(gln) {
            resolved.insert(key.clone(), enterprise.clone());
        }
    }
    let codes: Vec<&str> = enterprises.iter().map(String::as_str).collect();
    for business in verified_businesses(conn, &codes)? {
        resolved.insert(
            format!("{}{}", ids::ENTERPRISE_URN, business.code),
            business.code,
        );
    }
    Ok(resolved)
}

/// Receipts the new events make: a business that is a holding destination of an event
/// moving a lot (directly, or in a container an aggregation filled) receives it, unless
/// the business captured that event itself. A new aggregation also makes receipts for
/// moves of its container captured before it.
fn receipts(
    conn: &mut DbConnection,
    events: &[CapturedEvent],
    parties: &[PartyRow],
    actor: &str,
) -> Result<Vec<ReceiptRow>, EpcisError> {
    let by_self = |business: &str, captured_by: &str| captured_by == format!("business:{business}");
    let mut receipts = Vec::new();
    let moved_roles = [
        ItemRole::Epc,
        ItemRole::Parent,
        ItemRole::Child,
        ItemRole::Output,
        ItemRole::Quantity,
        ItemRole::ChildQuantity,
        ItemRole::OutputQuantity,
    ];
    let mut containers_needed: Vec<&str> = Vec::new();
    for event in events {
        if event
            .items
            .iter()
            .any(|i| i.lot_key.is_none() && matches!(i.role, ItemRole::Epc | ItemRole::Parent))
        {
            containers_needed.extend(
                event
                    .items
                    .iter()
                    .filter(|i| {
                        i.lot_key.is_none() && matches!(i.role, ItemRole::Epc | ItemRole::Parent)
                    })
                    .map(|i| i.item.as_str()),
            );
        }
    }
    containers_needed.sort_unstable();
    containers_needed.dedup();
    let contents = store::contents_of(conn, &containers_needed)?;
    // Holding destinations by event, looked up once each.
    let mut destinations: HashMap<&str, Vec<&PartyRow>> = HashMap::new();
    for party in parties
        .iter()
        .filter(|p| p.role == "destination" && is_holder(&p.party_type))
    {
        destinations
            .entry(party.event_hash.as_str())
            .or_default()
            .push(party);
    }
    for event in events {
        let receivers: Vec<&str> = destinations
            .get(event.hash.as_str())
            .into_iter()
            .flatten()
            .filter_map(|p| p.business_code.as_deref())
            .filter(|b| !by_self(b, actor))
            .collect();
        if receivers.is_empty() {
            continue;
        }
        let mut lots: Vec<(String, Option<f64>)> = Vec::new();
        for item in event.items.iter().filter(|i| moved_roles.contains(&i.role)) {
            match &item.lot_key {
                Some(lot) => {
                    let units = if item.role.is_class() {
                        item.quantity.filter(|_| item.uom.is_none())
                    } else {
                        Some(1.0)
                    };
                    lots.push((lot.clone(), units));
                }
                None => {
                    for content in &contents {
                        if content.container == item.item && content.aggregation != event.hash {
                            lots.push((
                                content.lot.clone(),
                                content.units.filter(|_| content.uom.is_none()),
                            ));
                        }
                    }
                }
            }
        }
        let receiving = event.biz_step.as_deref() == Some("receiving");
        for business in receivers {
            for (lot, units) in &lots {
                add_receipt(&mut receipts, business, lot, &event.hash, receiving, *units);
            }
        }
    }
    // A container filled now may have been moved before.
    for event in events
        .iter()
        .filter(|e| e.event_type == EventType::Aggregation)
    {
        if event.action == Some(Action::Delete) {
            continue;
        }
        let Some(parent) = event.items.iter().find(|i| i.role == ItemRole::Parent) else {
            continue;
        };
        let children: Vec<(&str, Option<f64>)> = event
            .items
            .iter()
            .filter(|i| matches!(i.role, ItemRole::Child | ItemRole::ChildQuantity))
            .filter_map(|i| {
                let units = if i.role == ItemRole::Child {
                    Some(1.0)
                } else {
                    i.quantity.filter(|_| i.uom.is_none())
                };
                i.lot_key.as_deref().map(|lot| (lot, units))
            })
            .collect();
        if children.is_empty() {
            continue;
        }
        for moved in store::moves_of_containers(conn, &[parent.item.as_str()])? {
            // Moves captured with this aggregation were counted above.
            if events.iter().any(|e| e.hash == moved.event)
                || by_self(&moved.business, &moved.captured_by)
            {
                continue;
            }
            let receiving = moved.biz_step.as_deref() == Some("receiving");
            for (lot, units) in &children {
                add_receipt(
                    &mut receipts,
                    &moved.business,
                    lot,
                    &moved.event,
                    receiving,
                    *units,
                );
            }
        }
    }
    Ok(receipts)
}

/// Adds a receipt, adding units to one already made for the same event.
fn add_receipt(
    receipts: &mut Vec<ReceiptRow>,
    business: &str,
    lot: &str,
    event: &str,
    receiving: bool,
    units: Option<f64>,
) {
    match receipts
        .iter_mut()
        .find(|r| r.business_code == business && r.lot_key == lot && r.event_hash == event)
    {
        Some(found) => found.units = found.units.zip(units).map(|(a, b)| a + b),
        None => receipts.push(ReceiptRow {
            business_code: business.to_string(),
            lot_key: lot.to_string(),
            event_hash: event.to_string(),
            receiving,
            units,
        }),
    }
}

/// An opaque token for the page after the event at (time, hash).
fn page_token(time: NaiveDateTime, hash: &str) -> String {
    data_encoding::BASE64URL_NOPAD
        .encode(format!("{}|{hash}", time.and_utc().timestamp_micros()).as_bytes())
}

/// Reads a page token back.
pub fn read_page_token(token: &str) -> Result<(NaiveDateTime, String), EpcisError> {
    let bad = || EpcisError::Invalid {
        field: "nextPageToken".into(),
        message: "is not a token this service gave".into(),
    };
    let text = data_encoding::BASE64URL_NOPAD
        .decode(token.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let (micros, hash) = text.split_once('|').ok_or_else(bad)?;
    let time = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    Ok((time.naive_utc(), hash.to_string()))
}

/// The field errors of a refused document, for the HTTP and command-line layers.
pub fn field_errors(error: &EpcisError) -> Vec<FieldError> {
    match error {
        EpcisError::Document(DocumentError::Invalid(errors)) => errors.clone(),
        EpcisError::Invalid { field, message } => vec![FieldError::new(field, message)],
        _ => Vec::new(),
    }
}
