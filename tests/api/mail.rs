//! Mail leaves through the outbox: to a real SMTP server (maildev), to `.eml` files by
//! default, and never lost while the server is down.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::TimeDelta;
use serde_json::{Value, json};
use tracegate::auth::OfficerRole;
use tracegate::config::{MailTransportKind, SmtpSecurity};
use tracegate::policies::ProvinceScope;

use crate::both_backends;
use crate::fixtures::{PASSWORD, officer, unique_email};
use crate::helpers::{TestApp, TestBackend, TestEnv, problem};

/// A maildev SMTP server with its web API, stopped when dropped.
struct MailDev {
    child: Child,
    web_port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl MailDev {
    /// Starts maildev on `smtp_port`. Without maildev installed the test is skipped, except
    /// under CI (`.ci/run` installs it), where that is a failure.
    async fn start(smtp_port: u16) -> Option<MailDev> {
        let web_port = free_port();
        let spawned = Command::new("maildev")
            .args([
                "--smtp",
                &smtp_port.to_string(),
                "--web",
                &web_port.to_string(),
                "--ip",
                "127.0.0.1",
                "--silent",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(error) => {
                crate::helpers::skip(&format!(
                    "maildev is not installed ({error}); `npm install -g maildev` (done by .ci/run)"
                ));
                return None;
            }
        };
        let dev = MailDev { child, web_port };
        for _ in 0..100 {
            let smtp_up = std::net::TcpStream::connect(("127.0.0.1", smtp_port)).is_ok();
            if smtp_up
                && reqwest::get(dev.url("/email"))
                    .await
                    .is_ok_and(|r| r.status().is_success())
            {
                return Some(dev);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("maildev did not start");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.web_port)
    }

    /// Waits for a message to `to` and returns it as maildev reports it.
    async fn wait_for(&self, to: &str) -> Value {
        for _ in 0..150 {
            let emails: Vec<Value> = reqwest::get(self.url("/email"))
                .await
                .expect("maildev answers")
                .json()
                .await
                .expect("JSON list");
            if let Some(found) = emails.into_iter().find(|e| {
                e["to"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|a| a["address"] == to))
            }) {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no mail to {to} reached maildev");
    }
}

impl Drop for MailDev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp_env(backend: &TestBackend, port: u16) -> TestEnv {
    let mut env = TestEnv::new(backend);
    env.config.mail.transport = MailTransportKind::Smtp;
    env.config.mail.smtp_host = "127.0.0.1".into();
    env.config.mail.smtp_port = port;
    env.config.mail.smtp_security = SmtpSecurity::None;
    env.config.mail.smtp_timeout_secs = 2;
    env
}

async fn verification_mail_arrives_at_a_real_smtp_server(backend: TestBackend) {
    let port = free_port();
    let Some(maildev) = MailDev::start(port).await else {
        return;
    };
    let env = smtp_env(&backend, port);
    let app = TestApp::start(env.config.clone()).await;
    let email = unique_email("smtp");
    let response = app
        .post(
            "/v1/accounts",
            json!({ "email": email, "password": PASSWORD, "language": "en" }),
        )
        .await;
    assert_eq!(response.status(), 202);

    let received = maildev.wait_for(&email).await;
    assert_eq!(
        received["subject"],
        "Confirm your email address on tracegate"
    );
    let text = received["text"].as_str().expect("text part");
    let html = received["html"].as_str().expect("html part");
    let token = crate::helpers::token_in(text);
    assert!(html.contains(&token), "both parts carry the link");
    assert_eq!(
        received["from"][0]["address"],
        "no-reply@tracegate.localhost"
    );
    // The token from the delivered mail verifies the account.
    let response = app
        .post("/v1/accounts/email-verification", json!({ "token": token }))
        .await;
    assert_eq!(response.status(), 204);
}
both_backends!(verification_mail_arrives_at_a_real_smtp_server);

async fn mail_waits_in_the_outbox_while_smtp_is_down(backend: TestBackend) {
    let port = free_port();
    let env = smtp_env(&backend, port);
    let app = TestApp::start(env.config.clone()).await;
    let email = unique_email("later");
    let response = app
        .post(
            "/v1/accounts",
            json!({ "email": email, "password": PASSWORD, "language": "en" }),
        )
        .await;
    assert_eq!(
        response.status(),
        202,
        "the request succeeds although mail cannot go out"
    );

    // The worker tries, fails, and schedules a retry.
    let mut failed = false;
    for _ in 0..100 {
        let metrics = app.get("/metrics").await.text().await.expect("metrics");
        if metrics.contains(r#"tracegate_outbox_deliveries_total{kind="mail",outcome="retry"}"#) {
            assert!(
                metrics.contains(r#"tracegate_outbox_pending{kind="mail"} 1"#),
                "{metrics}"
            );
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(failed, "a failed attempt is counted");

    let Some(maildev) = MailDev::start(port).await else {
        return;
    };
    // Back-off: nothing is retried until the next attempt is due.
    app.clock.advance(TimeDelta::minutes(2));
    let received = maildev.wait_for(&email).await;
    assert_eq!(
        received["subject"],
        "Confirm your email address on tracegate"
    );
}
both_backends!(mail_waits_in_the_outbox_while_smtp_is_down);

async fn default_transport_writes_eml_files(backend: TestBackend) {
    let (env, app) = TestApp::spawn(&backend).await;
    let email = unique_email("file");
    app.post(
        "/v1/accounts",
        json!({ "email": email, "password": PASSWORD, "language": "en" }),
    )
    .await;
    let dir = std::path::Path::new(&env.config.mail.outbox_dir);
    let mut found = None;
    for _ in 0..100 {
        found = std::fs::read_dir(dir)
            .ok()
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .find(|text| text.contains(&email));
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let message = found.expect("an .eml file for the message");
    assert!(
        message.contains("Subject: Confirm your email address on tracegate"),
        "{message}"
    );
    assert!(
        message.contains("multipart/alternative"),
        "text and HTML parts"
    );
}
both_backends!(default_transport_writes_eml_files);

async fn admins_see_dead_messages_and_put_them_back(backend: TestBackend) {
    let port = free_port();
    let mut env = smtp_env(&backend, port);
    env.config.mail.max_attempts = 1;
    let app = TestApp::start(env.config.clone()).await;
    let admin = officer(&app, OfficerRole::Admin, ProvinceScope::All).await;

    let mut dead: Vec<Value> = Vec::new();
    for _ in 0..100 {
        let page: Value = app
            .get_as("/v1/admin/outbox?state=dead", &admin.access_token)
            .await
            .json()
            .await
            .expect("page");
        dead = page["messages"].as_array().cloned().unwrap_or_default();
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let message = dead
        .first()
        .expect("the invitation died after its one attempt");
    assert_eq!(message["destination"], admin.email.as_str());
    assert!(
        message["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{message}"
    );
    assert!(
        message.get("payload").is_none(),
        "message bodies (with links) are not listed"
    );

    let id = message["id"].as_str().expect("id");
    let retried = app
        .post_as(
            &format!("/v1/admin/outbox/{id}/retry"),
            &admin.access_token,
            json!({}),
        )
        .await;
    assert_eq!(retried.status(), 202);
    let missing = app
        .post_as(
            "/v1/admin/outbox/no-such-id/retry",
            &admin.access_token,
            json!({}),
        )
        .await;
    assert_eq!(missing.status(), 404);

    let bad = app
        .get_as("/v1/admin/outbox?state=lost", &admin.access_token)
        .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(problem(bad).await["errors"][0]["field"], "query");
    let bad = app
        .get_as("/v1/admin/outbox?limit=0", &admin.access_token)
        .await;
    assert_eq!(bad.status(), 422);
    let bad = app
        .get_as("/v1/admin/outbox?before=%00x", &admin.access_token)
        .await;
    assert_eq!(
        bad.status(),
        422,
        "a NUL in the cursor is refused, not a 500"
    );
    assert_eq!(problem(bad).await["errors"][0]["field"], "before");
}
both_backends!(admins_see_dead_messages_and_put_them_back);
