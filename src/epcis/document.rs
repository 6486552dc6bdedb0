//! Reading an `EPCISDocument`: validated against GS1's EPCIS 2.0 JSON schema, then by
//! tracegate's own rules (times that read, parties named by GLN or enterprise code, no
//! control characters), every event at once, so that a refusal lists every bad event.
//! What passes becomes [`CapturedEvent`]s: the event as sent, its hash ID, and the columns
//! queries and custody read.

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use super::hash::{Prefixes, event_hash_id};
use super::ids::{self, PartyId};
use crate::error::FieldError;

/// GS1's EPCIS 2.0 JSON schema (tests/fixtures/epcis/README.md says where it comes from).
const SCHEMA: &str = include_str!("../../tests/fixtures/epcis/EPCIS-JSON-Schema.json");

/// Events one document may carry.
pub const MAX_EVENTS: usize = 100_000;

/// The schema, compiled once. It is embedded data that a test compiles: failing here is a
/// build defect, reported as such to every caller rather than a panic. Formats are not
/// asserted (draft-07 makes them annotations, and the standard's own examples use JSON-LD
/// blank node ids such as `_:document1` where the schema says `uri`); times are read by
/// [`read_event`] instead.
fn validator() -> Result<&'static jsonschema::Validator, &'static str> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let schema: Value = serde_json::from_str(SCHEMA).map_err(|e| e.to_string())?;
            jsonschema::draft7::options()
                .should_validate_formats(false)
                .build(&schema)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(String::as_str)
}

/// Why a document cannot be captured.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// Fields at fault, every one (`epcisBody.eventList[2].bizStep`).
    #[error("the EPCIS document is not valid: {} problem(s)", .0.len())]
    Invalid(Vec<FieldError>),
    #[error("the embedded EPCIS schema does not compile: {0}")]
    Schema(&'static str),
}

/// An event's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Object,
    Aggregation,
    Transformation,
    Transaction,
    Association,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Object => "ObjectEvent",
            EventType::Aggregation => "AggregationEvent",
            EventType::Transformation => "TransformationEvent",
            EventType::Transaction => "TransactionEvent",
            EventType::Association => "AssociationEvent",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "ObjectEvent" => EventType::Object,
            "AggregationEvent" => EventType::Aggregation,
            "TransformationEvent" => EventType::Transformation,
            "TransactionEvent" => EventType::Transaction,
            "AssociationEvent" => EventType::Association,
            _ => return None,
        })
    }
}

/// What an event says happened to the objects it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Add,
    Observe,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "ADD",
            Action::Observe => "OBSERVE",
            Action::Delete => "DELETE",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "ADD" => Action::Add,
            "OBSERVE" => Action::Observe,
            "DELETE" => Action::Delete,
            _ => return None,
        })
    }
}

/// The part an identifier plays in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemRole {
    Epc,
    Parent,
    Child,
    Input,
    Output,
    Quantity,
    ChildQuantity,
    InputQuantity,
    OutputQuantity,
}

impl ItemRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemRole::Epc => "epc",
            ItemRole::Parent => "parent",
            ItemRole::Child => "child",
            ItemRole::Input => "input",
            ItemRole::Output => "output",
            ItemRole::Quantity => "quantity",
            ItemRole::ChildQuantity => "child_quantity",
            ItemRole::InputQuantity => "input_quantity",
            ItemRole::OutputQuantity => "output_quantity",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            ItemRole::Epc,
            ItemRole::Parent,
            ItemRole::Child,
            ItemRole::Input,
            ItemRole::Output,
            ItemRole::Quantity,
            ItemRole::ChildQuantity,
            ItemRole::InputQuantity,
            ItemRole::OutputQuantity,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }

    /// Roles of classes (quantities) rather than instances.
    pub fn is_class(self) -> bool {
        matches!(
            self,
            ItemRole::Quantity
                | ItemRole::ChildQuantity
                | ItemRole::InputQuantity
                | ItemRole::OutputQuantity
        )
    }
}

