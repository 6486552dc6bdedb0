//! EPC URNs (GS1 EPC Tag Data Standard 2.x) that name a trade item:
//! pure identities `urn:epc:id:sgtin:{company prefix}.{indicator}{item reference}.{serial}`,
//! tag URIs `urn:epc:tag:sgtin-96:{filter}.…` and `…sgtin-198:…`, and lot classes
//! `urn:epc:class:lgtin:{company prefix}.{indicator}{item reference}.{lot}`.
//!
//! Case: `urn` and the namespace `epc` are case-insensitive (RFC 8141 §3.1); everything
//! after them is written exactly as TDS's grammar gives it (lower-case `id`, `sgtin`, …).
//! Serials and lots are TDS "GS3A3" components: letters, digits and `! ' ( ) * + , - . : ;
//! = _` as they are, `" % & / < > ?` only percent-encoded (`%22 %25 %26 %2F %3C %3E %3F`),
//! never a space or any other character.

use super::ai;
use super::gs1::check_digit;
use super::{CodeError, Reading};

/// Whether the input is a URN of the `epc` namespace, in any case.
pub fn looks_like(input: &str) -> bool {
    input
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:epc:"))
}

fn invalid(message: impl Into<String>) -> CodeError {
    CodeError::Invalid {
        part: "EPC URN".into(),
        message: message.into(),
    }
}

/// EPC schemes TDS defines that tracegate does not list, with what each names.
const OTHER_SCHEMES: &[(&str, &str)] = &[
    ("sscc", "a logistic unit (SSCC)"),
    ("sgln", "a location (GLN)"),
    ("pgln", "a party (GLN)"),
    ("grai", "a returnable asset (GRAI)"),
    ("giai", "an individual asset (GIAI)"),
    ("gsrn", "a service relation (GSRN)"),
    ("gsrnp", "a service provider (GSRN)"),
    ("gdti", "a document (GDTI)"),
    ("cpi", "a component or part (CPI)"),
    ("sgcn", "a coupon (GCN)"),
    ("ginc", "a consignment (GINC)"),
    ("gsin", "a shipment (GSIN)"),
    ("itip", "a piece of a trade item (ITIP)"),
    ("upui", "a unit pack (UPUI)"),
    ("gid", "a general identifier (GID)"),
    ("usdod", "a US Department of Defense item"),
    ("adi", "an aerospace and defence item (ADI)"),
    ("bic", "a container (BIC)"),
    ("imovn", "a vessel (IMO number)"),
];

/// Reads an EPC URN into `reading` (GTIN with serial or lot).
pub(crate) fn parse(input: &str, reading: &mut Reading) -> Result<(), CodeError> {
    let rest = &input[8..];
    let (kind, rest) = rest
        .split_once(':')
        .ok_or_else(|| invalid("an EPC URN has the form urn:epc:id:{scheme}:{parts}"))?;
    let (scheme, body) = rest.split_once(':').unwrap_or((rest, ""));
    match (kind, scheme) {
        ("id", "sgtin") => sgtin(body, reading, Serial::Text),
        ("tag", "sgtin-96") => {
            let body = filtered(body)?;
            sgtin(body, reading, Serial::Integer)
        }
        ("tag", "sgtin-198") => {
            let body = filtered(body)?;
            sgtin(body, reading, Serial::Text)
        }
        ("class", "lgtin") => lgtin(body, reading),
        ("idpat", _) => Err(invalid(
            "an EPC identity pattern (urn:epc:idpat:…) names many items, not one code",
        )),
        ("raw", _) => Err(invalid(
            "a raw EPC (urn:epc:raw:…) is tag memory, not an identity: decode it to urn:epc:id:… first",
        )),
        ("id" | "tag" | "class", _) => {
            let base = scheme.split('-').next().unwrap_or(scheme);
            match OTHER_SCHEMES.iter().find(|(s, _)| *s == base) {
                Some((_, what)) => Err(invalid(format!(
                    "an EPC URN of type {scheme}, which names {what}, not a trade item tracegate lists (urn:epc:id:sgtin:… or urn:epc:class:lgtin:…)"
                ))),
                None if OTHER_SCHEMES
                    .iter()
                    .any(|(s, _)| s.eq_ignore_ascii_case(base))
                    || base.eq_ignore_ascii_case("sgtin")
                    || base.eq_ignore_ascii_case("lgtin") =>
                {
                    Err(invalid(format!(
                        "the EPC scheme is written in lower case ({:?}); only \"urn:epc:\" may be in any case",
                        scheme.to_ascii_lowercase()
                    )))
                }
                None => Err(invalid(format!(
                    "an EPC URN of unknown type {scheme:?}: the Tag Data Standard defines no such scheme"
                ))),
            }
        }
        _ if ["id", "tag", "class", "idpat", "raw"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(kind)) =>
        {
            Err(invalid(format!(
                "{kind:?} is written in lower case ({:?}); only \"urn:epc:\" may be in any case",
                kind.to_ascii_lowercase()
            )))
        }
        _ => Err(invalid(format!(
            "an EPC URN of unknown type urn:epc:{kind}: the Tag Data Standard defines id, tag, class, idpat and raw"
        ))),
    }
}

