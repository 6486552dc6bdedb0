//! Liveness, readiness, metrics, API description, and surviving a restart.

use std::collections::BTreeSet;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tracegate::audit::{self, NewAuditEntry};

use crate::both_backends;
use crate::helpers::{TestApp, TestBackend, TestEnv, problem};

async fn healthz_answers_without_the_database(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}
both_backends!(healthz_answers_without_the_database);

async fn readyz_is_503_while_migrations_are_pending_and_200_after(backend: TestBackend) {
    let mut env = TestEnv::new(&backend);
    env.config.database.migrate_on_start = false;
    let app = TestApp::start(env.config.clone()).await;

    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body = problem(response).await;
    assert_eq!(body["type"], "/problems/service-unavailable");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("tracegate migrate"),
        "{body}"
    );

    let output = env.command(&["migrate"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("applied"));

    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ready");
}
both_backends!(readyz_is_503_while_migrations_are_pending_and_200_after);

/// A TCP forwarder the test can cut and restore, standing between the service and
/// PostgreSQL.
struct Proxy {
    port: u16,
    target: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let mut proxy = Proxy {
            port,
            target,
            tasks: Vec::new(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target.clone();
        self.tasks.push(tokio::spawn(async move {
            let mut connections = Vec::new();
            // Connections are tied to this task: aborting it drops them all.
            let _guard = AbortOnDrop(&mut connections);
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                _guard.0.push(tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        }));
    }

    fn cut(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }

    async fn restore(&mut self) {
        let mut listener = None;
        for _ in 0..50 {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
        self.serve(listener.expect("rebind proxy port"));
    }
}

struct AbortOnDrop<'a>(&'a mut Vec<JoinHandle<()>>);

impl Drop for AbortOnDrop<'_> {
    fn drop(&mut self) {
        for task in self.0.drain(..) {
            task.abort();
        }
    }
}

/// Splits a PostgreSQL URL into (text before the host, `host:port`, text after).
fn split_host(url: &str) -> (String, String, String) {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    let authority_len = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host = &authority[host_start..];
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    };
    (
        url[..scheme_end + host_start].to_string(),
        host,
        rest[authority_len..].to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_postgres_availability() {
    let Some(backend) = TestBackend::postgres() else {
        return;
    };
    let mut env = TestEnv::new(&backend);
    let (before, target, after) = split_host(env.database_url());
    let mut proxy = Proxy::start(target).await;
    env.config.database.url = format!("{before}127.0.0.1:{}{after}", proxy.port);
    let app = TestApp::start(env.config.clone()).await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    proxy.cut();
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body = problem(response).await;
    assert_eq!(body["type"], "/problems/service-unavailable");

    proxy.restore().await;
    let mut status = 0;
    for _ in 0..30 {
        status = app.get("/readyz").await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "ready again once the database is back");
}

/// With the database gone, a listing check answers 503 with `Retry-After` at once (a bound
/// wait, never a 500), and decides again once the database is back. SQLite is a file of
/// this process: only PostgreSQL can be cut away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_checks_are_unavailable_not_failed_while_postgres_is_down() {
    let Some(backend) = TestBackend::postgres() else {
        return;
    };
    let mut env = TestEnv::new(&backend);
    let (before, target, after) = split_host(env.database_url());
    let mut proxy = Proxy::start(target).await;
    env.config.database.url = format!("{before}127.0.0.1:{}{after}", proxy.port);
    let app = TestApp::start(env.config.clone()).await;
    let (_, _, platform, _) = crate::fixtures::bound_enterprise_seller(&app, "shop-1").await;
    let ask = |n: usize| {
        let request = app
            .client
            .post(app.url("/v1/listing-checks"))
            .bearer_auth(&platform)
            .json(&serde_json::json!({ "shop_id": "shop-1", "listing_id": format!("down-{n}"), "category": "fashion", "title": "Áo dài" }))
            .send();
        tokio::spawn(request)
    };
    assert_eq!(ask(0).await.expect("task").expect("sent").status(), 200);

    proxy.cut();
    let started = std::time::Instant::now();
    let asked: Vec<_> = (1..=5).map(ask).collect();
    for request in asked {
        let response = request.await.expect("task").expect("sent");
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1");
        let body = problem(response).await;
        assert_eq!(body["type"], "/problems/service-unavailable", "{body}");
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "answered within the bounded wait, not after timeouts: {:?}",
        started.elapsed()
    );

    proxy.restore().await;
    let mut status = 0;
    for n in 10..40 {
        status = ask(n).await.expect("task").expect("sent").status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "decides again once the database is back");
}

/// Scans of registered codes are answered from the node's read model, not the database:
/// they keep working while PostgreSQL is unreachable (for as long as a node may go without
/// following changes), and a code the model does not know is asked of the database (503).
#[tokio::test]
async fn scans_are_answered_from_memory_while_postgres_is_down() {
    let Some(backend) = TestBackend::postgres() else {
        return;
    };
    let mut env = TestEnv::new(&backend);
    let (before, target, after) = split_host(env.database_url());
    let mut proxy = Proxy::start(target).await;
    env.config.database.url = format!("{before}127.0.0.1:{}{after}", proxy.port);
    let app = TestApp::start(env.config.clone()).await;
    crate::fixtures::bound_enterprise_seller(&app, "shop-1").await;
    let issuer = crate::fixtures::issuer(&app, "national", None).await;
    let product = crate::fixtures::gtin("893850000036");
    let body = serde_json::json!({ "codes": [{ "code": format!("(01){product}(10)MEM1"), "owner": "0799000033", "product_name": "Kem dưỡng Sen", "category": "cosmetics", "origin": "79", "expiry_date": "2030-12-31" }] }).to_string();
    let registered = crate::fixtures::post_batch(&app, &issuer, "application/json", &body).await;
    assert_eq!(registered.status(), 201);
    let scan = |path: String| {
        app.client
            .get(app.url(&path))
            .header("accept", "application/linkset+json")
            .send()
    };

    // The owner's verified business is remembered once asked (owners are few).
    let warm = scan(format!("/01/{product}/10/MEM2")).await.expect("sent");
    assert_eq!(warm.status(), 200, "the product known through its lot");

    proxy.cut();
    let started = std::time::Instant::now();
    let redirect = app
        .client
        .get(app.url(&format!("/01/{product}/10/MEM1")))
        .header("accept", "text/html")
        .send()
        .await
        .expect("sent");
    assert_eq!(
        redirect.status(),
        307,
        "a scan redirects from the read model"
    );
    let answer = scan(format!("/01/{product}/10/MEM1")).await.expect("sent");
    assert_eq!(answer.status(), 200, "answered from the read model");
    let linkset: serde_json::Value = answer.json().await.expect("linkset");
    let anchors: Vec<&str> = linkset["linkset"]
        .as_array()
        .expect("linkset")
        .iter()
        .filter_map(|l| l["anchor"].as_str())
        .collect();
    assert!(
        anchors
            .iter()
            .any(|a| a.ends_with(&format!("/01/{product}/10/MEM1")))
            && anchors
                .iter()
                .any(|a| a.ends_with(&format!("/01/{product}"))),
        "the lot and the product it names: {anchors:?}"
    );
    let unknown = scan(format!("/01/{}", crate::fixtures::gtin("893850000099")))
        .await
        .expect("sent");
    assert_eq!(
        unknown.status(),
        503,
        "an unknown code is asked of the database"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    proxy.restore().await;
}

async fn metrics_count_requests_by_route_and_status(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    app.get("/healthz").await;
    app.get("/healthz").await;
    app.get("/nowhere/at/all").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.expect("text");
    assert!(
        text.contains(
            r#"tracegate_http_requests_total{method="GET",route="/healthz",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"tracegate_http_requests_total{method="GET",route="unmatched",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains("tracegate_db_pool_max_connections 5"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"tracegate_http_request_duration_seconds_count{method="GET",route="/healthz"} 2"#
        ),
        "{text}"
    );
}
both_backends!(metrics_count_requests_by_route_and_status);

/// Collects every `$ref` in a JSON document.
fn refs(value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if let (true, Some(s)) = (k == "$ref", v.as_str()) {
                    out.insert(s.to_string());
                }
                refs(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

async fn openapi_document_is_openapi_3_1_and_complete(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    let doc: serde_json::Value = response.json().await.expect("json");
    assert!(
        doc["openapi"].as_str().unwrap_or("").starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "tracegate");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert!(
            doc["paths"][path]["get"].is_object(),
            "{path} is documented"
        );
    }
    let mut found = BTreeSet::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty(), "the document uses shared schemas");
    for reference in found {
        let pointer = reference.strip_prefix('#').expect("local reference");
        assert!(doc.pointer(pointer).is_some(), "{reference} resolves");
    }

    let docs = app.get("/docs").await;
    assert!(docs.status().is_redirection());
    let page = app.get("/docs/").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains("swagger"));
}
both_backends!(openapi_document_is_openapi_3_1_and_complete);

async fn data_and_keys_survive_a_restart(backend: TestBackend) {
    let env = TestEnv::new(&backend);
    let app = TestApp::start(env.config.clone()).await;
    let key_id = app.state.keys.signing.id().to_string();
    let state = app.state.clone();
    let written = state
        .db(move |conn| {
            let entry = NewAuditEntry::new("system", "test.restart", "test:1")
                .details(serde_json::json!({"note": "before restart"}));
            Ok(audit::append(conn, chrono::Utc::now(), &entry)?)
        })
        .await
        .expect("append");
    app.stop().await;

    let app = TestApp::start(env.config.clone()).await;
    assert_eq!(
        app.state.keys.signing.id(),
        key_id,
        "the same keys are used again"
    );
    assert_eq!(app.get("/readyz").await.status(), 200);
    let report = app
        .state
        .db(|conn| Ok(audit::verify(conn)?))
        .await
        .expect("verify");
    assert_eq!(report.entries, 1);
    assert_eq!(report.head_hash, written.hash);
    assert!(report.broken.is_none());
}
both_backends!(data_and_keys_survive_a_restart);
