//! Real HTTP servers that stand in for the outside world: a platform receiving webhooks and
//! a national register, both started by the test on loopback.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

/// One request a stub received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A platform's webhook endpoint: records what it gets, answers with a status the test sets.
#[derive(Clone)]
pub struct HookServer {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

impl HookServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://127.0.0.1:{}/hooks/tracegate",
            listener.local_addr().expect("addr").port()
        );
        let received = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (r, s) = (received.clone(), status.clone());
        let server = HttpServer::new(move || {
            let (r, s) = (r.clone(), s.clone());
            App::new().route(
                "/hooks/tracegate",
                web::post().to(move |req: HttpRequest, body: web::Bytes| {
                    let (r, s) = (r.clone(), s.clone());
                    async move {
                        let headers = req
                            .headers()
                            .iter()
                            .map(|(n, v)| {
                                (n.as_str().to_string(), v.to_str().unwrap_or("").to_string())
                            })
                            .collect();
                        r.lock().expect("lock").push(Received {
                            headers,
                            body: String::from_utf8_lossy(&body).into_owned(),
                        });
                        let code = actix_web::http::StatusCode::from_u16(s.load(Ordering::SeqCst))
                            .expect("status");
                        HttpResponse::build(code).finish()
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        Self {
            url,
            received,
            status,
        }
    }

    /// Everything received so far.
    pub fn all(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Waits until a request whose body contains `needle` arrived.
    pub async fn wait_for(&self, needle: &str) -> Received {
        for _ in 0..200 {
            if let Some(found) = self
                .received
                .lock()
                .expect("lock")
                .iter()
                .find(|r| r.body.contains(needle))
            {
                return found.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no webhook with {needle} arrived");
    }
}

/// How the register stub behaves.
pub const HEALTHY: u16 = 200;
pub const FAILING: u16 = 503;
/// Answers after this many milliseconds of delay (see `slow_ms`).
pub const SLOW: u16 = 1;

/// A national register: population checks and business look-ups, with a switch to fail
/// or to be slow, and a count of the requests that reached it.
#[derive(Clone)]
pub struct RegisterServer {
    pub url: String,
    mode: Arc<AtomicU16>,
    slow_ms: Arc<AtomicU64>,
    hits: Arc<AtomicUsize>,
}

impl RegisterServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://127.0.0.1:{}/registry/v1",
            listener.local_addr().expect("addr").port()
        );
        let mode = Arc::new(AtomicU16::new(HEALTHY));
        let slow_ms = Arc::new(AtomicU64::new(0));
        let hits = Arc::new(AtomicUsize::new(0));
        let (m, d, h) = (mode.clone(), slow_ms.clone(), hits.clone());
        let server = HttpServer::new(move || {
            let (m, d, h) = (m.clone(), d.clone(), h.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (m, d, h) = (m.clone(), d.clone(), h.clone());
                async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    let api_key = req.headers().get("x-api-key").and_then(|v| v.to_str().ok()).unwrap_or("");
                    if api_key != "test-key" {
                        return HttpResponse::Unauthorized().finish();
                    }
                    match m.load(Ordering::SeqCst) {
                        FAILING => return HttpResponse::ServiceUnavailable().finish(),
                        SLOW => tokio::time::sleep(Duration::from_millis(d.load(Ordering::SeqCst))).await,
                        _ => {}
                    }
                    let path = req.path().to_string();
                    if path.ends_with("/citizens/verify") {
                        let query: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                        let result = if query["national_id"] == "079085900001" && query["full_name"] == "Nguyễn Văn An" {
                            "match"
                        } else {
                            "not_found"
                        };
                        return HttpResponse::Ok().json(serde_json::json!({ "result": result, "province": "79" }));
                    }
                    if path.ends_with("/businesses/0799000033") && req.query_string() == "kind=enterprise" {
                        return HttpResponse::Ok().json(serde_json::json!({
                            "code": "0799000033", "kind": "enterprise", "name": "Công ty TNHH Mỹ phẩm Sen Việt",
                            "status": "active", "legal_representative_id": "079085900001", "province": "79",
                            "address": "45 Nguyễn Huệ", "business_lines": ["2023", "4791"], "registered_on": "2020-02-20"
                        }));
                    }
                    HttpResponse::NotFound().finish()
                }
            }))
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        Self {
            url,
            mode,
            slow_ms,
            hits,
        }
    }

    pub fn set_mode(&self, mode: u16) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    pub fn set_delay(&self, ms: u64) {
        self.slow_ms.store(ms, Ordering::SeqCst);
        self.set_mode(SLOW);
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}
