//! The command line: configuration errors name their key; secrets are never printed.

use std::process::Command;

fn tracegate(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_tracegate"));
    command.args(args).current_dir(dir.path());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run tracegate")
}

#[test]
fn bad_config_value_exits_non_zero_naming_the_key() {
    let output = tracegate(
        &["config", "check"],
        &[("TRACEGATE_SERVER_WORKERS", "lots")],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("server.workers"), "{stderr}");
    assert!(stderr.contains("TRACEGATE_SERVER_WORKERS"), "{stderr}");
}

#[test]
fn bad_database_url_is_refused_before_anything_starts() {
    let output = tracegate(
        &["serve"],
        &[("TRACEGATE_DATABASE_URL", "mysql://db/tracegate")],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("database.url"), "{stderr}");
}

#[test]
fn unknown_key_in_config_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("custom.toml");
    std::fs::write(&file, "[database]\nmax_conections = 3\n").expect("write");
    let output = tracegate(
        &["--config", file.to_str().expect("utf-8"), "config", "check"],
        &[],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("database.max_conections"), "{stderr}");
    assert!(stderr.contains("custom.toml"), "{stderr}");
}

#[test]
fn config_check_prints_effective_values_without_secrets() {
    let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=";
    let output = tracegate(
        &["config", "check"],
        &[
            ("TRACEGATE_KEYS_SIGNING_SECRET", secret),
            ("TRACEGATE_KEYS_ENCRYPTION_SECRET", secret),
            ("TRACEGATE_KEYS_BLIND_INDEX_SECRET", secret),
            (
                "TRACEGATE_DATABASE_URL",
                "postgres://app:pa55word@db/tracegate",
            ),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains(secret), "{stdout}");
    assert!(!stdout.contains("pa55word"), "{stdout}");
    assert!(stdout.contains("bind = \"127.0.0.1:8080\""), "{stdout}");
    assert!(
        stdout.contains("# environment TRACEGATE_DATABASE_URL"),
        "{stdout}"
    );
}

#[test]
fn help_describes_every_command() {
    let output = tracegate(&["--help"], &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    for command in ["serve", "migrate", "config", "audit"] {
        assert!(stdout.contains(command), "{command} in {stdout}");
    }
}

mod admin {
    use crate::both_backends;
    use crate::fixtures::request_client_token;
    use crate::helpers::{TestApp, TestBackend, TestEnv};

    async fn create_client_prints_a_working_secret_once(backend: TestBackend) {
        let env = TestEnv::new(&backend);
        let output = env.command(&[
            "admin",
            "create-client",
            "--kind",
            "platform",
            "--name",
            "Sàn Demo",
            "--scopes",
            "listings:check,sellers:read",
        ]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let field = |name: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().trim_start_matches('=').trim().to_string())
                .expect("field printed")
        };
        let (id, secret) = (field("client_id"), field("client_secret"));
        assert_eq!(field("scopes"), "listings:check sellers:read");

        let app = TestApp::start(env.config.clone()).await;
        let response =
            request_client_token(&app, &id, &secret, "grant_type=client_credentials").await;
        assert_eq!(response.status(), 200);

        let bad = env.command(&[
            "admin",
            "create-client",
            "--kind",
            "issuer",
            "--name",
            "X",
            "--scopes",
            "listings:check",
        ]);
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("not a scope of issuer clients"));
    }
    both_backends!(create_client_prints_a_working_secret_once);

    async fn create_officer_queues_an_invitation(backend: TestBackend) {
        let env = TestEnv::new(&backend);
        let output = env.command(&[
            "admin",
            "create-officer",
            "--email",
            "Thanh.Tra@moit.gov.vn",
            "--role",
            "supervisor",
            "--provinces",
            "79,48",
        ]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let app = TestApp::start(env.config.clone()).await;
        let mails = app.mails_to("thanh.tra@moit.gov.vn").await;
        assert_eq!(mails.len(), 1);
        assert!(mails[0].1.contains("48, 79"), "{}", mails[0].1);

        let unknown = env.command(&[
            "admin",
            "create-officer",
            "--email",
            "a@moit.gov.vn",
            "--role",
            "officer",
            "--provinces",
            "99",
        ]);
        assert!(!unknown.status.success());
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("--provinces"));
    }
    both_backends!(create_officer_queues_an_invitation);

    async fn rotate_key_reseals_every_secret_and_the_service_still_reads_them(
        backend: TestBackend,
    ) {
        use crate::fixtures::{AN, enrol_totp, verified_person};
        use serde_json::{Value, json};
        use tracegate::auth::OfficerRole;
        use tracegate::policies::ProvinceScope;

        let env = TestEnv::new(&backend);
        let app = TestApp::start(env.config.clone()).await;
        let (_, seller) = verified_person(&app, AN).await;
        let me: Value = app
            .get_as("/v1/me", &seller)
            .await
            .json()
            .await
            .expect("me");
        let seller_id = me["id"].as_str().expect("id").to_string();
        enrol_totp(&app, &seller).await;
        let old_key = app.state.vault.current_key_id().to_string();
        app.stop().await;

        let output = env.command(&["admin", "rotate-key"]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("1 citizen IDs, 1 TOTP secrets"), "{stdout}");
        let again = env.command(&["admin", "rotate-key"]);
        let again = String::from_utf8_lossy(&again.stdout);
        assert!(
            again.contains("new encryption key"),
            "generated keys rotate on every run: {again}"
        );
        assert!(again.contains("1 citizen IDs"), "{again}");

        let app = TestApp::start(env.config.clone()).await;
        assert_ne!(app.state.vault.current_key_id(), old_key);
        let officer =
            crate::fixtures::officer(&app, OfficerRole::Officer, ProvinceScope::All).await;
        let revealed: Value = app
            .post_as(
                &format!("/v1/sellers/{seller_id}/national-id/reveal"),
                &officer.access_token,
                json!({ "reason": "kiểm tra sau khi đổi khóa mã hóa" }),
            )
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(
            revealed["national_id"], AN.national_id,
            "opened with the new key"
        );
        assert!(
            app.audit_actions()
                .await
                .iter()
                .any(|a| a == "keys.resealed")
        );
    }
    both_backends!(rotate_key_reseals_every_secret_and_the_service_still_reads_them);
}

