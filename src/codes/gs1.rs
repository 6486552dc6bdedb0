//! GS1 values: check digits, GTINs, dates, and validation of one AI's data against its
//! components.

use chrono::{Datelike, NaiveDate};

use super::ai::{Ai, Charset, Check};

/// GS1 mod-10 check digit of the digits before it (weights 3 and 1 from the right).
pub fn check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Whether the last digit of `digits` is the GS1 check digit of the rest.
pub fn has_valid_check_digit(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    match bytes.split_last() {
        Some((last, rest)) if bytes.iter().all(u8::is_ascii_digit) => {
            check_digit(rest) == last - b'0'
        }
        _ => false,
    }
}

/// A GTIN, always held as 14 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gtin(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GtinError {
    #[error("a GTIN has 8, 12, 13 or 14 digits (this has {0})")]
    Length(usize),
    #[error("a GTIN has only digits")]
    NotDigits,
    #[error("the check digit is wrong: it should be {expected}, not {found}")]
    CheckDigit { expected: u8, found: u8 },
}

impl Gtin {
    pub fn parse(input: &str) -> Result<Self, GtinError> {
        let digits = input.trim();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(GtinError::NotDigits);
        }
        if ![8, 12, 13, 14].contains(&digits.len()) {
            return Err(GtinError::Length(digits.len()));
        }
        let bytes = digits.as_bytes();
        let (last, rest) = bytes.split_last().ok_or(GtinError::Length(0))?;
        let expected = check_digit(rest);
        if expected != last - b'0' {
            return Err(GtinError::CheckDigit {
                expected,
                found: last - b'0',
            });
        }
        let mut normalised = String::with_capacity(14);
        normalised.extend(std::iter::repeat_n('0', 14 - digits.len()));
        normalised.push_str(digits);
        Ok(Gtin(normalised))
    }

    /// The 14-digit form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the GTIN falls inside a GS1 company prefix (as licensed).
    pub fn in_company_prefix(&self, prefix: &str) -> bool {
        // The prefix follows the indicator digit (GTIN-14) or the leading zeros of
        // shorter GTINs: compare against the 13 digits after the indicator.
        self.0[1..].starts_with(prefix)
    }
}

/// Resolves YYMMDD to a date with GS1's century rule (General Specifications 7.12): a year
/// more than 50 years ahead of `reference_year` is in the previous century, one more than 49
/// years behind in the next. Day 00 means the last day of the month.
pub fn resolve_date(yymmdd: &str, reference_year: i32) -> Option<NaiveDate> {
    if yymmdd.len() != 6 || !yymmdd.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let yy: i32 = yymmdd[0..2].parse().ok()?;
    let mm: u32 = yymmdd[2..4].parse().ok()?;
    let dd: u32 = yymmdd[4..6].parse().ok()?;
    let current = reference_year.rem_euclid(100);
    let century = reference_year - current;
    let diff = yy - current;
    let year = if diff >= 51 {
        century - 100 + yy
    } else if diff <= -50 {
        century + 100 + yy
    } else {
        century + yy
    };
    if dd == 0 {
        let first = NaiveDate::from_ymd_opt(year, mm, 1)?;
        let next = if mm == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year, mm + 1, 1)?
        };
        return next.pred_opt().filter(|d| d.month() == first.month());
    }
    NaiveDate::from_ymd_opt(year, mm, dd)
}

/// GS1 AI encodable character set 82.
fn is_cset82(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!\"%&'()*+,-./:;<=>?_".contains(&b)
}

/// GS1 AI encodable character set 39.
fn is_cset39(b: u8) -> bool {
    b.is_ascii_digit() || b.is_ascii_uppercase() || matches!(b, b'#' | b'-' | b'/')
}

