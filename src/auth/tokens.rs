//! Access tokens: short-lived JWTs that every request presents and that are checked with
//! no database hit and no password hashing.
//!
//! They are HS256, keyed by a key derived from the service signing secret: only tracegate
//! itself verifies them, and an HMAC costs about a microsecond where an Ed25519 check costs
//! tens (public attestations, which others verify, use Ed25519). The algorithm is fixed per
//! key and the header must name our key id, so `alg: none` and algorithm confusion fail.

use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use crate::keys::KeyRing;

/// Audience of every access token.
pub const AUDIENCE: &str = "tracegate-api";

/// Who a token was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    Seller,
    Officer,
    Platform,
    Issuer,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Seller => "seller",
            PrincipalKind::Officer => "officer",
            PrincipalKind::Platform => "platform",
            PrincipalKind::Issuer => "issuer",
        }
    }
}

/// An officer's role. An admin manages accounts, clients and delivery; a supervisor
/// assigns cases and hears appeals; an officer works cases in their provinces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfficerRole {
    Officer,
    Supervisor,
    Admin,
}

impl OfficerRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OfficerRole::Officer => "officer",
            OfficerRole::Supervisor => "supervisor",
            OfficerRole::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "officer" => Some(OfficerRole::Officer),
            "supervisor" => Some(OfficerRole::Supervisor),
            "admin" => Some(OfficerRole::Admin),
            _ => None,
        }
    }
}

/// Authentication method reference for a password (RFC 8176).
pub const AMR_PASSWORD: &str = "pwd";
/// Authentication method reference for a one-time password (RFC 8176).
pub const AMR_OTP: &str = "otp";

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// Account id (people) or client id (machines).
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub kind: PrincipalKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<OfficerRole>,
    /// Province codes an officer's work covers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provinces: Vec<String>,
    /// Space-separated scopes of a machine client.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// Session (refresh token family) of a person's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// How the person authenticated (`pwd`, `otp`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or its signature does not verify")]
    Invalid,
    #[error("the token was signed with a key this service does not use")]
    UnknownKey,
    #[error("the token has expired")]
    Expired,
    #[error("the token could not be signed: {0}")]
    Signing(String),
}

/// Issues and verifies access tokens.
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    issuer: String,
    validation: Validation,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenService(kid {})", self.kid)
    }
}

/// Tolerance for clocks of several nodes that disagree a little, in seconds.
const CLOCK_SKEW_SECS: i64 = 30;

impl TokenService {
    pub fn new(keys: &KeyRing, issuer: &str) -> Self {
        let mut mac = <Hmac<Sha256>>::new_from_slice(keys.signing.bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(b"tracegate access token key v1");
        let key = mac.finalize().into_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked against our Clock below, not the system time.
        validation.validate_exp = false;
        Self {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            kid: format!("at-{}", keys.signing.id()),
            issuer: issuer.to_string(),
            validation,
        }
    }

    /// The `iss` every token carries.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn issue(&self, claims: &Claims) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))
    }

    pub fn verify(&self, token: &str, now_unix: i64) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(TokenError::UnknownKey);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        if claims.exp <= now_unix - CLOCK_SKEW_SECS || claims.iat > now_unix + CLOCK_SKEW_SECS {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KeysConfig;
    use data_encoding::BASE64URL_NOPAD;

    fn service() -> (TokenService, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = KeyRing::load_or_generate(&KeysConfig {
            file: dir.path().join("k.toml").display().to_string(),
            ..KeysConfig::default()
        })
        .expect("keys");
        (TokenService::new(&keys, "http://tracegate.test"), dir)
    }

    fn claims(now: i64) -> Claims {
        Claims {
            iss: "http://tracegate.test".into(),
            aud: AUDIENCE.into(),
            sub: "acct-1".into(),
            iat: now,
            exp: now + 900,
            jti: "j1".into(),
            kind: PrincipalKind::Officer,
            role: Some(OfficerRole::Supervisor),
            provinces: vec!["79".into()],
            scope: String::new(),
            sid: Some("s1".into()),
            amr: vec![AMR_PASSWORD.into(), AMR_OTP.into()],
        }
    }

    #[test]
    fn issued_token_verifies_to_the_same_claims() {
        let (svc, _d) = service();
        let token = svc.issue(&claims(1_000)).expect("issue");
        assert_eq!(svc.verify(&token, 1_100).expect("verify"), claims(1_000));
    }

    #[test]
    fn expired_token_is_refused() {
        let (svc, _d) = service();
        let token = svc.issue(&claims(1_000)).expect("issue");
        assert_eq!(
            svc.verify(&token, 1_000 + 900 + CLOCK_SKEW_SECS),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn token_of_another_service_is_refused() {
        let (a, _da) = service();
        let (b, _db) = service();
        let token = a.issue(&claims(1_000)).expect("issue");
        assert!(b.verify(&token, 1_000).is_err());
    }

    #[test]
    fn alg_none_is_refused() {
        let (svc, _d) = service();
        let token = svc.issue(&claims(1_000)).expect("issue");
        let payload = token.split('.').nth(1).expect("payload");
        let header = BASE64URL_NOPAD
            .encode(format!(r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#, svc.kid).as_bytes());
        assert!(svc.verify(&format!("{header}.{payload}."), 1_000).is_err());
    }

    #[test]
    fn tampered_claims_are_refused() {
        let (svc, _d) = service();
        let token = svc.issue(&claims(1_000)).expect("issue");
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let mut forged = claims(1_000);
        forged.role = Some(OfficerRole::Admin);
        parts[1] = BASE64URL_NOPAD.encode(serde_json::to_string(&forged).expect("json").as_bytes());
        assert_eq!(
            svc.verify(&parts.join("."), 1_000),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn wrong_issuer_is_refused() {
        let (svc, _d) = service();
        let mut c = claims(1_000);
        c.iss = "http://elsewhere".into();
        let token = svc.issue(&c).expect("issue");
        assert_eq!(svc.verify(&token, 1_000), Err(TokenError::Invalid));
    }
}
