//! GS1 values: check digits, GTINs, dates, and the checks of one AI's data against the
//! components and content rules ("linters") GS1's Barcode Syntax Dictionary gives it.

use chrono::{Datelike, NaiveDate};

use super::ai::{Ai, Charset, Component, Lint};

/// GS1 mod-10 check digit of the digits before it (weights 3 and 1 from the right).
pub fn check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d.wrapping_sub(b'0') % 10) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// A GTIN, always held as 14 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gtin([u8; 14]);

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
        let digits = input.trim().as_bytes();
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(GtinError::NotDigits);
        }
        if ![8, 12, 13, 14].contains(&digits.len()) {
            return Err(GtinError::Length(digits.len()));
        }
        let (last, rest) = digits.split_last().ok_or(GtinError::Length(0))?;
        let expected = check_digit(rest);
        if expected != last - b'0' {
            return Err(GtinError::CheckDigit {
                expected,
                found: last - b'0',
            });
        }
        let mut normalised = [b'0'; 14];
        normalised[14 - digits.len()..].copy_from_slice(digits);
        Ok(Gtin(normalised))
    }

    /// The 14-digit form.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// True when the GTIN falls inside a GS1 company prefix (as licensed).
    pub fn in_company_prefix(&self, prefix: &str) -> bool {
        // The prefix follows the indicator digit (GTIN-14) or the leading zeros of
        // shorter GTINs: compare against the 13 digits after the indicator.
        self.0[1..].starts_with(prefix.as_bytes())
    }
}

/// The four-digit year of a two-digit GS1 year, by GS1's century rule (General
/// Specifications §7.12): a year more than 50 years ahead of `reference_year` is in the
/// previous century, one more than 49 years behind in the next.
fn century_year(yy: i32, reference_year: i32) -> i32 {
    let current = reference_year.rem_euclid(100);
    let century = reference_year - current;
    let diff = yy - current;
    if diff >= 51 {
        century - 100 + yy
    } else if diff <= -50 {
        century + 100 + yy
    } else {
        century + yy
    }
}

