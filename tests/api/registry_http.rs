//! The HTTP connectors to the national registers, against a real server: answers, server
//! errors with retries, timeouts, and the circuit breaker.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde_json::Value;
use tracegate::config::RegisterKind;
use tracegate::identity::{
    BusinessKey, BusinessRegister, EnterpriseCode, HttpBusinessRegister, HttpPopulationRegister,
    HttpRegistryConfig, NationalId, PersonCheck, PopulationRegister,
};

use crate::both_backends;
use crate::fixtures::{AN, submit_identity, verified_seller};
use crate::helpers::{TestApp, TestBackend, TestEnv, problem};
use crate::stubs::{FAILING, HEALTHY, RegisterServer};

fn config(url: &str) -> HttpRegistryConfig {
    HttpRegistryConfig {
        base_url: url.to_string(),
        api_key_header: "X-Api-Key".into(),
        api_key: Some("test-key".into()),
        timeout: Duration::from_millis(300),
        retries: 2,
        failure_threshold: 2,
        open_for: Duration::from_millis(600),
        client_identity_pem: None,
    }
}

fn an() -> (NationalId, NaiveDate) {
    (
        NationalId::parse(AN.national_id).expect("id"),
        NaiveDate::from_ymd_opt(1985, 3, 14).expect("date"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_read_the_register_answers() {
    let server = RegisterServer::start();
    let url = server.url.clone();
    tokio::task::spawn_blocking(move || {
        let population = HttpPopulationRegister::new(config(&url)).expect("connector");
        let (id, born) = an();
        assert_eq!(
            population.check(&id, AN.full_name, born),
            Ok(PersonCheck::Match {
                province: Some("79".into())
            })
        );
        assert_eq!(
            population.check(&id, "Someone Else", born),
            Ok(PersonCheck::NotFound)
        );
        let business = HttpBusinessRegister::new(config(&url)).expect("connector");
        let code = EnterpriseCode::parse("0799000033").expect("code");
        let record = business
            .lookup(&BusinessKey::Enterprise(code))
            .expect("answers")
            .expect("found");
        assert_eq!(record.legal_representative_id, AN.national_id);
        let unknown = EnterpriseCode::parse("0100109106").expect("code");
        assert_eq!(business.lookup(&BusinessKey::Enterprise(unknown)), Ok(None));
    })
    .await
    .expect("task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_then_reported_as_unavailable_and_open_the_circuit() {
    let server = RegisterServer::start();
    server.set_mode(FAILING);
    let url = server.url.clone();
    let probe = server.clone();
    tokio::task::spawn_blocking(move || {
        let population = HttpPopulationRegister::new(config(&url)).expect("connector");
        let (id, born) = an();
        let err = population
            .check(&id, AN.full_name, born)
            .expect_err("unavailable, not a verdict");
        assert!(err.reason.contains("503"), "{err}");
        assert_eq!(probe.hits(), 3, "first attempt and two retries");
        population
            .check(&id, AN.full_name, born)
            .expect_err("still failing");
        assert_eq!(probe.hits(), 6);
        // Two failed calls opened the circuit: the next call does not reach the server.
        let err = population
            .check(&id, AN.full_name, born)
            .expect_err("circuit open");
        assert!(err.reason.contains("circuit open"), "{err}");
        assert_eq!(probe.hits(), 6);
        // After the open period one trial goes through; the register is back, so it closes.
        probe.set_mode(HEALTHY);
        std::thread::sleep(Duration::from_millis(650));
        assert!(matches!(
            population.check(&id, AN.full_name, born),
            Ok(PersonCheck::Match { .. })
        ));
        assert!(matches!(
            population.check(&id, AN.full_name, born),
            Ok(PersonCheck::Match { .. })
        ));
    })
    .await
    .expect("task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_register_times_out_within_the_bound() {
    let server = RegisterServer::start();
    server.set_delay(2_000);
    let url = server.url.clone();
    tokio::task::spawn_blocking(move || {
        let population = HttpPopulationRegister::new(HttpRegistryConfig {
            retries: 1,
            ..config(&url)
        })
        .expect("connector");
        let (id, born) = an();
        let started = Instant::now();
        let err = population
            .check(&id, AN.full_name, born)
            .expect_err("times out");
        assert!(err.reason.contains("timed out"), "{err}");
        // Two attempts of 300 ms and one back-off of at most 150 ms.
        assert!(
            started.elapsed() < Duration::from_millis(1_500),
            "{:?}",
            started.elapsed()
        );
    })
    .await
    .expect("task");
}

async fn a_register_that_is_down_gives_503_and_decides_nothing(backend: TestBackend) {
    let server = RegisterServer::start();
    server.set_mode(FAILING);
    let mut env = TestEnv::new(&backend);
    env.config.identity.population_register = RegisterKind::Http;
    env.config.identity.population_url = server.url.clone();
    env.config.identity.api_key = Some("test-key".into());
    env.config.identity.retries = 0;
    env.config.identity.timeout_ms = 500;
    let app = TestApp::start(env.config.clone()).await;
    let (_, pair) = verified_seller(&app).await;
    let token = pair["access_token"].as_str().expect("token");
    let response = submit_identity(&app, token, AN).await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        problem(response).await["type"],
        "/problems/service-unavailable"
    );
    let view: Value = app
        .get_as("/v1/me/verification", token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        view["identity"]["status"], "missing",
        "nothing was stored or decided"
    );

    server.set_mode(HEALTHY);
    let view: Value = submit_identity(&app, token, AN)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["identity"]["status"], "verified");
}
both_backends!(a_register_that_is_down_gives_503_and_decides_nothing);
