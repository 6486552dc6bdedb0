//! Passwords: the policy a new password must meet, and argon2id hashing with OWASP's
//! parameters (19 MiB, 2 passes, 1 lane).

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use super::hashing::{HashingError, HashingPool, Turn};

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 10;
/// Longest password accepted (argon2 does not care; this bounds the work per request).
pub const MAX_LENGTH: usize = 256;

/// Words that make a password guessable here, beyond the dictionaries the strength
/// estimator already knows (common English passwords, names, keyboard walks).
const LOCAL_WORDS: &[&str] = &[
    "tracegate",
    "matkhau",
    "anhyeuem",
    "emyeuanh",
    "yeuem",
    "vietnam",
    "hanoi",
    "saigon",
    "hochiminh",
    "danang",
    "xinchao",
    "congthuong",
    "bocongthuong",
    "thuongmai",
    "shopee",
    "lazada",
    "tiki",
    "tiktok",
    "sendo",
    "zalo",
    "admin",
    "officer",
    "seller",
];

/// Why a new password is refused, in words for the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WeakPassword(pub String);

/// Checks a new password. `personal` holds things about the person (email, name) that
/// must not make up the password.
pub fn check_policy(password: &str, personal: &[&str]) -> Result<(), WeakPassword> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(WeakPassword(format!(
            "must be at least {MIN_LENGTH} characters long (it has {length})"
        )));
    }
    if length > MAX_LENGTH {
        return Err(WeakPassword(format!(
            "must be at most {MAX_LENGTH} characters long"
        )));
    }
    let mut inputs: Vec<&str> = LOCAL_WORDS.to_vec();
    inputs.extend_from_slice(personal);
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if estimate.score() < zxcvbn::Score::Three {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        return Err(WeakPassword(format!(
            "is too easy to guess{hint}; use a longer phrase of unrelated words"
        )));
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error("password hashing failed: {0}")]
    Failed(String),
}

fn hash_here(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError::Failed(e.to_string()))
}

fn verify_here(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// The PHC string [`verify_or_dummy`] checks against when there is no account (or no
/// password yet), so that response times do not reveal which emails are registered.
fn dummy() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_here("dummy password for timing").unwrap_or_default())
}

/// Hashes a password as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), on a hashing
/// thread of `pool`; call from a blocking thread.
pub fn hash(pool: &HashingPool, password: &str) -> Result<String, HashError> {
    let password = password.to_string();
    pool.run_blocking(move || hash_here(&password))?
}

/// True when `password` matches the stored PHC string, checked on a hashing thread; call
/// from a blocking thread.
pub fn verify(pool: &HashingPool, password: &str, stored: &str) -> Result<bool, HashingError> {
    let (password, stored) = (password.to_string(), stored.to_string());
    pool.run_blocking(move || verify_here(&password, &stored))
}

/// Checks `password` against `stored`, or, with nothing stored, spends the same time on
/// a dummy hash and answers false; on a hashing thread, in a turn already taken.
pub async fn verify_or_dummy(
    turn: Turn<'_>,
    password: String,
    stored: Option<String>,
) -> Result<bool, HashingError> {
    turn.run(move || match stored {
        Some(stored) => verify_here(&password, &stored),
        None => {
            let _ = verify_here(&password, dummy());
            false
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_with_owasp_parameters_and_verifies() {
        let stored = hash_here("correct horse battery staple").expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify_here("correct horse battery staple", &stored));
        assert!(!verify_here("correct horse battery stapler", &stored));
    }

    #[test]
    fn garbage_stored_hash_never_verifies() {
        assert!(!verify_here("anything", "not a phc string"));
        assert!(!verify_here("anything", ""));
    }

    #[test]
    fn short_password_is_refused_with_its_length() {
        let err = check_policy("Abc!2345", &[]).unwrap_err();
        assert!(
            err.0.contains("at least 10") && err.0.contains("has 8"),
            "{err}"
        );
    }

    #[test]
    fn common_passwords_are_refused() {
        for weak in [
            "password123",
            "1234567890",
            "qwertyuiop",
            "matkhau123456",
            "anhyeuem123",
        ] {
            assert!(check_policy(weak, &[]).is_err(), "{weak} should be refused");
        }
    }

    #[test]
    fn password_made_of_the_email_is_refused() {
        assert!(
            check_policy("nguyenvanan2026", &["nguyenvanan2026@example.vn"]).is_err()
                || check_policy("nguyenvanan2026", &["nguyenvanan2026"]).is_err()
        );
    }

    #[test]
    fn long_unrelated_phrase_is_accepted() {
        check_policy("cà phê sữa đá lúc bình minh", &[]).expect("strong enough");
        check_policy("violet-tractor-harbour-91", &[]).expect("strong enough");
    }
}
