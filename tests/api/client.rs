//! A client generated from `/openapi.json` by openapi-python-client runs a platform's
//! journey (`tests/client/platform_journey.py`): token, bind, by-shop, listing check,
//! batch, webhook and webhook test, with no hand-written HTTP.
//!
//! Needs `openapi-python-client` (`pip install openapi-python-client`, done by `.ci/run`),
//! with the `python` of the same environment beside it; set
//! `TRACEGATE_TEST_OPENAPI_PYTHON_CLIENT` to its path when it is not on `PATH`. Without it the
//! test is skipped, and fails under CI.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use tracegate::clients::ClientKind;

use crate::both_backends;
use crate::fixtures::{AN, client, verified_person};
use crate::helpers::{TestApp, TestBackend, skip};

/// The generator and the Python that has its dependencies (httpx, attrs).
fn generator() -> Option<(String, PathBuf)> {
    let program = std::env::var("TRACEGATE_TEST_OPENAPI_PYTHON_CLIENT")
        .unwrap_or_else(|_| "openapi-python-client".into());
    let works = Command::new(&program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !works {
        return None;
    }
    let beside = Path::new(&program)
        .parent()
        .map(|dir| dir.join("python"))
        .filter(|p| p.exists());
    Some((program, beside.unwrap_or_else(|| PathBuf::from("python3"))))
}

fn run(command: &mut Command, what: &str) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{what} failed:\n{text}");
    text
}

async fn a_generated_client_runs_the_platform_journey(backend: TestBackend) {
    let Some((program, python)) = generator() else {
        skip("openapi-python-client is not installed: pip install openapi-python-client");
        return;
    };
    let (env, app) = TestApp::spawn(&backend).await;
    let (platform_id, platform_secret) = client(&app, ClientKind::Platform).await;
    let (_, seller) = verified_person(&app, AN).await;
    let issued = app
        .post_as("/v1/me/binding-codes", &seller, json!({}))
        .await;
    assert_eq!(issued.status(), 201);
    let code: Value = issued.json().await.expect("json");

    let work = env.dir.path().join("generated-client");
    std::fs::create_dir_all(&work).expect("dir");
    let spec = app.get("/openapi.json").await.text().await.expect("spec");
    std::fs::write(work.join("openapi.json"), spec).expect("spec written");
    let generated = tokio::task::spawn_blocking({
        let work = work.clone();
        move || {
            run(
                Command::new(program)
                    .current_dir(&work)
                    .args(["generate", "--path", "openapi.json", "--meta", "none"])
                    .args(["--output-path", "tracegate_client", "--overwrite"]),
                "openapi-python-client generate",
            )
        }
    })
    .await
    .expect("task");
    assert!(
        !generated.contains("WARNING"),
        "the generator understood every operation:\n{generated}"
    );

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/client/platform_journey.py");
    let url = app.url("");
    let binding_code = code["code"].as_str().expect("code").to_string();
    let platform = platform_id.clone();
    let journey = tokio::task::spawn_blocking(move || {
        run(
            Command::new(python)
                .arg(script)
                .env("PYTHONPATH", &work)
                .env("TRACEGATE_URL", url)
                .env("PLATFORM_CLIENT_ID", platform)
                .env("PLATFORM_CLIENT_SECRET", platform_secret)
                .env("BINDING_CODE", binding_code)
                .env("WEBHOOK_URL", "http://127.0.0.1:9/tracegate"),
            "the platform journey",
        )
    })
    .await
    .expect("task");
    assert!(journey.contains("webhook test: ok"), "{journey}");

    let bound = app
        .count_sql(
            "SELECT COUNT(*) AS n FROM seller_bindings WHERE shop_id = 'shop-generated-client'",
        )
        .await;
    assert_eq!(bound, 1);
    let events = app.webhooks_to(&platform_id).await;
    assert_eq!(events.len(), 5, "one sample per event type: {events:?}");
}
both_backends!(a_generated_client_runs_the_platform_journey);
