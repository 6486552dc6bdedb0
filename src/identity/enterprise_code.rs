//! Enterprise codes (mã số doanh nghiệp), which are also the enterprise's tax code: 10
//! digits, the last a check digit; a branch or dependent unit adds a 3-digit suffix,
//! written `XXXXXXXXXX-YYY` (or run together as 13 digits).
//!
//! Check digit: N10 = 10 − (31·N1 + 29·N2 + 23·N3 + 19·N4 + 17·N5 + 13·N6 + 7·N7 + 5·N8 +
//! 3·N9) mod 11; a result of 10 means no valid code has those nine digits.

use std::fmt;

use serde::Serialize;
use utoipa::ToSchema;

const WEIGHTS: [u32; 9] = [31, 29, 23, 19, 17, 13, 7, 5, 3];

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EnterpriseCode {
    base: String,
    branch: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EnterpriseCodeParts {
    /// Normalised form: `0100109106` or `0100109106-001`.
    pub normalized: String,
    /// The 10-digit code of the enterprise (the parent, for a branch).
    pub enterprise: String,
    /// Branch or dependent-unit suffix, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnterpriseCodeError {
    #[error("is required")]
    Empty,
    #[error("may contain only digits and one dash before a 3-digit branch suffix")]
    BadCharacter,
    #[error("must be 10 digits, or 13 for a branch (it has {0})")]
    Length(usize),
    #[error(
        "has a wrong check digit: the 10th digit should be {expected}, not {found}; check for a typing error"
    )]
    CheckDigit { expected: u32, found: u32 },
    #[error("cannot be valid: no check digit fits its first nine digits; check for a typing error")]
    NoCheckDigit,
    #[error("has branch suffix 000, which no branch has")]
    ZeroBranch,
    #[error("cannot be valid: its 3rd to 9th digits are all zero, a sequence never assigned")]
    ZeroSequence,
}

/// The check digit for nine digits, or `None` when no digit fits.
pub fn check_digit(first_nine: &[u32; 9]) -> Option<u32> {
    let sum: u32 = first_nine.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    let digit = 10 - sum % 11;
    (digit < 10).then_some(digit)
}

impl EnterpriseCode {
    pub fn parse(input: &str) -> Result<Self, EnterpriseCodeError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(EnterpriseCodeError::Empty);
        }
        // Only ASCII digits and dashes from here on, so byte slicing is safe.
        if !text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return Err(EnterpriseCodeError::BadCharacter);
        }
        let (base, branch) = match text.split_once('-') {
            Some((base, branch)) => (base, Some(branch)),
            None if text.len() == 13 => (&text[..10], Some(&text[10..])),
            None => (text, None),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(base) || !branch.is_none_or(all_digits) {
            return Err(EnterpriseCodeError::BadCharacter);
        }
        let length = base.len() + branch.map_or(0, str::len);
        if base.len() != 10 || branch.is_some_and(|b| b.len() != 3) {
            return Err(EnterpriseCodeError::Length(length));
        }
        if branch == Some("000") {
            return Err(EnterpriseCodeError::ZeroBranch);
        }
        // The 3rd to 9th digits are the enterprise's sequence number, assigned from 0000001.
        if base.as_bytes()[2..9].iter().all(|b| *b == b'0') {
            return Err(EnterpriseCodeError::ZeroSequence);
        }
        let digits: Vec<u32> = base.bytes().map(|b| u32::from(b - b'0')).collect();
        let mut first_nine = [0u32; 9];
        first_nine.copy_from_slice(&digits[..9]);
        match check_digit(&first_nine) {
            None => Err(EnterpriseCodeError::NoCheckDigit),
            Some(expected) if expected != digits[9] => Err(EnterpriseCodeError::CheckDigit {
                expected,
                found: digits[9],
            }),
            Some(_) => Ok(EnterpriseCode {
                base: base.to_string(),
                branch: branch.map(str::to_string),
            }),
        }
    }

    /// The 10-digit code of the enterprise itself (the parent of a branch).
    pub fn enterprise(&self) -> &str {
        &self.base
    }

    pub fn branch(&self) -> Option<&str> {
        self.branch.as_deref()
    }

    pub fn normalized(&self) -> String {
        match &self.branch {
            Some(b) => format!("{}-{b}", self.base),
            None => self.base.clone(),
        }
    }

    pub fn parts(&self) -> EnterpriseCodeParts {
        EnterpriseCodeParts {
            normalized: self.normalized(),
            enterprise: self.base.clone(),
            branch: self.branch.clone(),
        }
    }
}

