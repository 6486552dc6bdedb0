//! The 12-digit citizen identification number (Căn cước / CCCD). Since 1 July 2025 it is
//! also the person's tax code.
//!
//! Layout: `PPP G YY NNNNNN`: place of registration (3 digits from the official list),
//! century-and-sex digit (0/1: 1900s, 2/3: 2000s, 4/5: 2100s, 6/7: 2200s, 8/9: 2300s;
//! even male, odd female), the last two digits of the birth year, and a 6-digit serial.
//!
//! A `NationalId` never prints itself in full: `Display` and `Debug` show the masked form.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use super::places::place_name;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NationalId(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
}

/// What a citizen ID says about its holder, for pre-checks and display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NationalIdParts {
    /// Masked number, safe to show.
    pub masked: String,
    pub place_code: String,
    pub place_name: String,
    pub sex: Sex,
    pub birth_year: i32,
}

/// Which part of a citizen ID is wrong, in words a seller understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NationalIdError {
    #[error("is required")]
    Empty,
    #[error("must be 12 digits (it has {0})")]
    Length(usize),
    #[error("must contain only digits")]
    NotDigits,
    #[error(
        "starts with {0}, which is not a place-of-registration code (the first 3 digits name the province, e.g. 001 Hà Nội, 079 Hồ Chí Minh)"
    )]
    UnknownPlace(String),
    #[error(
        "says the holder was born in {id_year}, but the birth date given is in {given_year} (digits 4 to 6 encode century, sex and birth year)"
    )]
    BirthYearMismatch { id_year: i32, given_year: i32 },
}

impl NationalId {
    /// Accepts digits with optional spaces, dots or dashes between groups.
    pub fn parse(input: &str) -> Result<Self, NationalIdError> {
        let compact: String = input
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-'))
            .collect();
        if compact.is_empty() {
            return Err(NationalIdError::Empty);
        }
        if !compact.chars().all(|c| c.is_ascii_digit()) {
            return Err(NationalIdError::NotDigits);
        }
        if compact.len() != 12 {
            return Err(NationalIdError::Length(compact.len()));
        }
        if place_name(&compact[..3]).is_none() {
            return Err(NationalIdError::UnknownPlace(compact[..3].to_string()));
        }
        Ok(NationalId(compact))
    }

    /// Parses and checks that the encoded birth year agrees with `birth_date`.
    pub fn parse_for(input: &str, birth_date: NaiveDate) -> Result<Self, NationalIdError> {
        let id = Self::parse(input)?;
        let id_year = id.birth_year();
        if id_year != birth_date.year() {
            return Err(NationalIdError::BirthYearMismatch {
                id_year,
                given_year: birth_date.year(),
            });
        }
        Ok(id)
    }

    fn digit(&self, index: usize) -> u8 {
        self.0.as_bytes()[index] - b'0'
    }

    pub fn birth_year(&self) -> i32 {
        let century = 1900 + 100 * i32::from(self.digit(3) / 2);
        century + i32::from(self.digit(4)) * 10 + i32::from(self.digit(5))
    }

    pub fn sex(&self) -> Sex {
        if self.digit(3).is_multiple_of(2) {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// `001*******89`: place code and last two digits, the rest hidden.
    pub fn masked(&self) -> String {
        format!("{}*******{}", &self.0[..3], &self.0[10..])
    }

    /// The full number: only for sealing, blind indexes, registry calls and audited reveals.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn parts(&self) -> NationalIdParts {
        let place_code = self.0[..3].to_string();
        NationalIdParts {
            masked: self.masked(),
            place_name: place_name(&place_code).unwrap_or_default().to_string(),
            place_code,
            sex: self.sex(),
            birth_year: self.birth_year(),
        }
    }
}

impl fmt::Display for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NationalId({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_place_sex_and_birth_year() {
        let id = NationalId::parse("079 2 03 012345").expect("valid");
        assert_eq!(id.birth_year(), 2003);
        assert_eq!(id.sex(), Sex::Male);
        let parts = id.parts();
        assert_eq!(parts.place_name, "Hồ Chí Minh");
        assert_eq!(parts.masked, "079*******45");
        let woman = NationalId::parse("001195000089").expect("valid");
        assert_eq!((woman.birth_year(), woman.sex()), (1995, Sex::Female));
    }

    #[test]
    fn never_prints_in_full() {
        let id = NationalId::parse("001195000089").expect("valid");
        assert_eq!(format!("{id}"), "001*******89");
        assert_eq!(format!("{id:?}"), "NationalId(001*******89)");
    }

    #[test]
    fn says_which_part_is_wrong() {
        assert_eq!(NationalId::parse(""), Err(NationalIdError::Empty));
        assert_eq!(
            NationalId::parse("07920301234"),
            Err(NationalIdError::Length(11))
        );
        assert_eq!(
            NationalId::parse("07920301234a"),
            Err(NationalIdError::NotDigits)
        );
        assert_eq!(
            NationalId::parse("003203012345"),
            Err(NationalIdError::UnknownPlace("003".into()))
        );
        assert_eq!(
            NationalId::parse("097203012345"),
            Err(NationalIdError::UnknownPlace("097".into()))
        );
    }

    #[test]
    fn birth_date_must_agree_with_century_and_year() {
        let date = NaiveDate::from_ymd_opt(1903, 5, 1).expect("date");
        assert_eq!(
            NationalId::parse_for("079203012345", date),
            Err(NationalIdError::BirthYearMismatch {
                id_year: 2003,
                given_year: 1903
            })
        );
        let date = NaiveDate::from_ymd_opt(2003, 5, 1).expect("date");
        assert!(NationalId::parse_for("079203012345", date).is_ok());
    }

    proptest! {
        #[test]
        fn every_valid_layout_parses_and_round_trips(
            place in proptest::sample::select(super::super::places::PLACES.iter().map(|(c, _)| *c).collect::<Vec<_>>()),
            g in 0u8..10, yy in 0u8..100, serial in 0u32..1_000_000,
        ) {
            let text = format!("{place}{g}{yy:02}{serial:06}");
            let id = NationalId::parse(&text).expect("valid layout");
            prop_assert_eq!(id.expose(), text.as_str());
            prop_assert_eq!(id.birth_year(), 1900 + 100 * i32::from(g / 2) + i32::from(yy));
            prop_assert!(!id.masked().contains(&text[3..10]));
        }

        #[test]
        fn parse_never_panics(input in ".{0,30}") {
            let _ = NationalId::parse(&input);
        }
    }
}
