//! Traceability codes: every accepted form (GTIN, GS1 element strings, GS1 Digital Link,
//! EPC SGTIN URNs, issuer-scoped codes) parsed into one canonical key, with the levels a
//! look-up walks up (serial → lot → GTIN).
//!
//! Pure: no I/O. The reference year for GS1's two-digit years is a parameter.

pub mod ai;
mod digital_link;
pub mod dl_compression;
mod element;
mod epc;
mod gs1;
pub mod registry;
pub mod routes;
pub mod scans;
pub mod store;

pub use digital_link::{percent_decode, percent_encode, push_percent_encoded};
pub use epc::to_urn as sgtin_urn;
pub use gs1::{Gtin, GtinError, check_digit, resolve_date};

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

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
    /// A product (GTIN or other primary key alone).
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

/// One AI and its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Element {
    pub ai: &'static str,
    pub title: &'static str,
    pub value: String,
}

/// A parsed code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ParsedCode {
    pub form: Form,
    /// Canonical key: the uncompressed Digital Link path (`/01/{gtin}/10/{lot}/21/{serial}`)
    /// for GS1 codes, `issuer:{prefix}:{value}` for issuer codes.
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
    /// Every AI and value read (GS1 forms).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub elements: Vec<Element>,
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

fn valid_issuer_value(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/'))
}

/// Reads any accepted form. `reference_year` resolves two-digit GS1 years.
pub fn parse(input: &str, reference_year: i32) -> Result<ParsedCode, CodeError> {
    let input = input.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\n' || c == '\r');
    if input.is_empty() {
        return Err(CodeError::Empty);
    }
    if digital_link::looks_like(input) {
        let elements = digital_link::parse(input, reference_year)?;
        return Ok(from_elements(Form::DigitalLink, elements, reference_year));
    }
    if epc::looks_like(input) {
        let (gtin, serial) = epc::parse(input)?;
        let elements = vec![
            (
                ai::lookup("01").ok_or(CodeError::Empty)?,
                gtin.as_str().to_string(),
            ),
            (ai::lookup("21").ok_or(CodeError::Empty)?, serial),
        ];
        return Ok(from_elements(Form::EpcUrn, elements, reference_year));
    }
    if element::looks_like(input) {
        let elements = element::parse(input, reference_year)?;
        return Ok(from_elements(Form::ElementString, elements, reference_year));
    }
    if input.bytes().all(|b| b.is_ascii_digit()) {
        if input.len() > 14 {
            // Raw element strings with only fixed-length AIs have no separator.
            let elements = element::parse(input, reference_year)?;
            return Ok(from_elements(Form::ElementString, elements, reference_year));
        }
        let gtin = Gtin::parse(input).map_err(|e| CodeError::Invalid {
            part: "GTIN".into(),
            message: e.to_string(),
        })?;
        let elements = vec![(
            ai::lookup("01").ok_or(CodeError::Empty)?,
            gtin.as_str().to_string(),
        )];
        return Ok(from_elements(Form::Gtin, elements, reference_year));
    }
    if let Some((prefix, value)) = input.split_once(':') {
        if !valid_issuer_prefix(prefix) {
            return Err(CodeError::Invalid {
                part: "issuer prefix".into(),
                message: format!(
                    "{prefix:?} is not an issuer prefix (2–16 lower-case letters, digits, dashes)"
                ),
            });
        }
        if !valid_issuer_value(value) {
            return Err(CodeError::Invalid {
                part: "issuer code".into(),
                message: "the value after the prefix is 1–64 letters, digits or . _ ~ / -".into(),
            });
        }
        let canonical = format!("issuer:{prefix}:{value}");
        return Ok(ParsedCode {
            form: Form::Issuer,
            lookup_keys: vec![canonical.clone()],
            canonical,
            level: Level::Serial,
            gtin: None,
            lot: None,
            serial: None,
            issuer_prefix: Some(prefix.to_string()),
            expiry: None,
            origin_country: None,
            elements: Vec::new(),
        });
    }
    let shown: String = input.chars().take(40).collect();
    Err(CodeError::Unrecognised(shown))
}

