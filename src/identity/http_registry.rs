//! HTTP connectors to the national registers. Each call has timeouts and a bounded number
//! of retries with jittered back-off; repeated failure opens a circuit breaker so that a
//! register that is down costs callers nothing but a quick 503. A failure is never turned
//! into a verdict about a person or business.
//!
//! Contract (JSON over HTTPS, API key in a header):
//! - `POST {population_url}/citizens/verify` `{national_id, full_name, birth_date}` →
//!   `{"result": "match" | "mismatch" | "not_found" | "deceased", "province": "79"}`
//! - `GET {business_url}/businesses/{code}?kind=enterprise|household_business` → a
//!   business record, or 404 when there is none.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ureq::http::StatusCode;
use ureq::tls::{ClientCert, PemItem, TlsConfig, parse_pem};

use super::NationalId;
use super::registry::{
    BusinessKey, BusinessRecord, BusinessRegister, PersonCheck, PopulationRegister,
    RegistryUnavailable,
};

/// Connection settings of one register.
#[derive(Clone)]
pub struct HttpRegistryConfig {
    pub base_url: String,
    pub api_key_header: String,
    pub api_key: Option<String>,
    pub timeout: Duration,
    /// Attempts after the first one, for timeouts, connection errors and 5xx answers.
    pub retries: u32,
    /// Consecutive failed calls that open the circuit.
    pub failure_threshold: u32,
    /// How long the circuit stays open before one trial call.
    pub open_for: Duration,
    /// PEM file with a client certificate and key, for registers that require mutual TLS.
    pub client_identity_pem: Option<Vec<u8>>,
}

#[derive(Debug)]
enum Circuit {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen,
}

/// Fails fast while the far side is known to be down.
#[derive(Debug)]
pub struct CircuitBreaker {
    state: Mutex<Circuit>,
    threshold: u32,
    open_for: Duration,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            state: Mutex::new(Circuit::Closed { failures: 0 }),
            threshold: threshold.max(1),
            open_for,
        }
    }

    /// Whether a call may go out now (a half-open circuit lets one through).
    pub fn allow(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *state {
            Circuit::Closed { .. } => true,
            Circuit::Open { until } if now >= until => {
                *state = Circuit::HalfOpen;
                true
            }
            Circuit::Open { .. } | Circuit::HalfOpen => false,
        }
    }

    pub fn record(&self, success: bool, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *state = match (&*state, success) {
            (_, true) => Circuit::Closed { failures: 0 },
            (Circuit::Closed { failures }, false) if failures + 1 < self.threshold => {
                Circuit::Closed {
                    failures: failures + 1,
                }
            }
            _ => Circuit::Open {
                until: now + self.open_for,
            },
        };
    }
}

struct Connector {
    agent: ureq::Agent,
    config: HttpRegistryConfig,
    breaker: CircuitBreaker,
    register: &'static str,
}

type Response = ureq::http::Response<ureq::Body>;

enum Attempt {
    Done(Response),
    Retry(String),
    Fail(String),
}

/// The client certificate and key in a PEM file.
fn client_cert(pem: &[u8]) -> Result<ClientCert, String> {
    let mut certs = Vec::new();
    let mut key = None;
    for item in parse_pem(pem) {
        match item.map_err(|e| format!("client identity: {e}"))? {
            PemItem::Certificate(cert) => certs.push(cert),
            PemItem::PrivateKey(k) => key = Some(k),
            _ => {}
        }
    }
    let key = key.ok_or("client identity: no private key in the PEM file")?;
    if certs.is_empty() {
        return Err("client identity: no certificate in the PEM file".into());
    }
    Ok(ClientCert::new_with_certs(&certs, key))
}