/// An identifier an event names.
#[derive(Debug, Clone, PartialEq)]
pub struct EventItem {
    pub role: ItemRole,
    /// GS1 path or the URI as given.
    pub item: String,
    pub lot_key: Option<String>,
    pub quantity: Option<f64>,
    pub uom: Option<String>,
}

/// Whether a party sends or receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PartyRole {
    Source,
    Destination,
}

impl PartyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            PartyRole::Source => "source",
            PartyRole::Destination => "destination",
        }
    }
}

/// A source or destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventParty {
    pub role: PartyRole,
    /// `owning_party`, `possessing_party`, `location`, or another type's URI.
    pub party_type: String,
    /// The identifier as given.
    pub party: String,
    /// What it reads as, for a party (not a location).
    pub id: Option<PartyId>,
}

/// One event ready to be stored.
#[derive(Debug, Clone)]
pub struct CapturedEvent {
    /// CBV event hash ID.
    pub hash: String,
    /// The event's own `eventID`, or its hash ID when it had none.
    pub event_id: String,
    pub event_type: EventType,
    pub event_time: NaiveDateTime,
    pub action: Option<Action>,
    /// CBV term (`shipping`) for a standard step, else the URI.
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    pub items: Vec<EventItem>,
    pub parties: Vec<EventParty>,
    /// The event as sent, as a JSON object's text, with `eventID` filled in when absent and
    /// without any `recordTime` (the repository sets it: [`CapturedEvent::stored_body`]).
    body: String,
}

impl CapturedEvent {
    /// The event's JSON as stored: as sent, with the repository's record time.
    pub fn stored_body(&self, record_time: &str) -> String {
        let recorded = Value::String(record_time.to_string()).to_string();
        let fields = self
            .body
            .strip_prefix('{')
            .and_then(|b| b.strip_suffix('}'))
            .unwrap_or_default();
        let mut body = String::with_capacity(self.body.len() + recorded.len() + 16);
        body.push('{');
        body.push_str(fields);
        if !fields.is_empty() {
            body.push(',');
        }
        body.push_str("\"recordTime\":");
        body.push_str(&recorded);
        body.push('}');
        body
    }
}

/// `/epcisBody/eventList/3/bizStep` as `epcisBody.eventList[3].bizStep`.
fn field_of_pointer(pointer: &str) -> String {
    let mut field = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            field.push_str(&format!("[{segment}]"));
        } else {
            if !field.is_empty() {
                field.push('.');
            }
            field.push_str(&segment);
        }
    }
    if field.is_empty() {
        "(document)".to_string()
    } else {
        field
    }
}

/// A CBV term as stored: the bare term for a standard one (`shipping`), else as given.
fn cbv_term(value: &str, web: &str, urn: &str) -> String {
    let value = value.trim();
    value
        .strip_prefix(urn)
        .or_else(|| value.strip_prefix(&format!("https://ref.gs1.org/cbv/{web}")))
        .or_else(|| value.strip_prefix(&format!("cbv:{web}")))
        .unwrap_or(value)
        .to_string()
}

/// Whether `text` holds a control character (Unicode's Cc: C0, DEL and C1). Most text is
/// ASCII, checked a byte at a time; C1 controls exist only outside it.
fn is_control_text(text: &str) -> bool {
    if text.is_ascii() {
        text.bytes().any(|b| b < 0x20 || b == 0x7f)
    } else {
        text.chars().any(char::is_control)
    }
}

/// Whether any string (or key) anywhere in `value` holds a control character.
fn has_control_character(value: &Value) -> bool {
    match value {
        Value::String(s) => is_control_text(s),
        Value::Array(items) => items.iter().any(has_control_character),
        Value::Object(object) => object
            .iter()
            .any(|(k, v)| is_control_text(k) || has_control_character(v)),
        _ => false,
    }
}

