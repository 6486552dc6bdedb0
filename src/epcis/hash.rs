//! The EPCIS event hash ID of CBV 2.0 (§8.9): a pre-hash string built from an event's
//! content in a canonical order, whatever its syntax, then SHA-256 as an RFC 6920 `ni`
//! URI (`ni:///sha-256;{hex}?ver=CBV2.0`). Two captures of the same event get the same
//! id, which is what makes capture idempotent.
//!
//! Rules applied: canonical property order; no separators; `key=value`; values trimmed;
//! numbers without trailing zeros; timestamps in UTC with milliseconds (rounded half up);
//! list children sorted as strings; a type (`type=`) before the value it qualifies;
//! bare and URN CBV vocabulary and CURIEs expanded to Web URIs; EPCs and Digital Links as
//! constrained canonical Digital Links on `https://id.gs1.org`; ILMD and user extensions as
//! `{namespace}local=value`, sorted.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::ids::{GS1_HOST, gs1_path};

/// Namespace prefixes a document's `@context` declares (`"example": "https://…/"`), with
/// the standard ones.
#[derive(Debug, Clone, Default)]
pub struct Prefixes(HashMap<String, String>);

impl Prefixes {
    /// The prefixes of a document's (and an event's) `@context`.
    pub fn of(context: Option<&Value>) -> Self {
        let mut map: HashMap<String, String> = [
            ("gs1", "https://gs1.org/voc/"),
            ("cbv", "https://ref.gs1.org/cbv/"),
            ("epcis", "https://ref.gs1.org/epcis/"),
            ("cbvmda", "urn:epcglobal:cbv:mda:"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut add = |object: &Map<String, Value>| {
            for (key, value) in object {
                if let Some(ns) = value.as_str() {
                    map.insert(key.clone(), ns.to_string());
                }
            }
        };
        match context {
            Some(Value::Array(items)) => {
                items.iter().filter_map(Value::as_object).for_each(&mut add)
            }
            Some(Value::Object(object)) => add(object),
            _ => {}
        }
        Prefixes(map)
    }

    /// Adds the prefixes of `other` (an event's own `@context`), which win.
    pub fn extend(&mut self, other: &Prefixes) {
        self.0
            .extend(other.0.iter().map(|(k, v)| (k.clone(), v.clone())));
    }

    /// A key or CURIE as `{namespace}local` (a key without a known prefix as it is).
    fn key(&self, key: &str) -> String {
        match key.split_once(':') {
            Some((prefix, local)) if !local.starts_with("//") => match self.0.get(prefix) {
                Some(ns) => format!("{{{ns}}}{local}"),
                None => key.to_string(),
            },
            _ => key.to_string(),
        }
    }

    /// A value that may be a CURIE, expanded.
    fn curie(&self, value: &str) -> Option<String> {
        let (prefix, local) = value.split_once(':')?;
        if local.starts_with("//") {
            return None;
        }
        self.0.get(prefix).map(|ns| format!("{ns}{local}"))
    }
}

/// An RFC 3339 timestamp in UTC with milliseconds, the 4th decimal rounding half up.
pub fn canonical_time(text: &str) -> Option<String> {
    let parsed: DateTime<Utc> = DateTime::parse_from_rfc3339(text.trim()).ok()?.into();
    let nanos = parsed.timestamp_subsec_nanos();
    let rounded = if nanos % 1_000_000 >= 500_000 {
        parsed + TimeDelta::nanoseconds(i64::from(1_000_000 - nanos % 1_000_000))
    } else {
        parsed - TimeDelta::nanoseconds(i64::from(nanos % 1_000_000))
    };
    Some(rounded.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// A JSON number without trailing zeros.
fn number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        n.to_string()
    } else {
        // `Display` for f64 is the shortest text that reads back the same (`200.5`, `10`).
        n.as_f64().map_or_else(|| n.to_string(), |f| format!("{f}"))
    }
}

/// Standard vocabularies as the hash writes them, by the field that holds them.
#[derive(Clone, Copy)]
enum Vocabulary {
    BizStep,
    Disposition,
    BizTransactionType,
    SourceDestType,
    /// Measurement types of sensor reports (GS1 Web Vocabulary).
    Measurement,
    /// Not a vocabulary: identifiers (EPCs, locations, parties) and other URIs.
    None,
}

impl Prefixes {
    fn value(&self, value: &str, vocabulary: Vocabulary) -> String {
        let value = value.trim();
        let (web, urn) = match vocabulary {
            Vocabulary::BizStep => ("BizStep-", "urn:epcglobal:cbv:bizstep:"),
            Vocabulary::Disposition => ("Disp-", "urn:epcglobal:cbv:disp:"),
            Vocabulary::BizTransactionType => ("BTT-", "urn:epcglobal:cbv:btt:"),
            Vocabulary::SourceDestType => ("SDT-", "urn:epcglobal:cbv:sdt:"),
            Vocabulary::Measurement => {
                if !value.contains(':') {
                    return format!("https://gs1.org/voc/{value}");
                }
                ("", "")
            }
            Vocabulary::None => ("", ""),
        };
        if !web.is_empty() {
            if let Some(term) = value.strip_prefix(urn) {
                return format!("https://ref.gs1.org/cbv/{web}{term}");
            }
            if !value.contains(':') {
                return format!("https://ref.gs1.org/cbv/{web}{value}");
            }
        }
        if let Some(path) = gs1_path(value) {
            return format!("{GS1_HOST}{path}");
        }
        self.curie(value).unwrap_or_else(|| value.to_string())
    }

    fn scalar(&self, value: &Value, vocabulary: Vocabulary) -> Option<String> {
        match value {
            Value::String(s) => Some(self.value(s, vocabulary)),
            Value::Number(n) => Some(number(n)),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// `name=value`, appended (the pre-hash string is built without intermediate strings).
fn push_field(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push('=');
    out.push_str(value);
}

/// `name` followed by each child's string, sorted; nothing when there are none.
fn sorted_list(out: &mut String, name: &str, mut children: Vec<String>) {
    if children.is_empty() {
        return;
    }
    children.sort_unstable();
    out.push_str(name);
    for child in children {
        out.push_str(&child);
    }
}

/// An extension element (ILMD, user extension) as `{ns}local=value`, or `{ns}local`
/// followed by its children, sorted; an array repeats the key for each element.
fn extension(prefixes: &Prefixes, key: &str, value: &Value, out: &mut Vec<String>) {
    let name = prefixes.key(key);
    match value {
        Value::Array(items) => {
            for item in items {
                extension(prefixes, key, item, out);
            }
        }
        Value::Object(object) => {
            let mut children = Vec::new();
            for (k, v) in object {
                extension(prefixes, k, v, &mut children);
            }
            children.sort_unstable();
            out.push(format!("{name}{}", children.concat()));
        }
        Value::Null => out.push(name),
        scalar => {
            let text = prefixes
                .scalar(scalar, Vocabulary::None)
                .unwrap_or_default();
            out.push(format!("{name}={text}"));
        }
    }
}

/// Fields of the event that the standard defines (everything else with a prefix is a
/// user extension; `eventID`, `recordTime`, `@context`, `certificationInfo` and
/// `errorDeclaration` do not enter the hash).
const STANDARD_FIELDS: &[&str] = &[
    "type",
    "@context",
    "eventID",
    "recordTime",
    "certificationInfo",
    "errorDeclaration",
    "eventTime",
    "eventTimeZoneOffset",
    "epcList",
    "parentID",
    "inputEPCList",
    "childEPCs",
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputEPCList",
    "outputQuantityList",
    "action",
    "transformationID",
    "bizStep",
    "disposition",
    "persistentDisposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "sensorElementList",
    "ilmd",
];

const SENSOR_METADATA: &[&str] = &[
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
];

const SENSOR_REPORT: &[&str] = &[
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "time",
    "microorganism",
    "chemicalSubstance",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
    "coordinateReferenceSystem",
];

/// `name` then `field=value` for each of `fields` present, in that order, then the
/// object's extensions, sorted.
fn ordered_object(
    prefixes: &Prefixes,
    name: &str,
    object: &Map<String, Value>,
    fields: &[&str],
) -> String {
    let mut out = name.to_string();
    for field in fields {
        if let Some(value) = object.get(*field) {
            let vocabulary = match *field {
                "type" => Vocabulary::Measurement,
                _ => Vocabulary::None,
            };
            if let Some(text) = prefixes.scalar(value, vocabulary) {
                push_field(&mut out, field, &text);
            }
        }
    }
    let mut extensions = Vec::new();
    for (key, value) in object {
        if !fields.contains(&key.as_str()) && key.contains(':') {
            extension(prefixes, key, value, &mut extensions);
        }
    }
    extensions.sort_unstable();
    out.push_str(&extensions.concat());
    out
}

/// The pre-hash string of an event.
pub fn prehash(event: &Map<String, Value>, prefixes: &Prefixes) -> String {
    let mut out = String::with_capacity(512);
    let text = |field: &str| event.get(field).and_then(Value::as_str);
    if let Some(kind) = text("type") {
        push_field(&mut out, "eventType", kind.trim());
    }
    if let Some(time) = text("eventTime") {
        let time = canonical_time(time).unwrap_or_else(|| time.trim().to_string());
        push_field(&mut out, "eventTime", &time);
    }
    if let Some(offset) = text("eventTimeZoneOffset") {
        push_field(&mut out, "eventTimeZoneOffset", offset.trim());
    }
    let epcs = |out: &mut String, field: &str| {
        if let Some(Value::Array(items)) = event.get(field) {
            let children = items
                .iter()
                .filter_map(Value::as_str)
                .map(|epc| format!("epc={}", prefixes.value(epc, Vocabulary::None)))
                .collect();
            sorted_list(out, field, children);
        }
    };
    let quantities = |out: &mut String, field: &str| {
        if let Some(Value::Array(items)) = event.get(field) {
            let children = items
                .iter()
                .filter_map(Value::as_object)
                .map(|q| {
                    let mut s = "quantityElement".to_string();
                    if let Some(class) = q.get("epcClass").and_then(Value::as_str) {
                        push_field(&mut s, "epcClass", &prefixes.value(class, Vocabulary::None));
                    }
                    if let Some(Value::Number(n)) = q.get("quantity") {
                        push_field(&mut s, "quantity", &number(n));
                    }
                    if let Some(uom) = q.get("uom").and_then(Value::as_str) {
                        push_field(&mut s, "uom", uom.trim());
                    }
                    s
                })
                .collect();
            sorted_list(out, field, children);
        }
    };
    epcs(&mut out, "epcList");
    if let Some(parent) = text("parentID") {
        push_field(
            &mut out,
            "parentID",
            &prefixes.value(parent, Vocabulary::None),
        );
    }
    epcs(&mut out, "inputEPCList");
    epcs(&mut out, "childEPCs");
    quantities(&mut out, "quantityList");
    quantities(&mut out, "childQuantityList");
    quantities(&mut out, "inputQuantityList");
    epcs(&mut out, "outputEPCList");
    quantities(&mut out, "outputQuantityList");
    for (field, vocabulary) in [
        ("action", Vocabulary::None),
        ("transformationID", Vocabulary::None),
        ("bizStep", Vocabulary::BizStep),
        ("disposition", Vocabulary::Disposition),
    ] {
        if let Some(value) = text(field) {
            let value = match field {
                "action" => value.trim().to_string(),
                _ => prefixes.value(value, vocabulary),
            };
            push_field(&mut out, field, &value);
        }
    }
    if let Some(Value::Object(persistent)) = event.get("persistentDisposition") {
        out.push_str("persistentDisposition");
        for field in ["set", "unset"] {
            if let Some(Value::Array(items)) = persistent.get(field) {
                let mut values: Vec<String> = items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|v| format!("{field}={}", prefixes.value(v, Vocabulary::Disposition)))
                    .collect();
                values.sort_unstable();
                out.push_str(&values.concat());
            }
        }
    }
    for field in ["readPoint", "bizLocation"] {
        if let Some(Value::Object(place)) = event.get(field) {
            let mut s = field.to_string();
            if let Some(id) = place.get("id").and_then(Value::as_str) {
                push_field(&mut s, "id", &prefixes.value(id, Vocabulary::None));
            }
            let mut extensions = Vec::new();
            for (key, value) in place {
                if key != "id" {
                    extension(prefixes, key, value, &mut extensions);
                }
            }
            extensions.sort_unstable();
            s.push_str(&extensions.concat());
            out.push_str(&s);
        }
    }
    for (list, member, vocabulary) in [
        (
            "bizTransactionList",
            "bizTransaction",
            Vocabulary::BizTransactionType,
        ),
        ("sourceList", "source", Vocabulary::SourceDestType),
        ("destinationList", "destination", Vocabulary::SourceDestType),
    ] {
        if let Some(Value::Array(items)) = event.get(list) {
            let children = items
                .iter()
                .filter_map(Value::as_object)
                .map(|item| {
                    let mut s = String::new();
                    if let Some(kind) = item.get("type").and_then(Value::as_str) {
                        push_field(&mut s, "type", &prefixes.value(kind, vocabulary));
                    }
                    if let Some(id) = item.get(member).and_then(Value::as_str) {
                        push_field(&mut s, member, &prefixes.value(id, Vocabulary::None));
                    }
                    s
                })
                .collect();
            sorted_list(&mut out, list, children);
        }
    }
    if let Some(Value::Array(elements)) = event.get("sensorElementList") {
        let children = elements
            .iter()
            .filter_map(Value::as_object)
            .map(|element| {
                let mut s = "sensorElement".to_string();
                if let Some(Value::Object(meta)) = element.get("sensorMetadata") {
                    s.push_str(&ordered_object(
                        prefixes,
                        "sensorMetadata",
                        meta,
                        SENSOR_METADATA,
                    ));
                }
                if let Some(Value::Array(reports)) = element.get("sensorReport") {
                    let mut reports: Vec<String> = reports
                        .iter()
                        .filter_map(Value::as_object)
                        .map(|r| ordered_object(prefixes, "sensorReport", r, SENSOR_REPORT))
                        .collect();
                    reports.sort_unstable();
                    s.push_str(&reports.concat());
                }
                let mut extensions = Vec::new();
                for (key, value) in element {
                    if key.contains(':') {
                        extension(prefixes, key, value, &mut extensions);
                    }
                }
                extensions.sort_unstable();
                s.push_str(&extensions.concat());
                s
            })
            .collect();
        sorted_list(&mut out, "sensorElementList", children);
    }
    if let Some(Value::Object(ilmd)) = event.get("ilmd") {
        let mut elements = Vec::new();
        for (key, value) in ilmd {
            extension(prefixes, key, value, &mut elements);
        }
        sorted_list(&mut out, "ilmd", elements);
    }
    let mut extensions = Vec::new();
    for (key, value) in event {
        if !STANDARD_FIELDS.contains(&key.as_str()) {
            extension(prefixes, key, value, &mut extensions);
        }
    }
    extensions.sort_unstable();
    out.push_str(&extensions.concat());
    out
}

/// The event hash ID: `ni:///sha-256;{hex}?ver=CBV2.0`.
pub fn event_hash_id(event: &Map<String, Value>, prefixes: &Prefixes) -> String {
    let digest = Sha256::digest(prehash(event, prefixes).as_bytes());
    let mut id = String::with_capacity(89);
    id.push_str("ni:///sha-256;");
    id.push_str(&data_encoding::HEXLOWER.encode(&digest));
    id.push_str("?ver=CBV2.0");
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events of a fixture document with their prefixes.
    fn events(text: &str) -> Vec<(Map<String, Value>, Prefixes)> {
        let document: Value = serde_json::from_str(text).expect("json");
        let prefixes = Prefixes::of(document.get("@context"));
        document["epcisBody"]["eventList"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| (e.as_object().expect("event").clone(), prefixes.clone()))
            .collect()
    }

    #[test]
    fn timestamps_are_utc_with_rounded_milliseconds() {
        assert_eq!(
            canonical_time("2020-03-04T11:00:30+01:00").as_deref(),
            Some("2020-03-04T10:00:30.000Z")
        );
        assert_eq!(
            canonical_time("2023-01-18T11:04:03.1415Z").as_deref(),
            Some("2023-01-18T11:04:03.142Z")
        );
        assert_eq!(
            canonical_time("2005-04-03T20:33:31.116000-06:00").as_deref(),
            Some("2005-04-04T02:33:31.116Z")
        );
    }

    /// The reference examples of the event hash algorithm (tests/fixtures/epcis/README.md).
    #[test]
    fn reference_examples_hash_as_published() {
        let (event, prefixes) = events(include_str!(
            "../../tests/fixtures/epcis/ReferenceEventHashAlgorithm.jsonld"
        ))
        .remove(0);
        assert_eq!(
            prehash(&event, &prefixes),
            "eventType=ObjectEventeventTime=2020-03-04T10:00:30.000ZeventTimeZoneOffset=+01:00epcListepc=https://id.gs1.org/00/040123450000001112epc=https://id.gs1.org/00/040123450000002225epc=https://id.gs1.org/00/040123450000003338action=OBSERVEbizStep=https://ref.gs1.org/cbv/BizStep-departingreadPointid=https://id.gs1.org/414/4012345000115/254/987{https://ns.example.com/epcis/}myField1{https://ns.example.com/epcis/}mySubField1=2{https://ns.example.com/epcis/}mySubField2=5{https://ns.example.com/epcis/}myField2=0{https://ns.example.com/epcis/}myField3{https://ns.example.com/epcis/}mySubField3=1{https://ns.example.com/epcis/}mySubField3=3"
        );
        assert_eq!(
            event_hash_id(&event, &prefixes),
            "ni:///sha-256;6ae96341e0acc6d7a261364751f60e68278a81cdf51da0abb6b4e617014e39d7?ver=CBV2.0"
        );
    }

    #[test]
    fn the_hash_ignores_form_order_and_record_time() {
        let a: Value = serde_json::json!({
            "type": "ObjectEvent", "eventTime": "2024-01-01T08:00:00+07:00", "eventTimeZoneOffset": "+07:00",
            "epcList": ["urn:epc:id:sgtin:0614141.107346.2017", "https://example.com/01/10614141073464/21/2018"],
            "action": "OBSERVE", "bizStep": "shipping", "recordTime": "2024-01-02T00:00:00Z"
        });
        let b: Value = serde_json::json!({
            "bizStep": "urn:epcglobal:cbv:bizstep:shipping", "action": "OBSERVE",
            "epcList": ["https://id.gs1.org/01/10614141073464/21/2018", "urn:epc:id:sgtin:0614141.107346.2017"],
            "eventTimeZoneOffset": "+07:00", "eventTime": "2024-01-01T01:00:00.000Z", "type": "ObjectEvent"
        });
        let p = Prefixes::of(None);
        let (a, b) = (a.as_object().expect("a"), b.as_object().expect("b"));
        assert_eq!(event_hash_id(a, &p), event_hash_id(b, &p));
    }
}