fn from_elements(form: Form, elements: element::Elements, reference_year: i32) -> ParsedCode {
    // One pass picks out the values the keys and facts need.
    let (mut key, mut lot, mut serial, mut cpv, mut expiry, mut origin_country) =
        (None, None, None, None, None, None);
    for (ai, value) in &elements {
        match ai.code {
            "10" if lot.is_none() => lot = Some(value.clone()),
            "21" if serial.is_none() => serial = Some(value.clone()),
            "22" if cpv.is_none() => cpv = Some(value.as_str()),
            "17" if expiry.is_none() => expiry = resolve_date(value, reference_year),
            "422" if origin_country.is_none() => origin_country = Some(value.clone()),
            _ if key.is_none() && ai.dl_key.is_some() => key = Some((ai.code, value.clone())),
            _ => {}
        }
    }
    // The primary key: the first element that is a Digital Link primary key.
    let (key_ai, key_value) = key.unwrap_or(("01", String::new()));
    // Each segment is encoded once and the keys are assembled from it: this runs for every
    // code of every listing check.
    let segment = |ai: &str, value: &str| {
        let mut out = String::with_capacity(ai.len() + value.len() + 2);
        out.push('/');
        out.push_str(ai);
        out.push('/');
        push_percent_encoded(&mut out, value);
        out
    };
    let base = segment(key_ai, &key_value);
    let lot_segment = lot.as_deref().map(|v| segment("10", v));
    let serial_segment = serial.as_deref().map(|v| segment("21", v));
    let mut canonical = base.clone();
    if let Some(cpv) = cpv {
        canonical.push_str(&segment("22", cpv));
    }
    let with_base = |tail: &str| {
        let mut key = String::with_capacity(base.len() + tail.len());
        key.push_str(&base);
        key.push_str(tail);
        key
    };
    let mut lookup_keys = Vec::with_capacity(3);
    if let Some(tail) = &serial_segment {
        lookup_keys.push(with_base(tail));
    }
    if let Some(tail) = &lot_segment {
        lookup_keys.push(with_base(tail));
    }
    for tail in [&lot_segment, &serial_segment].into_iter().flatten() {
        canonical.push_str(tail);
    }
    lookup_keys.push(base);
    let level = if serial.is_some() {
        Level::Serial
    } else if lot.is_some() {
        Level::Lot
    } else {
        Level::Gtin
    };
    ParsedCode {
        form,
        canonical,
        level,
        lookup_keys,
        gtin: (key_ai == "01").then_some(key_value),
        lot,
        serial,
        issuer_prefix: None,
        expiry,
        origin_country,
        elements: elements
            .into_iter()
            .map(|(a, value)| Element {
                ai: a.code,
                title: a.title,
                value,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YEAR: i32 = 2026;

    #[test]
    fn every_form_of_one_item_has_one_canonical_key() {
        let forms = [
            "https://id.gs1.org/01/09501101020917/10/AB-123/21/XYZ",
            "(01)09501101020917(10)AB-123(21)XYZ",
            "0109501101020917 10AB-123\u{1d}21XYZ",
        ];
        let keys: Vec<String> = forms
            .iter()
            .map(|f| parse(&f.replace(' ', ""), YEAR).expect("valid").canonical)
            .collect();
        assert!(
            keys.iter()
                .all(|k| k == "/01/09501101020917/10/AB-123/21/XYZ"),
            "{keys:?}"
        );
    }

    #[test]
    fn lookup_walks_up_from_serial_to_lot_to_product() {
        let code = parse("(01)09501101020917(10)AB-123(21)XYZ", YEAR).expect("valid");
        assert_eq!(code.level, Level::Serial);
        assert_eq!(
            code.lookup_keys,
            vec![
                "/01/09501101020917/21/XYZ",
                "/01/09501101020917/10/AB-123",
                "/01/09501101020917"
            ]
        );
    }

    #[test]
    fn plain_gtins_and_epc_urns() {
        let code = parse(" 9501101020917 ", YEAR).expect("GTIN-13");
        assert_eq!(
            (code.form, code.canonical.as_str()),
            (Form::Gtin, "/01/09501101020917")
        );
        let code = parse("urn:epc:id:sgtin:0614141.812345.6789", YEAR).expect("SGTIN");
        assert_eq!(code.canonical, "/01/80614141123458/21/6789");
        assert_eq!(code.level, Level::Serial);
    }

    #[test]
    fn issuer_codes_keep_their_prefix() {
        let code = parse("vnqr-hn:HN-2026/000123", YEAR).expect("issuer code");
        assert_eq!(code.canonical, "issuer:vnqr-hn:HN-2026/000123");
        assert_eq!(code.issuer_prefix.as_deref(), Some("vnqr-hn"));
        assert!(parse("VNQR:1", YEAR).is_err());
        assert!(parse("vnqr:has space", YEAR).is_err());
    }

    #[test]
    fn expiry_and_origin_are_read() {
        let code = parse("(01)09501101020917(17)260500(422)704", YEAR).expect("valid");
        assert_eq!(code.expiry, NaiveDate::from_ymd_opt(2026, 5, 31));
        assert_eq!(code.origin_country.as_deref(), Some("704"));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(input in "\\PC{0,60}") {
            let _ = parse(&input, YEAR);
        }

        #[test]
        fn element_string_and_digital_link_agree(
            body in "[0-9]{13}",
            lot in "[A-Za-z0-9/+%-]{1,20}",
            serial in "[A-Za-z0-9.-]{1,20}",
        ) {
            let gtin = format!("{body}{}", check_digit(body.as_bytes()));
            let bracketed = format!("(01){gtin}(10){lot}(21){serial}");
            let link = format!("https://example.vn/p/01/{gtin}/10/{}/21/{}", percent_encode(&lot), percent_encode(&serial));
            let from_elements = parse(&bracketed, YEAR).expect("element string parses");
            let from_link = parse(&link, YEAR).expect("digital link parses");
            proptest::prop_assert_eq!(&from_elements.canonical, &from_link.canonical);
            proptest::prop_assert_eq!(from_link.lot.as_deref(), Some(lot.as_str()));
            proptest::prop_assert_eq!(from_link.serial.as_deref(), Some(serial.as_str()));
        }
    }

    #[test]
    fn unreadable_input_says_so() {
        assert_eq!(parse("  ", YEAR), Err(CodeError::Empty));
        assert!(matches!(
            parse("hello world", YEAR),
            Err(CodeError::Unrecognised(_))
        ));
        assert!(
            parse("12345", YEAR)
                .unwrap_err()
                .to_string()
                .contains("GTIN")
        );
    }
}