/// The first string anywhere in `value` holding a control character, by its field.
fn control_character(value: &Value, field: &str) -> Option<String> {
    match value {
        Value::String(s) if s.chars().any(char::is_control) => Some(field.to_string()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| control_character(v, &format!("{field}[{i}]"))),
        Value::Object(object) => object.iter().find_map(|(k, v)| {
            if k.chars().any(char::is_control) {
                Some(field.to_string())
            } else {
                control_character(v, &format!("{field}.{k}"))
            }
        }),
        _ => None,
    }
}

/// Reads a document whole: every event captured, or every problem named.
pub fn read(document: &Value) -> Result<Vec<CapturedEvent>, DocumentError> {
    let validator = validator().map_err(DocumentError::Schema)?;
    let mut errors: Vec<FieldError> = Vec::new();
    if document.get("type").and_then(Value::as_str) != Some("EPCISDocument") {
        return Err(DocumentError::Invalid(vec![FieldError::new(
            "type",
            "the capture interface takes an EPCISDocument",
        )]));
    }
    let events = document
        .pointer("/epcisBody/eventList")
        .and_then(Value::as_array);
    if events.is_some_and(|e| e.len() > MAX_EVENTS) {
        return Err(DocumentError::Invalid(vec![FieldError::new(
            "epcisBody.eventList",
            format!("at most {MAX_EVENTS} events per document; send more documents"),
        )]));
    }
    let prefixes = Prefixes::of(document.get("@context"));
    // The schema check and tracegate's reading of each event are independent: a large
    // document is read on a few threads at once, the schema checked beside them.
    let empty = Vec::new();
    let list = events.unwrap_or(&empty);
    let (valid, read) = std::thread::scope(|scope| {
        let schema = (list.len() >= PARALLEL_FROM)
            .then(|| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, || validator.is_valid(document))
                    .ok()
            })
            .flatten();
        let read = read_events(scope, list, &prefixes);
        let valid = match schema {
            Some(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => validator.is_valid(document),
        };
        (valid, read)
    });
    // Collecting errors costs more than checking: only a document that fails collects them.
    if !valid {
        for error in validator.iter_errors(document) {
            let field = field_of_pointer(error.instance_path().as_str());
            if !errors.iter().any(|e| e.field == field) {
                errors.push(FieldError::new(field, error.to_string()));
            }
        }
    }
    if has_control_character(document)
        && let Some(field) = control_character(document, "")
    {
        errors.push(FieldError::new(
            field.trim_start_matches('.'),
            "must not contain control characters",
        ));
    }
    if events.is_none() {
        if errors.is_empty() {
            errors.push(FieldError::new(
                "epcisBody.eventList",
                "is required: the events to capture",
            ));
        }
        return Err(DocumentError::Invalid(errors));
    }
    let mut captured = Vec::with_capacity(read.len());
    for (i, event) in read.into_iter().enumerate() {
        // The schema reported what is wrong with the event's shape: that says it better.
        if !errors.is_empty() {
            let at = format!("epcisBody.eventList[{i}]");
            if errors.iter().any(|e| {
                e.field == at
                    || e.field.starts_with(&format!("{at}."))
                    || e.field.starts_with(&format!("{at}["))
            }) {
                continue;
            }
        }
        match event {
            Ok(event) => captured.push(event),
            Err(mut bad) => errors.append(&mut bad),
        }
    }
    if errors.is_empty() {
        Ok(captured)
    } else {
        Err(DocumentError::Invalid(errors))
    }
}

/// Documents with fewer events are read on the caller's thread alone.
const PARALLEL_FROM: usize = 512;

