//! The GS1 Application Identifiers tracegate reads, with their formats, lengths, checks
//! and GS1 Digital Link roles. Source of every fact here: GS1's Barcode Syntax Dictionary
//! (entries for the AIs listed), restated as our own table.

/// How one component of an AI's data is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    None,
    /// GS1 mod-10 check digit in the last position.
    CheckDigit,
    /// YYMMDD where DD may be 00 (meaning the last day of the month).
    DateDayZero,
    /// YYMMDD, a real day.
    Date,
    /// HHMI.
    Time,
    /// ISO 3166 numeric country code (3 digits).
    Country,
    /// A single `0`.
    Zero,
    /// Piece number and total (NNTT), piece ≤ total, neither zero.
    PieceOfTotal,
}

/// Character set of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// Digits.
    N,
    /// GS1 AI encodable character set 82.
    X,
    /// GS1 AI encodable character set 39 (digits, upper case, `#`, `-`, `/`).
    Y,
}

/// One component of an AI's data field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component {
    pub charset: Charset,
    pub min: u8,
    pub max: u8,
    pub check: Check,
    pub optional: bool,
}

const fn n(len: u8, check: Check) -> Component {
    Component {
        charset: Charset::N,
        min: len,
        max: len,
        check,
        optional: false,
    }
}
const fn n_var(max: u8) -> Component {
    Component {
        charset: Charset::N,
        min: 1,
        max,
        check: Check::None,
        optional: false,
    }
}
const fn n_opt(max: u8) -> Component {
    Component {
        charset: Charset::N,
        min: 1,
        max,
        check: Check::None,
        optional: true,
    }
}
const fn x(max: u8) -> Component {
    Component {
        charset: Charset::X,
        min: 1,
        max,
        check: Check::None,
        optional: false,
    }
}
const fn x_opt(max: u8) -> Component {
    Component {
        charset: Charset::X,
        min: 1,
        max,
        check: Check::None,
        optional: true,
    }
}
const fn y(max: u8) -> Component {
    Component {
        charset: Charset::Y,
        min: 1,
        max,
        check: Check::None,
        optional: false,
    }
}

/// An Application Identifier.
#[derive(Debug, Clone, Copy)]
pub struct Ai {
    pub code: &'static str,
    pub title: &'static str,
    pub components: &'static [Component],
    /// Pre-defined length: no FNC1/GS separator follows it in a raw element string.
    pub fixed: bool,
    /// May appear as a GS1 Digital Link query attribute.
    pub dl_attribute: bool,
    /// Primary key in GS1 Digital Link, with its alternative qualifier sequences.
    pub dl_key: Option<&'static [&'static [&'static str]]>,
}

impl Ai {
    /// Total length when every component has a fixed length.
    pub fn fixed_length(&self) -> Option<usize> {
        self.components.iter().try_fold(0usize, |sum, c| {
            (c.min == c.max && !c.optional).then_some(sum + usize::from(c.max))
        })
    }