fn two_digits(bytes: &[u8]) -> u32 {
    u32::from(bytes[0] - b'0') * 10 + u32::from(bytes[1] - b'0')
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Resolves YYMMDD to a date with GS1's century rule; day 00 means the last day of the
/// month.
pub fn resolve_date(yymmdd: &str, reference_year: i32) -> Option<NaiveDate> {
    let b = yymmdd.as_bytes();
    if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year = century_year(two_digits(&b[0..2]) as i32, reference_year);
    let (month, day) = (two_digits(&b[2..4]), two_digits(&b[4..6]));
    if day == 0 {
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        return NaiveDate::from_ymd_opt(year, month, days_in_month(year, first.month()));
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Whether YYYY MM DD (digits) name a day; `day_zero` allows DD = 00.
fn valid_date(year: i32, month: u32, day: u32, day_zero: bool) -> bool {
    (1..=12).contains(&month) && (day_zero || day > 0) && day <= days_in_month(year, month)
}

const DIGIT: u8 = 1;
const CSET82: u8 = 2;
const CSET39: u8 = 4;
const CSET64: u8 = 8;
const IMPORTER: u8 = 16;

/// Character classes of every byte: one look-up per character on the hot path.
static CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut class = 0;
        if c.is_ascii_digit() {
            class |= DIGIT | CSET82 | CSET39 | CSET64 | IMPORTER;
        } else if c.is_ascii_uppercase() {
            class |= CSET82 | CSET39 | CSET64 | IMPORTER;
        } else if c.is_ascii_lowercase() {
            class |= CSET82 | CSET64 | IMPORTER;
        } else {
            match c {
                b'!' | b'"' | b'%' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'.'
                | b':' | b';' | b'<' | b'=' | b'>' | b'?' => class |= CSET82,
                b'-' => class |= CSET82 | CSET39 | CSET64 | IMPORTER,
                b'/' => class |= CSET82 | CSET39,
                b'#' => class |= CSET39,
                b'_' => class |= CSET82 | CSET64 | IMPORTER,
                _ => {}
            }
        }
        t[b] = class;
        b += 1;
    }
    t
};

/// Whether `b` is in GS1's AI encodable character set 82.
pub fn is_cset82(b: u8) -> bool {
    CLASSES[usize::from(b)] & CSET82 != 0
}

/// ISO 3166-1 numeric codes, one bit each (source: ISO 3166-1 as published in the
/// iso-codes data set).
const ISO3166_NUMERIC: [u64; 16] = [
    0x111d111191111510,
    0x1111111114501551,
    0x9114c44451111110,
    0x4544c78444511811,
    0x1111111100185454,
    0x1111111111115111,
    0x4544544645114111,
    0x111d101144444444,
    0x4444441010e91111,
    0x44451111114087b4,
    0xc045444444d8504c,
    0x1511111013101047,
    0x8404009159111111,
    0x4084100054440107,
    0x0000000000000000,
    0x0000000000000000,
];

/// ISO 4217 numeric currency codes, one bit each (same source).
const ISO4217_NUMERIC: [u64; 16] = [
    0x101d101100001100,
    0x1010110104100111,
    0x9000440011010110,
    0x0004414040410801,
    0x0000001000004040,
    0x0101111111101111,
    0x4004444645114110,
    0x0105001100004440,
    0x0040441000301011,
    0x0400000111404404,
    0x4044040000004048,
    0x1111100001000045,
    0x0404008100111100,
    0x0044000014000104,
    0xfbfdb57fe0000020,
    0x000000a4473fbfbf,
];

/// ISO 3166-1 alpha-2 codes, one bit per letter pair AA..ZZ (same source).
const ISO3166_ALPHA2: [u64; 11] = [
    0xdeddbdefeedf5978,
    0x0e00d48015843f27,
    0x0015fb9fb0095c00,
    0x0340400f7818068d,
    0xfd4f8141f42b1d00,
    0x0100084b25d7fffc,
    0x40000001538f3c40,
    0x9fbb3ae7fdf15100,
    0x004085570410419a,
    0x0010000000004002,
    0x0000000100400408,
];

fn bit(set: &[u64], at: usize) -> bool {
    set.get(at / 64).is_some_and(|w| w >> (at % 64) & 1 == 1)
}

fn numeric3(part: &[u8]) -> Option<usize> {
    (part.len() == 3 && part.iter().all(u8::is_ascii_digit)).then(|| {
        part.iter()
            .fold(0usize, |v, d| v * 10 + usize::from(d - b'0'))
    })
}

fn is_iso3166(part: &[u8]) -> bool {
    numeric3(part).is_some_and(|v| bit(&ISO3166_NUMERIC, v))
}

fn is_alpha2(part: &[u8]) -> bool {
    part.len() == 2
        && part.iter().all(u8::is_ascii_uppercase)
        && bit(
            &ISO3166_ALPHA2,
            usize::from(part[0] - b'A') * 26 + usize::from(part[1] - b'A'),
        )
}

/// GS1's PackageTypeCode list (UN/ECE Recommendation 21 codes with GS1's additions), in
/// byte order for a binary search. Source: the GS1 Barcode Syntax Tests (Apache-2.0).
const PACKAGE_TYPES: &[&str] = &[
    "1A", "1B", "1D", "1F", "1G", "1W", "200", "201", "202", "203", "204", "205", "206", "210",
    "211", "212", "2C", "3A", "3H", "43", "44", "4A", "4B", "4C", "4D", "4F", "4G", "4H", "5H",
    "5L", "5M", "6H", "6P", "7A", "7B", "8", "8A", "8B", "8C", "9", "AA", "AB", "AC", "AD", "AF",
    "AG", "AH", "AI", "AJ", "AL", "AM", "AP", "APE", "AT", "AV", "B4", "BB", "BC", "BD", "BE",
    "BF", "BG", "BGE", "BH", "BI", "BJ", "BK", "BL", "BM", "BME", "BN", "BO", "BP", "BQ", "BR",
    "BRI", "BS", "BT", "BU", "BV", "BW", "BX", "BY", "BZ", "CA", "CB", "CBL", "CC", "CCE", "CD",
    "CE", "CF", "CG", "CH", "CI", "CJ", "CK", "CL", "CM", "CN", "CO", "CP", "CQ", "CR", "CS", "CT",
    "CU", "CV", "CW", "CX", "CY", "CZ", "DA", "DB", "DC", "DG", "DH", "DI", "DJ", "DK", "DL", "DM",
    "DN", "DP", "DPE", "DR", "DS", "DT", "DU", "DV", "DW", "DX", "DY", "E1", "E2", "E3", "EC",
    "ED", "EE", "EF", "EG", "EH", "EI", "EN", "FB", "FC", "FD", "FE", "FI", "FL", "FO", "FOB",
    "FP", "FPE", "FR", "FT", "FW", "FX", "GB", "GI", "GL", "GR", "GU", "GY", "GZ", "HA", "HB",
    "HC", "HG", "HN", "HR", "IA", "IB", "IC", "ID", "IE", "IF", "IG", "IH", "IK", "IL", "IN", "IZ",
    "JB", "JC", "JG", "JR", "JT", "JY", "KG", "KI", "LAB", "LE", "LG", "LT", "LU", "LV", "LZ",
    "MA", "MB", "MC", "ME", "MPE", "MR", "MS", "MT", "MW", "MX", "NA", "NE", "NF", "NG", "NS",
    "NT", "NU", "NV", "OA", "OB", "OC", "OD", "OE", "OF", "OK", "OPE", "OT", "OU", "P2", "PA",
    "PAE", "PB", "PC", "PD", "PE", "PF", "PG", "PH", "PI", "PJ", "PK", "PL", "PLP", "PN", "PO",
    "POP", "PP", "PPE", "PR", "PT", "PU", "PUE", "PV", "PX", "PY", "PZ", "QA", "QB", "QC", "QD",
    "QF", "QG", "QH", "QJ", "QK", "QL", "QM", "QN", "QP", "QQ", "QR", "QS", "RB1", "RB2", "RB3",
    "RCB", "RD", "RG", "RJ", "RK", "RL", "RO", "RT", "RZ", "S1", "SA", "SB", "SC", "SD", "SE",
    "SEC", "SH", "SI", "SK", "SL", "SM", "SO", "SP", "SS", "ST", "STL", "SU", "SV", "SW", "SX",
    "SY", "SZ", "T1", "TB", "TC", "TD", "TE", "TEV", "TG", "THE", "TI", "TK", "TL", "TN", "TO",
    "TR", "TRE", "TS", "TT", "TTE", "TU", "TV", "TW", "TWE", "TY", "TZ", "UC", "UN", "UUE", "VA",
    "VG", "VI", "VK", "VL", "VN", "VO", "VP", "VQ", "VR", "VS", "VY", "WA", "WB", "WC", "WD", "WF",
    "WG", "WH", "WJ", "WK", "WL", "WM", "WN", "WP", "WQ", "WR", "WRP", "WS", "WT", "WU", "WV",
    "WW", "WX", "WY", "WZ", "X11", "X12", "X15", "X16", "X17", "X18", "X19", "X20", "X3", "XA",
    "XB", "XC", "XD", "XF", "XG", "XH", "XJ", "XK", "YA", "YB", "YC", "YD", "YF", "YG", "YH", "YJ",
    "YK", "YL", "YM", "YN", "YP", "YQ", "YR", "YS", "YT", "YV", "YW", "YX", "YY", "YZ", "ZA", "ZB",
    "ZC", "ZD", "ZF", "ZG", "ZH", "ZJ", "ZK", "ZL", "ZM", "ZN", "ZP", "ZQ", "ZR", "ZS", "ZT", "ZU",
    "ZV", "ZW", "ZX", "ZY", "ZZ",
];

/// Check character pair of GS1's alphanumeric keys (GMN, MUDI): character values weighted
/// by the primes from the right, sum mod 1021, split into two characters of CSET 32.
fn check_pair_valid(part: &[u8]) -> bool {
    const PRIMES: [u32; 97] = [
        2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181,
        191, 193, 197, 199, 211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281,
        283, 293, 307, 311, 313, 317, 331, 337, 347, 349, 353, 359, 367, 373, 379, 383, 389, 397,
        401, 409, 419, 421, 431, 433, 439, 443, 449, 457, 461, 463, 467, 479, 487, 491, 499, 503,
        509,
    ];
    const CSET82_ORDER: &[u8] =
        b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
    const CSET32: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let Some(data_len) = part.len().checked_sub(2) else {
        return false;
    };
    if data_len > PRIMES.len() {
        return false;
    }
    let mut sum = 0u32;
    for (at, b) in part[..data_len].iter().enumerate() {
        let Some(value) = CSET82_ORDER.iter().position(|c| c == b) else {
            return false;
        };
        sum += value as u32 * PRIMES[data_len - 1 - at];
    }
    sum %= 1021;
    part[data_len] == CSET32[(sum >> 5) as usize]
        && part[data_len + 1] == CSET32[(sum & 31) as usize]
}

fn iban_valid(part: &[u8]) -> bool {
    if !(5..=34).contains(&part.len())
        || !is_alpha2(&part[..2])
        || !part[2..4].iter().all(u8::is_ascii_digit)
        || !part[4..]
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return false;
    }
    let mut remainder = 0u32;
    for b in part[4..].iter().chain(&part[..4]) {
        remainder = if b.is_ascii_digit() {
            (remainder * 10 + u32::from(b - b'0')) % 97
        } else {
            (remainder * 100 + u32::from(b - b'A') + 10) % 97
        };
    }
    remainder == 1
}