/// Every event read, in order, on up to four threads for a large list.
fn read_events<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    list: &'env [Value],
    prefixes: &'env Prefixes,
) -> Vec<Result<CapturedEvent, Vec<FieldError>>> {
    let read_from = |start: usize, part: &'env [Value]| {
        part.iter()
            .enumerate()
            .map(|(i, event)| {
                read_event(
                    event,
                    prefixes,
                    &format!("epcisBody.eventList[{}]", start + i),
                )
            })
            .collect::<Vec<_>>()
    };
    if list.len() < PARALLEL_FROM {
        return read_from(0, list);
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
    let size = list.len().div_ceil(threads);
    // Parts after the first are read on threads of their own, started first; a part no
    // thread could be started for is read here, in its turn.
    let parts: Vec<_> = list
        .chunks(size)
        .enumerate()
        .map(|(n, part)| {
            let thread = (n > 0)
                .then(|| {
                    std::thread::Builder::new()
                        .spawn_scoped(scope, move || read_from(n * size, part))
                        .ok()
                })
                .flatten();
            (n, part, thread)
        })
        .collect();
    let mut read = Vec::with_capacity(list.len());
    for (n, part, thread) in parts {
        match thread {
            // A reader that panicked is a defect: resumed here, it is reported as one.
            Some(handle) => read.extend(
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            ),
            None => read.extend(read_from(n * size, part)),
        }
    }
    read
}