#[test]
fn config_check_refuses_a_broken_policy_file_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("jurisdictions.toml"),
        "version = \"x\"\n[provinces]\n\"7\" = { name = \"A\", name_en = \"A\" }\n",
    )
    .expect("write");
    for name in ["verification.toml", "listing.toml", "disputes.toml"] {
        std::fs::copy(
            format!("{}/policies/{name}", env!("CARGO_MANIFEST_DIR")),
            dir.path().join(name),
        )
        .expect("copy");
    }
    let output = tracegate(
        &["config", "check"],
        &[(
            "TRACEGATE_POLICIES_DIR",
            dir.path().to_str().expect("utf-8"),
        )],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("jurisdictions.toml") && stderr.contains("provinces.7"),
        "{stderr}"
    );

    let fine = tracegate(&["config", "check"], &[]);
    assert!(fine.status.success());
    assert!(String::from_utf8_lossy(&fine.stdout).contains("# policies: built in, version"));
}

#[test]
fn ids_parse_prints_parts_or_exits_1_with_the_reason() {
    let ok = tracegate(&["ids", "parse", "national-id", "079085900001"], &[]);
    assert!(ok.status.success());
    let parts: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("JSON");
    assert_eq!(parts["masked"], "079*******01");
    assert_eq!(parts["birth_year"], 1985);
    assert!(
        !String::from_utf8_lossy(&ok.stdout).contains("079085900001"),
        "masked even here"
    );

    let bad = tracegate(&["ids", "parse", "enterprise-code", "0100109107"], &[]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("check digit"));
}

