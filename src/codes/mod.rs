//! Traceability codes: every accepted form (GTIN, GS1 element strings bracketed or raw,
//! GS1 Digital Link, EPC URNs, issuer-scoped codes) parsed into one canonical key, with the
//! levels a look-up walks up (serial → lot → GTIN).
//!
//! The form of an input is decided by what it can be, in this order: a symbology
//! identifier says what follows; `(` starts a bracketed element string; a GS separator
//! makes raw element data; a URI scheme makes a Digital Link (http, https), an EPC URN
//! (`urn:epc:`) or a URI tracegate does not read (said so, by scheme); digits alone are a
//! GTIN when their length and check digit fit one, and otherwise raw element data; a string
//! that starts with a known AI is raw element data when it reads as such; only then is
//! `prefix:value` an issuer code.
//!
//! Pure: no I/O. The reference year for GS1's two-digit years is a parameter.
//!
//! A parse allocates twice: one string holds the decoded values, the canonical key and
//! the look-up keys (as ranges), one vector the elements. Everything else is borrowed from
//! them on demand.

pub mod ai;
mod digital_link;
pub mod dl_compression;
mod element;
mod epc;
pub mod facts;
mod gs1;
pub mod registry;
pub mod routes;
pub mod scans;
pub mod store;

pub use digital_link::{percent_decode, percent_encode, push_percent_encoded};
pub use epc::to_urn as sgtin_urn;
pub use gs1::{Gtin, GtinError, check_digit, resolve_date};

use std::ops::Range;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use ai::Ai;

/// Why a code cannot be read; `part` names where (an AI, `path`, `EPC URN`, …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("the code is empty")]
    Empty,
    #[error("{part}: {message}")]
    Invalid { part: String, message: String },
    #[error("not a code form tracegate reads: {0}")]
    Unrecognised(String),
}

fn invalid(part: impl Into<String>, message: impl Into<String>) -> CodeError {
    CodeError::Invalid {
        part: part.into(),
        message: message.into(),
    }
}

/// The form a code was given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    Gtin,
    ElementString,
    DigitalLink,
    EpcUrn,
    Issuer,
}

/// How specific a code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// A product (GTIN), or another primary key with any qualifier but a lot or serial.
    Gtin,
    /// A batch or lot of a product.
    Lot,
    /// One serialised item.
    Serial,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Gtin => "gtin",
            Level::Lot => "lot",
            Level::Serial => "serial",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "gtin" => Some(Level::Gtin),
            "lot" => Some(Level::Lot),
            "serial" => Some(Level::Serial),
            _ => None,
        }
    }
}

/// Most elements one code may carry (a GS1 DataMatrix holds fewer in practice).
pub const MAX_ELEMENTS: usize = 64;
/// Longest input read (a GS1 QR Code holds at most 7,089 digits).
pub const MAX_INPUT: usize = 8_192;

/// One element: an AI and its value in a [`Reading`]'s text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Item {
    ai: u16,
    /// The AI's [`ai::code_id`], to compare AIs as numbers.
    id: u32,
    start: u32,
    end: u32,
}

/// Elements read from a code before its keys are built: every decoded value in one string.
pub(crate) struct Reading {
    text: String,
    items: Vec<Item>,
}

impl Reading {
    fn with_capacity(input_len: usize) -> Self {
        Reading {
            // Values, then the canonical key (percent-encoding can triple a character) and
            // up to two look-up keys that are not prefixes of it.
            text: String::with_capacity(input_len * 4 + 48),
            items: Vec::with_capacity(6),
        }
    }

    /// Records the value `text[start..]` just appended for `ai`.
    fn push(&mut self, ai: &'static Ai, start: usize) -> Result<(), CodeError> {
        if self.items.len() >= MAX_ELEMENTS {
            return Err(invalid(
                "element string",
                format!("more than {MAX_ELEMENTS} elements in one code"),
            ));
        }
        self.items.push(Item {
            ai: ai.index,
            id: ai.id,
            start: offset(start)?,
            end: offset(self.text.len())?,
        });
        Ok(())
    }

    fn ai_at(&self, at: usize) -> Option<&'static Ai> {
        self.items.get(at).and_then(|item| ai::by_index(item.ai))
    }

    /// AIs and values in the order read.
    fn elements(&self) -> impl Iterator<Item = (&'static Ai, &str)> + Clone + '_ {
        self.items.iter().filter_map(|item| {
            let ai = ai::by_index(item.ai)?;
            let value = self.text.get(item.start as usize..item.end as usize)?;
            Some((ai, value))
        })
    }

    fn value_of(&self, code: &str) -> Option<Range<u32>> {
        let id = ai::code_id(code);
        self.items
            .iter()
            .find(|item| item.id == id)
            .map(|item| item.start..item.end)
    }
}

fn offset(at: usize) -> Result<u32, CodeError> {
    u32::try_from(at).map_err(|_| invalid("code", "too long"))
}

/// A parsed code. Facts that are copied cheaply are fields; text (keys, values) is one
/// buffer the methods borrow from, so a parse costs two allocations.
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedCode {
    pub form: Form,
    pub level: Level,
    /// Expiry (AI 17), resolved with GS1's century rule.
    pub expiry: Option<NaiveDate>,
    text: String,
    canonical: Range<u32>,
    keys: [Range<u32>; 3],
    key_count: u8,
    gtin: Option<Range<u32>>,
    lot: Option<Range<u32>>,
    serial: Option<Range<u32>>,
    issuer_prefix: Option<Range<u32>>,
    origin_country: Option<Range<u32>>,
    items: Vec<Item>,
}