/// A cursor over the digits of a coupon code.
struct Coupon<'a> {
    rest: &'a [u8],
}

impl<'a> Coupon<'a> {
    fn digit(&mut self, what: &'static str) -> Result<u8, &'static str> {
        let (first, rest) = self.rest.split_first().ok_or(what)?;
        self.rest = rest;
        Ok(first - b'0')
    }

    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], &'static str> {
        if self.rest.len() < len {
            return Err(what);
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    /// A length digit in `lengths`, then that many digits (plus `extra`).
    fn counted(
        &mut self,
        lengths: std::ops::RangeInclusive<u8>,
        extra: usize,
        what: &'static str,
    ) -> Result<(), &'static str> {
        let vli = self.digit(what)?;
        if !lengths.contains(&vli) {
            return Err(what);
        }
        self.take(usize::from(vli) + extra, what).map(|_| ())
    }

    fn purchase(&mut self, gcp: bool) -> Result<(), &'static str> {
        self.counted(1..=5, 0, "a purchase requirement")?;
        if !matches!(self.digit("a purchase requirement code")?, 0..=4 | 9) {
            return Err("a purchase requirement code");
        }
        self.take(3, "a purchase family code")?;
        if gcp {
            match self.digit("a purchase company prefix")? {
                9 => {}
                vli @ 0..=6 => {
                    self.take(usize::from(vli) + 6, "a purchase company prefix")?;
                }
                _ => return Err("a purchase company prefix"),
            }
        }
        Ok(())
    }

    fn date(&mut self, year: i32) -> Result<&'a [u8], &'static str> {
        let date = self.take(6, "a date")?;
        lint_date(date, year, false).then_some(date).ok_or("a date")
    }
}

