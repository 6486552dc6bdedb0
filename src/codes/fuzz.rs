//! Property tests and a bounded mutational fuzzer over `codes::parse` and the identifier
//! parsers. The fuzzer runs `TRACEGATE_FUZZ_CASES` inputs (100,000 by default, so the suite
//! stays quick); docs/PERFORMANCE.md gives the command for the 10-million-input run.

use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::prelude::*;

use super::{Form, ParsedCode, check_digit, parse};
use crate::identity::{EnterpriseCode, NationalId};

const YEAR: i32 = 2026;
const GS: char = '\u{1d}';
const CSET82: &[u8] =
    b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// What every successful parse must give: a complete key, never empty, never ending in
/// `/`, with look-up keys of the same shape; GS1 keys read back as a Digital Link.
fn well_formed(code: &ParsedCode) -> Result<(), String> {
    let canonical = code.canonical();
    if canonical.is_empty() || canonical.ends_with('/') || canonical.contains("//") {
        return Err(format!("malformed canonical key {canonical:?}"));
    }
    let keys = code.lookup_keys();
    if keys.is_empty()
        || keys
            .iter()
            .any(|k| k.is_empty() || k.ends_with('/') || k.contains("//"))
    {
        return Err(format!("malformed look-up keys {keys:?}"));
    }
    if code.form == Form::Issuer {
        return if canonical.starts_with("issuer:") {
            Ok(())
        } else {
            Err(format!("issuer key {canonical:?}"))
        };
    }
    let base = keys.iter().last().unwrap_or_default();
    if !canonical.starts_with('/')
        || !canonical.starts_with(base)
        || !keys.iter().all(|k| k.starts_with(base))
    {
        return Err(format!("GS1 key {canonical:?} with keys {keys:?}"));
    }
    match parse(&format!("https://example.com{canonical}"), YEAR) {
        Ok(again) if again.canonical() == canonical => Ok(()),
        Ok(again) => Err(format!(
            "{canonical:?} reads back as {:?}",
            again.canonical()
        )),
        Err(e) => Err(format!(
            "{canonical:?} does not read back as a Digital Link: {e}"
        )),
    }
}

/// The element string of a parsed code, bracketed (`(` in values escaped).
fn bracketed(code: &ParsedCode) -> String {
    code.elements()
        .map(|e| format!("({}){}", e.ai, e.value.replace('(', "\\(")))
        .collect()
}

fn gtin(body: &str) -> String {
    format!("{body}{}", check_digit(body.as_bytes()))
}

/// A value of 1 to `max` characters of GS1's character set 82.
fn cset82(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(CSET82), 1..=max)
        .prop_map(|bytes| bytes.into_iter().map(char::from).collect())
}

/// One element: AI, value, whether its length is pre-defined (no separator after it).
fn element() -> impl Strategy<Value = (&'static str, String, bool)> {
    prop_oneof![
        cset82(20).prop_map(|v| ("10", v, false)),
        cset82(20).prop_map(|v| ("22", v, false)),
        cset82(30).prop_map(|v| ("240", v, false)),
        cset82(30).prop_map(|v| ("241", v, false)),
        cset82(20).prop_map(|v| ("243", v, false)),
        cset82(90).prop_map(|v| ("91", v, false)),
        cset82(90).prop_map(|v| ("99", v, false)),
        cset82(30).prop_map(|v| ("90", v, false)),
        "[0-9]{1,6}".prop_map(|v| ("242", v, false)),
        (0u32..100, 1u32..13, 0u32..29).prop_map(|(y, m, d)| (
            "17",
            format!("{y:02}{m:02}{d:02}"),
            true
        )),
        (0u32..100, 1u32..13, 1u32..29).prop_map(|(y, m, d)| (
            "11",
            format!("{y:02}{m:02}{d:02}"),
            true
        )),
        (0u32..6, "[0-9]{6}").prop_map(|(p, v)| (
            ["3100", "3101", "3102", "3103", "3104", "3105"][p as usize],
            v,
            true
        )),
        Just(("422", "704".to_string(), false)),
        (0u32..100, 1u32..13, 1u32..29, 0u32..24, 0u32..60).prop_map(|(y, m, d, h, i)| (
            "7003",
            format!("{y:02}{m:02}{d:02}{h:02}{i:02}"),
            false
        )),
    ]
}

/// Random valid codes: a GTIN, maybe a serial, and distinct other elements.
fn valid_code() -> impl Strategy<Value = Vec<(&'static str, String, bool)>> {
    (
        "[0-9]{13}",
        proptest::option::of(cset82(20)),
        proptest::collection::vec(element(), 0..5),
    )
        .prop_map(|(body, serial, rest)| {
            let mut elements = vec![("01", gtin(&body), true)];
            if let Some(serial) = serial {
                elements.push(("21", serial, false));
            }
            for e in rest {
                // One AI once; one measure of a kind (31nn excludes 31n with another nn).
                if elements
                    .iter()
                    .all(|(ai, _, _)| ai.get(..3) != e.0.get(..3))
                {
                    elements.push(e);
                }
            }
            elements
        })
}