/// The body of a tag URI after its filter value (one digit 0–7).
fn filtered(body: &str) -> Result<&str, CodeError> {
    match body.split_once('.') {
        Some((filter, rest))
            if filter.len() == 1 && matches!(filter.as_bytes()[0], b'0'..=b'7') =>
        {
            Ok(rest)
        }
        _ => Err(invalid(
            "a tag URI starts with its filter value, one digit 0 to 7",
        )),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Serial {
    /// Any GS3A3 component of 1 to 20 characters.
    Text,
    /// A number below 2³⁸ without leading zeros (the serial of an SGTIN-96).
    Integer,
}

/// Appends the GTIN that company prefix and item reference name, as 14 digits.
fn push_gtin(company: &str, item: &str, reading: &mut Reading) -> Result<(), CodeError> {
    if !(6..=12).contains(&company.len()) || !company.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("the company prefix is 6 to 12 digits"));
    }
    if item.is_empty()
        || !item.bytes().all(|b| b.is_ascii_digit())
        || company.len() + item.len() != 13
    {
        return Err(invalid(
            "company prefix and item reference (with its indicator digit) are 13 digits together",
        ));
    }
    let start = reading.text.len();
    reading.text.push_str(&item[..1]);
    reading.text.push_str(company);
    reading.text.push_str(&item[1..]);
    let digit = check_digit(&reading.text.as_bytes()[start..]);
    reading.text.push(char::from(b'0' + digit));
    let gtin = ai::lookup("01").ok_or_else(|| invalid("GTIN"))?;
    reading.push(gtin, start)
}

fn sgtin(body: &str, reading: &mut Reading, serial: Serial) -> Result<(), CodeError> {
    let mut parts = body.splitn(3, '.');
    let (Some(company), Some(item), Some(value)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(
            "expected urn:epc:id:sgtin:{company prefix}.{indicator and item reference}.{serial}",
        ));
    };
    push_gtin(company, item, reading)?;
    if serial == Serial::Integer {
        let fits = value.parse::<u64>().is_ok_and(|n| n < 1 << 38);
        if value.is_empty()
            || !value.bytes().all(|b| b.is_ascii_digit())
            || (value.len() > 1 && value.starts_with('0'))
            || !fits
        {
            return Err(invalid(
                "the serial of an SGTIN-96 is a number below 274877906944 without leading zeros",
            ));
        }
    }
    component(value, "serial", reading, "21")
}

fn lgtin(body: &str, reading: &mut Reading) -> Result<(), CodeError> {
    let mut parts = body.splitn(3, '.');
    let (Some(company), Some(item), Some(lot)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid(
            "expected urn:epc:class:lgtin:{company prefix}.{indicator and item reference}.{lot}",
        ));
    };
    push_gtin(company, item, reading)?;
    component(lot, "lot", reading, "10")
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Decodes a GS3A3 component (serial or lot) and appends it as the value of `code`.
fn component(text: &str, what: &str, reading: &mut Reading, code: &str) -> Result<(), CodeError> {
    let start = reading.text.len();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'!'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b'-'
            | b'.'
            | b':'
            | b';'
            | b'='
            | b'_' => {
                reading.text.push(char::from(b));
                i += 1;
            }
            b'%' => {
                let decoded = match (
                    bytes.get(i + 1).and_then(|h| hex(*h)),
                    bytes.get(i + 2).and_then(|l| hex(*l)),
                ) {
                    (Some(h), Some(l)) => h * 16 + l,
                    _ => {
                        return Err(invalid(format!(
                            "the {what} has a % that does not start an escape such as %2F"
                        )));
                    }
                };
                if !super::gs1::is_cset82(decoded) {
                    return Err(invalid(format!(
                        "the {what} escapes {:?}, which is not a character GS1 allows in a {what}",
                        char::from(decoded)
                    )));
                }
                reading.text.push(char::from(decoded));
                i += 3;
            }
            b'"' | b'&' | b'/' | b'<' | b'>' | b'?' => {
                return Err(invalid(format!(
                    "{:?} in the {what} must be percent-encoded ({}) in an EPC URN",
                    char::from(b),
                    match b {
                        b'"' => "%22",
                        b'&' => "%26",
                        b'/' => "%2F",
                        b'<' => "%3C",
                        b'>' => "%3E",
                        _ => "%3F",
                    }
                )));
            }
            _ => {
                let c = text[i..].chars().next().unwrap_or('?');
                return Err(invalid(format!(
                    "{c:?} is not allowed in the {what} of an EPC URN"
                )));
            }
        }
    }
    let len = reading.text.len() - start;
    if !(1..=20).contains(&len) {
        return Err(invalid(format!("the {what} is 1 to 20 characters")));
    }
    let ai = ai::lookup(code).ok_or_else(|| invalid(what.to_string()))?;
    reading.push(ai, start)
}

/// The SGTIN URN of a GTIN and serial, given the length of the GS1 company prefix.
pub fn to_urn(gtin: &super::Gtin, serial: &str, company_prefix_len: usize) -> Option<String> {
    if !(6..=12).contains(&company_prefix_len) {
        return None;
    }
    let digits = gtin.as_str();
    let indicator = &digits[..1];
    let company = &digits[1..1 + company_prefix_len];
    let item = &digits[1 + company_prefix_len..13];
    let mut urn = format!("urn:epc:id:sgtin:{company}.{indicator}{item}.");
    for b in serial.bytes() {
        match b {
            b'"' | b'%' | b'&' | b'/' | b'<' | b'>' | b'?' => urn.push_str(&format!("%{b:02X}")),
            _ => urn.push(char::from(b)),
        }
    }
    Some(urn)
}