/// The North American coupon code (AI 8110), field by field.
fn coupon_code(part: &[u8], year: i32) -> Result<(), &'static str> {
    let mut c = Coupon { rest: part };
    c.counted(0..=6, 6, "the company prefix")?;
    c.take(6, "the offer code")?;
    c.counted(1..=5, 0, "the save value")?;
    c.purchase(false)?;
    if c.rest.first() == Some(&b'1') {
        c.digit("")?;
        if c.digit("the additional purchase rules code")? > 3 {
            return Err("the additional purchase rules code");
        }
        c.purchase(true)?;
    }
    if c.rest.first() == Some(&b'2') {
        c.digit("")?;
        c.purchase(true)?;
    }
    let mut expiry = None;
    if c.rest.first() == Some(&b'3') {
        c.digit("")?;
        expiry = Some(c.date(year)?);
    }
    if c.rest.first() == Some(&b'4') {
        c.digit("")?;
        let start = c.date(year)?;
        if expiry.is_some_and(|e| start > e) {
            return Err("the start date (after the expiry date)");
        }
    }
    if c.rest.first() == Some(&b'5') {
        c.digit("")?;
        c.counted(0..=9, 6, "the serial number")?;
    }
    if c.rest.first() == Some(&b'6') {
        c.digit("")?;
        c.counted(1..=7, 6, "the retailer company prefix or GLN")?;
    }
    if c.rest.first() == Some(&b'9') {
        c.digit("")?;
        if !matches!(c.digit("the save value code")?, 0..=2 | 5 | 6) {
            return Err("the save value code");
        }
        if c.digit("the item the save value applies to")? > 2 {
            return Err("the item the save value applies to");
        }
        c.digit("the store coupon flag")?;
        if c.digit("the don't-multiply flag")? > 1 {
            return Err("the don't-multiply flag");
        }
    }
    if !c.rest.is_empty() {
        return Err("the end (data after the last field)");
    }
    Ok(())
}