#[test]
fn codes_parse_prints_the_canonical_key_or_the_reason() {
    let ok = tracegate(&["codes", "parse", "(01)09501101020917(10)AB-123"], &[]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("JSON");
    assert_eq!(parsed["canonical"], "/01/09501101020917/10/AB-123");
    assert_eq!(parsed["level"], "lot");
    let bad = tracegate(&["codes", "parse", "(01)09501101020918"], &[]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("(01)"));
}

mod demo {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    /// Runs `tracegate demo` until its banner is printed, then stops it; returns stdout.
    fn run_demo(dir: &std::path::Path) -> String {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tracegate"))
            .arg("demo")
            .current_dir(dir)
            .env("TRACEGATE_SERVER_BIND", "127.0.0.1:0")
            .env("TRACEGATE_LOG_FILTER", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start demo");
        let stdout = child.stdout.take().expect("stdout");
        let mut text = String::new();
        let started = Instant::now();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("line");
            text.push_str(&line);
            text.push('\n');
            if line.contains("# 3.") || started.elapsed() > Duration::from_secs(60) {
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        text
    }

    #[test]
    fn demo_seeds_synthetic_data_once_and_prints_working_examples() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = run_demo(dir.path());
        assert!(first.contains("SYNTHETIC"), "{first}");
        assert!(first.contains("/v1/listing-checks"), "{first}");
        let client_id = first
            .lines()
            .find_map(|l| l.trim().strip_prefix("platform        client_id "))
            .expect("platform client id printed")
            .to_string();
        assert!(dir.path().join("data/demo-credentials.toml").exists());
        let second = run_demo(dir.path());
        assert!(
            second.contains(&client_id),
            "a second start reuses the seeded data"
        );
    }
}

mod import {
    use ed25519_dalek::Signer;

    use crate::both_backends;
    use crate::fixtures::{bound_enterprise_seller, gtin, issuer};
    use crate::helpers::{TestApp, TestBackend, TestEnv};

    async fn codes_import_registers_a_signed_file_and_refuses_a_bad_signature(
        backend: TestBackend,
    ) {
        let env = TestEnv::new(&backend);
        let app = TestApp::start(env.config.clone()).await;
        bound_enterprise_seller(&app, "shop-1").await;
        let issuer = issuer(&app, "national", None).await;
        let me: serde_json::Value = app
            .get_as("/v1/clients/me", &issuer.token)
            .await
            .json()
            .await
            .expect("me");
        let issuer_id = me["id"].as_str().expect("id").to_string();
        let csv = format!(
            "code,owner,product_name,category,origin,production_date,expiry_date\n{},0799000033,Nước hoa hồng,cosmetics,79,,2030-01-01\n",
            gtin("893850000301")
        );
        let file = env.dir.path().join("batch.csv");
        std::fs::write(&file, &csv).expect("write");
        let signature =
            data_encoding::BASE64.encode(&issuer.signing.sign(csv.as_bytes()).to_bytes());
        let path = file.to_str().expect("utf-8");
        let ok = env.command(&[
            "codes",
            "import",
            path,
            "--issuer",
            &issuer_id,
            "--key-id",
            &issuer.key_id,
            "--signature",
            &signature,
        ]);
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert!(String::from_utf8_lossy(&ok.stdout).contains("1 codes"));

        std::fs::write(&file, csv.replace("Nước hoa hồng", "Nước hoa")).expect("rewrite");
        let bad = env.command(&[
            "codes",
            "import",
            path,
            "--issuer",
            &issuer_id,
            "--key-id",
            &issuer.key_id,
            "--signature",
            &signature,
        ]);
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("signature"));
    }
    both_backends!(codes_import_registers_a_signed_file_and_refuses_a_bad_signature);

    async fn epcis_import_captures_a_document_once_and_names_bad_events(backend: TestBackend) {
        let env = TestEnv::new(&backend);
        let app = TestApp::start(env.config.clone()).await;
        let file = env.dir.path().join("history.jsonld");
        std::fs::write(
            &file,
            include_str!("../fixtures/epcis/Example_9.6.1-ObjectEvent.jsonld"),
        )
        .expect("write");
        let path = file.to_str().expect("utf-8");
        let first = env.command(&["epcis", "import", path]);
        assert!(
            first.status.success(),
            "{}",
            String::from_utf8_lossy(&first.stderr)
        );
        assert!(
            String::from_utf8_lossy(&first.stdout).contains("2 events captured, 0 stored before")
        );
        let again = env.command(&["epcis", "import", path]);
        assert!(
            String::from_utf8_lossy(&again.stdout).contains("0 events captured, 2 stored before")
        );
        assert_eq!(
            app.count_sql("SELECT COUNT(*) AS n FROM epcis_events")
                .await,
            2
        );

        std::fs::write(
            &file,
            include_str!("../fixtures/epcis/Example_9.6.1-ObjectEvent.jsonld")
                .replace("\"OBSERVE\"", "\"SHOUT\""),
        )
        .expect("rewrite");
        let bad = env.command(&["epcis", "import", path]);
        assert!(!bad.status.success());
        let stderr = String::from_utf8_lossy(&bad.stderr);
        assert!(stderr.contains("epcisBody.eventList[0]"), "{stderr}");
        assert!(stderr.contains("epcisBody.eventList[1]"), "{stderr}");
        assert!(stderr.contains("nothing was stored"), "{stderr}");
    }
    both_backends!(epcis_import_captures_a_document_once_and_names_bad_events);
}
