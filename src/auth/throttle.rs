//! Back-off after failed guesses of a secret (password, TOTP code, client secret). The
//! counts live in the database (`store.rs`) so that every node sees the same ones.
//!
//! Guesses are counted per *source* (an IPv4 address or an IPv6 /64), and per secret *and*
//! source, never per secret alone: a lock on the account or client itself would let anyone
//! who knows its email or client id lock its holder out. Guessing from many sources at
//! once is bounded by each source's limit and by the strength of the secret (passwords
//! must score 3 of 4 on the strength estimate; client secrets carry 256 random bits).

use std::net::IpAddr;

use chrono::TimeDelta;

/// The source an attempt is counted against: the IPv4 address, or the /64 network of an
/// IPv6 address (one host usually holds a whole /64). Anything else is kept as it is.
pub fn source_of(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => ip.to_string(),
    }
}

/// Longest lock-out.
const MAX_LOCK_SECS: i64 = 15 * 60;
/// Failures older than this are forgotten.
pub const FORGET_AFTER: TimeDelta = TimeDelta::hours(24);

/// How many failures are tolerated and how long locks last.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max_failures: u32,
    pub base_secs: u32,
}

impl Policy {
    /// Lock-out after `failures` consecutive failures: none below the limit, then the base
    /// time doubling with each further failure, up to 15 minutes.
    pub fn lock_for(&self, failures: u32) -> Option<TimeDelta> {
        let over = failures.checked_sub(self.max_failures)?;
        let secs = i64::from(self.base_secs).saturating_mul(1i64 << over.min(20));
        Some(TimeDelta::seconds(secs.min(MAX_LOCK_SECS)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_source_is_its_64_network() {
        assert_eq!(source_of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            source_of("2001:db8:1:2:ffff::9"),
            source_of("2001:db8:1:2::5")
        );
        assert_eq!(source_of("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(source_of("192.0.2.7"), "192.0.2.7");
        assert_eq!(source_of("unknown"), "unknown");
    }

    #[test]
    fn lock_starts_at_the_limit_and_doubles_to_a_cap() {
        let p = Policy {
            max_failures: 5,
            base_secs: 30,
        };
        assert_eq!(p.lock_for(4), None);
        assert_eq!(p.lock_for(5), Some(TimeDelta::seconds(30)));
        assert_eq!(p.lock_for(6), Some(TimeDelta::seconds(60)));
        assert_eq!(p.lock_for(9), Some(TimeDelta::seconds(480)));
        assert_eq!(p.lock_for(10), Some(TimeDelta::seconds(900)));
        assert_eq!(p.lock_for(500), Some(TimeDelta::seconds(900)));
    }
}
