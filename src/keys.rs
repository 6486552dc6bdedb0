//! The service's secret keys: one to sign tokens and attestations, one to encrypt personal
//! data at rest, one to build blind indexes of personal data, one to sign audit checkpoints.
//!
//! Production supplies all three through configuration. With none supplied (the zero-config
//! run), they are generated on first start into `keys.file` with mode 0600 and reused after,
//! so data encrypted yesterday still decrypts today.

use std::fmt;
use std::path::Path;

use data_encoding::BASE64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::KeysConfig;

/// Bytes in every key.
pub const KEY_LEN: usize = 32;

/// One secret key and its public identifier. Never printed.
#[derive(Clone)]
pub struct SecretKey {
    id: String,
    bytes: [u8; KEY_LEN],
}

impl SecretKey {
    fn new(bytes: [u8; KEY_LEN]) -> Self {
        // The id names the key (for rotation) without revealing anything about it.
        let digest = Sha256::new()
            .chain_update(b"tracegate key id\0")
            .chain_update(bytes)
            .finalize();
        let id = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        Self { id, bytes }
    }

    fn generate() -> Result<Self, KeyError> {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self::new(bytes))
    }

    /// Stable identifier, safe to store beside what the key protects and to publish.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key material.
    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, <redacted>)", self.id)
    }
}

/// The keys the service runs with.
#[derive(Debug, Clone)]
pub struct KeyRing {
    pub signing: SecretKey,
    pub encryption: SecretKey,
    pub blind_index: SecretKey,
    /// Seed of the Ed25519 key that signs audit checkpoints: never in the database, so
    /// whoever can write the database cannot sign a rewritten chain.
    pub audit: SecretKey,
    /// Encryption keys used before the current one, still needed to open what they sealed
    /// until `tracegate admin rotate-key` has re-sealed it.
    pub previous_encryption: Vec<SecretKey>,
    /// True when the keys were generated locally rather than supplied by configuration.
    pub generated: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {message}")]
    Read { path: String, message: String },
    #[error("cannot write key file {path}: {message}")]
    Write { path: String, message: String },
    #[error("key file {path}: {message}")]
    Invalid { path: String, message: String },
    #[error("configured key {key}: {message}")]
    Config { key: &'static str, message: String },
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
}

/// Decodes a base64 key of exactly [`KEY_LEN`] bytes.
pub fn decode_secret(text: &str) -> Result<[u8; KEY_LEN], String> {
    let bytes = BASE64
        .decode(text.trim().as_bytes())
        .map_err(|_| "expected base64 (standard alphabet, padded)".to_string())?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("expected {KEY_LEN} bytes, got {}", b.len()))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    signing_secret: String,
    encryption_secret: String,
    blind_index_secret: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    previous_encryption_secrets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    audit_signing_secret: Option<String>,
}

/// The audit key of a set whose own was not supplied: derived from the signing key (so a
/// key file or configuration written before audit checkpoints keeps working), under its
/// own label, so it is a different key with a different id.
fn derived_audit_key(signing: &SecretKey) -> SecretKey {
    let digest = Sha256::new()
        .chain_update(b"tracegate audit checkpoint key\0")
        .chain_update(signing.bytes)
        .finalize();
    let mut bytes = [0u8; KEY_LEN];
    bytes.copy_from_slice(&digest);
    SecretKey::new(bytes)
}

