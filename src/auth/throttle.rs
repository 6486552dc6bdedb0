//! Back-off after failed logins, per account and per IP address. The counts live in the
//! database (`store.rs`) so that every node sees the same ones.

use chrono::TimeDelta;

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
