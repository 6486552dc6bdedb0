//! Schemathesis drives every operation of `/openapi.json` with generated requests, as a
//! platform, a seller, an issuer and an officer, and fails on any 5xx, any status the
//! document does not list, and any answer that does not match its documented schema or
//! media type. Bounded: 25 examples per operation, a fixed seed.
//!
//! Needs `st` (`pip install schemathesis`, done by `.ci/run`); set `TRACEGATE_TEST_SCHEMATHESIS`
//! to its path when it is not on `PATH`. Without it the test is skipped, and fails under CI.

use std::process::Command;

use tracegate::auth::OfficerRole;
use tracegate::clients::ClientKind;
use tracegate::policies::ProvinceScope;

use crate::both_backends;
use crate::fixtures::{client_token, issuer, officer, verified_seller};
use crate::helpers::{TestApp, TestBackend, skip};

const CHECKS: &str = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance";

fn schemathesis() -> Option<String> {
    let program = std::env::var("TRACEGATE_TEST_SCHEMATHESIS").unwrap_or_else(|_| "st".into());
    let works = Command::new(&program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    works.then_some(program)
}

/// The figure after `label` in schemathesis's summary, e.g. `Tested: 76`.
fn figure(output: &str, label: &str) -> Option<u64> {
    let line = output.lines().find(|l| l.trim_start().starts_with(label))?;
    line.trim_start()[label.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())?
        .parse()
        .ok()
}

async fn every_operation_holds_to_the_contract_under_schemathesis(backend: TestBackend) {
    let Some(program) = schemathesis() else {
        skip("schemathesis (st) is not installed: pip install schemathesis");
        return;
    };
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, seller) = verified_seller(&app).await;
    let admin = officer(&app, OfficerRole::Admin, ProvinceScope::All).await;
    let callers = [
        ("platform", client_token(&app, ClientKind::Platform).await),
        (
            "seller",
            seller["access_token"]
                .as_str()
                .expect("seller token")
                .to_string(),
        ),
        ("issuer", issuer(&app, "national", None).await.token),
        ("officer", admin.access_token),
    ];
    let schema = app.url("/openapi.json");
    let mut failures = Vec::new();
    for (caller, token) in callers {
        let program = program.clone();
        let schema = schema.clone();
        let output = tokio::task::spawn_blocking(move || {
            Command::new(program)
                .args(["run", &schema, "--checks", CHECKS])
                .args([
                    "--max-examples",
                    "25",
                    "--seed",
                    "20261128",
                    // One worker: hypothesis reads lambda sources with `ast`, which CPython
                    // 3.11 does not do safely from two threads ("AST constructor recursion
                    // depth mismatch", a runtime error of the tool, not of the service).
                    "--workers",
                    "1",
                ])
                .args(["--phases", "examples,coverage,fuzzing"])
                .args(["--header", &format!("Authorization: Bearer {token}")])
                .args(["--no-color"])
                .output()
        })
        .await
        .expect("task")
        .expect("schemathesis runs");
        let text = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        let operations = figure(&text, "Tested:").unwrap_or(0);
        // "Test cases:" is followed by "  2818 generated, …".
        let cases = text
            .lines()
            .map(str::trim_start)
            .find(|l| l.contains(" generated") && l.starts_with(|c: char| c.is_ascii_digit()))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        eprintln!(
            "schemathesis as {caller}: {operations} operations, {cases} cases, {}",
            if output.status.success() {
                "no failures"
            } else {
                "FAILURES"
            }
        );
        if !output.status.success() || operations == 0 || cases == 0 {
            failures.push(format!("as {caller}:\n{text}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
both_backends!(every_operation_holds_to_the_contract_under_schemathesis);
