//! Uploads: `multipart/form-data` read with bounds on every part.

use std::collections::HashMap;

use actix_multipart::Multipart;
use futures_util::{StreamExt, TryStreamExt};

use crate::error::{AppError, FieldError};

/// A file read from an upload: (file name, declared media type, content).
pub type UploadedFile = (String, String, Vec<u8>);

/// Reads a `multipart/form-data` upload: small text fields, and one part named `file`
/// (its name, declared type and content). The file may have `limit` bytes; anything larger
/// is refused without being read whole, and so are many or large text fields.
pub async fn read_upload(
    mut payload: Multipart,
    limit: usize,
) -> Result<(HashMap<String, String>, Option<UploadedFile>), AppError> {
    let bad = |message: String| AppError::BadRequest {
        detail: format!("the upload is not valid multipart/form-data: {message}"),
        errors: vec![FieldError::new("file", message)],
    };
    let mut fields = HashMap::new();
    let mut file = None;
    let (mut parts, mut text_bytes) = (0usize, 0usize);
    while let Some(part) = payload.next().await {
        parts += 1;
        if parts > 8 {
            return Err(bad("too many parts".into()));
        }
        let mut part = part.map_err(|e| bad(e.to_string()))?;
        let disposition = part.content_disposition().cloned();
        let name = disposition
            .as_ref()
            .and_then(|d| d.get_name())
            .unwrap_or("")
            .to_string();
        let is_file = name == "file";
        let media_type = part
            .content_type()
            .map(|m| m.essence_str().to_string())
            .unwrap_or_else(|| "application/octet-stream".into());
        let cap = if is_file { limit } else { 4096 };
        let mut content = Vec::new();
        while let Some(chunk) = part.try_next().await.map_err(|e| bad(e.to_string()))? {
            if content.len() + chunk.len() > cap {
                return Err(AppError::PayloadTooLarge { limit: cap });
            }
            content.extend_from_slice(&chunk);
        }
        if is_file {
            let file_name = disposition
                .as_ref()
                .and_then(|d| d.get_filename())
                .unwrap_or("evidence")
                .to_string();
            file = Some((file_name, media_type, content));
        } else {
            text_bytes += content.len();
            if text_bytes > 16 * 1024 {
                return Err(AppError::PayloadTooLarge { limit: 16 * 1024 });
            }
            fields.insert(name, String::from_utf8_lossy(&content).into_owned());
        }
    }
    Ok((fields, file))
}