impl fmt::Display for EnterpriseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized())
    }
}

impl fmt::Debug for EnterpriseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnterpriseCode({})", self.normalized())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn published_codes_are_valid() {
        // Codes printed on public invoices and registrations.
        for code in ["0100109106", "0300588569", "0100100079", "0101243150"] {
            assert!(EnterpriseCode::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn branch_forms_normalise_to_one() {
        let dashed = EnterpriseCode::parse(" 0100109106-001 ").expect("valid");
        let run = EnterpriseCode::parse("0100109106001").expect("valid");
        assert_eq!(dashed, run);
        assert_eq!(run.normalized(), "0100109106-001");
        assert_eq!(run.enterprise(), "0100109106");
        assert_eq!(run.branch(), Some("001"));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(EnterpriseCode::parse(""), Err(EnterpriseCodeError::Empty));
        assert_eq!(
            EnterpriseCode::parse("01001091"),
            Err(EnterpriseCodeError::Length(8))
        );
        assert_eq!(
            EnterpriseCode::parse("010010910A"),
            Err(EnterpriseCodeError::BadCharacter)
        );
        assert_eq!(
            EnterpriseCode::parse("0100109106/001"),
            Err(EnterpriseCodeError::BadCharacter)
        );
        assert_eq!(
            EnterpriseCode::parse("0100109107"),
            Err(EnterpriseCodeError::CheckDigit {
                expected: 6,
                found: 7
            })
        );
        assert_eq!(
            EnterpriseCode::parse("0100109106-000"),
            Err(EnterpriseCodeError::ZeroBranch)
        );
        assert_eq!(
            EnterpriseCode::parse("0100109106-01"),
            Err(EnterpriseCodeError::Length(12))
        );
    }

    #[test]
    fn an_all_zero_sequence_is_never_a_tax_code() {
        // 01 (province) + 0000000: the check digit fits (10 − 29 mod 11 = 3), but no
        // enterprise is ever given sequence 0000000.
        assert_eq!(check_digit(&[0, 1, 0, 0, 0, 0, 0, 0, 0]), Some(3));
        assert_eq!(
            EnterpriseCode::parse("0100000003"),
            Err(EnterpriseCodeError::ZeroSequence)
        );
        assert_eq!(
            EnterpriseCode::parse("0100000003-001"),
            Err(EnterpriseCodeError::ZeroSequence)
        );
        assert_eq!(
            EnterpriseCode::parse("0100000003001"),
            Err(EnterpriseCodeError::ZeroSequence)
        );
        assert!(
            EnterpriseCode::parse("0100000003")
                .unwrap_err()
                .to_string()
                .contains("3rd to 9th digits are all zero")
        );
        // Any other sequence with its check digit is fine.
        assert!(EnterpriseCode::parse("0100109106").is_ok());
    }

    #[test]
    fn nine_digits_without_a_check_digit_are_refused() {
        // 31+29+23+19+17+13+7+5+3 = 147 = 4 mod 11 … search for a sum ≡ 0 (mod 11).
        let nine = (0..1_000_000_000u32)
            .step_by(7919)
            .map(|n| {
                let s = format!("{n:09}");
                let mut d = [0u32; 9];
                for (i, b) in s.bytes().enumerate() {
                    d[i] = u32::from(b - b'0');
                }
                (s, d)
            })
            .find(|(_, d)| check_digit(d).is_none() && d[2..].iter().any(|x| *x != 0))
            .expect("such digits exist");
        assert_eq!(
            EnterpriseCode::parse(&format!("{}0", nine.0)),
            Err(EnterpriseCodeError::NoCheckDigit)
        );
    }

    proptest! {
        #[test]
        fn any_nine_digits_with_their_check_digit_parse(n in 0u32..1_000_000_000) {
            let s = format!("{n:09}");
            let mut d = [0u32; 9];
            for (i, b) in s.bytes().enumerate() { d[i] = u32::from(b - b'0'); }
            if let Some(c) = check_digit(&d).filter(|_| d[2..9].iter().any(|x| *x != 0)) {
                let code = format!("{s}{c}");
                prop_assert_eq!(EnterpriseCode::parse(&code).map(|e| e.normalized()), Ok(code.clone()));
                let wrong = format!("{s}{}", (c + 1) % 10);
                prop_assert!(EnterpriseCode::parse(&wrong).is_err());
            }
        }

        #[test]
        fn parse_never_panics(input in ".{0,20}") {
            let _ = EnterpriseCode::parse(&input);
        }
    }
}