impl KeyRing {
    /// Uses the configured keys, or loads (creating on first use) the generated key file.
    pub fn load_or_generate(config: &KeysConfig) -> Result<Self, KeyError> {
        if let (Some(s), Some(e), Some(b)) = (
            &config.signing_secret,
            &config.encryption_secret,
            &config.blind_index_secret,
        ) {
            let key = |name: &'static str, text: &str| {
                decode_secret(text)
                    .map(SecretKey::new)
                    .map_err(|message| KeyError::Config { key: name, message })
            };
            let previous_encryption = config
                .previous_encryption_secrets
                .iter()
                .map(|text| key("keys.previous_encryption_secrets", text))
                .collect::<Result<_, _>>()?;
            let signing = key("keys.signing_secret", s)?;
            let audit = match &config.audit_signing_secret {
                Some(text) => key("keys.audit_signing_secret", text)?,
                None => derived_audit_key(&signing),
            };
            return Ok(Self {
                signing,
                audit,
                encryption: key("keys.encryption_secret", e)?,
                blind_index: key("keys.blind_index_secret", b)?,
                previous_encryption,
                generated: false,
            });
        }
        let path = Path::new(&config.file);
        if path.exists() {
            Self::read_file(path)
        } else {
            let ring = Self {
                signing: SecretKey::generate()?,
                audit: SecretKey::generate()?,
                encryption: SecretKey::generate()?,
                blind_index: SecretKey::generate()?,
                previous_encryption: Vec::new(),
                generated: true,
            };
            ring.write_file(path, false)?;
            Ok(ring)
        }
    }

    fn read_file(path: &Path) -> Result<Self, KeyError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::Read {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        let file: KeyFile = toml::from_str(&text).map_err(|e| KeyError::Invalid {
            path: shown.clone(),
            message: e.message().to_string(),
        })?;
        let key = |name: &str, text: &str| {
            decode_secret(text)
                .map(SecretKey::new)
                .map_err(|m| KeyError::Invalid {
                    path: shown.clone(),
                    message: format!("{name}: {m}"),
                })
        };
        let signing = key("signing_secret", &file.signing_secret)?;
        let audit = match &file.audit_signing_secret {
            Some(text) => key("audit_signing_secret", text)?,
            None => derived_audit_key(&signing),
        };
        Ok(Self {
            audit,
            signing,
            encryption: key("encryption_secret", &file.encryption_secret)?,
            blind_index: key("blind_index_secret", &file.blind_index_secret)?,
            previous_encryption: file
                .previous_encryption_secrets
                .iter()
                .map(|text| key("previous_encryption_secrets", text))
                .collect::<Result<_, _>>()?,
            generated: true,
        })
    }

    /// Replaces the generated encryption key with a new one, keeping the old one as
    /// previous, and saves the key file. Keys supplied by configuration are rotated by
    /// changing the configuration instead.
    pub fn rotate_generated_encryption_key(&mut self, config: &KeysConfig) -> Result<(), KeyError> {
        if !self.generated {
            return Err(KeyError::Config {
                key: "keys.encryption_secret",
                message: "keys come from configuration: set the new key as keys.encryption_secret and list the old one in keys.previous_encryption_secrets".into(),
            });
        }
        let old = std::mem::replace(&mut self.encryption, SecretKey::generate()?);
        self.previous_encryption.insert(0, old);
        self.write_file(Path::new(&config.file), true)
    }

    /// Writes the key file; `replace` swaps an existing file atomically (through a new
    /// private file renamed over it), otherwise an existing file is an error.
    fn write_file(&self, path: &Path, replace: bool) -> Result<(), KeyError> {
        let shown = path.display().to_string();
        let fail = |e: std::io::Error| KeyError::Write {
            path: shown.clone(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let file = KeyFile {
            signing_secret: BASE64.encode(&self.signing.bytes),
            encryption_secret: BASE64.encode(&self.encryption.bytes),
            blind_index_secret: BASE64.encode(&self.blind_index.bytes),
            previous_encryption_secrets: self
                .previous_encryption
                .iter()
                .map(|k| BASE64.encode(&k.bytes))
                .collect(),
            audit_signing_secret: Some(BASE64.encode(&self.audit.bytes)),
        };
        let body = toml::to_string(&file).map_err(|e| KeyError::Write {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        let text = format!(
            "# Keys generated by tracegate for local use. Production supplies its own through\n\
             # TRACEGATE_KEYS_* settings. Losing this file makes encrypted data unreadable.\n{body}"
        );
        if replace {
            let fresh = path.with_extension("toml.new");
            let _ = std::fs::remove_file(&fresh);
            write_private(&fresh, text.as_bytes()).map_err(fail)?;
            std::fs::rename(&fresh, path).map_err(fail)
        } else {
            write_private(path, text.as_bytes()).map_err(fail)
        }
    }
}

/// Creates `path` readable and writable by its owner only, failing if it already exists
/// (two nodes starting at once must not overwrite each other's keys).
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &Path) -> KeysConfig {
        KeysConfig {
            file: dir.join("keys.toml").display().to_string(),
            ..KeysConfig::default()
        }
    }

    #[test]
    fn generated_keys_are_kept_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config_in(dir.path());
        let first = KeyRing::load_or_generate(&config).expect("generate");
        let second = KeyRing::load_or_generate(&config).expect("reload");
        assert!(first.generated);
        assert_eq!(first.signing.bytes(), second.signing.bytes());
        assert_eq!(first.encryption.id(), second.encryption.id());
        assert_ne!(first.signing.bytes(), first.encryption.bytes());
        assert_eq!(first.audit.bytes(), second.audit.bytes());
        assert_ne!(first.audit.bytes(), first.signing.bytes());
    }

    #[test]
    fn an_audit_key_left_out_is_its_own_key_derived_from_the_signing_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = BASE64.encode(&[7u8; KEY_LEN]);
        let config = KeysConfig {
            signing_secret: Some(secret.clone()),
            encryption_secret: Some(secret.clone()),
            blind_index_secret: Some(secret),
            ..config_in(dir.path())
        };
        let ring = KeyRing::load_or_generate(&config).expect("load");
        assert_ne!(ring.audit.bytes(), ring.signing.bytes());
        assert_ne!(ring.audit.id(), ring.signing.id());
        let again = KeyRing::load_or_generate(&config).expect("load");
        assert_eq!(ring.audit.bytes(), again.audit.bytes());
    }

    #[cfg(unix)]
    #[test]
    fn generated_key_file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config_in(dir.path());
        KeyRing::load_or_generate(&config).expect("generate");
        let mode = std::fs::metadata(&config.file)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn supplied_keys_win_over_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = BASE64.encode(&[7u8; KEY_LEN]);
        let config = KeysConfig {
            signing_secret: Some(secret.clone()),
            encryption_secret: Some(secret.clone()),
            blind_index_secret: Some(secret),
            ..config_in(dir.path())
        };
        let ring = KeyRing::load_or_generate(&config).expect("load");
        assert!(!ring.generated);
        assert_eq!(ring.signing.bytes(), &[7u8; KEY_LEN]);
        assert!(!Path::new(&config.file).exists());
    }

    #[test]
    fn debug_output_never_shows_key_material() {
        let key = SecretKey::new([0xAB; KEY_LEN]);
        let shown = format!("{key:?}");
        assert!(!shown.contains("ab, ") && !shown.contains("171"), "{shown}");
        assert!(shown.contains(key.id()));
    }

    #[test]
    fn rotation_keeps_the_old_key_as_previous_in_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config_in(dir.path());
        let mut ring = KeyRing::load_or_generate(&config).expect("generate");
        let old = ring.encryption.id().to_string();
        ring.rotate_generated_encryption_key(&config)
            .expect("rotate");
        let reloaded = KeyRing::load_or_generate(&config).expect("reload");
        assert_ne!(reloaded.encryption.id(), old);
        assert_eq!(reloaded.previous_encryption[0].id(), old);
        assert_eq!(
            reloaded.signing.bytes(),
            ring.signing.bytes(),
            "other keys stay"
        );
    }

    #[test]
    fn short_secret_is_refused_with_its_length() {
        let err = decode_secret(&BASE64.encode(&[1u8; 16])).unwrap_err();
        assert!(err.contains("32 bytes, got 16"), "{err}");
    }
}