/// The look-up keys of a code, most specific first (serial, then lot, then product);
/// borrowed from the code, with no allocation.
#[derive(Clone, Copy)]
pub struct LookupKeys<'a> {
    keys: [&'a str; 3],
    count: usize,
}

impl<'a> LookupKeys<'a> {
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The most specific key.
    pub fn first(&self) -> &'a str {
        self.keys[0]
    }

    pub fn get(&self, at: usize) -> Option<&'a str> {
        self.keys[..self.count].get(at).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a str> + Clone + use<'a> {
        let keys = self.keys;
        (0..self.count).map(move |at| keys[at])
    }

    pub fn as_slice(&self) -> &[&'a str] {
        &self.keys[..self.count]
    }

    /// Owned copies, for APIs that take `&[String]`.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

impl std::ops::Index<usize> for LookupKeys<'_> {
    type Output = str;

    fn index(&self, at: usize) -> &str {
        self.as_slice()[at]
    }
}

impl<'a> IntoIterator for LookupKeys<'a> {
    type Item = &'a str;
    type IntoIter = std::iter::Take<std::array::IntoIter<&'a str, 3>>;

    fn into_iter(self) -> Self::IntoIter {
        self.keys.into_iter().take(self.count)
    }
}

impl std::fmt::Debug for LookupKeys<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One AI and its value, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    pub ai: &'a str,
    pub title: &'static str,
    pub value: &'a str,
}

impl ParsedCode {
    fn slice(&self, range: &Range<u32>) -> &str {
        self.text
            .get(range.start as usize..range.end as usize)
            .unwrap_or_default()
    }

    /// Canonical key: the uncompressed Digital Link path (`/01/{gtin}/10/{lot}/21/{serial}`)
    /// for GS1 codes, `issuer:{prefix}:{value}` for issuer codes. Never empty, never ends
    /// in `/`.
    pub fn canonical(&self) -> &str {
        self.slice(&self.canonical)
    }

    /// Keys to look up, most specific first (serial, then lot, then product).
    pub fn lookup_keys(&self) -> LookupKeys<'_> {
        let mut keys = [""; 3];
        for (slot, range) in keys
            .iter_mut()
            .zip(&self.keys[..usize::from(self.key_count)])
        {
            *slot = self.slice(range);
        }
        LookupKeys {
            keys,
            count: usize::from(self.key_count),
        }
    }

    /// The GTIN (14 digits) when the primary key is a GTIN.
    pub fn gtin(&self) -> Option<&str> {
        self.gtin.as_ref().map(|r| self.slice(r))
    }

    /// The batch or lot (AI 10).
    pub fn lot(&self) -> Option<&str> {
        self.lot.as_ref().map(|r| self.slice(r))
    }

    /// The serial number (AI 21).
    pub fn serial(&self) -> Option<&str> {
        self.serial.as_ref().map(|r| self.slice(r))
    }

    /// The issuer prefix of an issuer code.
    pub fn issuer_prefix(&self) -> Option<&str> {
        self.issuer_prefix.as_ref().map(|r| self.slice(r))
    }

    /// Country of origin (AI 422), ISO 3166 numeric.
    pub fn origin_country(&self) -> Option<&str> {
        self.origin_country.as_ref().map(|r| self.slice(r))
    }

    /// Every AI and value read (GS1 forms), in the order given.
    pub fn elements(&self) -> impl Iterator<Item = Element<'_>> + '_ {
        self.items.iter().filter_map(|item| {
            let ai = ai::by_index(item.ai)?;
            Some(Element {
                ai: ai.code(),
                title: ai.title,
                value: self.text.get(item.start as usize..item.end as usize)?,
            })
        })
    }

    /// The JSON shape of a parsed code (also its OpenAPI schema), owned.
    pub fn to_json(&self) -> ParsedCodeJson {
        ParsedCodeJson {
            form: self.form,
            canonical: self.canonical().to_owned(),
            level: self.level,
            lookup_keys: self.lookup_keys().to_vec(),
            gtin: self.gtin().map(str::to_owned),
            lot: self.lot().map(str::to_owned),
            serial: self.serial().map(str::to_owned),
            issuer_prefix: self.issuer_prefix().map(str::to_owned),
            expiry: self.expiry,
            origin_country: self.origin_country().map(str::to_owned),
            elements: self
                .elements()
                .map(|e| ElementJson {
                    ai: e.ai.to_owned(),
                    title: e.title.to_owned(),
                    value: e.value.to_owned(),
                })
                .collect(),
        }
    }
}

/// A parsed code as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ParsedCodeJson {
    pub form: Form,
    /// Canonical key: the uncompressed Digital Link path for GS1 codes
    /// (`/01/{gtin}/10/{lot}/21/{serial}`), `issuer:{prefix}:{value}` for issuer codes.
    pub canonical: String,
    pub level: Level,
    /// Keys to look up, most specific first (serial, then lot, then product).
    pub lookup_keys: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_prefix: Option<String>,
    /// Expiry (AI 17), resolved with GS1's century rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry: Option<NaiveDate>,
    /// Country of origin (AI 422), ISO 3166 numeric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_country: Option<String>,
    /// Every AI and value read (GS1 forms), in the order given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub elements: Vec<ElementJson>,
}

