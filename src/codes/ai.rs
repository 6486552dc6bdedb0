//! The GS1 Application Identifiers: every AI of GS1's Barcode Syntax Dictionary with the
//! format of its data (components, character sets, lengths, content checks), whether a raw
//! element string needs a separator after it, its role in GS1 Digital Link (primary key and
//! qualifier sequences, permitted data attribute) and the AIs it requires or excludes.
//!
//! Source of every fact here: GS1's Barcode Syntax Dictionary (the release kept beside the
//! project's shared reference material), restated as our own table. The dictionary's own
//! notation is not parsed at run time: the table is Rust, checked by the tests below.

use std::sync::OnceLock;

/// Character set of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// Digits.
    N,
    /// GS1 AI encodable character set 82.
    X,
    /// GS1 AI encodable character set 39 (digits, upper case, `#`, `-`, `/`).
    Y,
    /// File-safe, URI-safe base64 (RFC 4648 §5) with optional `=` padding.
    Z,
}

/// A content check the dictionary names for a component ("linter").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lint {
    /// GS1 mod-10 check digit in the last position.
    Csum,
    /// GS1 check character pair over CSET 82 (GMN, MUDI).
    CsumAlpha,
    /// A GS1 company prefix starts here: at least its first four characters are digits.
    GcpPos1,
    /// As `GcpPos1`, after one leading character (the indicator or extension digit).
    GcpPos2,
    /// YYMMDD where DD may be 00 (the last day of the month).
    Yymmd0,
    /// YYMMDD, a real day.
    Yymmdd,
    /// YYYYMMDD, a real day.
    Yyyymmdd,
    /// HHMI.
    Hhmi,
    /// HH.
    Hh,
    /// MI.
    Mi,
    /// SS.
    Ss,
    /// ISO 3166-1 numeric country code.
    Iso3166,
    /// ISO 3166-1 numeric country code, or 999.
    Iso3166Or999,
    /// ISO 3166-1 alpha-2 country code.
    Iso3166Alpha2,
    /// ISO 4217 numeric currency code.
    Iso4217,
    /// ISO/IEC 5218 sex code (0, 1, 2 or 9).
    Iso5218,
    /// Latitude ×10⁷ offset by 90° (0 to 1800000000).
    Latitude,
    /// Longitude ×10⁷ offset by 180° (0 to 3600000000).
    Longitude,
    /// Not all zeros.
    NonZero,
    /// Winding direction 0, 1 or 9.
    Winding,
    /// Exactly `0`.
    Zero,
    /// Piece and total of equal length, neither zero, piece ≤ total.
    PieceOfTotal,
    /// Every `%` starts a valid percent-encoded byte.
    PercentEncoded,
    /// North American coupon code (AI 8110).
    CouponCode,
    /// Positive offer file coupon code (AI 8112).
    CouponPositiveOffer,
    /// A PackageTypeCode (UN/ECE Recommendation 21 and GS1 additions).
    PackageType,
    /// An AIDC media type (01–10, 80–99).
    MediaType,
    /// One importer index character (`-`, digits, letters, `_`).
    ImporterIndex,
    /// Only hyphens.
    Hyphen,
    /// 0 or 1.
    YesNo,
    /// `position/total`, neither with a leading zero, position ≤ total.
    PositionInSequence,
    /// At least one character that is not a digit.
    HasNonDigit,
    /// Digits without a leading zero.
    NoZeroPrefix,
    /// An IBAN (ISO 13616) with a valid check.
    Iban,
}

/// One component of an AI's data field.
#[derive(Debug, Clone, Copy)]
pub struct Component {
    pub charset: Charset,
    pub min: u8,
    pub max: u8,
    /// May be left out at the end of the data.
    pub optional: bool,
    pub lints: &'static [Lint],
}

const fn fixed(charset: Charset, len: u8, lints: &'static [Lint]) -> Component {
    Component {
        charset,
        min: len,
        max: len,
        optional: false,
        lints,
    }
}
const fn upto(charset: Charset, max: u8, lints: &'static [Lint]) -> Component {
    Component {
        charset,
        min: 1,
        max,
        optional: false,
        lints,
    }
}
const fn n(len: u8, lints: &'static [Lint]) -> Component {
    fixed(Charset::N, len, lints)
}
const fn nv(max: u8, lints: &'static [Lint]) -> Component {
    upto(Charset::N, max, lints)
}
const fn x(len: u8, lints: &'static [Lint]) -> Component {
    fixed(Charset::X, len, lints)
}
const fn xv(max: u8, lints: &'static [Lint]) -> Component {
    upto(Charset::X, max, lints)
}
const fn yv(max: u8, lints: &'static [Lint]) -> Component {
    upto(Charset::Y, max, lints)
}
const fn zv(max: u8, lints: &'static [Lint]) -> Component {
    upto(Charset::Z, max, lints)
}
const fn opt(component: Component) -> Component {
    Component {
        optional: true,
        ..component
    }
}

/// Pre-defined length: no separator follows the value in a raw element string.
const PREDEFINED: u8 = 1;
/// May appear as a GS1 Digital Link data attribute (query parameter).
const ATTRIBUTE: u8 = 2;

/// AI patterns: digits, or `n` for any digit (`31nn`).
type Patterns = &'static [&'static str];

/// One entry of the table: a single AI or a range of AIs that share a definition.
struct Definition {
    from: &'static str,
    to: &'static str,
    title: &'static str,
    flags: u8,
    components: &'static [Component],
    /// Each requirement lists alternatives; an alternative is AIs that must all be present.
    requires: &'static [&'static [Patterns]],
    excludes: Patterns,
    /// GS1 Digital Link primary key, with its alternative ordered qualifier sequences.
    key: Option<&'static [Patterns]>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one table row, named by position"
)]
const fn def(
    from: &'static str,
    to: &'static str,
    title: &'static str,
    flags: u8,
    components: &'static [Component],
    requires: &'static [&'static [Patterns]],
    excludes: Patterns,
    key: Option<&'static [Patterns]>,
) -> Definition {
    Definition {
        from,
        to,
        title,
        flags,
        components,
        requires,
        excludes,
        key,
    }
}

use Lint::*;

