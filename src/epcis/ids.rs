//! Identifiers in EPCIS events: EPC URNs and GS1 Digital Link URIs read as GS1 keys, and
//! parties (by GLN or enterprise code).
//!
//! Every GS1 key becomes its constrained canonical Digital Link path (`/01/{gtin}/21/{serial}`,
//! `/00/{sscc}`, `/414/{gln}/254/{ext}` …): the form the CBV event hash uses (after
//! `https://id.gs1.org`) and the form events are stored and matched under, so that an EPC
//! written as a URN in one event and as a Digital Link in another is the same thing.

use crate::codes::check_digit;
use crate::identity::EnterpriseCode;

/// The host the event hash writes every GS1 Digital Link URI with.
pub const GS1_HOST: &str = "https://id.gs1.org";

/// Digits with their GS1 check digit appended.
fn with_check(digits: &str) -> String {
    format!("{digits}{}", check_digit(digits.as_bytes()))
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Splits `cp.ref[.rest]` where company prefix and reference are digits whose lengths add
/// to `total`.
fn prefix_and_reference(body: &str, total: usize) -> Option<(&str, &str, Option<&str>)> {
    let mut parts = body.splitn(3, '.');
    let company = parts.next()?;
    let reference = parts.next()?;
    let rest = parts.next();
    let fits = all_digits(company)
        && (6..=12).contains(&company.len())
        && reference.bytes().all(|b| b.is_ascii_digit())
        && company.len() + reference.len() == total;
    fits.then_some((company, reference, rest))
}

/// The canonical Digital Link path of an EPC URN (pure identity, class or pattern) that
/// names a GS1 key, or `None` when it names none tracegate reads.
fn epc_urn_path(urn: &str) -> Option<String> {
    let rest = urn.get(8..).filter(|_| {
        urn.get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("urn:epc:"))
    })?;
    let (kind, rest) = rest.split_once(':')?;
    let (scheme, body) = rest.split_once(':')?;
    let gtin = |company: &str, item: &str| -> String {
        with_check(&format!("{}{company}{}", &item[..1], &item[1..]))
    };
    match (kind, scheme) {
        ("id", "sgtin") | ("class", "lgtin") => {
            let (company, item, value) = prefix_and_reference(body, 13)?;
            let value = value.filter(|v| !v.is_empty())?;
            let ai = if scheme == "sgtin" { "21" } else { "10" };
            Some(format!("/01/{}/{ai}/{value}", gtin(company, item)))
        }
        ("idpat", "sgtin") => {
            let (company, item, value) = prefix_and_reference(body, 13)?;
            (value == Some("*")).then(|| format!("/01/{}", gtin(company, item)))
        }
        ("id", "sscc") => {
            let (company, serial, _) = prefix_and_reference(body, 17)?;
            Some(format!(
                "/00/{}",
                with_check(&format!("{}{company}{}", &serial[..1], &serial[1..]))
            ))
        }
        ("id", "sgln") => {
            let (company, location, extension) = prefix_and_reference(body, 12)?;
            let gln = with_check(&format!("{company}{location}"));
            match extension {
                None | Some("0") | Some("") => Some(format!("/414/{gln}")),
                Some(ext) => Some(format!("/414/{gln}/254/{ext}")),
            }
        }
        ("id", "pgln") => {
            let (company, party, _) = prefix_and_reference(body, 12)?;
            Some(format!("/417/{}", with_check(&format!("{company}{party}"))))
        }
        ("id", "grai") => {
            let (company, asset, serial) = prefix_and_reference(body, 12)?;
            let grai = with_check(&format!("0{company}{asset}"));
            Some(format!("/8003/{grai}{}", serial.unwrap_or_default()))
        }
        ("id", "giai") => {
            let (company, reference) = body.split_once('.')?;
            all_digits(company).then(|| format!("/8004/{company}{reference}"))
        }
        ("id", "gdti") => {
            let (company, doc, serial) = prefix_and_reference(body, 12)?;
            let gdti = with_check(&format!("{company}{doc}"));
            Some(format!("/253/{gdti}{}", serial.unwrap_or_default()))
        }
        ("id", "gsrn") | ("id", "gsrnp") => {
            let (company, service, _) = prefix_and_reference(body, 17)?;
            let ai = if scheme == "gsrn" { "8018" } else { "8017" };
            Some(format!(
                "/{ai}/{}",
                with_check(&format!("{company}{service}"))
            ))
        }
        _ => None,
    }
}

