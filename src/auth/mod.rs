//! Authentication: passwords, second factors, access tokens, and the typed callers that
//! routes declare.

pub mod extract;
pub mod hashing;
pub mod password;
pub mod revocation;
pub mod store;
pub mod throttle;
pub mod tokens;
pub mod totp;

pub use extract::{
    AccountAuth, AdminAuth, Authenticated, ClientAuth, IssuerAuth, OfficerAuth, PartyAuth,
    PlatformAuth, SellerAuth, require_scope,
};
pub use tokens::{Claims, OfficerRole, PrincipalKind, TokenService};

/// A random token of 32 bytes for links and refresh tokens, URL-safe, with a prefix that
/// says what it is (so a leaked one is recognisable in logs and secret scanners).
pub fn random_token(prefix: &str) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!(
        "{prefix}{}",
        data_encoding::BASE64URL_NOPAD.encode(&bytes)
    ))
}

/// How single-use tokens are stored: SHA-256, hex. They carry 256 random bits, so a fast
/// hash suffices and a database leak does not reveal usable tokens.
pub fn token_digest(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