/// One AI and its value, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ElementJson {
    pub ai: String,
    pub title: String,
    pub value: String,
}

impl Serialize for ParsedCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl std::fmt::Debug for ParsedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedCode")
            .field("form", &self.form)
            .field("canonical", &self.canonical())
            .field("level", &self.level)
            .field("lookup_keys", &self.lookup_keys())
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

/// Issuer prefixes: a lower-case letter, then 1 to 15 lower-case letters, digits or dashes.
pub fn valid_issuer_prefix(prefix: &str) -> bool {
    let bytes = prefix.as_bytes();
    (2..=16).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// What is wrong with the value of an issuer code, if anything: 1–64 letters, digits or
/// `. _ ~ / -`, where slashes separate non-empty parts.
fn issuer_value_problem(value: &str) -> Option<&'static str> {
    if !(1..=64).contains(&value.len()) {
        return Some("the value after the prefix is 1–64 characters");
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/'))
    {
        return Some("the value after the prefix is letters, digits or . _ ~ / - only");
    }
    if value.starts_with('/') || value.ends_with('/') || value.contains("//") {
        return Some(
            "slashes in the value separate non-empty parts: none at the start or end, never two together",
        );
    }
    None
}

/// URI schemes that name a kind of URI and are never issuer prefixes.
const URI_SCHEMES: &[&str] = &[
    "http",
    "https",
    "urn",
    "ftp",
    "ftps",
    "sftp",
    "file",
    "mailto",
    "tel",
    "sms",
    "data",
    "javascript",
    "ws",
    "wss",
    "ldap",
    "ssh",
    "news",
];

/// Symbology identifiers (ISO/IEC 15424) of carriers of GS1 element strings: GS1-128,
/// GS1 DataBar and composites, GS1 DataMatrix, GS1 QR Code, GS1 DotCode.
const GS1_SYMBOLOGIES: &[&str] = &["C1", "e0", "e1", "e2", "d2", "Q3", "J1"];
/// Symbology identifiers of carriers of plain data (QR Code, Data Matrix, DotCode, Aztec),
/// which carry Digital Link URIs and other text.
const PLAIN_SYMBOLOGIES: &[&str] = &["Q0", "Q1", "d1", "J0", "z0"];
/// EAN-13 / UPC-A and EAN-8: a GTIN and nothing else.
const EAN_SYMBOLOGIES: &[&str] = &["E0", "E4"];

fn is_scan_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Reads any accepted form. `reference_year` resolves two-digit GS1 years.
pub fn parse(input: &str, reference_year: i32) -> Result<ParsedCode, CodeError> {
    let input = input.trim_matches(is_scan_whitespace);
    if input.is_empty() {
        return Err(CodeError::Empty);
    }
    if input.len() > MAX_INPUT {
        return Err(invalid(
            "code",
            format!("longer than {MAX_INPUT} characters, more than any barcode holds"),
        ));
    }
    if input.bytes().all(|b| b == element::GS) {
        return Err(invalid("element string", "only GS separators, no data"));
    }
    let Some(after) = input.strip_prefix(']') else {
        return read(input, reference_year);
    };
    let id = after
        .get(..2)
        .filter(|id| {
            let b = id.as_bytes();
            b[0].is_ascii_alphabetic() && b[1].is_ascii_alphanumeric()
        })
        .ok_or_else(|| {
            invalid(
                "symbology identifier",
                "a symbology identifier is \"]\", a letter and a digit (]d2, ]Q3, ]C1 …)",
            )
        })?;
    let data = &after[2..];
    if data.bytes().all(|b| b == element::GS || b == b' ') {
        return Err(invalid(
            "symbology identifier",
            format!("only the symbology identifier ]{id}, no data after it"),
        ));
    }
    if GS1_SYMBOLOGIES.contains(&id) {
        read_raw_element_string(data, reference_year)
    } else if EAN_SYMBOLOGIES.contains(&id) {
        read_gtin(data)
    } else if PLAIN_SYMBOLOGIES.contains(&id) {
        read(data.trim_matches(is_scan_whitespace), reference_year)
    } else {
        Err(invalid(
            "symbology identifier",
            format!(
                "]{id} is not the identifier of a symbol that carries GS1 data (]C1, ]e0, ]d2, ]Q3, ]J1), a GTIN (]E0, ]E4) or a URI (]Q1, ]d1)"
            ),
        ))
    }
}

/// Decides the form of data without a symbology identifier, by what it can be.
fn read(input: &str, year: i32) -> Result<ParsedCode, CodeError> {
    let bytes = input.as_bytes();
    if bytes[0] == b'(' {
        let mut reading = Reading::with_capacity(input.len());
        if let Some(c) = element::first_foreign_char(input) {
            return Err(invalid(
                "element string",
                format!("{c:?} is not a character GS1 allows in an element string"),
            ));
        }
        element::parse_bracketed(input, &mut reading)?;
        return build(Form::ElementString, reading, None, year);
    }
    if bytes.contains(&element::GS) {
        return read_raw_element_string(input, year);
    }
    if let Some(len) = digital_link::scheme_len(input) {
        let scheme = &input[..len];
        if digital_link::looks_like(input) {
            let mut reading = Reading::with_capacity(input.len());
            let path_len = digital_link::parse(input, &mut reading)?;
            return build(Form::DigitalLink, reading, Some(path_len), year);
        }
        if epc::looks_like(input) {
            let mut reading = Reading::with_capacity(input.len());
            epc::parse(input, &mut reading)?;
            return build(Form::EpcUrn, reading, None, year);
        }
        if scheme.eq_ignore_ascii_case("urn") {
            let nid = input[len + 1..].split(':').next().unwrap_or("");
            return Err(CodeError::Unrecognised(format!(
                "a URN of namespace {nid:?} (only urn:epc: names GS1 codes)"
            )));
        }
        let lower = scheme.to_ascii_lowercase();
        if input[len..].starts_with("://") || URI_SCHEMES.contains(&lower.as_str()) {
            return Err(CodeError::Unrecognised(format!(
                "a URI with scheme {lower} (a GS1 Digital Link URI is http or https)"
            )));
        }
        return read_issuer(input, len);
    }
    if bytes.iter().all(u8::is_ascii_digit) {
        if matches!(bytes.len(), 8 | 12 | 13 | 14) {
            let gtin = read_gtin(input);
            if gtin.is_ok() || ai::at_start(bytes).is_none() {
                return gtin;
            }
            // A GTIN with a wrong check digit may still be a raw element string.
            return read_raw_element_string(input, year)
                .map_err(|_| gtin.err().unwrap_or(CodeError::Empty));
        }
        // Digits alone, too short for a GTIN: the GTIN's error says more than the AI's.
        if ai::at_start(bytes).is_some() {
            let element = read_raw_element_string(input, year);
            return if element.is_err() && bytes.len() < 14 {
                read_gtin(input)
            } else {
                element
            };
        }
        return read_gtin(input);
    }
    if ai::at_start(bytes).is_some() {
        return read_raw_element_string(input, year);
    }
    if let Some(colon) = input.find(':') {
        return read_issuer(input, colon);
    }
    let shown: String = input.chars().take(40).collect();
    Err(CodeError::Unrecognised(format!(
        "{shown:?} is not a GTIN, a GS1 element string, a GS1 Digital Link URI, an EPC URN or an issuer code (prefix:value)"
    )))
}

fn read_raw_element_string(data: &str, year: i32) -> Result<ParsedCode, CodeError> {
    if let Some(c) = element::first_foreign_char(data) {
        return Err(invalid(
            "element string",
            format!("{c:?} is not a character GS1 allows in an element string"),
        ));
    }
    let mut reading = Reading::with_capacity(data.len());
    element::parse_raw(data, &mut reading)?;
    if reading.items.is_empty() {
        return Err(invalid("element string", "only GS separators, no data"));
    }
    build(Form::ElementString, reading, None, year)
}

fn read_gtin(input: &str) -> Result<ParsedCode, CodeError> {
    let gtin = Gtin::parse(input).map_err(|e| invalid("GTIN", e.to_string()))?;
    let mut text = String::with_capacity(18);
    text.push_str("/01/");
    text.push_str(gtin.as_str());
    let gtin_ai = ai::lookup("01").ok_or_else(|| invalid("GTIN", "unknown AI"))?;
    Ok(ParsedCode {
        form: Form::Gtin,
        level: Level::Gtin,
        expiry: None,
        text,
        canonical: 0..18,
        keys: [0..18, 0..0, 0..0],
        key_count: 1,
        gtin: Some(4..18),
        lot: None,
        serial: None,
        issuer_prefix: None,
        origin_country: None,
        items: vec![Item {
            ai: gtin_ai.index,
            id: gtin_ai.id,
            start: 4,
            end: 18,
        }],
    })
}

fn read_issuer(input: &str, colon: usize) -> Result<ParsedCode, CodeError> {
    let (prefix, value) = (&input[..colon], &input[colon + 1..]);
    if !valid_issuer_prefix(prefix) {
        return Err(invalid(
            "issuer prefix",
            format!("{prefix:?} is not an issuer prefix (2–16 lower-case letters, digits, dashes)"),
        ));
    }
    if let Some(problem) = issuer_value_problem(value) {
        return Err(invalid("issuer code", problem));
    }
    let mut text = String::with_capacity(input.len() + 7);
    text.push_str("issuer:");
    text.push_str(input);
    let end = offset(text.len())?;
    let prefix_end = offset(7 + prefix.len())?;
    Ok(ParsedCode {
        form: Form::Issuer,
        level: Level::Serial,
        expiry: None,
        text,
        canonical: 0..end,
        keys: [0..end, 0..0, 0..0],
        key_count: 1,
        gtin: None,
        lot: None,
        serial: None,
        issuer_prefix: Some(7..prefix_end),
        origin_country: None,
        items: Vec::new(),
    })
}

/// Appends `/{ai}/{value, percent-encoded}` for a value already in `text`.
fn push_segment(text: &mut String, code: &str, value: &Range<u32>) -> Range<u32> {
    let start = text.len();
    text.push('/');
    text.push_str(code);
    text.push('/');
    let (from, to) = (value.start as usize, value.end as usize);
    if text.as_bytes()[from..to]
        .iter()
        .all(|b| digital_link::is_unreserved(*b))
    {
        text.extend_from_within(from..to);
    } else {
        for at in from..to {
            let b = text.as_bytes()[at];
            digital_link::push_encoded_byte(text, b);
        }
    }
    start as u32..text.len() as u32
}

/// Appends the concatenation of two ranges already in `text`, unless they are adjacent.
fn joined(text: &mut String, first: &Range<u32>, second: &Range<u32>) -> Range<u32> {
    if first.end == second.start {
        return first.start..second.end;
    }
    let start = text.len();
    text.extend_from_within(first.start as usize..first.end as usize);
    text.extend_from_within(second.start as usize..second.end as usize);
    start as u32..text.len() as u32
}

/// The keys of a code from its validated elements: primary key and qualifiers in the
/// permitted order (from the Digital Link path, or the longest sequence the elements
/// fill), the canonical key and the look-up keys.
fn build(
    form: Form,
    mut reading: Reading,
    path_len: Option<usize>,
    year: i32,
) -> Result<ParsedCode, CodeError> {
    element::validate_reading(&reading, year)?;
    let (key_at, key) = match path_len {
        Some(_) => (0, reading.ai_at(0).ok_or_else(|| invalid("path", "no primary key"))?),
        None => reading
            .elements()
            .enumerate()
            .find(|(_, (ai, _))| ai.dl_key.is_some())
            .map(|(at, (ai, _))| (at, ai))
            .ok_or_else(|| {
                invalid(
                    "element string",
                    "no GS1 primary key such as (01) GTIN, (00) SSCC or (414) GLN: a code names what it identifies by one",
                )
            })?,
    };
    let key_value = {
        let item = reading.items[key_at];
        item.start..item.end
    };
    // Qualifier AIs and their values, in path order.
    let mut qualifiers: [(&str, Range<u32>); 3] = [("", 0..0), ("", 0..0), ("", 0..0)];
    let mut qualifier_count = 0;
    match path_len {
        Some(len) => {
            for item in reading.items.iter().take(len).skip(1) {
                if let (Some(ai), Some(slot)) =
                    (ai::by_index(item.ai), qualifiers.get_mut(qualifier_count))
                {
                    *slot = (ai.code(), item.start..item.end);
                    qualifier_count += 1;
                }
            }
        }
        None => {
            let mut best: (usize, usize) = (0, 0);
            for (at, alternative) in key.dl_key.unwrap_or_default().iter().enumerate() {
                let present = alternative
                    .iter()
                    .filter(|q| reading.value_of(q).is_some())
                    .count();
                let serial = alternative
                    .iter()
                    .any(|q| matches!(*q, "21" | "235") && reading.value_of(q).is_some());
                let score = present * 2 + usize::from(serial);
                if score > best.0 {
                    best = (score, at);
                }
            }
            if best.0 > 0 {
                let alternative = key.dl_key.unwrap_or_default()[best.1];
                for q in alternative.iter() {
                    if let (Some(value), Some(slot)) =
                        (reading.value_of(q), qualifiers.get_mut(qualifier_count))
                    {
                        *slot = (q, value);
                        qualifier_count += 1;
                    }
                }
            }
        }
    }
    let qualifiers = &qualifiers[..qualifier_count];

    let text = &mut reading.text;
    let base = push_segment(text, key.code(), &key_value);
    let mut canonical = base.clone();
    let (mut lot_segment, mut serial_segment) = (None, None);
    for (code, value) in qualifiers {
        let segment = push_segment(text, code, value);
        canonical.end = segment.end;
        match *code {
            "10" => lot_segment = Some(segment),
            "21" | "235" => serial_segment = Some(segment),
            _ => {}
        }
    }
    let mut keys = [0..0, 0..0, 0..0];
    let mut key_count = 0;
    let level;
    if key.code() == "01" || key.code() == "8006" {
        if let Some(segment) = &serial_segment {
            keys[key_count] = joined(text, &base, segment);
            key_count += 1;
        }
        if let Some(segment) = &lot_segment {
            keys[key_count] = joined(text, &base, segment);
            key_count += 1;
        }
        keys[key_count] = base.clone();
        key_count += 1;
        level = if serial_segment.is_some() {
            Level::Serial
        } else if lot_segment.is_some() {
            Level::Lot
        } else {
            Level::Gtin
        };
    } else {
        keys[0] = canonical.clone();
        key_count = 1;
        if canonical != base {
            keys[1] = base.clone();
            key_count = 2;
        }
        level = Level::Gtin;
    }
    let expiry = reading
        .value_of("17")
        .and_then(|r| resolve_date(reading.text.get(r.start as usize..r.end as usize)?, year));
    Ok(ParsedCode {
        form,
        level,
        expiry,
        canonical,
        keys,
        key_count: key_count as u8,
        gtin: (key.code() == "01").then_some(key_value),
        lot: reading.value_of("10"),
        serial: reading.value_of("21"),
        issuer_prefix: None,
        origin_country: reading.value_of("422"),
        text: reading.text,
        items: reading.items,
    })
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    const YEAR: i32 = 2026;
    const GS: char = '\u{1d}';

    fn canonical(input: &str) -> String {
        match parse(input, YEAR) {
            Ok(code) => code.canonical().to_owned(),
            Err(e) => panic!("{input:?}: {e}"),
        }
    }

    fn error(input: &str) -> String {
        match parse(input, YEAR) {
            Ok(code) => panic!("{input:?} read as {}", code.canonical()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn every_form_of_one_item_has_one_canonical_key() {
        let forms = [
            "https://id.gs1.org/01/09501101020917/10/AB-123/21/XYZ".to_string(),
            "(01)09501101020917(10)AB-123(21)XYZ".into(),
            format!("010950110102091710AB-123{GS}21XYZ"),
            format!("]d2010950110102091710AB-123{GS}21XYZ"),
            "]Q1https://id.gs1.org/01/09501101020917/10/AB-123/21/XYZ".into(),
        ];
        for form in &forms {
            assert_eq!(
                canonical(form),
                "/01/09501101020917/10/AB-123/21/XYZ",
                "{form:?}"
            );
        }
    }

    #[test]
    fn lookup_walks_up_from_serial_to_lot_to_product() {
        let code = parse("(01)09501101020917(10)AB-123(21)XYZ", YEAR).expect("valid");
        assert_eq!(code.level, Level::Serial);
        assert_eq!(
            code.lookup_keys().as_slice(),
            [
                "/01/09501101020917/21/XYZ",
                "/01/09501101020917/10/AB-123",
                "/01/09501101020917"
            ]
        );
        assert_eq!(code.lookup_keys().first(), "/01/09501101020917/21/XYZ");
        assert_eq!(&code.lookup_keys()[2], "/01/09501101020917");
        assert_eq!(code.gtin(), Some("09501101020917"));
        assert_eq!((code.lot(), code.serial()), (Some("AB-123"), Some("XYZ")));
        // The variant (CPV) is part of the canonical key, not of the keys looked up.
        let code = parse("(01)09501101020917(22)V1(10)L", YEAR).expect("valid");
        assert_eq!(code.canonical(), "/01/09501101020917/22/V1/10/L");
        assert_eq!(
            code.lookup_keys().as_slice(),
            ["/01/09501101020917/10/L", "/01/09501101020917"]
        );
    }

    #[test]
    fn plain_gtins_and_epc_urns() {
        let code = parse(" 9501101020917 ", YEAR).expect("GTIN-13");
        assert_eq!(
            (code.form, code.canonical()),
            (Form::Gtin, "/01/09501101020917")
        );
        // A GTIN-8 that also reads as company-internal AI 96 is a GTIN.
        assert_eq!(canonical("96385074"), "/01/00000096385074");
        assert_eq!(canonical("]E09501101020917"), "/01/09501101020917");
        // EPC Tag Data Standard example: urn:epc:id:sgtin:0614141.812345.6789 is GTIN
        // 80614141123458 with serial 6789.
        let code = parse("urn:epc:id:sgtin:0614141.812345.6789", YEAR).expect("SGTIN");
        assert_eq!(code.canonical(), "/01/80614141123458/21/6789");
        assert_eq!((code.form, code.level), (Form::EpcUrn, Level::Serial));
        assert_eq!(
            canonical("urn:epc:tag:sgtin-96:3.0614141.812345.6789"),
            "/01/80614141123458/21/6789"
        );
        assert_eq!(
            canonical("urn:epc:tag:sgtin-198:3.0614141.812345.A%2FB"),
            "/01/80614141123458/21/A%2FB"
        );
        let lot = parse("urn:epc:class:lgtin:4012345.012345.998877", YEAR).expect("LGTIN");
        assert_eq!(lot.canonical(), "/01/04012345123456/10/998877");
        assert_eq!(lot.level, Level::Lot);
    }

    #[test]
    fn epc_serials_follow_the_tag_data_standard() {
        assert_eq!(
            canonical("urn:epc:id:sgtin:0614141.812345.A%2FB%25%22"),
            "/01/80614141123458/21/A%2FB%25%22"
        );
        assert_eq!(
            parse("urn:epc:id:sgtin:0614141.812345.A%2fB", YEAR)
                .expect("lower-case hex")
                .serial(),
            Some("A/B")
        );
        assert_eq!(
            canonical("urn:epc:id:sgtin:0614141.812345.!'()*+,-.:;=_"),
            "/01/80614141123458/21/%21%27%28%29%2A%2B%2C-.%3A%3B%3D_"
        );
        for (serial, named) in [
            ("A/B", "'/'"),
            ("A&B", "'&'"),
            ("A?B", "'?'"),
            ("A<B", "'<'"),
            ("A>B", "'>'"),
            ("A\"B", "'\"'"),
        ] {
            let e = error(&format!("urn:epc:id:sgtin:0614141.812345.{serial}"));
            assert!(e.contains(named) && e.contains("percent-encoded"), "{e}");
        }
        assert!(error("urn:epc:id:sgtin:0614141.812345.A B").contains("' ' is not allowed"));
        assert!(
            error("urn:epc:id:sgtin:0614141.812345.A%20B").contains("not a character GS1 allows")
        );
        assert!(error("urn:epc:id:sgtin:0614141.812345.A%2").contains("escape"));
        assert!(error("urn:epc:id:sgtin:0614141.812345.A%").contains("escape"));
        assert!(error("urn:epc:id:sgtin:0614141.812345.123456789012345678901").contains("1 to 20"));
        // `urn` and `epc` in any case (RFC 8141); the rest exactly as TDS writes it.
        assert_eq!(
            canonical("URN:EPC:id:sgtin:0614141.812345.6789"),
            "/01/80614141123458/21/6789"
        );
        assert_eq!(
            canonical("Urn:Epc:id:sgtin:0614141.812345.6789"),
            "/01/80614141123458/21/6789"
        );
        assert!(error("urn:epc:ID:sgtin:0614141.812345.6789").contains("lower case"));
        assert!(error("urn:epc:id:SGTIN:0614141.812345.6789").contains("lower case"));
        assert!(error("urn:epc:id:sscc:0614141.1234567890").contains("type sscc"));
        assert!(error("urn:epc:id:widget:1.2.3").contains("an EPC URN of unknown type \"widget\""));
        assert!(error("urn:epc:idpat:sgtin:0614141.812345.*").contains("pattern"));
        assert!(error("urn:epc:tag:sgtin-96:3.0614141.812345.0123").contains("leading zeros"));
        assert!(error("urn:epc:tag:sgtin-96:8.0614141.812345.1").contains("filter"));
        assert!(error("urn:epc:id:sgtin:0614141.12345.400").contains("13 digits"));
        assert!(error("urn:epc:id:sgtin:0614141.812345.").contains("1 to 20"));
    }

    #[test]
    fn issuer_codes_keep_their_prefix_and_are_never_uris() {
        let code = parse("vnqr-hn:HN-2026/000123", YEAR).expect("issuer code");
        assert_eq!(code.canonical(), "issuer:vnqr-hn:HN-2026/000123");
        assert_eq!(code.issuer_prefix(), Some("vnqr-hn"));
        assert_eq!(
            code.lookup_keys().as_slice(),
            ["issuer:vnqr-hn:HN-2026/000123"]
        );
        assert!(error("VNQR:1").contains("issuer prefix"));
        assert!(error("vnqr:has space").contains("letters, digits"));
        assert!(error("vnqr:abc/").contains("slashes"));
        assert!(error("vnqr:/abc").contains("slashes"));
        assert!(error("vnqr:a//b").contains("slashes"));
        assert_eq!(
            error("ftp://example.com/01/09501101020917"),
            "not a code form tracegate reads: a URI with scheme ftp (a GS1 Digital Link URI is http or https)"
        );
        assert!(error("mailto:someone").contains("a URI with scheme mailto"));
        assert!(error("urn:isbn:9780306406157").contains("a URN of namespace \"isbn\""));
        assert!(error("URN:ISBN:9780306406157").contains("a URN of namespace \"ISBN\""));
    }

    #[test]
    fn raw_element_strings_read_as_the_general_specifications_say() {
        // Any CSET 82 character in a lot or serial, with or without separators.
        assert_eq!(
            canonical("010950110102091721AB:12"),
            "/01/09501101020917/21/AB%3A12"
        );
        assert_eq!(
            canonical(
                "0109501101020917 10!\"%&'()*+,-./:;<=>?_"
                    .replace(' ', "")
                    .as_str()
            ),
            "/01/09501101020917/10/%21%22%25%26%27%28%29%2A%2B%2C-.%2F%3A%3B%3C%3D%3E%3F_"
        );
        // The last variable-length value needs no separator.
        assert_eq!(
            canonical("01095011010209171726053110LOT1"),
            "/01/09501101020917/10/LOT1"
        );
        // A lot followed by what looks like another AI, without GS: the lot takes the rest.
        let code = parse("010950110102091710ABC21XYZ", YEAR).expect("valid");
        assert_eq!((code.lot(), code.serial()), (Some("ABC21XYZ"), None));
        let e = error("010950110102091710ABCDEFGHIJKLMNOPQRS21XYZ");
        assert!(
            e.contains("(10) BATCH/LOT is at most 20 characters") && e.contains("GS separator"),
            "{e}"
        );
        // A separator after a pre-defined length value is tolerated; leading ones too.
        assert_eq!(
            canonical(&format!("{GS}0109501101020917{GS}10L")),
            "/01/09501101020917/10/L"
        );
        // All digits, longer than a GTIN: element string.
        assert_eq!(canonical("0109501101020917"), "/01/09501101020917");
        // GS1 General Specifications example: (01)…(3103)001250 with a lot.
        let code = parse("0109501101020917310300125010LOT7", YEAR).expect("valid");
        let elements: Vec<(&str, &str)> = code.elements().map(|e| (e.ai, e.value)).collect();
        assert_eq!(
            elements,
            [("01", "09501101020917"), ("3103", "001250"), ("10", "LOT7")]
        );
        assert!(error("010950110102091").contains("has 14 characters, not 13"));
        assert!(error("0109501101020917XX").contains("no GS1 Application Identifier"));
    }

    #[test]
    fn company_internal_and_other_dictionary_ais_are_read_but_not_keys() {
        let code = parse("(01)09501101020917(91)X-1(99)ABC123", YEAR).expect("valid");
        assert_eq!(code.canonical(), "/01/09501101020917");
        let elements: Vec<&str> = code.elements().map(|e| e.ai).collect();
        assert_eq!(elements, ["01", "91", "99"]);
        assert_eq!(
            canonical(&format!("0109501101020917{}", "91X-1")),
            "/01/09501101020917"
        );
        assert_eq!(
            canonical("(01)09501101020917(7240)PROTO(8008)26053112"),
            "/01/09501101020917"
        );
        // Format checked where the dictionary says how.
        assert!(error(&format!("(01)09501101020917(91){}", "A".repeat(91))).contains("at most 90"));
        assert!(error("(01)09501101020917(91)A B").contains("not a character GS1 allows"));
        assert!(error("(01)09501101020917(8008)26053199").contains("(8008)"));
        assert!(error("(00)106141412345678908(4330)0123X5").contains("(4330)"));
        assert!(error("(01)09501101020917(422)999").contains("ISO 3166"));
        // An AI needs the AIs it goes with, and none it excludes.
        assert!(
            error("(01)09501101020917(250)S2")
                .contains("(250) SECONDARY SERIAL needs (01) with (21)")
        );
        assert!(
            error("(01)09501101020917(02)09501101020917(37)1").contains("may not appear together")
        );
        // A key alone is not enough without one of GS1's primary keys.
        assert!(error("(91)X-1").contains("no GS1 primary key"));
        assert!(error("(10)ABC").contains("(10) BATCH/LOT needs"));
    }

    #[test]
    fn a_repeated_ai_must_repeat_its_value() {
        assert_eq!(
            canonical("(01)09501101020917(10)L1(10)L1"),
            "/01/09501101020917/10/L1"
        );
        assert_eq!(
            canonical("0109501101020917172605310109501101020917"),
            "/01/09501101020917"
        );
        let e = error("(01)09501101020917(10)L1(10)L2");
        assert!(
            e.contains("(10) BATCH/LOT appears twice with different values: \"L1\" and \"L2\""),
            "{e}"
        );
    }

    #[test]
    fn only_separators_never_read_as_a_key() {
        for input in [
            "\u{1d}",
            "\u{1d}\u{1d}",
            "]d2",
            "]d2\u{1d}",
            "]C1",
            " \t\r\n ",
            "",
        ] {
            assert!(parse(input, YEAR).is_err(), "{input:?}");
        }
        assert_eq!(parse("  ", YEAR), Err(CodeError::Empty));
        assert!(error("]d2").contains("no data"));
        assert!(error("\u{1d}").contains("only GS separators"));
        assert!(error("]X9123").contains("]X9"));
        assert!(error("https://example.com/").contains("no GS1 primary key"));
        assert!(error("https://example.com/01/09501101020917/").contains("ends with \"/\""));
        assert!(error("https://example.com/01/").contains("no value"));
    }

    #[test]
    fn digital_link_follows_its_uri_syntax() {
        let code = parse(
            "https://id.gs1.org/01/09501101020917/10/AB-123/21/12345?17=260531",
            YEAR,
        )
        .expect("valid");
        assert_eq!(code.expiry, NaiveDate::from_ymd_opt(2026, 5, 31));
        assert_eq!(code.form, Form::DigitalLink);
        assert_eq!(
            canonical("HTTPS://brand.example.vn/products/scan/01/9501101020917?linkType=gs1:pip"),
            "/01/09501101020917"
        );
        assert_eq!(
            canonical("https://example.com/00/106141412345678908"),
            "/00/106141412345678908"
        );
        assert_eq!(
            canonical("https://example.com/414/9501101530003/254/A1"),
            "/414/9501101530003/254/A1"
        );
        assert_eq!(
            canonical("https://example.com/01/09501101020917/21/A%2FB%2B1"),
            "/01/09501101020917/21/A%2FB%2B1"
        );
        assert_eq!(
            canonical("https://example.com/01/09501101020917/235/T1"),
            "/01/09501101020917/235/T1"
        );
        assert!(
            error("https://example.com/01/09501101020917/21/X/10/Y").contains("permitted order")
        );
        assert!(
            error("https://example.com/01/09501101020917/235/T/10/Y").contains("permitted order")
        );
        assert!(error("https://example.com/01/09501101020918").contains("check digit"));
        assert!(error("https://example.com/01/09501101020917?17=261332").starts_with("(17)"));
        assert!(error("https://example.com/01/09501101020917/10/%ZZ").contains("percent-encoding"));
        assert!(
            error("https://example.com/01/09501101020917?21=S")
                .contains("not permitted as a data attribute")
        );
        assert!(
            error("https://example.com/01/09501101020917?10=L").contains("belongs in the path")
        );
        assert!(error("https://example.com/01/09501101020917?99999=1").contains("(99999)"));
        assert!(error("https://example.com/01/09501101020917?3103=").contains("no value"));
        assert!(error("https://exa(mple.com/01/09501101020917").contains("host"));
        assert!(
            error("https://example.com/01/09501101020917/10/A B")
                .contains("' ' is not allowed in a URI")
        );
        assert_eq!(
            canonical("https://example.com/01/09501101020917?17=260531&17=260531"),
            "/01/09501101020917"
        );
        assert!(
            error("https://example.com/01/09501101020917?17=260531&17=260530").contains("twice")
        );
    }

    #[test]
    fn expiry_and_origin_are_read() {
        let code = parse("(01)09501101020917(17)260500(422)704", YEAR).expect("valid");
        assert_eq!(code.expiry, NaiveDate::from_ymd_opt(2026, 5, 31));
        assert_eq!(code.origin_country(), Some("704"));
    }

    #[test]
    fn json_keeps_its_shape() {
        let code = parse("(01)09501101020917(10)AB(17)260531", YEAR).expect("valid");
        let json = serde_json::to_value(&code).expect("json");
        assert_eq!(json["form"], "element_string");
        assert_eq!(json["canonical"], "/01/09501101020917/10/AB");
        assert_eq!(json["level"], "lot");
        assert_eq!(json["lookup_keys"][0], "/01/09501101020917/10/AB");
        assert_eq!(json["gtin"], "09501101020917");
        assert_eq!(json["expiry"], "2026-05-31");
        assert_eq!(json["elements"][1]["ai"], "10");
        assert_eq!(json["elements"][1]["title"], "BATCH/LOT");
        assert!(json.get("serial").is_none());
    }

    #[test]
    fn unreadable_input_says_what_it_is() {
        assert!(matches!(
            parse("hello world", YEAR),
            Err(CodeError::Unrecognised(_))
        ));
        assert!(error("12345").contains("GTIN"));
        assert!(error("09501101020918").contains("check digit"));
    }
}