/// GS1 primary keys a Digital Link path may start with.
const PRIMARY_KEYS: &[&str] = &[
    "00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8017",
    "8018",
];

/// The constrained canonical path of a GS1 Digital Link URI (any host, no query, only the
/// most specific qualifier a key allows), or `None` when the URI is not one.
fn digital_link_path(uri: &str) -> Option<String> {
    let after_scheme = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))?;
    let path = &after_scheme[after_scheme.find('/')?..];
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    // The path may sit under a prefix (`/some/where/01/…`): find the primary key.
    let start = segments
        .iter()
        .position(|s| PRIMARY_KEYS.contains(s))
        .filter(|&at| (segments.len() - at).is_multiple_of(2))?;
    let pairs: Vec<(&str, &str)> = segments[start..]
        .chunks(2)
        .map(|pair| (pair[0], pair[1]))
        .collect();
    let (key, value) = pairs[0];
    if value.is_empty() {
        return None;
    }
    let qualifier = |ai: &str| pairs[1..].iter().find(|(a, _)| *a == ai).map(|(_, v)| *v);
    let kept = match key {
        "01" | "8006" => ["21", "10", "235"]
            .into_iter()
            .find_map(|ai| qualifier(ai).map(|v| (ai, v))),
        "414" => qualifier("254").map(|v| ("254", v)),
        "8010" => qualifier("8011").map(|v| ("8011", v)),
        _ => None,
    };
    let value = if key == "01" && value.len() < 14 && all_digits(value) {
        format!("{value:0>14}")
    } else {
        value.to_string()
    };
    Some(match kept {
        Some((ai, v)) => format!("/{key}/{value}/{ai}/{v}"),
        None => format!("/{key}/{value}"),
    })
}

/// The canonical Digital Link path of an identifier that names a GS1 key.
pub fn gs1_path(identifier: &str) -> Option<String> {
    epc_urn_path(identifier).or_else(|| digital_link_path(identifier))
}

/// How an identifier is stored and matched: its GS1 path, or itself.
pub fn item_key(identifier: &str) -> String {
    gs1_path(identifier).unwrap_or_else(|| identifier.trim().to_string())
}

/// The lot (`/01/{gtin}/10/{lot}`) an identifier names or falls in: a lot class, or an
/// item written with its lot (a Digital Link carrying both 10 and 21).
pub fn lot_key(identifier: &str) -> Option<String> {
    if let Some(path) = epc_urn_path(identifier) {
        return path.contains("/10/").then_some(path);
    }
    let after_scheme = identifier
        .strip_prefix("https://")
        .or_else(|| identifier.strip_prefix("http://"))?;
    let path = &after_scheme[after_scheme.find('/')?..];
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let at = segments.iter().position(|s| *s == "01")?;
    let gtin = segments.get(at + 1)?;
    let lot = segments[at..]
        .chunks(2)
        .find(|pair| pair[0] == "10")
        .and_then(|pair| pair.get(1))?;
    let gtin = if gtin.len() < 14 && all_digits(gtin) {
        format!("{gtin:0>14}")
    } else {
        gtin.to_string()
    };
    Some(format!("/01/{gtin}/10/{lot}"))
}

/// The URI scheme enterprise codes are written in as parties: `urn:vn:mst:{code}` (the
/// enterprise code is the business's tax code, mã số thuế).
pub const ENTERPRISE_URN: &str = "urn:vn:mst:";

/// Who a source or destination names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartyId {
    /// A GLN (AI 417 party or AI 414 location), 13 digits.
    Gln(String),
    /// An enterprise by its code.
    Enterprise(String),
}