impl Connector {
    fn new(config: HttpRegistryConfig, register: &'static str) -> Result<Self, String> {
        let mut tls = TlsConfig::builder();
        if let Some(pem) = &config.client_identity_pem {
            tls = tls.client_cert(Some(client_cert(pem)?));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("tracegate/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build()
            .into();
        Ok(Self {
            agent,
            breaker: CircuitBreaker::new(config.failure_threshold, config.open_for),
            config,
            register,
        })
    }

    fn unavailable(&self, reason: impl Into<String>) -> RegistryUnavailable {
        RegistryUnavailable {
            register: self.register,
            reason: reason.into(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    fn api_key(&self) -> Option<(&str, &str)> {
        self.config
            .api_key
            .as_deref()
            .map(|key| (self.config.api_key_header.as_str(), key))
    }

    /// Sends a request with retries; `Ok` holds any answer that is not a server failure.
    fn send(
        &self,
        call: impl Fn(&ureq::Agent) -> Result<Response, ureq::Error>,
    ) -> Result<Response, RegistryUnavailable> {
        if !self.breaker.allow(Instant::now()) {
            return Err(self.unavailable("circuit open after repeated failures; retry later"));
        }
        let mut last = String::new();
        for attempt in 0..=self.config.retries {
            if attempt > 0 {
                std::thread::sleep(backoff(attempt));
            }
            let outcome = match call(&self.agent) {
                Ok(response) if response.status().is_server_error() => {
                    Attempt::Retry(format!("answered {}", response.status()))
                }
                Ok(response)
                    if response.status().is_success()
                        || response.status() == StatusCode::NOT_FOUND =>
                {
                    Attempt::Done(response)
                }
                Ok(response) => Attempt::Fail(format!(
                    "answered {} (check the connector's configuration)",
                    response.status()
                )),
                Err(ureq::Error::Timeout(_)) => Attempt::Retry("timed out".into()),
                Err(e) => Attempt::Retry(format!("request failed: {e}")),
            };
            match outcome {
                Attempt::Done(response) => {
                    self.breaker.record(true, Instant::now());
                    return Ok(response);
                }
                Attempt::Retry(reason) => last = reason,
                Attempt::Fail(reason) => {
                    self.breaker.record(false, Instant::now());
                    return Err(self.unavailable(reason));
                }
            }
        }
        self.breaker.record(false, Instant::now());
        Err(self.unavailable(last))
    }
}

/// 100 ms, 200 ms, 400 ms … each with up to 50% added at random.
fn backoff(attempt: u32) -> Duration {
    let base = 100u64 << (attempt - 1).min(6);
    let mut byte = [0u8; 1];
    let jitter = getrandom::fill(&mut byte).map_or(0, |()| u64::from(byte[0]) * base / 510);
    Duration::from_millis(base + jitter)
}

#[derive(Serialize)]
struct CitizenQuery<'a> {
    national_id: &'a str,
    full_name: &'a str,
    birth_date: NaiveDate,
}

#[derive(Deserialize)]
struct CitizenAnswer {
    result: String,
    #[serde(default)]
    province: Option<String>,
}

pub struct HttpPopulationRegister(Connector);

impl HttpPopulationRegister {
    pub fn new(config: HttpRegistryConfig) -> Result<Self, String> {
        Connector::new(config, "population").map(Self)
    }
}

impl PopulationRegister for HttpPopulationRegister {
    fn check(
        &self,
        id: &NationalId,
        full_name: &str,
        birth_date: NaiveDate,
    ) -> Result<PersonCheck, RegistryUnavailable> {
        let url = self.0.url("/citizens/verify");
        let query = CitizenQuery {
            national_id: id.expose(),
            full_name,
            birth_date,
        };
        let mut response = self.0.send(|agent| {
            let mut request = agent.post(&url);
            if let Some((name, key)) = self.0.api_key() {
                request = request.header(name, key);
            }
            request.send_json(&query)
        })?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(PersonCheck::NotFound);
        }
        let answer: CitizenAnswer = response
            .body_mut()
            .read_json()
            .map_err(|e| self.0.unavailable(format!("unreadable answer: {e}")))?;
        match answer.result.as_str() {
            "match" => Ok(PersonCheck::Match {
                province: answer.province,
            }),
            "mismatch" => Ok(PersonCheck::Mismatch),
            "not_found" => Ok(PersonCheck::NotFound),
            "deceased" => Ok(PersonCheck::Deceased),
            other => Err(self.0.unavailable(format!("unknown result {other:?}"))),
        }
    }
}

pub struct HttpBusinessRegister(Connector);

impl HttpBusinessRegister {
    pub fn new(config: HttpRegistryConfig) -> Result<Self, String> {
        Connector::new(config, "business").map(Self)
    }
}

impl BusinessRegister for HttpBusinessRegister {
    fn lookup(&self, key: &BusinessKey) -> Result<Option<BusinessRecord>, RegistryUnavailable> {
        // Codes are digits, letters and one dash: nothing that needs escaping in a path.
        let code = key.code();
        let url = self
            .0
            .url(&format!("/businesses/{code}?kind={}", key.kind().as_str()));
        let mut response = self.0.send(|agent| {
            let mut request = agent.get(&url);
            if let Some((name, key)) = self.0.api_key() {
                request = request.header(name, key);
            }
            request.call()
        })?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let record: BusinessRecord = response
            .body_mut()
            .read_json()
            .map_err(|e| self.0.unavailable(format!("unreadable answer: {e}")))?;
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaker_opens_after_the_threshold_and_lets_one_trial_through_later() {
        let breaker = CircuitBreaker::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(breaker.allow(t0));
        breaker.record(false, t0);
        assert!(breaker.allow(t0), "one failure is below the threshold");
        breaker.record(false, t0);
        assert!(!breaker.allow(t0 + Duration::from_secs(1)), "open");
        assert!(
            breaker.allow(t0 + Duration::from_secs(11)),
            "half-open trial"
        );
        assert!(
            !breaker.allow(t0 + Duration::from_secs(11)),
            "only one trial at a time"
        );
        breaker.record(true, t0 + Duration::from_secs(11));
        assert!(
            breaker.allow(t0 + Duration::from_secs(12)),
            "closed again after success"
        );
    }

    #[test]
    fn failed_trial_opens_the_circuit_again() {
        let breaker = CircuitBreaker::new(1, Duration::from_secs(10));
        let t0 = Instant::now();
        breaker.record(false, t0);
        assert!(breaker.allow(t0 + Duration::from_secs(10)));
        breaker.record(false, t0 + Duration::from_secs(10));
        assert!(!breaker.allow(t0 + Duration::from_secs(15)));
    }

    #[test]
    fn backoff_grows_with_jitter_within_bounds() {
        for attempt in 1..5 {
            let base = 100u64 << (attempt - 1);
            let d = backoff(attempt).as_millis() as u64;
            assert!(
                (base..=base + base / 2).contains(&d),
                "attempt {attempt}: {d}"
            );
        }
    }
}