/// The positive offer file coupon code (AI 8112).
fn coupon_positive_offer(part: &[u8]) -> Result<(), &'static str> {
    let mut c = Coupon { rest: part };
    if c.digit("the format code")? > 1 {
        return Err("the format code");
    }
    c.counted(0..=6, 6, "the funder")?;
    c.take(6, "the offer code")?;
    c.counted(0..=9, 6, "the serial number")?;
    if !c.rest.is_empty() {
        return Err("the end (data after the serial number)");
    }
    Ok(())
}

fn lint_date(part: &[u8], year: i32, day_zero: bool) -> bool {
    part.len() == 6
        && part.iter().all(u8::is_ascii_digit)
        && valid_date(
            century_year(two_digits(&part[0..2]) as i32, year),
            two_digits(&part[2..4]),
            two_digits(&part[4..6]),
            day_zero,
        )
}

fn all_digits(part: &[u8]) -> bool {
    part.iter().all(u8::is_ascii_digit)
}

/// Runs one linter; `Err` says what the data should be.
fn lint(lint: Lint, part: &[u8], year: i32) -> Result<(), &'static str> {
    let ok = match lint {
        Lint::Csum => {
            all_digits(part)
                && part
                    .split_last()
                    .is_some_and(|(last, rest)| check_digit(rest) == last - b'0')
        }
        Lint::CsumAlpha => check_pair_valid(part),
        Lint::GcpPos1 => part.len() >= 4 && all_digits(&part[..4]),
        Lint::GcpPos2 => part.len() >= 5 && all_digits(&part[1..5]),
        Lint::Yymmd0 => lint_date(part, year, true),
        Lint::Yymmdd => lint_date(part, year, false),
        Lint::Yyyymmdd => {
            part.len() == 8
                && all_digits(part)
                && valid_date(
                    (two_digits(&part[0..2]) * 100 + two_digits(&part[2..4])) as i32,
                    two_digits(&part[4..6]),
                    two_digits(&part[6..8]),
                    false,
                )
        }
        Lint::Hhmi => {
            part.len() == 4
                && all_digits(part)
                && two_digits(&part[..2]) < 24
                && two_digits(&part[2..]) < 60
        }
        Lint::Hh => part.len() == 2 && all_digits(part) && two_digits(part) < 24,
        Lint::Mi | Lint::Ss => part.len() == 2 && all_digits(part) && two_digits(part) < 60,
        Lint::Iso3166 => is_iso3166(part),
        Lint::Iso3166Or999 => part == b"999" || is_iso3166(part),
        Lint::Iso3166Alpha2 => is_alpha2(part),
        Lint::Iso4217 => numeric3(part).is_some_and(|v| bit(&ISO4217_NUMERIC, v)),
        Lint::Iso5218 => matches!(part, b"0" | b"1" | b"2" | b"9"),
        Lint::Latitude | Lint::Longitude => {
            let limit: u64 = if lint == Lint::Latitude {
                1_800_000_000
            } else {
                3_600_000_000
            };
            part.len() == 10
                && all_digits(part)
                && part.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0')) <= limit
        }
        Lint::NonZero => all_digits(part) && part.iter().any(|b| *b != b'0'),
        Lint::Winding => matches!(part, b"0" | b"1" | b"9"),
        Lint::Zero => part == b"0",
        Lint::PieceOfTotal => {
            let half = part.len() / 2;
            let (piece, total) = part.split_at(half);
            all_digits(part)
                && part.len().is_multiple_of(2)
                && half > 0
                && piece.iter().any(|b| *b != b'0')
                && total.iter().any(|b| *b != b'0')
                && piece <= total
        }
        Lint::PercentEncoded => {
            let mut at = 0;
            let mut ok = true;
            while at < part.len() {
                if part[at] == b'%' {
                    if !part
                        .get(at + 1..at + 3)
                        .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
                    {
                        ok = false;
                        break;
                    }
                    at += 3;
                } else {
                    at += 1;
                }
            }
            ok
        }
        Lint::CouponCode => {
            if !all_digits(part) {
                return Err("digits only");
            }
            return coupon_code(part, year)
                .map_err(|_| "a coupon code (GS1 North American coupon format)");
        }
        Lint::CouponPositiveOffer => {
            if !all_digits(part) {
                return Err("digits only");
            }
            return coupon_positive_offer(part).map_err(|_| "a positive offer file coupon code");
        }
        Lint::PackageType => {
            std::str::from_utf8(part).is_ok_and(|p| PACKAGE_TYPES.binary_search(&p).is_ok())
        }
        Lint::MediaType => {
            part.len() == 2 && all_digits(part) && matches!(two_digits(part), 1..=10 | 80..=99)
        }
        Lint::ImporterIndex => part.len() == 1 && CLASSES[usize::from(part[0])] & IMPORTER != 0,
        Lint::Hyphen => !part.is_empty() && part.iter().all(|b| *b == b'-'),
        Lint::YesNo => matches!(part, b"0" | b"1"),
        Lint::PositionInSequence => match part.iter().position(|b| *b == b'/') {
            Some(slash) => {
                let (position, total) = (&part[..slash], &part[slash + 1..]);
                !position.is_empty()
                    && !total.is_empty()
                    && all_digits(position)
                    && all_digits(total)
                    && position[0] != b'0'
                    && total[0] != b'0'
                    && (position.len(), position) <= (total.len(), total)
            }
            None => false,
        },
        Lint::HasNonDigit => !all_digits(part),
        Lint::NoZeroPrefix => all_digits(part) && part.first() != Some(&b'0'),
        Lint::Iban => iban_valid(part),
    };
    if ok {
        Ok(())
    } else {
        Err(lint_expectation(lint))
    }
}