/// Reads a party: a GLN (`urn:epc:id:pgln:…`, `urn:epc:id:sgln:…`, a Digital Link with 417
/// or 414) or an enterprise code (`urn:vn:mst:0312345678`).
pub fn party(identifier: &str) -> Result<PartyId, String> {
    if let Some(code) = identifier.strip_prefix(ENTERPRISE_URN) {
        return EnterpriseCode::parse(code)
            .map(|c| PartyId::Enterprise(c.normalized()))
            .map_err(|e| format!("{code:?} is not an enterprise code: {e}"));
    }
    match gs1_path(identifier) {
        Some(path) if path.starts_with("/417/") || path.starts_with("/414/") => {
            let gln = path[5..].split('/').next().unwrap_or_default();
            if gln.len() == 13
                && all_digits(gln)
                && check_digit(&gln.as_bytes()[..12]) == gln.as_bytes()[12] - b'0'
            {
                Ok(PartyId::Gln(gln.to_string()))
            } else {
                Err(format!(
                    "{gln:?} is not a GLN (13 digits with a check digit)"
                ))
            }
        }
        _ => Err(format!(
            "a party is a GLN (urn:epc:id:pgln:…, urn:epc:id:sgln:…, or a GS1 Digital Link with 417 or 414) or an enterprise code ({ENTERPRISE_URN}{{code}}), not {identifier:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epc_urns_become_digital_link_paths() {
        assert_eq!(
            gs1_path("urn:epc:id:sgtin:0614141.107346.2017").as_deref(),
            Some("/01/10614141073464/21/2017")
        );
        assert_eq!(
            gs1_path("urn:epc:class:lgtin:4012345.012345.998877").as_deref(),
            Some("/01/04012345123456/10/998877")
        );
        assert_eq!(
            gs1_path("urn:epc:id:sscc:4012345.0000000111").as_deref(),
            Some("/00/040123450000001112")
        );
        assert_eq!(
            gs1_path("urn:epc:id:sgln:4012345.00011.987").as_deref(),
            Some("/414/4012345000115/254/987")
        );
        assert_eq!(
            gs1_path("urn:epc:id:sgln:4012345.00005.0").as_deref(),
            Some("/414/4012345000054")
        );
        assert_eq!(
            gs1_path("urn:epc:id:pgln:0614141.00000").as_deref(),
            Some("/417/0614141000005")
        );
        assert_eq!(
            gs1_path("urn:epc:idpat:sgtin:4012345.098765.*").as_deref(),
            Some("/01/04012345987652")
        );
        assert_eq!(
            gs1_path("urn:epc:id:giai:4000001.111").as_deref(),
            Some("/8004/4000001111")
        );
        assert_eq!(gs1_path("urn:example:thing"), None);
    }

    #[test]
    fn digital_links_are_constrained() {
        assert_eq!(
            gs1_path("https://example.com/shop/01/09506000134352/10/A1/21/S9?x=1").as_deref(),
            Some("/01/09506000134352/21/S9")
        );
        assert_eq!(
            lot_key("https://example.com/01/09506000134352/10/A1/21/S9").as_deref(),
            Some("/01/09506000134352/10/A1")
        );
        assert_eq!(
            lot_key("urn:epc:class:lgtin:4012345.012345.998877").as_deref(),
            Some("/01/04012345123456/10/998877")
        );
        assert_eq!(lot_key("urn:epc:id:sgtin:0614141.107346.2017"), None);
    }

    #[test]
    fn parties_are_glns_or_enterprise_codes() {
        assert_eq!(
            party("urn:epc:id:pgln:0614141.00000"),
            Ok(PartyId::Gln("0614141000005".into()))
        );
        assert_eq!(
            party("https://id.gs1.org/417/0614141000005"),
            Ok(PartyId::Gln("0614141000005".into()))
        );
        assert!(party("https://id.gs1.org/417/0614141000006").is_err());
        assert!(party("urn:vn:mst:12").is_err());
        assert!(party("https://example.com/me").is_err());
    }
}
