//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), the
//! form every authenticator app understands.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

pub const STEP_SECS: i64 = 30;
pub const DIGITS: u32 = 6;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
pub const SECRET_LEN: usize = 20;

/// The code for one time step.
pub fn code_at_step(secret: &[u8], step: i64) -> u32 {
    let mut mac = <Hmac<Sha1>>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = (u32::from(digest[offset]) & 0x7f) << 24
        | u32::from(digest[offset + 1]) << 16
        | u32::from(digest[offset + 2]) << 8
        | u32::from(digest[offset + 3]);
    binary % 10u32.pow(DIGITS)
}

/// The time step a Unix time falls in.
pub fn step_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// Finds the step `code` belongs to, allowing one step of clock drift either way and
/// refusing any step at or before `last_used_step` (a code works once).
pub fn verify(
    secret: &[u8],
    code: &str,
    unix_secs: i64,
    last_used_step: Option<i64>,
) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let now = step_of(unix_secs);
    (now - 1..=now + 1)
        .filter(|step| last_used_step.is_none_or(|last| *step > last))
        .find(|step| code_at_step(secret, *step) == wanted)
}

/// Base32 form of a secret, as authenticator apps take it.
pub fn encode_secret(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

/// The `otpauth://` URI that authenticator apps read from a QR code.
pub fn provisioning_uri(secret: &[u8], account: &str) -> String {
    let label: String = account
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'@' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    format!(
        "otpauth://totp/tracegate:{label}?secret={}&issuer=tracegate&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        encode_secret(secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits there; the last 6 here).
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, eight) in [
            (59i64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(
                code_at_step(secret, step_of(time)),
                eight % 1_000_000,
                "t={time}"
            );
        }
    }

    #[test]
    fn code_works_once_and_with_one_step_of_drift() {
        let secret = b"12345678901234567890";
        let now = 1_234_567_890;
        let code = format!("{:06}", code_at_step(secret, step_of(now) - 1));
        let step = verify(secret, &code, now, None).expect("previous step accepted");
        assert_eq!(
            verify(secret, &code, now, Some(step)),
            None,
            "replay refused"
        );
        let stale = format!("{:06}", code_at_step(secret, step_of(now) - 3));
        assert_eq!(verify(secret, &stale, now, None), None);
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in ["", "12345", "1234567", "12a456", "-12345"] {
            assert_eq!(verify(b"k", bad, 0, None), None, "{bad}");
        }
    }

    #[test]
    fn provisioning_uri_carries_the_base32_secret() {
        let uri = provisioning_uri(b"12345678901234567890", "an@example.vn");
        assert!(
            uri.starts_with(
                "otpauth://totp/tracegate:an@example.vn?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            ),
            "{uri}"
        );
    }
}