/// Every AI of the Barcode Syntax Dictionary, in its order.
#[rustfmt::skip]
static DEFINITIONS: &[Definition] = &[
    def("00", "00", "SSCC", PREDEFINED|ATTRIBUTE, &[n(18, &[Csum, GcpPos2])], &[], &[], Some(&[&[]])),
    def("01", "01", "GTIN", PREDEFINED|ATTRIBUTE, &[n(14, &[Csum, GcpPos2])], &[], &["255", "37"], Some(&[&["22", "10", "21"], &["235"]])),
    def("02", "02", "CONTENT", PREDEFINED|ATTRIBUTE, &[n(14, &[Csum, GcpPos2])], &[&[&["37"]]], &["01", "03"], None),
    def("03", "03", "MTO GTIN", PREDEFINED, &[n(14, &[Csum, GcpPos2])], &[], &["01", "02", "37", "235"], None),
    def("10", "10", "BATCH/LOT", ATTRIBUTE, &[xv(20, &[])], &[&[&["01"], &["02"], &["03"], &["8006"], &["8026"]]], &[], None),
    def("11", "11", "PROD DATE", PREDEFINED|ATTRIBUTE, &[n(6, &[Yymmd0])], &[&[&["01"], &["02"], &["03"], &["8006"], &["8026"]]], &[], None),
    def("12", "12", "DUE DATE", PREDEFINED|ATTRIBUTE, &[n(6, &[Yymmd0])], &[&[&["8020"]]], &[], None),
    def("13", "13", "PACK DATE", PREDEFINED|ATTRIBUTE, &[n(6, &[Yymmd0])], &[&[&["01"], &["02"], &["03"], &["8006"], &["8026"]]], &[], None),
    def("15", "15", "BEST BEFORE or BEST BY", PREDEFINED|ATTRIBUTE, &[n(6, &[Yymmd0])], &[&[&["01"], &["02"], &["03"], &["8006"], &["8026"]]], &[], None),
    def("16", "16", "SELL BY", PREDEFINED|ATTRIBUTE, &[n(6, &[Yymmd0])], &[&[&["01"], &["02"], &["03"], &["8006"], &["8026"]]], &[], None),
    def("17", "17", "USE BY or EXPIRY", PREDEFINED|ATTRIBUTE, &[n(6, &[Yymmd0])], &[&[&["01"], &["02"], &["03"], &["255"], &["8006"], &["8026"]]], &[], None),
    def("20", "20", "VARIANT", PREDEFINED|ATTRIBUTE, &[n(2, &[])], &[&[&["01"], &["02"], &["03"], &["8006"], &["8026"]]], &[], None),
    def("21", "21", "SERIAL", 0, &[xv(20, &[])], &[&[&["01"], &["03"], &["8006"]]], &["235"], None),
    def("22", "22", "CPV", 0, &[xv(20, &[])], &[&[&["01"]]], &[], None),
    def("235", "235", "TPX", 0, &[xv(28, &[])], &[&[&["01"]]], &[], None),
    def("240", "240", "ADDITIONAL ID", ATTRIBUTE, &[xv(30, &[])], &[&[&["01"], &["02"], &["03"], &["8006"], &["8026"]]], &[], None),
    def("241", "241", "CUST. PART No.", ATTRIBUTE, &[xv(30, &[])], &[&[&["01"], &["02"], &["03"], &["8006"], &["8026"]]], &[], None),
    def("242", "242", "MTO VARIANT", ATTRIBUTE, &[nv(6, &[])], &[&[&["01"], &["02"], &["8006"], &["8026"]]], &[], None),
    def("243", "243", "PCN", ATTRIBUTE, &[xv(20, &[])], &[&[&["01"], &["03"]]], &[], None),
    def("250", "250", "SECONDARY SERIAL", ATTRIBUTE, &[xv(30, &[])], &[&[&["01", "21"], &["03", "21"], &["8006", "21"]]], &[], None),
    def("251", "251", "REF. TO SOURCE", ATTRIBUTE, &[xv(30, &[])], &[&[&["01"], &["03"], &["8006"]]], &[], None),
    def("253", "253", "GDTI", ATTRIBUTE, &[n(13, &[Csum, GcpPos1]), opt(xv(17, &[]))], &[], &[], Some(&[&[]])),
    def("254", "254", "GLN EXTENSION COMPONENT", 0, &[xv(20, &[])], &[&[&["414"]]], &[], None),
    def("255", "255", "GCN", ATTRIBUTE, &[n(13, &[Csum, GcpPos1]), opt(nv(12, &[]))], &[], &["01", "02", "415", "8006", "8020", "8026"], Some(&[&[]])),
    def("30", "30", "VAR. COUNT", ATTRIBUTE, &[nv(8, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("3100", "3105", "NET WEIGHT (kg)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["310n"], None),
    def("3110", "3115", "LENGTH (m)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["311n"], None),
    def("3120", "3125", "WIDTH (m)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["312n"], None),
    def("3130", "3135", "HEIGHT (m)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["313n"], None),
    def("3140", "3145", "AREA (m²)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["314n"], None),
    def("3150", "3155", "NET VOLUME (l)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["315n"], None),
    def("3160", "3165", "NET VOLUME (m³)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["316n"], None),
    def("3200", "3205", "NET WEIGHT (lb)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["320n"], None),
    def("3210", "3215", "LENGTH (in)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["321n"], None),
    def("3220", "3225", "LENGTH (ft)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["322n"], None),
    def("3230", "3235", "LENGTH (yd)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["323n"], None),
    def("3240", "3245", "WIDTH (in)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["324n"], None),
    def("3250", "3255", "WIDTH (ft)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["325n"], None),
    def("3260", "3265", "WIDTH (yd)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["326n"], None),
    def("3270", "3275", "HEIGHT (in)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["327n"], None),
    def("3280", "3285", "HEIGHT (ft)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["328n"], None),
    def("3290", "3295", "HEIGHT (yd)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["329n"], None),
    def("3300", "3305", "GROSS WEIGHT (kg)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["330n"], None),
    def("3310", "3315", "LENGTH (m), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["331n"], None),
    def("3320", "3325", "WIDTH (m), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["332n"], None),
    def("3330", "3335", "HEIGHT (m), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["333n"], None),
    def("3340", "3345", "AREA (m²), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["334n"], None),
    def("3350", "3355", "VOLUME (l), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["335n"], None),
    def("3360", "3365", "VOLUME (m³), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["336n"], None),
    def("3370", "3375", "KG PER m²", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"]]], &["337n"], None),
    def("3400", "3405", "GROSS WEIGHT (lb)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["340n"], None),
    def("3410", "3415", "LENGTH (in), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["341n"], None),
    def("3420", "3425", "LENGTH (ft), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["342n"], None),
    def("3430", "3435", "LENGTH (yd), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["343n"], None),
    def("3440", "3445", "WIDTH (in), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["344n"], None),
    def("3450", "3455", "WIDTH (ft), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["345n"], None),
    def("3460", "3465", "WIDTH (yd), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["346n"], None),
    def("3470", "3475", "HEIGHT (in), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["347n"], None),
    def("3480", "3485", "HEIGHT (ft), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["348n"], None),
    def("3490", "3495", "HEIGHT (yd), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["349n"], None),
    def("3500", "3505", "AREA (in²)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["350n"], None),
    def("3510", "3515", "AREA (ft²)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["351n"], None),
    def("3520", "3525", "AREA (yd²)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["352n"], None),
    def("3530", "3535", "AREA (in²), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["353n"], None),
    def("3540", "3545", "AREA (ft²), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["354n"], None),
    def("3550", "3555", "AREA (yd²), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["355n"], None),
    def("3560", "3565", "NET WEIGHT (tr oz)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["356n"], None),
    def("3570", "3575", "NET VOLUME (oz)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["357n"], None),
    def("3600", "3605", "NET VOLUME (qt (US))", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["360n"], None),
    def("3610", "3615", "NET VOLUME (gal.)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["361n"], None),
    def("3620", "3625", "VOLUME (qt (US)), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["362n"], None),
    def("3630", "3635", "VOLUME (gal (US)), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["363n"], None),
    def("3640", "3645", "NET VOLUME (in³)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["364n"], None),
    def("3650", "3655", "NET VOLUME (ft³)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["365n"], None),
    def("3660", "3665", "NET VOLUME (yd³)", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &["366n"], None),
    def("3670", "3675", "VOLUME (in³), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["367n"], None),
    def("3680", "3685", "VOLUME (ft³), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["368n"], None),
    def("3690", "3695", "VOLUME (yd³), log", PREDEFINED|ATTRIBUTE, &[n(6, &[])], &[&[&["00"], &["01"]]], &["369n"], None),
    def("37", "37", "COUNT", ATTRIBUTE, &[nv(8, &[])], &[&[&["00", "02"], &["00", "8026"]]], &[], None),
    def("3900", "3909", "AMOUNT", ATTRIBUTE, &[nv(15, &[])], &[&[&["255"], &["8020"]]], &["390n", "391n", "394n", "8111"], None),
    def("3910", "3919", "AMOUNT", ATTRIBUTE, &[n(3, &[Iso4217]), nv(15, &[])], &[&[&["8020"]]], &["391n"], None),
    def("3920", "3929", "PRICE", ATTRIBUTE, &[nv(15, &[])], &[&[&["01", "30"], &["01", "31nn"], &["01", "32nn"], &["01", "35nn"], &["01", "36nn"]]], &["392n", "393n"], None),
    def("3930", "3939", "PRICE", ATTRIBUTE, &[n(3, &[Iso4217]), nv(15, &[])], &[&[&["30"], &["31nn"], &["32nn"], &["35nn"], &["36nn"]]], &["393n"], None),
    def("3940", "3943", "PRCNT OFF", ATTRIBUTE, &[n(4, &[])], &[&[&["255"]]], &["394n", "8111"], None),
    def("3950", "3955", "PRICE/UoM", ATTRIBUTE, &[n(6, &[])], &[&[&["30"], &["31nn"], &["32nn"], &["35nn"], &["36nn"]]], &["392n", "393n", "395n", "8005"], None),
    def("400", "400", "ORDER NUMBER", ATTRIBUTE, &[xv(30, &[])], &[], &[], None),
    def("401", "401", "GINC", ATTRIBUTE, &[xv(30, &[GcpPos1])], &[], &[], Some(&[&[]])),
    def("402", "402", "GSIN", ATTRIBUTE, &[n(17, &[Csum, GcpPos1])], &[], &[], Some(&[&[]])),
    def("403", "403", "ROUTE", ATTRIBUTE, &[xv(30, &[])], &[&[&["00"]]], &[], None),
    def("410", "410", "SHIP TO LOC", PREDEFINED|ATTRIBUTE, &[n(13, &[Csum, GcpPos1])], &[], &[], None),
    def("411", "411", "BILL TO", PREDEFINED|ATTRIBUTE, &[n(13, &[Csum, GcpPos1])], &[], &[], None),
    def("412", "412", "PURCHASE FROM", PREDEFINED|ATTRIBUTE, &[n(13, &[Csum, GcpPos1])], &[], &[], None),
    def("413", "413", "SHIP FOR LOC", PREDEFINED|ATTRIBUTE, &[n(13, &[Csum, GcpPos1])], &[], &[], None),
    def("414", "414", "LOC No.", PREDEFINED|ATTRIBUTE, &[n(13, &[Csum, GcpPos1])], &[], &[], Some(&[&["254"], &["7040"]])),
    def("415", "415", "PAY TO", PREDEFINED|ATTRIBUTE, &[n(13, &[Csum, GcpPos1])], &[&[&["8020"]]], &[], Some(&[&["8020"]])),
    def("416", "416", "PROD/SERV LOC", PREDEFINED|ATTRIBUTE, &[n(13, &[Csum, GcpPos1])], &[], &[], None),
    def("417", "417", "PARTY", PREDEFINED|ATTRIBUTE, &[n(13, &[Csum, GcpPos1])], &[], &[], Some(&[&["7040"]])),
    def("420", "420", "SHIP TO POST", ATTRIBUTE, &[xv(20, &[])], &[], &["421"], None),
    def("421", "421", "SHIP TO POST", ATTRIBUTE, &[n(3, &[Iso3166]), xv(9, &[])], &[], &["4307"], None),
    def("422", "422", "ORIGIN", ATTRIBUTE, &[n(3, &[Iso3166])], &[&[&["01"], &["02"], &["03"], &["8006"], &["8026"]]], &["426"], None),
    def("423", "423", "COUNTRY - INITIAL PROCESS", ATTRIBUTE, &[n(3, &[Iso3166]), opt(n(3, &[Iso3166])), opt(n(3, &[Iso3166])), opt(n(3, &[Iso3166])), opt(n(3, &[Iso3166]))], &[&[&["01"], &["02"], &["03"]]], &["426"], None),
    def("424", "424", "COUNTRY - PROCESS", ATTRIBUTE, &[n(3, &[Iso3166])], &[&[&["01"], &["02"], &["03"]]], &["426"], None),
    def("425", "425", "COUNTRY - DISASSEMBLY", ATTRIBUTE, &[n(3, &[Iso3166]), opt(n(3, &[Iso3166])), opt(n(3, &[Iso3166])), opt(n(3, &[Iso3166])), opt(n(3, &[Iso3166]))], &[&[&["01"], &["02"], &["03"]]], &["426"], None),
    def("426", "426", "COUNTRY - FULL PROCESS", ATTRIBUTE, &[n(3, &[Iso3166])], &[&[&["01"], &["02"], &["03"]]], &[], None),
    def("427", "427", "ORIGIN SUBDIVISION", ATTRIBUTE, &[xv(3, &[])], &[&[&["01", "422"], &["02", "422"], &["03", "422"]]], &[], None),
    def("4300", "4300", "SHIP TO COMP", ATTRIBUTE, &[xv(35, &[PercentEncoded])], &[&[&["00"]]], &[], None),
    def("4301", "4301", "SHIP TO NAME", ATTRIBUTE, &[xv(35, &[PercentEncoded])], &[&[&["00"]]], &[], None),
    def("4302", "4302", "SHIP TO ADD1", ATTRIBUTE, &[xv(70, &[PercentEncoded])], &[&[&["00"]]], &[], None),
    def("4303", "4303", "SHIP TO ADD2", ATTRIBUTE, &[xv(70, &[PercentEncoded])], &[&[&["4302"]]], &[], None),
    def("4304", "4304", "SHIP TO SUB", ATTRIBUTE, &[xv(70, &[PercentEncoded])], &[&[&["00"]]], &[], None),
    def("4305", "4305", "SHIP TO LOC", ATTRIBUTE, &[xv(70, &[PercentEncoded])], &[&[&["00"]]], &[], None),
    def("4306", "4306", "SHIP TO REG", ATTRIBUTE, &[xv(70, &[PercentEncoded])], &[&[&["00"]]], &[], None),
    def("4307", "4307", "SHIP TO COUNTRY", ATTRIBUTE, &[x(2, &[Iso3166Alpha2])], &[&[&["00"]]], &[], None),
    def("4308", "4308", "SHIP TO PHONE", ATTRIBUTE, &[xv(30, &[])], &[&[&["00"]]], &[], None),
    def("4309", "4309", "SHIP TO GEO", ATTRIBUTE, &[n(10, &[Latitude]), n(10, &[Longitude])], &[&[&["00"]]], &[], None),
    def("4310", "4310", "RTN TO COMP", ATTRIBUTE, &[xv(35, &[PercentEncoded])], &[&[&["00"]]], &[], None),
    def("4311", "4311", "RTN TO NAME", ATTRIBUTE, &[xv(35, &[PercentEncoded])], &[&[&["00"]]], &[], None),
    def("4312", "4312", "RTN TO ADD1", ATTRIBUTE, &[xv(70, &[PercentEncoded])], &[&[&["00"]]], &[], None),
    def("4313", "4313", "RTN TO ADD2", ATTRIBUTE, &[xv(70, &[PercentEncoded])], &[&[&["4312"]]], &[], None),
    def("4314", "4314", "RTN TO SUB", ATTRIBUTE, &[xv(70, &[PercentEncoded])], &[&[&["00"]]], &[], None),
    def("4315", "4315", "RTN TO LOC", ATTRIBUTE, &[xv(70, &[PercentEncoded])], &[&[&["00"]]], &[], None),
    def("4316", "4316", "RTN TO REG", ATTRIBUTE, &[xv(70, &[PercentEncoded])], &[&[&["00"]]], &[], None),
    def("4317", "4317", "RTN TO COUNTRY", ATTRIBUTE, &[x(2, &[Iso3166Alpha2])], &[&[&["00"]]], &[], None),
    def("4318", "4318", "RTN TO POST", ATTRIBUTE, &[xv(20, &[])], &[&[&["00"]]], &[], None),
    def("4319", "4319", "RTN TO PHONE", ATTRIBUTE, &[xv(30, &[])], &[&[&["00"]]], &[], None),
    def("4320", "4320", "SRV DESCRIPTION", ATTRIBUTE, &[xv(35, &[PercentEncoded])], &[&[&["00"]]], &[], None),
    def("4321", "4321", "DANGEROUS GOODS", ATTRIBUTE, &[n(1, &[YesNo])], &[&[&["00"]]], &[], None),
    def("4322", "4322", "AUTH TO LEAVE", ATTRIBUTE, &[n(1, &[YesNo])], &[&[&["00"]]], &[], None),
    def("4323", "4323", "SIG REQUIRED", ATTRIBUTE, &[n(1, &[YesNo])], &[&[&["00"]]], &[], None),
    def("4324", "4324", "NOT BEF DEL DT", ATTRIBUTE, &[n(6, &[Yymmd0]), n(4, &[Hhmi])], &[&[&["00"]]], &[], None),
    def("4325", "4325", "NOT AFT DEL DT", ATTRIBUTE, &[n(6, &[Yymmd0]), n(4, &[Hhmi])], &[&[&["00"]]], &[], None),
    def("4326", "4326", "REL DATE", ATTRIBUTE, &[n(6, &[Yymmdd])], &[&[&["00"]]], &[], None),
    def("4330", "4330", "MAX TEMP F.", ATTRIBUTE, &[n(6, &[]), opt(x(1, &[Hyphen]))], &[&[&["00"]]], &["4331"], None),
    def("4331", "4331", "MAX TEMP C.", ATTRIBUTE, &[n(6, &[]), opt(x(1, &[Hyphen]))], &[&[&["00"]]], &["4330"], None),
    def("4332", "4332", "MIN TEMP F.", ATTRIBUTE, &[n(6, &[]), opt(x(1, &[Hyphen]))], &[&[&["00"]]], &["4333"], None),
    def("4333", "4333", "MIN TEMP C.", ATTRIBUTE, &[n(6, &[]), opt(x(1, &[Hyphen]))], &[&[&["00"]]], &["4332"], None),
    def("7001", "7001", "NSN", ATTRIBUTE, &[n(13, &[])], &[&[&["01"], &["02"], &["8006"], &["8026"]]], &[], None),
    def("7002", "7002", "MEAT CUT", ATTRIBUTE, &[xv(30, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("7003", "7003", "EXPIRY TIME", ATTRIBUTE, &[n(6, &[Yymmdd]), n(4, &[Hhmi])], &[&[&["01"], &["02"], &["03"]]], &[], None),
    def("7004", "7004", "ACTIVE POTENCY", ATTRIBUTE, &[nv(4, &[])], &[&[&["01", "10"], &["03", "10"]]], &[], None),
    def("7005", "7005", "CATCH AREA", ATTRIBUTE, &[xv(12, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("7006", "7006", "FIRST FREEZE DATE", ATTRIBUTE, &[n(6, &[Yymmdd])], &[&[&["01"], &["02"]]], &[], None),
    def("7007", "7007", "HARVEST DATE", ATTRIBUTE, &[n(6, &[Yymmdd]), opt(n(6, &[Yymmdd]))], &[&[&["01"], &["02"]]], &[], None),
    def("7008", "7008", "AQUATIC SPECIES", ATTRIBUTE, &[xv(3, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("7009", "7009", "FISHING GEAR TYPE", ATTRIBUTE, &[xv(10, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("7010", "7010", "PROD METHOD", ATTRIBUTE, &[xv(2, &[])], &[&[&["01"], &["02"], &["03"]]], &[], None),
    def("7011", "7011", "TEST BY DATE", ATTRIBUTE, &[n(6, &[Yymmdd]), opt(n(4, &[Hhmi]))], &[&[&["01"], &["02"], &["03"]]], &[], None),
    def("7020", "7020", "REFURB LOT", ATTRIBUTE, &[xv(20, &[])], &[&[&["01", "416"], &["03", "416"], &["8006", "416"]]], &[], None),
    def("7021", "7021", "FUNC STAT", ATTRIBUTE, &[xv(20, &[])], &[&[&["01"], &["03"], &["8006"]]], &[], None),
    def("7022", "7022", "REV STAT", ATTRIBUTE, &[xv(20, &[])], &[&[&["01", "7021"], &["03", "7021"], &["8006", "7021"]]], &[], None),
    def("7023", "7023", "GIAI - ASSEMBLY", ATTRIBUTE, &[xv(30, &[GcpPos1])], &[], &[], None),
    def("7030", "7030", "PROCESSOR # 0", ATTRIBUTE, &[n(3, &[Iso3166Or999]), xv(27, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("7031", "7031", "PROCESSOR # 1", ATTRIBUTE, &[n(3, &[Iso3166Or999]), xv(27, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("7032", "7032", "PROCESSOR # 2", ATTRIBUTE, &[n(3, &[Iso3166Or999]), xv(27, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("7033", "7033", "PROCESSOR # 3", ATTRIBUTE, &[n(3, &[Iso3166Or999]), xv(27, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("7034", "7034", "PROCESSOR # 4", ATTRIBUTE, &[n(3, &[Iso3166Or999]), xv(27, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("7035", "7035", "PROCESSOR # 5", ATTRIBUTE, &[n(3, &[Iso3166Or999]), xv(27, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("7036", "7036", "PROCESSOR # 6", ATTRIBUTE, &[n(3, &[Iso3166Or999]), xv(27, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("7037", "7037", "PROCESSOR # 7", ATTRIBUTE, &[n(3, &[Iso3166Or999]), xv(27, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("7038", "7038", "PROCESSOR # 8", ATTRIBUTE, &[n(3, &[Iso3166Or999]), xv(27, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("7039", "7039", "PROCESSOR # 9", ATTRIBUTE, &[n(3, &[Iso3166Or999]), xv(27, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("7040", "7040", "UIC+EXT", 0, &[n(1, &[]), x(1, &[]), x(1, &[]), x(1, &[ImporterIndex])], &[], &[], None),
    def("7041", "7041", "UFRGT UNIT TYPE", 0, &[xv(4, &[PackageType])], &[&[&["00"]]], &[], None),
    def("710", "710", "NHRN PZN", ATTRIBUTE, &[xv(20, &[])], &[&[&["01"]]], &[], None),
    def("711", "711", "NHRN CIP", ATTRIBUTE, &[xv(20, &[])], &[&[&["01"]]], &[], None),
    def("712", "712", "NHRN CN", ATTRIBUTE, &[xv(20, &[])], &[&[&["01"]]], &[], None),
    def("713", "713", "NHRN DRN", ATTRIBUTE, &[xv(20, &[])], &[&[&["01"]]], &[], None),
    def("714", "714", "NHRN AIM", ATTRIBUTE, &[xv(20, &[])], &[&[&["01"]]], &[], None),
    def("715", "715", "NHRN NDC", ATTRIBUTE, &[xv(20, &[])], &[&[&["01"]]], &[], None),
    def("716", "716", "NHRN AIC", ATTRIBUTE, &[xv(20, &[])], &[&[&["01"]]], &[], None),
    def("717", "717", "NHRN SRN", ATTRIBUTE, &[xv(20, &[])], &[&[&["01"]]], &[], None),
    def("7230", "7230", "CERT # 1", ATTRIBUTE, &[x(2, &[]), xv(28, &[])], &[&[&["01"], &["8004"]]], &[], None),
    def("7231", "7231", "CERT # 2", ATTRIBUTE, &[x(2, &[]), xv(28, &[])], &[&[&["01"], &["8004"]]], &[], None),
    def("7232", "7232", "CERT # 3", ATTRIBUTE, &[x(2, &[]), xv(28, &[])], &[&[&["01"], &["8004"]]], &[], None),
    def("7233", "7233", "CERT # 4", ATTRIBUTE, &[x(2, &[]), xv(28, &[])], &[&[&["01"], &["8004"]]], &[], None),
    def("7234", "7234", "CERT # 5", ATTRIBUTE, &[x(2, &[]), xv(28, &[])], &[&[&["01"], &["8004"]]], &[], None),
    def("7235", "7235", "CERT # 6", ATTRIBUTE, &[x(2, &[]), xv(28, &[])], &[&[&["01"], &["8004"]]], &[], None),
    def("7236", "7236", "CERT # 7", ATTRIBUTE, &[x(2, &[]), xv(28, &[])], &[&[&["01"], &["8004"]]], &[], None),
    def("7237", "7237", "CERT # 8", ATTRIBUTE, &[x(2, &[]), xv(28, &[])], &[&[&["01"], &["8004"]]], &[], None),
    def("7238", "7238", "CERT # 9", ATTRIBUTE, &[x(2, &[]), xv(28, &[])], &[&[&["01"], &["8004"]]], &[], None),
    def("7239", "7239", "CERT # 10", ATTRIBUTE, &[x(2, &[]), xv(28, &[])], &[&[&["01"], &["8004"]]], &[], None),
    def("7240", "7240", "PROTOCOL", ATTRIBUTE, &[xv(20, &[])], &[&[&["01"], &["8006"]]], &["03"], None),
    def("7241", "7241", "AIDC MEDIA TYPE", ATTRIBUTE, &[n(2, &[MediaType])], &[&[&["8017"], &["8018"]]], &[], None),
    def("7242", "7242", "VCN", ATTRIBUTE, &[xv(25, &[])], &[&[&["8017"], &["8018"]]], &[], None),
    def("7250", "7250", "DOB", ATTRIBUTE, &[n(8, &[Yyyymmdd])], &[&[&["8018"]]], &["7251"], None),
    def("7251", "7251", "DOB TIME", ATTRIBUTE, &[n(8, &[Yyyymmdd]), n(4, &[Hhmi])], &[&[&["8018"]]], &["7250"], None),
    def("7252", "7252", "BIO SEX", ATTRIBUTE, &[n(1, &[Iso5218])], &[&[&["8018"]]], &[], None),
    def("7253", "7253", "FAMILY NAME", ATTRIBUTE, &[xv(40, &[PercentEncoded])], &[&[&["8017"], &["8018"]]], &["7256", "7259"], None),
    def("7254", "7254", "GIVEN NAME", ATTRIBUTE, &[xv(40, &[PercentEncoded])], &[&[&["8017"], &["8018"]]], &["7256", "7259"], None),
    def("7255", "7255", "SUFFIX", ATTRIBUTE, &[xv(10, &[])], &[&[&["8017"], &["8018"]]], &["7256", "7259"], None),
    def("7256", "7256", "FULL NAME", ATTRIBUTE, &[xv(90, &[PercentEncoded])], &[&[&["8017"], &["8018"]]], &[], None),
    def("7257", "7257", "PERSON ADDR", ATTRIBUTE, &[xv(70, &[PercentEncoded])], &[&[&["8018"]]], &[], None),
    def("7258", "7258", "BIRTH SEQUENCE", ATTRIBUTE, &[x(3, &[PositionInSequence])], &[&[&["8018", "7259"]]], &[], None),
    def("7259", "7259", "BABY", ATTRIBUTE, &[xv(40, &[PercentEncoded])], &[&[&["8018"]]], &["7256"], None),
    def("8001", "8001", "DIMENSIONS", ATTRIBUTE, &[n(4, &[NonZero]), n(5, &[NonZero]), n(3, &[NonZero]), n(1, &[Winding]), n(1, &[])], &[&[&["01"]]], &[], None),
    def("8002", "8002", "CMT No.", ATTRIBUTE, &[xv(20, &[])], &[], &[], None),
    def("8003", "8003", "GRAI", ATTRIBUTE, &[n(1, &[Zero]), n(13, &[Csum, GcpPos1]), opt(xv(16, &[]))], &[], &[], Some(&[&[]])),
    def("8004", "8004", "GIAI", ATTRIBUTE, &[xv(30, &[GcpPos1])], &[], &[], Some(&[&["7040"]])),
    def("8005", "8005", "PRICE PER UNIT", ATTRIBUTE, &[n(6, &[])], &[&[&["01"], &["02"]]], &[], None),
    def("8006", "8006", "ITIP", ATTRIBUTE, &[n(14, &[Csum, GcpPos2]), n(4, &[PieceOfTotal])], &[], &["01", "03", "37"], Some(&[&["22", "10", "21"]])),
    def("8007", "8007", "IBAN", ATTRIBUTE, &[xv(34, &[Iban])], &[&[&["415"]]], &[], None),
    def("8008", "8008", "PROD TIME", ATTRIBUTE, &[n(6, &[Yymmdd]), n(2, &[Hh]), opt(n(2, &[Mi])), opt(n(2, &[Ss]))], &[&[&["01"], &["02"], &["03"]]], &[], None),
    def("8009", "8009", "OPTSEN", ATTRIBUTE, &[xv(50, &[])], &[&[&["00"], &["01"], &["03"]]], &[], None),
    def("8010", "8010", "CPID", ATTRIBUTE, &[yv(30, &[GcpPos1])], &[], &[], Some(&[&["8011"]])),
    def("8011", "8011", "CPID SERIAL", 0, &[nv(12, &[NoZeroPrefix])], &[&[&["8010"]]], &[], None),
    def("8012", "8012", "VERSION", ATTRIBUTE, &[xv(20, &[])], &[&[&["01"], &["03"], &["8006"]]], &[], None),
    def("8013", "8013", "GMN", ATTRIBUTE, &[xv(25, &[CsumAlpha, GcpPos1])], &[], &[], Some(&[&[]])),
    def("8014", "8014", "MUDI", 0, &[xv(25, &[CsumAlpha, GcpPos1, HasNonDigit])], &[&[&["01"]]], &[], None),
    def("8017", "8017", "GSRN - PROVIDER", ATTRIBUTE, &[n(18, &[Csum, GcpPos1])], &[], &["8018"], Some(&[&["8019"]])),
    def("8018", "8018", "GSRN - RECIPIENT", ATTRIBUTE, &[n(18, &[Csum, GcpPos1])], &[], &["8017"], Some(&[&["8019"]])),
    def("8019", "8019", "SRIN", 0, &[nv(10, &[])], &[&[&["8017"], &["8018"]]], &[], None),
    def("8020", "8020", "REF No.", 0, &[xv(25, &[])], &[&[&["415"]]], &[], None),
    def("8026", "8026", "ITIP CONTENT", ATTRIBUTE, &[n(14, &[Csum, GcpPos2]), n(4, &[PieceOfTotal])], &[&[&["37"]]], &["02", "03", "8006"], None),
    def("8030", "8030", "DIGSIG", ATTRIBUTE, &[zv(90, &[])], &[&[&["00"], &["01", "21"], &["03", "21"], &["253"], &["255"], &["8003"], &["8004"], &["8006", "21"], &["8010", "8011"], &["8017"], &["8018"]]], &[], None),
    def("8040", "8040", "IMEI", 0, &[n(15, &[])], &[&[&["01", "21"]]], &[], None),
    def("8041", "8041", "IMEI2", 0, &[n(15, &[])], &[&[&["01", "21", "8040"]]], &[], None),
    def("8042", "8042", "ESIM", 0, &[n(32, &[])], &[&[&["01", "21", "8040"]]], &[], None),
    def("8043", "8043", "PSIM", 0, &[n(18, &[]), opt(nv(2, &[]))], &[&[&["01", "21", "8040"]]], &[], None),
    def("8110", "8110", "", ATTRIBUTE, &[xv(70, &[CouponCode])], &[], &[], None),
    def("8111", "8111", "POINTS", ATTRIBUTE, &[n(4, &[])], &[&[&["255"]]], &[], None),
    def("8112", "8112", "", ATTRIBUTE, &[xv(70, &[CouponPositiveOffer])], &[], &[], None),
    def("8200", "8200", "PRODUCT URL", 0, &[xv(70, &[])], &[&[&["01"]]], &[], None),
    def("90", "90", "INTERNAL", ATTRIBUTE, &[xv(30, &[])], &[], &[], None),
    def("91", "99", "INTERNAL", ATTRIBUTE, &[xv(90, &[])], &[], &[], None),
];

/// An Application Identifier.
#[derive(Debug)]
pub struct Ai {
    code: Box<str>,
    pub title: &'static str,
    pub components: &'static [Component],
    /// Pre-defined length: no separator follows it in a raw element string.
    pub predefined: bool,
    /// May appear as a GS1 Digital Link query attribute.
    pub dl_attribute: bool,
    /// Primary key in GS1 Digital Link, with its alternative qualifier sequences.
    pub dl_key: Option<&'static [Patterns]>,
    requires: &'static [&'static [Patterns]],
    excludes: Patterns,
    /// `requires` and `excludes` as ranges of ids, compared as numbers on the hot path.
    requires_ids: Box<[Requirement]>,
    excludes_ids: Box<[IdRange]>,
    /// Length and value of the code in one number (`01` → 20001, `3103` → 43103).
    pub(crate) id: u32,
    /// Position in the table (a compact handle for parsed elements).
    pub(crate) index: u16,
    min_length: u16,
    max_length: u16,
}

impl Ai {
    /// The AI's digits, as written in brackets: `01`, `3103`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Shortest data the AI takes.
    pub fn min_length(&self) -> usize {
        usize::from(self.min_length)
    }

    /// Longest data the AI takes.
    pub fn max_length(&self) -> usize {
        usize::from(self.max_length)
    }

    /// Total length when the data always has the same length.
    pub fn fixed_length(&self) -> Option<usize> {
        (self.min_length == self.max_length).then_some(self.max_length())
    }

    fn matches(&self, pattern: &str) -> bool {
        pattern.len() == self.code.len()
            && pattern
                .bytes()
                .zip(self.code.bytes())
                .all(|(p, c)| p == c || p == b'n')
    }
}

/// Ids an AI pattern covers (`31nn` → 43100..=43199).
type IdRange = (u32, u32);

/// One `req=` attribute: alternatives, each a group of AIs that must all be present.
type Requirement = Box<[Box<[IdRange]>]>;

fn id_range(pattern: &str) -> IdRange {
    let len = pattern.len() as u32;
    let (mut low, mut high) = (0u32, 0u32);
    for b in pattern.bytes() {
        let (l, h) = if b == b'n' {
            (0, 9)
        } else {
            (
                u32::from(b.wrapping_sub(b'0')),
                u32::from(b.wrapping_sub(b'0')),
            )
        };
        low = low * 10 + l;
        high = high * 10 + h;
    }
    (len * 10_000 + low, len * 10_000 + high)
}

/// The id of a code of 2 to 4 digits.
pub(crate) const fn code_id(code: &str) -> u32 {
    let bytes = code.as_bytes();
    let mut value = 0u32;
    let mut at = 0;
    while at < bytes.len() {
        value = value * 10 + (bytes[at].wrapping_sub(b'0')) as u32;
        at += 1;
    }
    bytes.len() as u32 * 10_000 + value
}

/// The expanded table and a dense index over every code of 2, 3 and 4 digits.
struct Table {
    ais: Vec<Ai>,
    /// 0 = no AI; otherwise position + 1 in `ais`.
    index: Vec<u16>,
}

/// Position of an all-digit code of 2 to 4 digits in the dense index: AIs are looked up
/// for every element of every code, so a look-up is one index instead of a search.
fn slot(code: &[u8]) -> Option<usize> {
    if !(2..=4).contains(&code.len()) || !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = code
        .iter()
        .fold(0usize, |v, d| v * 10 + usize::from(d - b'0'));
    Some(match code.len() {
        2 => value,
        3 => 100 + value,
        _ => 1100 + value,
    })
}

const SLOTS: usize = 100 + 1_000 + 10_000;

static TABLE: OnceLock<Table> = OnceLock::new();

fn table() -> &'static Table {
    TABLE.get_or_init(|| {
        let mut ais = Vec::with_capacity(640);
        for d in DEFINITIONS {
            let width = d.from.len();
            let (Ok(from), Ok(to)) = (d.from.parse::<u32>(), d.to.parse::<u32>()) else {
                continue;
            };
            for value in from..=to {
                let min = d
                    .components
                    .iter()
                    .filter(|c| !c.optional)
                    .map(|c| u16::from(c.min))
                    .sum();
                let max = d.components.iter().map(|c| u16::from(c.max)).sum();
                ais.push(Ai {
                    code: format!("{value:0width$}").into_boxed_str(),
                    title: d.title,
                    components: d.components,
                    predefined: d.flags & PREDEFINED != 0,
                    dl_attribute: d.flags & ATTRIBUTE != 0,
                    dl_key: d.key,
                    requires: d.requires,
                    excludes: d.excludes,
                    requires_ids: d
                        .requires
                        .iter()
                        .map(|alternatives| {
                            alternatives
                                .iter()
                                .map(|group| group.iter().map(|p| id_range(p)).collect())
                                .collect()
                        })
                        .collect(),
                    excludes_ids: d.excludes.iter().map(|p| id_range(p)).collect(),
                    id: width as u32 * 10_000 + value,
                    index: u16::try_from(ais.len()).unwrap_or(u16::MAX),
                    min_length: min,
                    max_length: max,
                });
            }
        }
        let mut index = vec![0u16; SLOTS];
        for (at, ai) in ais.iter().enumerate() {
            if let (Some(s), Ok(handle)) = (slot(ai.code.as_bytes()), u16::try_from(at + 1)) {
                index[s] = handle;
            }
        }
        Table { ais, index }
    })
}

/// The AI with this code.
pub fn lookup(code: &str) -> Option<&'static Ai> {
    lookup_bytes(code.as_bytes())
}

pub(crate) fn lookup_bytes(code: &[u8]) -> Option<&'static Ai> {
    let table = table();
    let handle = *table.index.get(slot(code)?)?;
    table.ais.get(usize::from(handle).checked_sub(1)?)
}

/// The AI at a handle from [`Ai::index`].
pub(crate) fn by_index(index: u16) -> Option<&'static Ai> {
    table().ais.get(usize::from(index))
}

/// The AI a raw element string starts with. AIs are prefix-free (a test below keeps it
/// so), so the first code of 2, 3 or 4 digits that is an AI is the one.
pub fn at_start(data: &[u8]) -> Option<&'static Ai> {
    (2..=4)
        .filter_map(|len| data.get(..len))
        .find_map(lookup_bytes)
}

/// Every AI, in the dictionary's order.
pub fn all() -> impl Iterator<Item = &'static Ai> {
    table().ais.iter()
}

/// Why a set of AIs cannot appear together.
#[derive(Debug, Clone)]
pub enum Association {
    /// `ai` needs one of `alternatives` (each a group of AIs that must all be present).
    Missing {
        ai: &'static Ai,
        alternatives: &'static [Patterns],
    },
    /// `ai` may not appear with `other`.
    Excluded { ai: &'static Ai, other: &'static Ai },
}

impl std::fmt::Display for Association {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Association::Missing { ai, alternatives } => {
                write!(f, "({}) {} needs ", ai.code, ai.title)?;
                for (at, group) in alternatives.iter().enumerate() {
                    if at > 0 {
                        f.write_str(if at + 1 == alternatives.len() {
                            " or "
                        } else {
                            ", "
                        })?;
                    }
                    for (k, pattern) in group.iter().enumerate() {
                        if k > 0 {
                            f.write_str(" with ")?;
                        }
                        write!(f, "({pattern})")?;
                    }
                }
                f.write_str(" in the same code")
            }
            Association::Excluded { ai, other } => write!(
                f,
                "({}) {} may not appear together with ({}) {}",
                ai.code, ai.title, other.code, other.title
            ),
        }
    }
}

/// Checks the mandatory associations and invalid pairs of the dictionary (`req=`, `ex=`)
/// over the AIs present.
pub fn check_associations<I>(present: I) -> Result<(), Association>
where
    I: Iterator<Item = &'static Ai> + Clone,
{
    let mut ids = [0u32; 64];
    let mut count = 0;
    for (slot, ai) in ids.iter_mut().zip(present.clone()) {
        *slot = ai.id;
        count += 1;
    }
    let ids = &ids[..count];
    let has = |(low, high): IdRange| ids.iter().any(|id| (low..=high).contains(id));
    for (at, ai) in present.clone().take(count).enumerate() {
        for (k, &(low, high)) in ai.excludes_ids.iter().enumerate() {
            // An AI is not exclusive of itself, even when it matches a pattern.
            if ids
                .iter()
                .any(|id| *id != ai.id && (low..=high).contains(id))
            {
                let other = present
                    .clone()
                    .find(|o| o.id != ai.id && ai.excludes.get(k).is_some_and(|p| o.matches(p)));
                if let Some(other) = other {
                    return Err(Association::Excluded { ai, other });
                }
            }
        }
        if ids[..at].contains(&ai.id) {
            continue;
        }
        for (requirement, alternatives) in ai.requires_ids.iter().zip(ai.requires) {
            if !requirement
                .iter()
                .any(|group| group.iter().all(|range| has(*range)))
            {
                return Err(Association::Missing { ai, alternatives });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ai_is_found_by_its_own_code_only() {
        let count = all().count();
        assert!(count > 500, "{count}");
        for ai in all() {
            assert!(
                lookup(ai.code()).is_some_and(|found| std::ptr::eq(found, ai)),
                "{}",
                ai.code()
            );
            assert!(by_index(ai.index).is_some_and(|found| std::ptr::eq(found, ai)));
        }
        for code in ["", "0", "99999", "1a", "(01)", "999", "9999", "14", "3106"] {
            assert!(lookup(code).is_none(), "{code:?}");
        }
    }

    #[test]
    fn no_code_is_a_prefix_of_another() {
        let all: Vec<&str> = all().map(Ai::code).collect();
        for a in &all {
            for b in &all {
                assert!(a == b || !b.starts_with(a), "{a} is a prefix of {b}");
            }
        }
    }

    #[test]
    fn lengths_and_flags_follow_the_dictionary() {
        let ai = |c| lookup(c).expect("known AI");
        assert_eq!(ai("01").fixed_length(), Some(14));
        assert_eq!(ai("00").fixed_length(), Some(18));
        assert_eq!(ai("10").max_length(), 20);
        assert_eq!(ai("3103").fixed_length(), Some(6));
        assert_eq!(ai("7003").fixed_length(), Some(10));
        assert!(!ai("7003").predefined, "fixed length but needs a separator");
        assert_eq!(ai("8003").max_length(), 30);
        assert_eq!(ai("8003").min_length(), 14);
        assert_eq!(ai("91").max_length(), 90);
        assert_eq!(ai("99").max_length(), 90);
        assert!(ai("99").dl_attribute);
        assert!(!ai("21").dl_attribute, "a serial belongs in the path");
        assert!(ai("17").predefined && ai("11").predefined && ai("20").predefined);
        assert!(!ai("10").predefined && !ai("21").predefined && !ai("422").predefined);
        assert!(ai("414").dl_key.is_some() && ai("02").dl_key.is_none());
        assert_eq!(ai("3929").title, "PRICE");
        assert_eq!(ai("7239").title, "CERT # 10");
    }

    #[test]
    fn associations_follow_the_dictionary() {
        let ai = |c| lookup(c).expect("known AI");
        assert!(check_associations([ai("01"), ai("10"), ai("21")].into_iter()).is_ok());
        let missing = check_associations([ai("10")].into_iter()).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("(10) BATCH/LOT needs (01), (02), (03), (8006) or (8026)"),
            "{missing}"
        );
        let excluded = check_associations([ai("01"), ai("02"), ai("37")].into_iter()).unwrap_err();
        assert!(
            excluded
                .to_string()
                .contains("(01) GTIN may not appear together with (37) COUNT")
        );
        // Net weight with two decimal positions is one measure given twice.
        assert!(check_associations([ai("01"), ai("3102"), ai("3103")].into_iter()).is_err());
        assert!(check_associations([ai("01"), ai("3102"), ai("3102")].into_iter()).is_ok());
        // `req=01+21`: the secondary serial needs a GTIN together with a serial.
        assert!(check_associations([ai("01"), ai("250")].into_iter()).is_err());
        assert!(check_associations([ai("01"), ai("21"), ai("250")].into_iter()).is_ok());
        assert!(check_associations([ai("01"), ai("3922")].into_iter()).is_err());
        assert!(check_associations([ai("01"), ai("30"), ai("3922")].into_iter()).is_ok());
        // Company-internal AIs need nothing.
        assert!(check_associations([ai("91")].into_iter()).is_ok());
    }
}