    pub fn max_length(&self) -> usize {
        self.components.iter().map(|c| usize::from(c.max)).sum()
    }
}

const GTIN_QUALIFIERS: &[&[&str]] = &[&["22", "10", "21"], &["235"]];
const NO_QUALIFIERS: &[&[&str]] = &[&[]];

macro_rules! ai {
    ($code:literal, $title:literal, [$($c:expr),+], fixed: $fixed:literal, attr: $attr:literal) => {
        Ai { code: $code, title: $title, components: &[$($c),+], fixed: $fixed, dl_attribute: $attr, dl_key: None }
    };
    ($code:literal, $title:literal, [$($c:expr),+], fixed: $fixed:literal, attr: $attr:literal, key: $key:expr) => {
        Ai { code: $code, title: $title, components: &[$($c),+], fixed: $fixed, dl_attribute: $attr, dl_key: Some($key) }
    };
}

/// Every AI tracegate understands, sorted by code.
pub static AIS: &[Ai] = &[
    ai!("00", "SSCC", [n(18, Check::CheckDigit)], fixed: true, attr: true, key: NO_QUALIFIERS),
    ai!("01", "GTIN", [n(14, Check::CheckDigit)], fixed: true, attr: true, key: GTIN_QUALIFIERS),
    ai!("02", "CONTENT", [n(14, Check::CheckDigit)], fixed: true, attr: true),
    ai!("10", "BATCH/LOT", [x(20)], fixed: false, attr: true),
    ai!("11", "PROD DATE", [n(6, Check::DateDayZero)], fixed: true, attr: true),
    ai!("12", "DUE DATE", [n(6, Check::DateDayZero)], fixed: true, attr: true),
    ai!("13", "PACK DATE", [n(6, Check::DateDayZero)], fixed: true, attr: true),
    ai!("15", "BEST BEFORE or BEST BY", [n(6, Check::DateDayZero)], fixed: true, attr: true),
    ai!("16", "SELL BY", [n(6, Check::DateDayZero)], fixed: true, attr: true),
    ai!("17", "USE BY or EXPIRY", [n(6, Check::DateDayZero)], fixed: true, attr: true),
    ai!("20", "VARIANT", [n(2, Check::None)], fixed: true, attr: true),
    ai!("21", "SERIAL", [x(20)], fixed: false, attr: false),
    ai!("22", "CPV", [x(20)], fixed: false, attr: false),
    ai!("235", "TPX", [x(28)], fixed: false, attr: false),
    ai!("240", "ADDITIONAL ID", [x(30)], fixed: false, attr: true),
    ai!("241", "CUST. PART No.", [x(30)], fixed: false, attr: true),
    ai!("250", "SECONDARY SERIAL", [x(30)], fixed: false, attr: true),
    ai!("251", "REF. TO SOURCE", [x(30)], fixed: false, attr: true),
    ai!("253", "GDTI", [n(13, Check::CheckDigit), x_opt(17)], fixed: false, attr: true, key: NO_QUALIFIERS),
    ai!("254", "GLN EXTENSION COMPONENT", [x(20)], fixed: false, attr: false),
    ai!("255", "GCN", [n(13, Check::CheckDigit), n_opt(12)], fixed: false, attr: true, key: NO_QUALIFIERS),
    ai!("30", "VAR. COUNT", [n_var(8)], fixed: false, attr: true),
    ai!("37", "COUNT", [n_var(8)], fixed: false, attr: true),
    ai!("400", "ORDER NUMBER", [x(30)], fixed: false, attr: true),
    ai!("401", "GINC", [x(30)], fixed: false, attr: true, key: NO_QUALIFIERS),
    ai!("402", "GSIN", [n(17, Check::CheckDigit)], fixed: false, attr: true, key: NO_QUALIFIERS),
    ai!("410", "SHIP TO LOC", [n(13, Check::CheckDigit)], fixed: true, attr: true),
    ai!("411", "BILL TO", [n(13, Check::CheckDigit)], fixed: true, attr: true),
    ai!("412", "PURCHASE FROM", [n(13, Check::CheckDigit)], fixed: true, attr: true),
    ai!("413", "SHIP FOR LOC", [n(13, Check::CheckDigit)], fixed: true, attr: true),
    ai!("414", "LOC No.", [n(13, Check::CheckDigit)], fixed: true, attr: true, key: &[&["254"]]),
    ai!("415", "PAY TO", [n(13, Check::CheckDigit)], fixed: true, attr: true, key: &[&["8020"]]),
    ai!("416", "PROD/SERV LOC", [n(13, Check::CheckDigit)], fixed: true, attr: true),
    ai!("417", "PARTY", [n(13, Check::CheckDigit)], fixed: true, attr: true, key: NO_QUALIFIERS),
    ai!("422", "ORIGIN", [n(3, Check::Country)], fixed: false, attr: true),
    ai!("7003", "EXPIRY TIME", [n(6, Check::Date), n(4, Check::Time)], fixed: false, attr: true),
    ai!("8003", "GRAI", [n(1, Check::Zero), n(13, Check::CheckDigit), x_opt(16)], fixed: false, attr: true, key: NO_QUALIFIERS),
    ai!("8004", "GIAI", [x(30)], fixed: false, attr: true, key: NO_QUALIFIERS),
    ai!("8006", "ITIP", [n(14, Check::CheckDigit), n(4, Check::PieceOfTotal)], fixed: false, attr: true, key: &[&["22", "10", "21"]]),
    ai!("8010", "CPID", [y(30)], fixed: false, attr: true, key: NO_QUALIFIERS),
    ai!("8017", "GSRN - PROVIDER", [n(18, Check::CheckDigit)], fixed: false, attr: true, key: NO_QUALIFIERS),
    ai!("8018", "GSRN - RECIPIENT", [n(18, Check::CheckDigit)], fixed: false, attr: true, key: NO_QUALIFIERS),
    ai!("8020", "REF No.", [x(25)], fixed: false, attr: false),
    ai!("8200", "PRODUCT URL", [x(70)], fixed: false, attr: false),
];

/// Measures (31nn–36nn with the last digit the decimal point position 0–5): six digits,
/// pre-defined length. Their titles by the first three digits.
const MEASURES: &[(&str, &str)] = &[
    ("310", "NET WEIGHT (kg)"),
    ("311", "LENGTH (m)"),
    ("312", "WIDTH (m)"),
    ("313", "HEIGHT (m)"),
    ("314", "AREA (m²)"),
    ("315", "NET VOLUME (l)"),
    ("316", "NET VOLUME (m³)"),
    ("320", "NET WEIGHT (lb)"),
    ("330", "GROSS WEIGHT (kg)"),
    ("340", "GROSS WEIGHT (lb)"),
];

static MEASURE_AIS: std::sync::OnceLock<Vec<Ai>> = std::sync::OnceLock::new();

fn measures() -> &'static [Ai] {
    MEASURE_AIS.get_or_init(|| {
        const CODES: [&str; 60] = [
            "3100", "3101", "3102", "3103", "3104", "3105", "3110", "3111", "3112", "3113", "3114",
            "3115", "3120", "3121", "3122", "3123", "3124", "3125", "3130", "3131", "3132", "3133",
            "3134", "3135", "3140", "3141", "3142", "3143", "3144", "3145", "3150", "3151", "3152",
            "3153", "3154", "3155", "3160", "3161", "3162", "3163", "3164", "3165", "3200", "3201",
            "3202", "3203", "3204", "3205", "3300", "3301", "3302", "3303", "3304", "3305", "3400",
            "3401", "3402", "3403", "3404", "3405",
        ];
        CODES
            .iter()
            .map(|code| Ai {
                code,
                title: MEASURES
                    .iter()
                    .find(|(p, _)| code.starts_with(p))
                    .map_or("MEASURE", |(_, t)| t),
                components: &[Component {
                    charset: Charset::N,
                    min: 6,
                    max: 6,
                    check: Check::None,
                    optional: false,
                }],
                fixed: true,
                dl_attribute: true,
                dl_key: None,
            })
            .collect()
    })
}

