//! Code parsing throughput: each form once per iteration, on one core. `parse` is what a
//! listing check pays to read a code; `parse_and_keys` adds walking its look-up keys, and
//! `parse_and_owned_keys` copies them out as the store's queries take them.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tracegate::codes::parse;
use tracegate::identity::EnterpriseCode;

const FORMS: &[(&str, &str)] = &[
    ("gtin13", "9501101020917"),
    (
        "element_string",
        "(01)09501101020917(17)260531(10)AB-123(21)XYZ987",
    ),
    (
        "raw_element_string",
        "]d201095011010209171726053110AB-123\u{1d}21XYZ987",
    ),
    (
        "raw_element_string_no_gs",
        "01095011010209171726053110AB-123",
    ),
    (
        "digital_link",
        "https://id.example.vn/01/09501101020917/10/AB-123/21/XYZ987?17=260531",
    ),
    ("epc_urn", "urn:epc:id:sgtin:0614141.812345.6789"),
    ("issuer", "vnqr-hn:HN-2026/000123"),
];

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    for (name, code) in FORMS {
        group.bench_function(*name, |b| b.iter(|| parse(black_box(code), 2026)));
    }
    group.finish();

    let mut group = c.benchmark_group("parse_and_keys");
    group.throughput(Throughput::Elements(1));
    for (name, code) in FORMS {
        group.bench_function(*name, |b| {
            b.iter(|| {
                parse(black_box(code), 2026)
                    .map(|p| p.lookup_keys().iter().map(str::len).sum::<usize>())
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("parse_and_owned_keys");
    group.throughput(Throughput::Elements(1));
    for (name, code) in FORMS {
        group.bench_function(*name, |b| {
            b.iter(|| parse(black_box(code), 2026).map(|p| p.lookup_keys().to_vec()))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("identifiers");
    group.throughput(Throughput::Elements(1));
    group.bench_function("enterprise_code", |b| {
        b.iter(|| EnterpriseCode::parse(black_box("0100109106-001")))
    });
    group.finish();
}

criterion_group!(benches, parsing);
criterion_main!(benches);
