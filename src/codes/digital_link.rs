//! GS1 Digital Link URIs (uncompressed form) on any host and path prefix:
//! `https://id.example.com/any/prefix/01/09501101020917/10/AB-123/21/XYZ?17=260531`.
//!
//! Read as GS1 Digital Link URI Syntax describes it: the path ends with a primary key and
//! its qualifiers in a permitted order (found by walking back from the end of the path);
//! query parameters named by digits are AIs that must be permitted data attributes and may
//! not be qualifiers that belong in the path; other parameters (`linkType`, …) are
//! instructions to a resolver and are left alone.

use super::ai::{self, Ai};
use super::{CodeError, Reading};

fn invalid(part: impl Into<String>, message: impl Into<String>) -> CodeError {
    CodeError::Invalid {
        part: part.into(),
        message: message.into(),
    }
}

/// Length of a URI scheme at the start of `input` (RFC 3986 §3.1: a letter, then letters,
/// digits, `+`, `-`, `.`), when a `:` follows it.
pub(crate) fn scheme_len(input: &str) -> Option<usize> {
    let bytes = input.as_bytes();
    if !bytes.first()?.is_ascii_alphabetic() {
        return None;
    }
    let len = bytes
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))?;
    (bytes[len] == b':').then_some(len)
}

/// Whether the input is an http(s) URI (schemes are case-insensitive, RFC 3986 §3.1).
pub fn looks_like(input: &str) -> bool {
    scheme_len(input).is_some_and(|len| {
        let scheme = &input[..len];
        (scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http"))
            && input[len..].starts_with("://")
    })
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
    let mut out = String::with_capacity(text.len());
    decode_into(&mut out, text, false)?;
    Ok(out)
}

/// Appends `text` percent-decoded to `out`; in a query value `+` stands for a space.
fn decode_into(out: &mut String, text: &str, query: bool) -> Result<(), String> {
    if !text.bytes().any(|b| b == b'%' || (query && b == b'+')) {
        out.push_str(text);
        return Ok(());
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let (Some(h), Some(l)) = (
                    bytes.get(i + 1).and_then(|b| hex(*b)),
                    bytes.get(i + 2).and_then(|b| hex(*b)),
                ) else {
                    return Err(format!("bad percent-encoding in {text:?}"));
                };
                decoded.push(h * 16 + l);
                i += 3;
            }
            b'+' if query => {
                decoded.push(b' ');
                i += 1;
            }
            b => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    let decoded = String::from_utf8(decoded)
        .map_err(|_| format!("percent-encoding in {text:?} is not UTF-8"))?;
    out.push_str(&decoded);
    Ok(())
}

/// Percent-encodes a value for a URI path segment (RFC 3986 unreserved characters stay).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    push_percent_encoded(&mut out, value);
    out
}

/// RFC 3986 unreserved characters: the ones a path segment carries as they are.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `value` percent-encoded to `out` (no intermediate string: the canonical key of
/// every code is built this way).
pub fn push_percent_encoded(out: &mut String, value: &str) {
    if value.bytes().all(is_unreserved) {
        out.push_str(value);
        return;
    }
    for b in value.bytes() {
        push_encoded_byte(out, b);
    }
}

pub(crate) fn push_encoded_byte(out: &mut String, b: u8) {
    if is_unreserved(b) {
        out.push(char::from(b));
    } else {
        out.push('%');
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
}

/// Characters a URI may hold (RFC 3986 unreserved, reserved and `%`), one look-up each.
static URI_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b':'
                    | b'/'
                    | b'?'
                    | b'#'
                    | b'['
                    | b']'
                    | b'@'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        b += 1;
    }
    table
};

/// Path segments read back from the end: a primary key with its longest qualifier sequence
/// (three) is eight; anything before them is the host's own prefix.
const TAIL_SEGMENTS: usize = 10;

/// Whether `sequence` (AI codes after the primary key, in order) fits one of the key's
/// qualifier sequences: a subsequence of one alternative, in its order.
pub(crate) fn qualifiers_in_order<'a>(
    key: &Ai,
    sequence: impl Iterator<Item = &'a str> + Clone,
) -> bool {
    let Some(alternatives) = key.dl_key else {
        return false;
    };
    alternatives.iter().any(|alternative| {
        let mut position = 0;
        sequence.clone().all(
            |q| match alternative[position..].iter().position(|s| *s == q) {
                Some(offset) => {
                    position += offset + 1;
                    true
                }
                None => false,
            },
        )
    })
}

