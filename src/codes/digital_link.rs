//! GS1 Digital Link URIs (uncompressed form) on any host and path prefix:
//! `https://id.example.com/any/prefix/01/09501101020917/10/AB-123/21/XYZ?17=260531`.

use super::CodeError;
use super::ai::{self, Ai};
use super::element::Elements;
use super::gs1::{Gtin, validate};

pub fn looks_like(input: &str) -> bool {
    input.starts_with("https://")
        || input.starts_with("http://")
        || input.starts_with("HTTPS://")
        || input.starts_with("HTTP://")
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes one path segment or query value.
pub fn percent_decode(text: &str) -> Result<String, String> {
    if !text.contains('%') {
        return Ok(text.to_string());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            ) else {
                return Err(format!("bad percent-encoding in {text:?}"));
            };
            out.push(h * 16 + l);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("percent-encoding in {text:?} is not UTF-8"))
}

/// Percent-encodes a value for a URI path segment (RFC 3986 unreserved characters stay).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    push_percent_encoded(&mut out, value);
    out
}

/// Appends `value` percent-encoded to `out` (no intermediate string: the canonical key of
/// every code is built this way).
pub fn push_percent_encoded(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if value.bytes().all(unreserved) {
        out.push_str(value);
        return;
    }
    for b in value.bytes() {
        if unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

/// Whether `qualifiers` (AI codes, in the order given) fit one of the key's sequences:
/// a subsequence of one alternative, in its order.
fn qualifiers_in_order(key: &Ai, qualifiers: &[&str]) -> bool {
    let Some(alternatives) = key.dl_key else {
        return false;
    };
    alternatives.iter().any(|sequence| {
        let mut position = 0;
        qualifiers
            .iter()
            .all(|q| match sequence[position..].iter().position(|s| s == q) {
                Some(offset) => {
                    position += offset + 1;
                    true
                }
                None => false,
            })
    })
}

/// Parses a Digital Link URI into elements: primary key first, then qualifiers, then
/// data attributes from the query string.
pub fn parse(input: &str, reference_year: i32) -> Result<Elements, CodeError> {
    let invalid = |part: &str, message: String| CodeError::Invalid {
        part: part.to_string(),
        message,
    };
    let without_fragment = input.split('#').next().unwrap_or(input);
    let (location, query) = match without_fragment.split_once('?') {
        Some((l, q)) => (l, Some(q)),
        None => (without_fragment, None),
    };
    let after_scheme = location.split_once("://").map_or(location, |(_, r)| r);
    let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();

    // The primary key is the first key AI after which the rest of the path is made of
    // qualifier pairs in a permitted order; anything before it is the host's own prefix.
    let start = (0..segments.len())
        .find(|&i| {
            let Some(key) = ai::lookup(segments[i]).filter(|a| a.dl_key.is_some()) else { return false };
            let rest = &segments[i + 1..];
            if rest.is_empty() || rest.len() % 2 != 1 {
                return false;
            }
            let qualifiers: Vec<&str> = rest[1..].chunks(2).map(|pair| pair[0]).collect();
            qualifiers_in_order(key, &qualifiers)
        })
        .ok_or_else(|| {
            invalid(
                "path",
                "no GS1 primary key (such as /01/{GTIN}) followed by qualifiers in the permitted order (/22/, /10/, /21/)".into(),
            )
        })?;

    let mut elements: Elements = Vec::new();
    for pair in segments[start..].chunks(2) {
        let ai = ai::lookup(pair[0])
            .ok_or_else(|| invalid("path", format!("{:?} is not an AI", pair[0])))?;
        let mut value =
            percent_decode(pair[1]).map_err(|m| invalid(&format!("/{}/", ai.code), m))?;
        if ai.code == "01" {
            value = Gtin::parse(&value)
                .map_err(|e| invalid("/01/", format!("GTIN {e}")))?
                .as_str()
                .to_string();
        }
        elements.push((ai, value));
    }
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        // Other parameters (linkType, context, …) are instructions to a resolver, not data.
        let Some(ai) = ai::lookup(name).filter(|a| a.dl_attribute) else {
            continue;
        };
        if elements.iter().any(|(a, _)| a.code == ai.code) {
            return Err(invalid(
                &format!("?{name}="),
                format!("({name}) is given twice"),
            ));
        }
        let value = percent_decode(value).map_err(|m| invalid(&format!("?{name}="), m))?;
        elements.push((ai, value));
    }
    for (ai, value) in &elements {
        validate(ai, value, reference_year)
            .map_err(|message| invalid(&format!("({})", ai.code), message))?;
    }
    Ok(elements)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(e: &Elements) -> Vec<(&str, String)> {
        e.iter().map(|(a, v)| (a.code, v.clone())).collect()
    }

    #[test]
    fn gs1_examples_on_any_host_and_prefix() {
        let e = parse(
            "https://id.gs1.org/01/09501101020917/10/AB-123/21/12345?17=260531",
            2026,
        )
        .expect("valid");
        assert_eq!(
            codes(&e),
            vec![
                ("01", "09501101020917".into()),
                ("10", "AB-123".into()),
                ("21", "12345".into()),
                ("17", "260531".into())
            ]
        );
        let e = parse(
            "https://brand.example.vn/products/scan/01/9501101020917?linkType=gs1:pip",
            2026,
        )
        .expect("valid");
        assert_eq!(
            codes(&e),
            vec![("01", "09501101020917".into())],
            "GTIN-13 normalised, linkType ignored"
        );
        let e = parse("https://example.com/00/106141412345678908", 2026).expect("SSCC key");
        assert_eq!(e[0].0.code, "00");
    }

    #[test]
    fn percent_encoded_values_are_decoded() {
        let e = parse("https://example.com/01/09501101020917/21/A%2FB%2B1", 2026).expect("valid");
        assert_eq!(e[1].1, "A/B+1");
        assert_eq!(percent_encode("A/B+1"), "A%2FB%2B1");
    }

    #[test]
    fn qualifiers_out_of_order_are_refused() {
        let err = parse("https://example.com/01/09501101020917/21/X/10/Y", 2026).unwrap_err();
        assert!(err.to_string().contains("permitted order"), "{err}");
        assert!(
            parse("https://example.com/01/09501101020917/235/T/10/Y", 2026).is_err(),
            "alternatives do not mix"
        );
        assert!(parse("https://example.com/01/09501101020917/235/T", 2026).is_ok());
    }

    #[test]
    fn bad_values_name_their_ai() {
        let err = parse("https://example.com/01/09501101020918", 2026).unwrap_err();
        assert!(err.to_string().contains("check digit"), "{err}");
        let err = parse("https://example.com/01/09501101020917?17=261332", 2026).unwrap_err();
        assert!(
            matches!(&err, CodeError::Invalid { part, .. } if part == "(17)"),
            "{err}"
        );
        assert!(parse("https://example.com/about", 2026).is_err());
        assert!(parse("https://example.com/01/09501101020917/10/%ZZ", 2026).is_err());
    }

    #[test]
    fn encoding_round_trips_every_byte() {
        assert_eq!(percent_encode("AB-1.2_~"), "AB-1.2_~");
        assert_eq!(percent_encode("lô 1/é"), "l%C3%B4%201%2F%C3%A9");
        let text = "lô 1/é%+?#";
        assert_eq!(percent_decode(&percent_encode(text)).as_deref(), Ok(text));
    }
}