fn lint_expectation(lint: Lint) -> &'static str {
    match lint {
        Lint::Csum => "digits ending in the right GS1 check digit",
        Lint::CsumAlpha => "characters ending in the right check character pair",
        Lint::GcpPos1 | Lint::GcpPos2 => "a GS1 company prefix (at least four digits)",
        Lint::Yymmd0 => "a date YYMMDD (DD may be 00)",
        Lint::Yymmdd => "a date YYMMDD",
        Lint::Yyyymmdd => "a date YYYYMMDD",
        Lint::Hhmi => "a time HHMM",
        Lint::Hh => "an hour 00–23",
        Lint::Mi => "minutes 00–59",
        Lint::Ss => "seconds 00–59",
        Lint::Iso3166 => "an ISO 3166 numeric country code",
        Lint::Iso3166Or999 => "an ISO 3166 numeric country code or 999",
        Lint::Iso3166Alpha2 => "an ISO 3166 two-letter country code",
        Lint::Iso4217 => "an ISO 4217 numeric currency code",
        Lint::Iso5218 => "a sex code 0, 1, 2 or 9",
        Lint::Latitude => "a latitude 0000000000–1800000000",
        Lint::Longitude => "a longitude 0000000000–3600000000",
        Lint::NonZero => "a number that is not zero",
        Lint::Winding => "a winding direction 0, 1 or 9",
        Lint::Zero => "0",
        Lint::PieceOfTotal => "piece and total, neither zero, piece ≤ total",
        Lint::PercentEncoded => "% followed by two hexadecimal digits",
        Lint::CouponCode => "a coupon code",
        Lint::CouponPositiveOffer => "a positive offer file coupon code",
        Lint::PackageType => "a package type code",
        Lint::MediaType => "an AIDC media type 01–10 or 80–99",
        Lint::ImporterIndex => "one importer index character",
        Lint::Hyphen => "hyphens",
        Lint::YesNo => "0 or 1",
        Lint::PositionInSequence => "position/total without leading zeros, position ≤ total",
        Lint::HasNonDigit => "at least one character that is not a digit",
        Lint::NoZeroPrefix => "digits without a leading zero",
        Lint::Iban => "an IBAN with a valid check",
    }
}

