//! Outbound HTTP (webhooks to platforms): one configured client for the process.

use std::time::Duration;

/// An HTTP client that reports every status as an answer (not an error) and gives up after
/// `timeout` in all.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(concat!("tracegate/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}
