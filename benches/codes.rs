//! Code parsing throughput: each form once per iteration, on one core.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tracegate::codes::parse;

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
}

criterion_group!(benches, parsing);
criterion_main!(benches);
