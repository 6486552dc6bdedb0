//! GS1 element strings: human-readable `(01)09501101020917(17)260531(10)AB12` and raw data
//! as a scanner reports it (`0109501101020917172605311 0AB12` with GS, 0x1D, after each
//! variable-length value), optionally behind a symbology identifier (`]C1`, `]d2`, `]Q3`,
//! `]e0`).

use super::CodeError;
use super::ai::{self, Ai};
use super::gs1::validate;

/// Group separator (FNC1 in transmitted data).
pub const GS: char = '\u{1d}';

/// Symbology identifiers of GS1 carriers: GS1-128, GS1 DataMatrix, GS1 QR, GS1 DataBar.
const SYMBOLOGY_IDS: &[&str] = &["]C1", "]d2", "]Q3", "]e0", "]J1"];

/// AI and value pairs in the order given.
pub type Elements = Vec<(&'static Ai, String)>;

/// Whether the text looks like an element string (rather than a URI or a plain key).
pub fn looks_like(input: &str) -> bool {
    input.starts_with('(')
        || input.contains(GS)
        || SYMBOLOGY_IDS.iter().any(|s| input.starts_with(s))
}

/// Parses either form, validating every value.
pub fn parse(input: &str, reference_year: i32) -> Result<Elements, CodeError> {
    let input = SYMBOLOGY_IDS
        .iter()
        .find_map(|s| input.strip_prefix(s))
        .unwrap_or(input);
    let elements = if input.starts_with('(') {
        parse_bracketed(input)?
    } else {
        parse_raw(input)?
    };
    for (ai, value) in &elements {
        validate(ai, value, reference_year).map_err(|message| CodeError::Invalid {
            part: format!("({})", ai.code),
            message,
        })?;
    }
    for (at, (ai, _)) in elements.iter().enumerate() {
        // Table entries are unique statics: identity is equality.
        if elements[..at]
            .iter()
            .any(|(seen, _)| std::ptr::eq(*seen, *ai))
        {
            return Err(CodeError::Invalid {
                part: format!("({})", ai.code),
                message: format!("({}) appears twice", ai.code),
            });
        }
    }
    Ok(elements)
}

fn unknown(code: &str) -> CodeError {
    CodeError::Invalid {
        part: format!("({code})"),
        message: format!("({code}) is not an Application Identifier tracegate reads"),
    }
}

fn parse_bracketed(input: &str) -> Result<Elements, CodeError> {
    let mut elements = Vec::with_capacity(4);
    let mut rest = input;
    while !rest.is_empty() {
        let body = rest.strip_prefix('(').ok_or_else(|| CodeError::Invalid {
            part: "element string".into(),
            message: format!("expected \"(\" to start an AI at {rest:?}"),
        })?;
        let close = body.find(')').ok_or_else(|| CodeError::Invalid {
            part: "element string".into(),
            message: "an AI in brackets is not closed with \")\"".into(),
        })?;
        let code = &body[..close];
        let ai = ai::lookup(code).ok_or_else(|| unknown(code))?;
        let after = &body[close + 1..];
        let end = after.find('(').unwrap_or(after.len());
        let value = &after[..end];
        if value.is_empty() {
            return Err(CodeError::Invalid {
                part: format!("({code})"),
                message: format!("({code}) has no value"),
            });
        }
        elements.push((ai, value.to_string()));
        rest = &after[end..];
    }
    Ok(elements)
}

fn parse_raw(input: &str) -> Result<Elements, CodeError> {
    let mut elements = Vec::with_capacity(4);
    let mut rest = input.trim_start_matches(GS);
    while !rest.is_empty() {
        let ai = ai::at_start(rest).ok_or_else(|| {
            let head: String = rest.chars().take(4).collect();
            CodeError::Invalid {
                part: "element string".into(),
                message: format!("no known Application Identifier at {head:?}"),
            }
        })?;
        let data = &rest[ai.code.len()..];
        let (value, next) = match ai.fixed_length().filter(|_| ai.fixed) {
            Some(len) => {
                if data.len() < len || !data.is_char_boundary(len) {
                    return Err(CodeError::Invalid {
                        part: format!("({})", ai.code),
                        message: format!(
                            "({}) {} needs {len} digits, found {}",
                            ai.code,
                            ai.title,
                            data.len()
                        ),
                    });
                }
                data.split_at(len)
            }
            None => match data.find(GS) {
                Some(at) => (&data[..at], &data[at..]),
                None => (data, ""),
            },
        };
        elements.push((ai, value.to_string()));
        rest = next.trim_start_matches(GS);
    }
    Ok(elements)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(elements: &Elements) -> Vec<(&str, &str)> {
        elements
            .iter()
            .map(|(ai, v)| (ai.code, v.as_str()))
            .collect()
    }

    #[test]
    fn bracketed_form_from_the_gs1_examples() {
        let e = parse("(01)09501101020917(17)260531(10)AB-123", 2026).expect("valid");
        assert_eq!(
            codes(&e),
            vec![("01", "09501101020917"), ("17", "260531"), ("10", "AB-123")]
        );
    }

    #[test]
    fn raw_form_with_separators_and_symbology_identifier() {
        let raw = format!("]d201095011010209171726053110AB-123{GS}21XYZ987");
        let e = parse(&raw, 2026).expect("valid");
        assert_eq!(
            codes(&e),
            vec![
                ("01", "09501101020917"),
                ("17", "260531"),
                ("10", "AB-123"),
                ("21", "XYZ987")
            ]
        );
    }

    #[test]
    fn measures_are_fixed_length() {
        let e = parse("0109501101020917310300125010LOT7", 2026).expect("valid");
        assert_eq!(
            codes(&e),
            vec![("01", "09501101020917"), ("3103", "001250"), ("10", "LOT7")]
        );
    }

    #[test]
    fn errors_name_the_ai_at_fault() {
        let err = parse("(01)09501101020918", 2026).unwrap_err();
        assert!(
            matches!(&err, CodeError::Invalid { part, .. } if part == "(01)"),
            "{err}"
        );
        assert!(err.to_string().contains("check digit"), "{err}");
        assert!(
            parse("(99)1234", 2026)
                .unwrap_err()
                .to_string()
                .contains("(99)")
        );
        assert!(
            parse("(01)09501101020917(01)09501101020917", 2026)
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert!(parse("(01", 2026).is_err());
        assert!(
            parse("(10)", 2026)
                .unwrap_err()
                .to_string()
                .contains("no value")
        );
        assert!(
            parse("01095011010209", 2026)
                .unwrap_err()
                .to_string()
                .contains("needs 14")
        );
    }
}