/// Reads a Digital Link URI into `reading`: primary key first, then qualifiers, then data
/// attributes from the query string. Returns how many elements form the path.
pub(crate) fn parse(input: &str, reading: &mut Reading) -> Result<usize, CodeError> {
    if let Some(c) = input
        .bytes()
        .position(|b| !URI_CHARS[usize::from(b)])
        .and_then(|at| input.get(at..)?.chars().next())
    {
        return Err(invalid(
            "URI",
            format!("{c:?} is not allowed in a URI; percent-encode it"),
        ));
    }
    let after_scheme = input
        .find("://")
        .map(|at| &input[at + 3..])
        .ok_or_else(|| invalid("URI", "expected http:// or https://"))?;
    let without_fragment = after_scheme.split('#').next().unwrap_or(after_scheme);
    let (location, query) = match without_fragment.split_once('?') {
        Some((l, q)) => (l, Some(q)),
        None => (without_fragment, None),
    };
    let path_at = location.find('/').unwrap_or(location.len());
    if path_at == 0 {
        return Err(invalid("URI", "the URI has no host"));
    }
    // A host name, an IP literal and a port: what resolvers answer at (RFC 1123 names).
    if let Some(c) = location[..path_at]
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '[' | ']')))
    {
        return Err(invalid(
            "URI",
            format!("{c:?} is not allowed in the host of a GS1 Digital Link URI"),
        ));
    }
    let path = &location[path_at..];
    let segments = path.get(1..).unwrap_or("");
    // The last segments, in order: the path info is at the end, whatever precedes it.
    let mut tail = [""; TAIL_SEGMENTS];
    let mut count = 0;
    if !segments.is_empty() {
        for segment in segments.rsplit('/').take(TAIL_SEGMENTS) {
            tail[TAIL_SEGMENTS - 1 - count] = segment;
            count += 1;
        }
    }
    let segment_list = &tail[TAIL_SEGMENTS - count..];

    // Walk back from the end in AI/value pairs while each names an AI; the path info starts
    // at the first primary key met this way. Whatever precedes it is the host's own prefix.
    let mut end = segment_list.len();
    let mut start = None;
    while end >= 2 {
        let Some(ai) = ai::lookup(segment_list[end - 2]) else {
            break;
        };
        if ai.dl_key.is_some() {
            start = Some(end - 2);
            break;
        }
        end -= 2;
    }
    let Some(start) = start else {
        return Err(invalid(
            "path",
            if path.ends_with('/') && path.len() > 1 {
                "the path ends with \"/\": a GS1 Digital Link path ends with the value of its last AI (such as /01/{GTIN})".to_string()
            } else {
                "no GS1 primary key (such as /01/{GTIN}) followed by qualifiers in the permitted order (/22/, /10/, /21/)".to_string()
            },
        ));
    };
    let pairs = &segment_list[start..];
    for pair in pairs.chunks(2) {
        let [code, value] = pair else {
            return Err(invalid("path", "an AI in the path has no value"));
        };
        let ai =
            ai::lookup(code).ok_or_else(|| invalid("path", format!("{code:?} is not an AI")))?;
        if value.is_empty() {
            return Err(invalid(
                format!("/{}/", ai.code()),
                format!("({}) {} has no value in the path", ai.code(), ai.title),
            ));
        }
        let begin = reading.text.len();
        // A GTIN-8, -12 or -13 in the path is read as its 14-digit form: older links and
        // printed codes carry them so (GS1 Digital Link asks encoders for 14 digits).
        if ai.code() == "01"
            && matches!(value.len(), 8 | 12 | 13)
            && value.bytes().all(|b| b.is_ascii_digit())
        {
            for _ in value.len()..14 {
                reading.text.push('0');
            }
        }
        decode_into(&mut reading.text, value, false)
            .map_err(|m| invalid(format!("/{}/", ai.code()), m))?;
        reading.push(ai, begin)?;
    }
    let path_len = reading.items.len();
    let key = reading
        .ai_at(0)
        .ok_or_else(|| invalid("path", "no primary key"))?;
    if !qualifiers_in_order(key, reading.elements().skip(1).map(|(ai, _)| ai.code())) {
        return Err(invalid(
            "path",
            format!(
                "the qualifiers after /{}/ are not in a permitted order ({})",
                key.code(),
                permitted_orders(key)
            ),
        ));
    }

    for parameter in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let Some((name, value)) = parameter.split_once('=') else {
            continue;
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
            // Other parameters (linkType, context, …) are instructions to a resolver.
            continue;
        }
        let part = format!("?{name}=");
        let ai = ai::lookup(name).ok_or_else(|| {
            invalid(
                part.as_str(),
                format!("({name}) in the query is not an Application Identifier in GS1's syntax dictionary"),
            )
        })?;
        if !ai.dl_attribute {
            return Err(invalid(
                part.as_str(),
                format!(
                    "({}) {} is not permitted as a data attribute in the query of a GS1 Digital Link URI",
                    ai.code(),
                    ai.title
                ),
            ));
        }
        if belongs_in_path(key, reading, path_len, ai) {
            return Err(invalid(
                part.as_str(),
                format!(
                    "({}) {} is a qualifier of /{}/: it belongs in the path, not in the query",
                    ai.code(),
                    ai.title,
                    key.code()
                ),
            ));
        }
        if value.is_empty() {
            return Err(invalid(
                part.as_str(),
                format!("({}) {} has no value", ai.code(), ai.title),
            ));
        }
        let begin = reading.text.len();
        decode_into(&mut reading.text, value, true).map_err(|m| invalid(part.as_str(), m))?;
        reading.push(ai, begin)?;
    }
    Ok(path_len)
}

/// Whether the attribute would fit as a qualifier somewhere after the key in the path.
fn belongs_in_path(key: &Ai, reading: &Reading, path_len: usize, attribute: &Ai) -> bool {
    if key
        .dl_key
        .is_none_or(|alternatives| alternatives.iter().all(|a| !a.contains(&attribute.code())))
    {
        return false;
    }
    (1..=path_len).any(|position| {
        let before = reading
            .elements()
            .take(position)
            .skip(1)
            .map(|(ai, _)| ai.code());
        let after = reading
            .elements()
            .take(path_len)
            .skip(position)
            .map(|(ai, _)| ai.code());
        qualifiers_in_order(
            key,
            before.chain(std::iter::once(attribute.code())).chain(after),
        )
    })
}

fn permitted_orders(key: &Ai) -> String {
    key.dl_key
        .unwrap_or_default()
        .iter()
        .map(|alternative| {
            if alternative.is_empty() {
                "no qualifiers".to_string()
            } else {
                alternative
                    .iter()
                    .map(|q| format!("/{q}/"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        })
        .collect::<Vec<_>>()
        .join(" or ")
}
