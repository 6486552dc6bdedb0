//! What authentication costs per request and per login: access token verification (every
//! authenticated request), token issuing, argon2id password checks (every login), TOTP.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tracegate::auth::tokens::{AMR_OTP, AMR_PASSWORD, AUDIENCE};
use tracegate::auth::{Claims, OfficerRole, PrincipalKind, TokenService, password, totp};
use tracegate::config::KeysConfig;
use tracegate::keys::KeyRing;

fn service() -> (TokenService, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = KeyRing::load_or_generate(&KeysConfig {
        file: dir.path().join("keys.toml").display().to_string(),
        ..KeysConfig::default()
    })
    .expect("keys");
    (TokenService::new(&keys, "https://tracegate.example"), dir)
}

fn claims(now: i64) -> Claims {
    Claims {
        iss: "https://tracegate.example".into(),
        aud: AUDIENCE.into(),
        sub: "0195f3c2-7d1e-7a44-9a0e-3f6d2b1c9e88".into(),
        iat: now,
        exp: now + 900,
        jti: "0195f3c2-7d1e-7a44-9a0e-3f6d2b1c9e89".into(),
        kind: PrincipalKind::Officer,
        role: Some(OfficerRole::Officer),
        provinces: vec!["79".into(), "01".into()],
        scope: String::new(),
        sid: Some("0195f3c2-7d1e-7a44-9a0e-3f6d2b1c9e90".into()),
        amr: vec![AMR_PASSWORD.into(), AMR_OTP.into()],
    }
}

fn access_tokens(c: &mut Criterion) {
    let (tokens, _dir) = service();
    let now = 1_790_000_000;
    let token = tokens.issue(&claims(now)).expect("issue");
    c.bench_function("access_token/verify", |b| {
        b.iter(|| tokens.verify(black_box(&token), now))
    });
    c.bench_function("access_token/issue", |b| {
        b.iter(|| tokens.issue(black_box(&claims(now))))
    });
}

fn passwords(c: &mut Criterion) {
    let hashing =
        tracegate::auth::hashing::HashingPool::start(1, std::time::Duration::from_secs(60))
            .expect("hashing thread");
    let stored = password::hash(&hashing, "violet-tractor-harbour-91").expect("hash");
    let mut group = c.benchmark_group("password");
    group.sample_size(20);
    group.bench_function("verify_argon2id_owasp", |b| {
        b.iter(|| password::verify(&hashing, black_box("violet-tractor-harbour-91"), &stored))
    });
    group.bench_function("policy_check", |b| {
        b.iter(|| {
            password::check_policy(black_box("violet-tractor-harbour-91"), &["an@example.vn"])
        })
    });
    group.finish();
}

fn one_time_passwords(c: &mut Criterion) {
    let secret = b"12345678901234567890";
    let now = 1_790_000_000;
    let code = format!("{:06}", totp::code_at_step(secret, totp::step_of(now)));
    c.bench_function("totp/verify", |b| {
        b.iter(|| totp::verify(secret, black_box(&code), now, None))
    });
}

criterion_group!(benches, access_tokens, passwords, one_time_passwords);
criterion_main!(benches);
