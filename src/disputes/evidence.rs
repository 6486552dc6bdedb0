//! Evidence files: checked against an allow-list by their content (not only by what the
//! uploader declared), stored on disk under the case with their SHA-256, and checked
//! against it again whenever they are read.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Media types tracegate can recognise from content.
pub const KNOWN_TYPES: &[&str] = &["image/jpeg", "image/png", "application/pdf", "text/plain"];

/// Why a file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("{0} is not accepted as evidence; send one of: {1}")]
    TypeNotAllowed(String, String),
    #[error("the content is not a {0} file")]
    ContentMismatch(String),
    #[error("the file is empty")]
    Empty,
}

/// Checks that `content` really is `declared`, one of `allowed`.
pub fn check_type(declared: &str, allowed: &[String], content: &[u8]) -> Result<(), EvidenceError> {
    let declared = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !allowed.iter().any(|a| a == &declared) {
        return Err(EvidenceError::TypeNotAllowed(declared, allowed.join(", ")));
    }
    if content.is_empty() {
        return Err(EvidenceError::Empty);
    }
    let matches = match declared.as_str() {
        "image/jpeg" => content.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/png" => content.starts_with(b"\x89PNG\r\n\x1a\n"),
        "application/pdf" => content.starts_with(b"%PDF-"),
        // Text is UTF-8 without control characters other than whitespace.
        "text/plain" => std::str::from_utf8(content).is_ok_and(|text| {
            text.chars()
                .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        }),
        _ => false,
    };
    if matches {
        Ok(())
    } else {
        Err(EvidenceError::ContentMismatch(declared))
    }
}

pub fn sha256_hex(content: &[u8]) -> String {
    Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where evidence lives: `{root}/{case id}/{evidence id}`.
#[derive(Debug, Clone)]
pub struct EvidenceStore {
    root: PathBuf,
}

impl EvidenceStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The stored path, relative to the root (ids are UUIDs: no path tricks possible).
    pub fn relative_path(dispute_id: &str, evidence_id: &str) -> String {
        format!("{dispute_id}/{evidence_id}")
    }

    fn full(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Writes a new file durably (temporary file, fsync, rename); never overwrites.
    pub fn write(&self, relative: &str, content: &[u8]) -> std::io::Result<()> {
        let path = self.full(relative);
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        if path.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "evidence files are never replaced",
            ));
        }
        let temporary = dir.join(format!(".{}.part", uuid::Uuid::new_v4().simple()));
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(content)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, &path)?;
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Removes a file written for an upload whose record could not be stored.
    pub fn discard(&self, relative: &str) {
        let _ = std::fs::remove_file(self.full(relative));
    }

    /// Reads a file and checks it still has the hash recorded when it was attached.
    pub fn read_verified(&self, relative: &str, sha256: &str) -> Result<Vec<u8>, String> {
        let content = std::fs::read(self.full(relative))
            .map_err(|e| format!("evidence file {relative} cannot be read: {e}"))?;
        let actual = sha256_hex(&content);
        if actual != sha256 {
            return Err(format!(
                "evidence file {relative} has changed on disk: SHA-256 {actual}, recorded {sha256}"
            ));
        }
        Ok(content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        KNOWN_TYPES.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn content_must_match_the_declared_type() {
        assert!(check_type("image/png", &allowed(), b"\x89PNG\r\n\x1a\nrest").is_ok());
        assert!(check_type("application/pdf; charset=binary", &allowed(), b"%PDF-1.7").is_ok());
        assert_eq!(
            check_type("image/png", &allowed(), b"%PDF-1.7"),
            Err(EvidenceError::ContentMismatch("image/png".into()))
        );
        assert!(check_type("text/plain", &allowed(), "Hóa đơn số 12\n".as_bytes()).is_ok());
        assert!(check_type("text/plain", &allowed(), b"MZ\x00\x01").is_err());
        assert!(matches!(
            check_type("application/x-msdownload", &allowed(), b"MZ"),
            Err(EvidenceError::TypeNotAllowed(..))
        ));
        assert_eq!(
            check_type("image/png", &allowed(), b""),
            Err(EvidenceError::Empty)
        );
    }

    #[test]
    fn files_are_written_once_and_verified_on_read() {
        let dir = tempfile::tempdir().expect("dir");
        let store = EvidenceStore::new(dir.path());
        let path = EvidenceStore::relative_path("case", "file");
        store.write(&path, b"receipt").expect("written");
        assert!(store.write(&path, b"other").is_err(), "never replaced");
        let hash = sha256_hex(b"receipt");
        assert_eq!(store.read_verified(&path, &hash).expect("read"), b"receipt");
        std::fs::write(dir.path().join(&path), b"tampered").expect("tamper");
        assert!(
            store
                .read_verified(&path, &hash)
                .unwrap_err()
                .contains("changed on disk")
        );
    }
}