fn read_event(
    event: &Value,
    document_prefixes: &Prefixes,
    at: &str,
) -> Result<CapturedEvent, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(object) = event.as_object() else {
        return Err(vec![FieldError::new(at, "an event is a JSON object")]);
    };
    let prefixes = match object.get("@context") {
        Some(context) => {
            let mut merged = document_prefixes.clone();
            merged.extend(&Prefixes::of(Some(context)));
            merged
        }
        None => document_prefixes.clone(),
    };
    let text = |field: &str| object.get(field).and_then(Value::as_str);
    let event_type = text("type").and_then(EventType::parse);
    let Some(event_type) = event_type else {
        return Err(vec![FieldError::new(
            format!("{at}.type"),
            "ObjectEvent, AggregationEvent, TransformationEvent, TransactionEvent or AssociationEvent",
        )]);
    };
    let event_time = text("eventTime").and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok());
    let event_time = match event_time {
        Some(t) => Some(t.with_timezone(&Utc).naive_utc()),
        None => {
            errors.push(FieldError::new(
                format!("{at}.eventTime"),
                "is required: an RFC 3339 date and time with its offset",
            ));
            None
        }
    };
    let action = match text("action") {
        Some(a) => match Action::parse(a) {
            Some(a) => Some(a),
            None => {
                errors.push(FieldError::new(
                    format!("{at}.action"),
                    "ADD, OBSERVE or DELETE",
                ));
                None
            }
        },
        None => None,
    };
    let mut items = Vec::new();
    let mut instances = |field: &str, role: ItemRole| {
        if let Some(Value::Array(list)) = object.get(field) {
            for epc in list.iter().filter_map(Value::as_str) {
                items.push(EventItem {
                    role,
                    item: ids::item_key(epc),
                    lot_key: ids::lot_key(epc),
                    quantity: None,
                    uom: None,
                });
            }
        }
    };
    instances("epcList", ItemRole::Epc);
    instances("childEPCs", ItemRole::Child);
    instances("inputEPCList", ItemRole::Input);
    instances("outputEPCList", ItemRole::Output);
    if let Some(parent) = text("parentID") {
        items.push(EventItem {
            role: ItemRole::Parent,
            item: ids::item_key(parent),
            lot_key: ids::lot_key(parent),
            quantity: None,
            uom: None,
        });
    }
    for (field, role) in [
        ("quantityList", ItemRole::Quantity),
        ("childQuantityList", ItemRole::ChildQuantity),
        ("inputQuantityList", ItemRole::InputQuantity),
        ("outputQuantityList", ItemRole::OutputQuantity),
    ] {
        if let Some(Value::Array(list)) = object.get(field) {
            for (j, q) in list.iter().enumerate() {
                let Some(class) = q.get("epcClass").and_then(Value::as_str) else {
                    continue;
                };
                let quantity = q.get("quantity").and_then(Value::as_f64);
                if quantity.is_some_and(|n| !n.is_finite() || n < 0.0) {
                    errors.push(FieldError::new(
                        format!("{at}.{field}[{j}].quantity"),
                        "a quantity is a number of at least zero",
                    ));
                }
                items.push(EventItem {
                    role,
                    item: ids::item_key(class),
                    lot_key: ids::lot_key(class),
                    quantity,
                    uom: q.get("uom").and_then(Value::as_str).map(str::to_string),
                });
            }
        }
    }
    // The same identifier twice in one role adds up (an epcList is unique by schema).
    items.sort_by(|a, b| (a.role, &a.item).cmp(&(b.role, &b.item)));
    items.dedup_by(|later, kept| {
        if later.role == kept.role && later.item == kept.item {
            if let (Some(k), Some(l)) = (kept.quantity, later.quantity) {
                kept.quantity = Some(k + l);
            }
            true
        } else {
            false
        }
    });
    let mut parties = Vec::new();
    for (list, member, role) in [
        ("sourceList", "source", PartyRole::Source),
        ("destinationList", "destination", PartyRole::Destination),
    ] {
        if let Some(Value::Array(entries)) = object.get(list) {
            for (j, entry) in entries.iter().enumerate() {
                let (Some(kind), Some(id)) = (
                    entry.get("type").and_then(Value::as_str),
                    entry.get(member).and_then(Value::as_str),
                ) else {
                    continue;
                };
                let party_type = cbv_term(kind, "SDT-", "urn:epcglobal:cbv:sdt:");
                let id = if party_type == "location" {
                    ids::party(id).ok()
                } else {
                    match ids::party(id) {
                        Ok(p) => Some(p),
                        Err(message) => {
                            errors.push(FieldError::new(
                                format!("{at}.{list}[{j}].{member}"),
                                message,
                            ));
                            None
                        }
                    }
                };
                if !parties.iter().any(|p: &EventParty| {
                    p.role == role && p.party_type == party_type && p.party == entry[member]
                }) {
                    parties.push(EventParty {
                        role,
                        party_type,
                        party: entry[member].as_str().unwrap_or_default().to_string(),
                        id,
                    });
                }
            }
        }
    }
    let (Some(event_time), true) = (event_time, errors.is_empty()) else {
        return Err(errors);
    };
    let hash = event_hash_id(object, &prefixes);
    // The event's text is written from the document as it is, not from a copy of it.
    let filled_id = Value::String(hash.clone());
    let mut fields: std::collections::BTreeMap<&str, &Value> = object
        .iter()
        .filter(|(key, _)| *key != "recordTime")
        .map(|(key, value)| (key.as_str(), value))
        .collect();
    let event_id = match text("eventID") {
        Some(id) => id.to_string(),
        None => {
            fields.insert("eventID", &filled_id);
            hash.clone()
        }
    };
    let body = serde_json::to_string(&fields).map_err(|e| {
        vec![FieldError::new(
            at,
            format!("cannot be stored as JSON: {e}"),
        )]
    })?;
    let place = |field: &str| {
        object
            .get(field)
            .and_then(|p| p.get("id"))
            .and_then(Value::as_str)
            .map(ids::item_key)
    };
    Ok(CapturedEvent {
        event_id,
        event_type,
        event_time,
        action,
        biz_step: text("bizStep").map(|s| cbv_term(s, "BizStep-", "urn:epcglobal:cbv:bizstep:")),
        disposition: text("disposition").map(|s| cbv_term(s, "Disp-", "urn:epcglobal:cbv:disp:")),
        read_point: place("readPoint"),
        biz_location: place("bizLocation"),
        items,
        parties,
        body,
        hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Value {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/epcis/Example_9.6.1-ObjectEvent.jsonld"
        ))
        .expect("json")
    }

    #[test]
    fn the_standards_example_reads() {
        let events = read(&example()).expect("valid");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].biz_step.as_deref(), Some("shipping"));
        assert_eq!(events[0].items.len(), 2);
        assert_eq!(
            events[1].read_point.as_deref(),
            Some("/414/0012345111112/254/400")
        );
    }

    #[test]
    fn every_bad_event_is_named() {
        let mut document = example();
        document["epcisBody"]["eventList"][0]["action"] = Value::String("SHOUT".into());
        document["epcisBody"]["eventList"][1]["sourceList"] =
            serde_json::json!([{ "type": "owning_party", "source": "https://example.com/me" }]);
        let Err(DocumentError::Invalid(errors)) = read(&document) else {
            panic!("refused");
        };
        assert!(
            errors
                .iter()
                .any(|e| e.field.starts_with("epcisBody.eventList[0]")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.field == "epcisBody.eventList[1].sourceList[0].source"),
            "{errors:?}"
        );
    }

    /// The standard's first event, `count` times, each with its own time.
    fn many_events(count: usize) -> Value {
        let mut document = example();
        let event = document["epcisBody"]["eventList"][0].clone();
        let events: Vec<Value> = (0..count)
            .map(|n| {
                let mut event = event.clone();
                event["eventTime"] = Value::String(format!(
                    "2026-10-01T{:02}:{:02}:{:02}.000Z",
                    n / 3600,
                    (n / 60) % 60,
                    n % 60
                ));
                event
            })
            .collect();
        document["epcisBody"]["eventList"] = Value::Array(events);
        document
    }

    #[test]
    fn a_large_document_reads_as_one_event_at_a_time_would() {
        let count = PARALLEL_FROM + 100;
        let document = many_events(count);
        let events = read(&document).expect("valid");
        assert_eq!(events.len(), count);
        let prefixes = Prefixes::of(document.get("@context"));
        for (n, event) in events.iter().enumerate() {
            let sent = document["epcisBody"]["eventList"][n]
                .as_object()
                .expect("an object");
            assert_eq!(event.hash, event_hash_id(sent, &prefixes), "event {n}");
        }
    }

    #[test]
    fn a_large_document_names_bad_events_past_its_first_part() {
        let count = PARALLEL_FROM + 100;
        let mut document = many_events(count);
        document["epcisBody"]["eventList"][count - 10]["action"] = Value::String("SHOUT".into());
        document["epcisBody"]["eventList"][count - 5]["sourceList"] =
            serde_json::json!([{ "type": "owning_party", "source": "https://example.com/me" }]);
        let Err(DocumentError::Invalid(errors)) = read(&document) else {
            panic!("refused");
        };
        let at = |n: usize| format!("epcisBody.eventList[{n}]");
        assert!(
            errors.iter().any(|e| e.field.starts_with(&at(count - 10))),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.field == format!("{}.sourceList[0].source", at(count - 5))),
            "{errors:?}"
        );
        assert!(
            errors.iter().all(
                |e| e.field.starts_with(&at(count - 10)) || e.field.starts_with(&at(count - 5))
            ),
            "{errors:?}"
        );
    }

    #[test]
    fn the_stored_body_is_the_event_as_sent_with_the_repositorys_record_time() {
        let mut document = example();
        document["epcisBody"]["eventList"][0]["recordTime"] =
            Value::String("2000-01-01T00:00:00Z".into());
        let sent = document["epcisBody"]["eventList"][0].clone();
        let events = read(&document).expect("valid");
        let stored: Value =
            serde_json::from_str(&events[0].stored_body("2026-11-28T10:00:00.000Z")).expect("JSON");
        let mut expected = sent;
        expected["recordTime"] = Value::String("2026-11-28T10:00:00.000Z".into());
        if expected.get("eventID").is_none() {
            expected["eventID"] = Value::String(events[0].hash.clone());
        }
        assert_eq!(stored, expected);
    }

    proptest::proptest! {
        #[test]
        fn control_characters_are_found_as_unicode_defines_them(text in "\\PC*|[\\x00-\\x{a0}]{0,8}") {
            proptest::prop_assert_eq!(is_control_text(&text), text.chars().any(char::is_control));
        }
    }

    #[test]
    fn pointers_read_as_fields() {
        assert_eq!(
            field_of_pointer("/epcisBody/eventList/3/bizStep"),
            "epcisBody.eventList[3].bizStep"
        );
        assert_eq!(field_of_pointer(""), "(document)");
    }
}
