//! GS1 element strings: human-readable `(01)09501101020917(17)260531(10)AB12` and raw data
//! as a scanner reports it (`010950110102091717260531` `10AB12` with GS, 0x1D, after each
//! value whose length is not pre-defined), optionally behind a symbology identifier.
//!
//! Raw data follows the GS1 General Specifications (§7.8): an AI with a pre-defined length
//! (the dictionary's `*` flag) takes exactly that many characters; any other value runs to
//! the next GS or to the end of the data, so the last one needs no separator and a value
//! is never cut short because what follows looks like another AI.

use super::ai::{self, Ai};
use super::gs1::validate;
use super::{CodeError, Reading};

/// Group separator (FNC1 in transmitted data).
pub const GS: u8 = 0x1d;

fn invalid(part: impl Into<String>, message: impl Into<String>) -> CodeError {
    CodeError::Invalid {
        part: part.into(),
        message: message.into(),
    }
}

fn ai_part(ai: &Ai) -> String {
    format!("({})", ai.code())
}

/// The first character a GS1 element string cannot hold (anything but printable ASCII and
/// GS), for an error that names it.
pub(crate) fn first_foreign_char(input: &str) -> Option<char> {
    input
        .chars()
        .find(|c| !(c.is_ascii_graphic() || *c == '\u{1d}'))
}

/// Parses `(AI)value(AI)value…`. A `(` inside a value is written `\(`.
pub(crate) fn parse_bracketed(input: &str, reading: &mut Reading) -> Result<(), CodeError> {
    let bytes = input.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'(' {
            return Err(invalid(
                "element string",
                format!("expected \"(\" to start an AI at {:?}", shown(&input[at..])),
            ));
        }
        let close = bytes[at + 1..]
            .iter()
            .position(|b| *b == b')')
            .map(|p| at + 1 + p)
            .ok_or_else(|| {
                invalid(
                    "element string",
                    "an AI in brackets is not closed with \")\"",
                )
            })?;
        let code = &input[at + 1..close];
        let ai = ai::lookup(code).ok_or_else(|| unknown(code))?;
        let start = reading.text.len();
        let mut i = close + 1;
        loop {
            let end = bytes[i..]
                .iter()
                .position(|b| *b == b'(')
                .map_or(bytes.len(), |p| i + p);
            // `\(` is a `(` inside the value; copy up to it and go on past the bracket.
            if end > i && bytes[end - 1] == b'\\' && end < bytes.len() {
                reading.text.push_str(&input[i..end - 1]);
                reading.text.push('(');
                i = end + 1;
                continue;
            }
            reading.text.push_str(&input[i..end]);
            i = end;
            break;
        }
        if reading.text.len() == start {
            return Err(invalid(
                ai_part(ai),
                format!("({}) {} has no value", ai.code(), ai.title),
            ));
        }
        reading.push(ai, start)?;
        at = i;
    }
    Ok(())
}

fn shown(text: &str) -> String {
    text.chars().take(12).collect()
}

fn unknown(code: &str) -> CodeError {
    let message = if !code.is_empty() && code.len() <= 4 && code.bytes().all(|b| b.is_ascii_digit())
    {
        format!("({code}) is not an Application Identifier in GS1's syntax dictionary")
    } else {
        format!("({code}) is not an Application Identifier (2 to 4 digits)")
    };
    invalid(format!("({code})"), message)
}

/// Parses raw data: AIs and values run together, GS after values of no pre-defined length.
pub(crate) fn parse_raw(input: &str, reading: &mut Reading) -> Result<(), CodeError> {
    let bytes = input.as_bytes();
    let mut at = 0;
    loop {
        while bytes.get(at) == Some(&GS) {
            at += 1;
        }
        if at >= bytes.len() {
            break;
        }
        let rest = &bytes[at..];
        let ai = ai::at_start(rest).ok_or_else(|| {
            let head = shown(&input[at..]);
            if reading.items.is_empty() {
                invalid(
                    "element string",
                    format!("{head:?} does not start with a GS1 Application Identifier"),
                )
            } else {
                invalid(
                    "element string",
                    format!("no GS1 Application Identifier at {head:?} (after the value of the previous one)"),
                )
            }
        })?;
        let data_at = at + ai.code().len();
        let data = &bytes[data_at..];
        let len = if ai.predefined {
            let len = ai.max_length();
            let available = data.iter().take(len).take_while(|b| **b != GS).count();
            if available < len {
                return Err(invalid(
                    ai_part(ai),
                    format!(
                        "({}) {} has {len} characters, not {available}",
                        ai.code(),
                        ai.title
                    ),
                ));
            }
            len
        } else {
            let len = data.iter().position(|b| *b == GS).unwrap_or(data.len());
            if len > ai.max_length() {
                return Err(invalid(
                    ai_part(ai),
                    format!(
                        "({}) {} is at most {} characters, but its value runs on for {len} characters to the {}: a value of no pre-defined length ends only at a GS separator or at the end of the data",
                        ai.code(),
                        ai.title,
                        ai.max_length(),
                        if len == data.len() {
                            "end"
                        } else {
                            "next separator"
                        }
                    ),
                ));
            }
            len
        };
        if len == 0 {
            return Err(invalid(
                ai_part(ai),
                format!("({}) {} has no value", ai.code(), ai.title),
            ));
        }
        let start = reading.text.len();
        reading.text.push_str(&input[data_at..data_at + len]);
        reading.push(ai, start)?;
        at = data_at + len;
    }
    Ok(())
}

/// Checks every value against its AI, repeated AIs (the same value again is allowed, a
/// different one is not), and the dictionary's mandatory and forbidden pairings.
pub(crate) fn validate_reading(reading: &Reading, reference_year: i32) -> Result<(), CodeError> {
    for (at, (ai, value)) in reading.elements().enumerate() {
        validate(ai, value, reference_year).map_err(|message| invalid(ai_part(ai), message))?;
        if let Some((_, first)) = reading
            .elements()
            .take(at)
            .find(|(seen, seen_value)| std::ptr::eq(*seen, ai) && *seen_value != value)
        {
            return Err(invalid(
                ai_part(ai),
                format!(
                    "({}) {} appears twice with different values: {first:?} and {value:?}",
                    ai.code(),
                    ai.title
                ),
            ));
        }
    }
    ai::check_associations(reading.elements().map(|(ai, _)| ai)).map_err(|association| {
        let part = match &association {
            ai::Association::Missing { ai, .. } | ai::Association::Excluded { ai, .. } => {
                ai_part(ai)
            }
        };
        invalid(part, association.to_string())
    })
}
