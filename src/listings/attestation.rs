//! Attestations: each listing decision is returned as a compact JWS signed with the
//! service's Ed25519 key, which anyone can check against `/.well-known/jwks.json`.

use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::{Signer, SigningKey};
use serde::Serialize;

use crate::keys::KeyRing;

pub struct Attester {
    key: SigningKey,
    kid: String,
}

impl std::fmt::Debug for Attester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Attester({})", self.kid)
    }
}

impl Attester {
    pub fn new(keys: &KeyRing) -> Self {
        Self {
            key: SigningKey::from_bytes(keys.signing.bytes()),
            kid: format!("att-{}", keys.signing.id()),
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// `header.payload.signature`, EdDSA over the first two parts.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, serde_json::Error> {
        let header = serde_json::json!({ "alg": "EdDSA", "typ": "JWT", "kid": self.kid });
        let signing_input = format!(
            "{}.{}",
            BASE64URL_NOPAD.encode(serde_json::to_vec(&header)?.as_slice()),
            BASE64URL_NOPAD.encode(serde_json::to_vec(claims)?.as_slice())
        );
        let signature = self.key.sign(signing_input.as_bytes());
        Ok(format!(
            "{signing_input}.{}",
            BASE64URL_NOPAD.encode(&signature.to_bytes())
        ))
    }

    /// The public key set (RFC 7517, OKP / Ed25519 per RFC 8037).
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "x": BASE64URL_NOPAD.encode(self.key.verifying_key().as_bytes()),
                "kid": self.kid,
                "alg": "EdDSA",
                "use": "sig",
            }]
        })
    }
}
