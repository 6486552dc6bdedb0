//! Sealing secrets at rest: AES-256-GCM with a random nonce, bound to a context string so
//! a sealed value cannot be moved to another column or row; and blind indexes (HMAC-SHA256)
//! to find and de-duplicate sealed values without decrypting them.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::{KeyRing, SecretKey};

const NONCE_LEN: usize = 12;

/// A sealed value and the id of the key that sealed it (kept for key rotation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    /// Nonce followed by ciphertext and tag.
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("sealed with key {0}, which this service does not have")]
    UnknownKey(String),
    #[error("sealed value is corrupt or was moved from another record")]
    Corrupt,
    #[error("the operating system's random number generator failed")]
    Random,
}

#[derive(Clone)]
pub struct Vault {
    encryption: SecretKey,
    previous: Vec<SecretKey>,
    blind_index: SecretKey,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault(encryption key {})", self.encryption.id())
    }
}

impl Vault {
    pub fn new(keys: &KeyRing) -> Self {
        Self {
            encryption: keys.encryption.clone(),
            previous: keys.previous_encryption.clone(),
            blind_index: keys.blind_index.clone(),
        }
    }

    /// Id of the key new values are sealed with.
    pub fn current_key_id(&self) -> &str {
        self.encryption.id()
    }

    fn cipher(key: &SecretKey) -> Result<Aes256Gcm, VaultError> {
        Aes256Gcm::new_from_slice(key.bytes()).map_err(|_| VaultError::Corrupt)
    }

    /// Encrypts `plaintext`; `context` (e.g. `account:ID:totp`) must be given again to open it.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<Sealed, VaultError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| VaultError::Random)?;
        let ciphertext = Self::cipher(&self.encryption)?
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Corrupt)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        Ok(Sealed {
            key_id: self.encryption.id().to_string(),
            bytes,
        })
    }

    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, VaultError> {
        let key = std::iter::once(&self.encryption)
            .chain(&self.previous)
            .find(|k| k.id() == sealed.key_id)
            .ok_or_else(|| VaultError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.bytes.len() < NONCE_LEN {
            return Err(VaultError::Corrupt);
        }
        let (nonce, ciphertext) = sealed.bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| VaultError::Corrupt)?;
        Self::cipher(key)?
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Corrupt)
    }

    /// A keyed hash of `value` within `domain` (lower-case hex): equal inputs give equal
    /// outputs, and without the key nothing about the input can be learnt or guessed.
    pub fn blind_index(&self, domain: &str, value: &[u8]) -> String {
        let mut mac = <Hmac<Sha256>>::new_from_slice(self.blind_index.bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KeysConfig;

    fn vault() -> Vault {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = KeyRing::load_or_generate(&KeysConfig {
            file: dir.path().join("k.toml").display().to_string(),
            ..KeysConfig::default()
        })
        .expect("keys");
        Vault::new(&keys)
    }

    #[test]
    fn sealed_value_opens_with_its_context_only() {
        let v = vault();
        let sealed = v.seal(b"JBSWY3DPEHPK3PXP", "account:1:totp").expect("seal");
        assert!(!sealed.bytes.windows(16).any(|w| w == b"JBSWY3DPEHPK3PXP"));
        assert_eq!(
            v.open(&sealed, "account:1:totp").expect("open"),
            b"JBSWY3DPEHPK3PXP"
        );
        assert_eq!(v.open(&sealed, "account:2:totp"), Err(VaultError::Corrupt));
    }

    #[test]
    fn tampered_ciphertext_is_refused() {
        let v = vault();
        let mut sealed = v.seal(b"secret", "ctx").expect("seal");
        let last = sealed.bytes.len() - 1;
        sealed.bytes[last] ^= 1;
        assert_eq!(v.open(&sealed, "ctx"), Err(VaultError::Corrupt));
    }

    #[test]
    fn same_plaintext_seals_differently_each_time() {
        let v = vault();
        assert_ne!(
            v.seal(b"x", "c").expect("seal").bytes,
            v.seal(b"x", "c").expect("seal").bytes
        );
    }

    #[test]
    fn blind_index_is_deterministic_and_domain_separated() {
        let v = vault();
        assert_eq!(
            v.blind_index("email", b"a@b.vn"),
            v.blind_index("email", b"a@b.vn")
        );
        assert_ne!(
            v.blind_index("email", b"a@b.vn"),
            v.blind_index("national_id", b"a@b.vn")
        );
        assert_eq!(v.blind_index("email", b"a@b.vn").len(), 64);
    }
}