/// Position of an all-digit code of 2 to 4 digits in a dense table: AIs are looked up for
/// every element of every code, so the look-up is one index instead of a string search.
fn slot(code: &str) -> Option<usize> {
    let bytes = code.as_bytes();
    if !(2..=4).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = bytes
        .iter()
        .fold(0usize, |v, d| v * 10 + usize::from(d - b'0'));
    Some(match bytes.len() {
        2 => value,
        3 => 100 + value,
        _ => 1100 + value,
    })
}

/// One slot for every code of 2, 3 and 4 digits.
const SLOTS: usize = 100 + 1_000 + 10_000;

static INDEX: std::sync::OnceLock<Vec<Option<&'static Ai>>> = std::sync::OnceLock::new();

fn index() -> &'static [Option<&'static Ai>] {
    INDEX.get_or_init(|| {
        let mut table = vec![None; SLOTS];
        for ai in AIS.iter().chain(measures()) {
            if let Some(at) = slot(ai.code) {
                table[at] = Some(ai);
            }
        }
        table
    })
}

/// The AI with this code.
pub fn lookup(code: &str) -> Option<&'static Ai> {
    slot(code).and_then(|at| index()[at])
}

/// The AI a raw element string starts with (AIs are prefix-free), and its length.
pub fn at_start(data: &str) -> Option<&'static Ai> {
    (2..=4).filter_map(|len| data.get(..len)).find_map(lookup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ai_is_found_by_its_own_code_only() {
        assert!(
            AIS.windows(2).all(|w| w[0].code < w[1].code),
            "sorted, unique"
        );
        for ai in AIS.iter().chain(measures()) {
            assert!(
                lookup(ai.code).is_some_and(|found| std::ptr::eq(found, ai)),
                "{}",
                ai.code
            );
        }
        for code in ["", "0", "99999", "1a", "(01)", "999", "9999"] {
            assert!(lookup(code).is_none(), "{code:?}");
        }
    }

    #[test]
    fn no_code_is_a_prefix_of_another() {
        let all: Vec<&str> = AIS
            .iter()
            .map(|a| a.code)
            .chain(measures().iter().map(|a| a.code))
            .collect();
        for a in &all {
            for b in &all {
                assert!(a == b || !b.starts_with(a), "{a} is a prefix of {b}");
            }
        }
    }

    #[test]
    fn lengths_follow_the_dictionary() {
        assert_eq!(lookup("01").and_then(Ai::fixed_length), Some(14));
        assert_eq!(lookup("00").and_then(Ai::fixed_length), Some(18));
        assert_eq!(lookup("10").map(Ai::max_length), Some(20));
        assert_eq!(lookup("3103").and_then(Ai::fixed_length), Some(6));
        assert_eq!(lookup("7003").and_then(Ai::fixed_length), Some(10));
        assert_eq!(lookup("8003").map(Ai::max_length), Some(30));
        assert!(lookup("99").is_none());
    }
}