/// Raw data with GS only where the General Specifications need one (after every value of
/// no pre-defined length but the last); `every` puts one after every value but the last.
fn raw(elements: &[(&str, String, bool)], every: bool) -> String {
    let mut out = String::new();
    for (at, (ai, value, predefined)) in elements.iter().enumerate() {
        out.push_str(ai);
        out.push_str(value);
        if at + 1 < elements.len() && (every || !predefined) {
            out.push(GS);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_valid_ai_strings_parse_and_round_trip(
        elements in valid_code(),
        symbology in prop_oneof![Just(""), Just("]d2"), Just("]C1"), Just("]Q3"), Just("]e0")],
        every in any::<bool>(),
    ) {
        let forms = [
            elements.iter().map(|(ai, v, _)| format!("({ai}){}", v.replace('(', "\\("))).collect::<String>(),
            format!("{symbology}{}", raw(&elements, every)),
        ];
        // Without any separator: pre-defined lengths first, one variable value last.
        let mut ordered: Vec<_> = elements.iter().filter(|e| e.2).cloned().collect();
        ordered.extend(elements.iter().filter(|e| !e.2).take(1).cloned());
        let no_gs = format!("{symbology}{}", raw(&ordered, false));
        let mut canonical = None;
        for form in forms.iter().chain([&no_gs]) {
            let code = parse(form, YEAR).map_err(|e| TestCaseError::fail(format!("{form:?}: {e}")))?;
            well_formed(&code).map_err(|e| TestCaseError::fail(format!("{form:?}: {e}")))?;
            let again = parse(&bracketed(&code), YEAR).map_err(|e| TestCaseError::fail(format!("{form:?} as elements: {e}")))?;
            prop_assert_eq!(again.canonical(), code.canonical());
            if form != &no_gs {
                if let Some(first) = &canonical {
                    prop_assert_eq!(first, &code.canonical().to_owned());
                }
                canonical = Some(code.canonical().to_owned());
            }
        }
    }

    #[test]
    fn random_bytes_never_panic_or_yield_a_malformed_key(bytes in proptest::collection::vec(any::<u8>(), 0..=200)) {
        let input = String::from_utf8_lossy(&bytes);
        if let Ok(code) = parse(&input, YEAR) {
            well_formed(&code).map_err(|e| TestCaseError::fail(format!("{input:?}: {e}")))?;
        }
    }
}

/// xorshift64*: a small deterministic generator, so a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    "9501101020917",
    "(01)09501101020917(17)260531(10)AB-123(21)XYZ987",
    "]d201095011010209171726053110AB-123\u{1d}21XYZ987",
    "0109501101020917310300125010LOT7",
    "https://id.example.vn/01/09501101020917/10/AB-123/21/XYZ987?17=260531&linkType=gs1:pip",
    "https://example.com/414/9501101530003/254/A1",
    "urn:epc:id:sgtin:0614141.812345.A%2FB",
    "urn:epc:tag:sgtin-96:3.0614141.812345.6789",
    "urn:epc:class:lgtin:4012345.012345.998877",
    "vnqr-hn:HN-2026/000123",
    "(01)09501101020917(91)X-1(99)ABC123(8001)12345678901234",
    "]Q1https://id.gs1.org/01/09501101020917",
    "(00)106141412345678908(02)09501101020917(37)12",
    "0100109106-001",
    "079085900001",
];

/// Bytes a mutation inserts: the separators, brackets and digits parsers decide on.
const INTERESTING: &[u8] = b"0123456789()[]/%?&=:;.-_~ \x1d\\#+ABCdez]\x00\xff";

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(7) {
            0 if !data.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(data.len());
                data.drain(at.min(data.len())..end.max(at.min(data.len())));
            }
            1 => data.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            2 if at < data.len() => data[at] = INTERESTING[rng.below(INTERESTING.len())],
            3 if at < data.len() => data[at] = rng.next() as u8,
            4 => {
                let other = SEEDS[rng.below(SEEDS.len())].as_bytes();
                let from = rng.below(other.len());
                let len = rng.below(other.len() - from + 1);
                data.splice(at..at, other[from..from + len].iter().copied());
            }
            5 if !data.is_empty() => {
                let from = rng.below(data.len());
                let chunk: Vec<u8> = data[from..]
                    .iter()
                    .take(1 + rng.below(16))
                    .copied()
                    .collect();
                data.splice(at..at, chunk);
            }
            _ => data.truncate(at),
        }
    }
    data.truncate(256);
    data
}

/// Runs every parser on `input`; `Err` says which invariant broke.
fn check(input: &str) -> Result<(), String> {
    if let Ok(code) = parse(input, YEAR) {
        well_formed(&code)?;
        let _ = code.to_json();
    }
    let _ = EnterpriseCode::parse(input);
    let _ = NationalId::parse(input);
    let _ = super::Gtin::parse(input);
    let _ = super::valid_issuer_prefix(input);
    Ok(())
}

#[test]
fn mutational_fuzz_finds_no_crash_and_no_malformed_key() {
    let cases: u64 = std::env::var("TRACEGATE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ cases);
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let mut readable = 0u64;
    for n in 0..cases {
        let bytes = if n % 8 == 0 {
            (0..rng.below(201)).map(|_| rng.next() as u8).collect()
        } else {
            let seed = SEEDS[rng.below(SEEDS.len())];
            mutate(&mut rng, seed.as_bytes())
        };
        let input = String::from_utf8_lossy(&bytes).into_owned();
        match catch_unwind(AssertUnwindSafe(|| check(&input))) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => failures.push(format!("{input:?}: {why}")),
            Err(_) => failures.push(format!("{input:?}: panicked")),
        }
        if parse(&input, YEAR).is_ok() {
            readable += 1;
        }
        if failures.len() >= 20 {
            break;
        }
    }
    eprintln!(
        "fuzz: {cases} inputs ({readable} readable) in {:.1} s, {} failures",
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