/// Checks `value` against the AI's components; the error says what is wrong.
pub fn validate(ai: &Ai, value: &str, reference_year: i32) -> Result<(), String> {
    // Every GS1 character set is a subset of ASCII, so lengths below are byte counts.
    if let Some(c) = value.chars().find(|c| !c.is_ascii()) {
        return Err(format!(
            "({}) {}: {c:?} is not a character GS1 allows",
            ai.code, ai.title
        ));
    }
    let mut rest = value;
    for (index, component) in ai.components.iter().enumerate() {
        if rest.is_empty() && component.optional {
            break;
        }
        let (min, max) = (usize::from(component.min), usize::from(component.max));
        if rest.len() < min {
            return Err(format!(
                "({}) {} needs {min} characters here, found {}",
                ai.code,
                ai.title,
                rest.len()
            ));
        }
        let (part, tail) = rest.split_at(rest.len().min(max));
        rest = tail;
        let charset_ok = match component.charset {
            Charset::N => part.bytes().all(|b| b.is_ascii_digit()),
            Charset::X => part.bytes().all(is_cset82),
            Charset::Y => part.bytes().all(is_cset39),
        };
        if !charset_ok {
            let kind = match component.charset {
                Charset::N => "only digits",
                Charset::X => "letters, digits and GS1's allowed punctuation only",
                Charset::Y => "digits, capital letters, # - / only",
            };
            return Err(format!("({}) {} takes {kind}: {part:?}", ai.code, ai.title));
        }
        let ok = match component.check {
            Check::None => true,
            Check::CheckDigit => has_valid_check_digit(part),
            Check::DateDayZero => resolve_date(part, reference_year).is_some(),
            Check::Date => {
                part.get(4..6) != Some("00") && resolve_date(part, reference_year).is_some()
            }
            Check::Time => {
                matches!((part[..2].parse::<u32>(), part[2..].parse::<u32>()), (Ok(h), Ok(m)) if h < 24 && m < 60)
            }
            Check::Country => part != "000",
            Check::Zero => part == "0",
            Check::PieceOfTotal => {
                matches!((part[..2].parse::<u32>(), part[2..].parse::<u32>()), (Ok(p), Ok(t)) if p >= 1 && t >= 1 && p <= t)
            }
        };
        if !ok {
            let what = match component.check {
                Check::CheckDigit => "its check digit is wrong",
                Check::DateDayZero | Check::Date => "it is not a valid date YYMMDD",
                Check::Time => "it is not a valid time HHMM",
                Check::Country => "it is not an ISO 3166 country code",
                Check::Zero => "it must be 0",
                Check::PieceOfTotal => "piece and total must be 01–99 with piece ≤ total",
                Check::None => "it is malformed",
            };
            return Err(format!(
                "({}) {}: {what} (component {} of {part:?})",
                ai.code,
                ai.title,
                index + 1
            ));
        }
    }
    if !rest.is_empty() {
        return Err(format!(
            "({}) {} is at most {} characters; {:?} is too long",
            ai.code,
            ai.title,
            ai.max_length(),
            value
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::ai::lookup;
    use proptest::prelude::*;

    #[test]
    fn gs1_worked_examples() {
        // GS1 General Specifications check digit example.
        assert_eq!(check_digit(b"629104150021"), 3);
        assert!(Gtin::parse("09501101020917").is_ok());
        assert_eq!(
            Gtin::parse("9501101020917").map(|g| g.0),
            Ok("09501101020917".into())
        );
        assert_eq!(
            Gtin::parse("96385074").map(|g| g.0),
            Ok("00000096385074".into())
        );
        assert_eq!(
            Gtin::parse("614141000036").map(|g| g.0),
            Ok("00614141000036".into())
        );
    }

    #[test]
    fn gtin_errors_say_what_is_wrong() {
        assert_eq!(
            Gtin::parse("09501101020918"),
            Err(GtinError::CheckDigit {
                expected: 7,
                found: 8
            })
        );
        assert_eq!(
            Gtin::parse("0950110102091"),
            Err(GtinError::CheckDigit {
                expected: 8,
                found: 1
            })
        );
        assert_eq!(Gtin::parse("123"), Err(GtinError::Length(3)));
        assert_eq!(Gtin::parse("0950110102091A"), Err(GtinError::NotDigits));
    }

    #[test]
    fn century_rule_and_day_zero() {
        assert_eq!(
            resolve_date("260531", 2026),
            NaiveDate::from_ymd_opt(2026, 5, 31)
        );
        assert_eq!(
            resolve_date("770101", 2026),
            NaiveDate::from_ymd_opt(1977, 1, 1),
            "51 ahead is the previous century"
        );
        assert_eq!(
            resolve_date("780101", 2026),
            NaiveDate::from_ymd_opt(1978, 1, 1)
        );
        assert_eq!(
            resolve_date("760101", 2026),
            NaiveDate::from_ymd_opt(2076, 1, 1)
        );
        assert_eq!(
            resolve_date("990101", 2049),
            NaiveDate::from_ymd_opt(2099, 1, 1)
        );
        assert_eq!(
            resolve_date("000101", 2050),
            NaiveDate::from_ymd_opt(2100, 1, 1)
        );
        assert_eq!(
            resolve_date("240200", 2026),
            NaiveDate::from_ymd_opt(2024, 2, 29),
            "leap February"
        );
        assert_eq!(resolve_date("251300", 2026), None);
        assert_eq!(resolve_date("250231", 2026), None);
    }

    #[test]
    fn values_are_checked_against_their_ai() {
        let year = 2026;
        let ai = |c| lookup(c).expect("known AI");
        assert!(validate(ai("01"), "09501101020917", year).is_ok());
        assert!(
            validate(ai("01"), "09501101020918", year)
                .unwrap_err()
                .contains("check digit")
        );
        assert!(validate(ai("10"), "ABC-123/x", year).is_ok());
        assert!(
            validate(ai("10"), "ABC 123", year)
                .unwrap_err()
                .contains("punctuation")
        );
        assert!(
            validate(ai("10"), &"A".repeat(21), year)
                .unwrap_err()
                .contains("at most 20")
        );
        assert!(
            validate(ai("17"), "261300", year)
                .unwrap_err()
                .contains("date")
        );
        assert!(validate(ai("17"), "260500", year).is_ok());
        assert!(validate(ai("422"), "704", year).is_ok());
        assert!(validate(ai("8003"), "09501101530003XYZ", year).is_ok());
        assert!(validate(ai("8006"), "095011010209170102", year).is_ok());
        assert!(validate(ai("8006"), "095011010209170302", year).is_err());
        assert!(validate(ai("7003"), "2605312359", year).is_ok());
        assert!(validate(ai("7003"), "2605312460", year).is_err());
        assert!(validate(ai("8010"), "ABC#-/1", year).is_ok());
        assert!(validate(ai("8010"), "abc", year).is_err());
        assert!(
            validate(ai("10"), "LÔ-1", year)
                .unwrap_err()
                .contains("'Ô' is not a character GS1 allows")
        );
        assert!(
            validate(ai("17"), "2605", year)
                .unwrap_err()
                .contains("needs 6 characters here, found 4")
        );
    }

    proptest! {
        #[test]
        fn every_body_with_its_check_digit_is_a_gtin(body in "[0-9]{12}") {
            let digit = check_digit(body.as_bytes());
            let gtin = format!("{body}{digit}");
            prop_assert_eq!(Gtin::parse(&gtin).map(|g| g.0), Ok(format!("0{gtin}")));
            let wrong = format!("{body}{}", (digit + 1) % 10);
            prop_assert!(Gtin::parse(&wrong).is_err());
        }
    }
}