fn charset_ok(component: &Component, part: &[u8]) -> bool {
    let class = match component.charset {
        Charset::N => DIGIT,
        Charset::X => CSET82,
        Charset::Y => CSET39,
        Charset::Z => {
            // Base64url with at most two `=` of padding, only at the end.
            let pads = part.iter().rev().take_while(|b| **b == b'=').count();
            if pads > 2 || (pads > 0 && !part.len().is_multiple_of(3)) {
                return false;
            }
            return part[..part.len() - pads]
                .iter()
                .all(|b| CLASSES[usize::from(*b)] & CSET64 != 0);
        }
    };
    part.iter().all(|b| CLASSES[usize::from(*b)] & class != 0)
}

fn charset_words(charset: Charset) -> &'static str {
    match charset {
        Charset::N => "only digits",
        Charset::X => {
            "letters, digits and GS1's punctuation ! \" % & ' ( ) * + , - . / : ; < = > ? _ only"
        }
        Charset::Y => "digits, capital letters, # - / only",
        Charset::Z => "base64url characters (letters, digits, - _) with at most two = at the end",
    }
}

/// Checks `value` against the AI's components; the error says what is wrong.
pub fn validate(ai: &Ai, value: &str, reference_year: i32) -> Result<(), String> {
    let bytes = value.as_bytes();
    // Every GS1 character set is a subset of ASCII, so lengths below are byte counts.
    if let Some(c) = bytes
        .iter()
        .position(|b| !(0x20..0x7f).contains(b))
        .and_then(|at| value.get(at..)?.chars().next())
    {
        return Err(format!(
            "({}) {}: {c:?} is not a character GS1 allows",
            ai.code(),
            ai.title
        ));
    }
    if bytes.len() > ai.max_length() {
        return Err(format!(
            "({}) {} is at most {} characters; {value:?} has {}",
            ai.code(),
            ai.title,
            ai.max_length(),
            bytes.len()
        ));
    }
    let mut rest = bytes;
    for (index, component) in ai.components.iter().enumerate() {
        if rest.is_empty() && component.optional {
            break;
        }
        let (min, max) = (usize::from(component.min), usize::from(component.max));
        if rest.len() < min {
            return Err(if index == 0 && ai.components.len() == 1 {
                if min == max {
                    format!(
                        "({}) {} has {min} characters, not {}",
                        ai.code(),
                        ai.title,
                        rest.len()
                    )
                } else {
                    format!("({}) {} has no value", ai.code(), ai.title)
                }
            } else {
                format!(
                    "({}) {} needs {min} more characters in part {} of {value:?}",
                    ai.code(),
                    ai.title,
                    index + 1
                )
            });
        }
        let (part, tail) = rest.split_at(rest.len().min(max));
        rest = tail;
        if !charset_ok(component, part) {
            return Err(format!(
                "({}) {} takes {}: {:?}",
                ai.code(),
                ai.title,
                charset_words(component.charset),
                String::from_utf8_lossy(part)
            ));
        }
        for check in component.lints {
            lint(*check, part, reference_year).map_err(|expected| {
                let shown = String::from_utf8_lossy(part);
                if ai.components.len() == 1 {
                    format!("({}) {}: {shown:?} is not {expected}", ai.code(), ai.title)
                } else {
                    format!(
                        "({}) {}: part {} ({shown:?}) is not {expected}",
                        ai.code(),
                        ai.title,
                        index + 1
                    )
                }
            })?;
        }
    }
    if !rest.is_empty() {
        return Err(format!(
            "({}) {} is at most {} characters; {value:?} is too long",
            ai.code(),
            ai.title,
            ai.max_length(),
        ));
    }
    Ok(())
}
