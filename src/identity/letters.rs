//! Authorisation letters: an employee who is not the business's legal representative
//! uploads the letter that authorises them, for officers to read when they review the
//! authorisation. Files are checked by content (PDF, JPEG, PNG), stored once beside case
//! evidence with their SHA-256, and checked against it whenever they are read.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::{self, NewAuditEntry};
use crate::clock::Clock;
use crate::db::schema::authorisation_letters;
use crate::db::{DbConnection, DbPool, write_transaction};
use crate::disputes::evidence::{self, EvidenceStore};

/// What a letter may be: a scan or a signed PDF.
pub const LETTER_TYPES: &[&str] = &["application/pdf", "image/jpeg", "image/png"];

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorisation_letters)]
pub struct LetterRow {
    pub id: String,
    pub seller_id: String,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub stored_path: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum LetterError {
    /// The file is refused: (field, reason in English).
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
    #[error("no such letter")]
    NotFound,
    #[error("the stored letter cannot be read: {0}")]
    Unreadable(String),
    #[error("the letter could not be stored")]
    Storage(#[source] std::io::Error),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
}

pub struct Letters<'a> {
    pub pool: &'a DbPool,
    pub clock: &'a dyn Clock,
    pub store: &'a EvidenceStore,
}

impl Letters<'_> {
    /// Stores a seller's letter: the file first, then its record (the file is removed
    /// again if the record cannot be written).
    pub fn upload(
        &self,
        seller_id: &str,
        file_name: &str,
        media_type: &str,
        content: &[u8],
    ) -> Result<LetterRow, LetterError> {
        let allowed: Vec<String> = LETTER_TYPES.iter().map(|t| t.to_string()).collect();
        evidence::check_type(media_type, &allowed, content)
            .map_err(|e| LetterError::Invalid("letter", e.to_string()))?;
        let name = file_name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(LetterError::Invalid(
                "letter",
                "the file name must be 1 to 200 characters".into(),
            ));
        }
        let now = self.clock.now();
        let id = uuid::Uuid::now_v7().to_string();
        let row = LetterRow {
            id: id.clone(),
            seller_id: seller_id.to_string(),
            file_name: name.to_string(),
            media_type: media_type
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase(),
            size_bytes: content.len() as i64,
            sha256: evidence::sha256_hex(content),
            stored_path: format!("authorisations/{id}"),
            created_at: now.naive_utc(),
        };
        self.store
            .write(&row.stored_path, content)
            .map_err(LetterError::Storage)?;
        let mut conn = self.pool.get()?;
        let stored = write_transaction(&mut conn, |conn| {
            diesel::insert_into(authorisation_letters::table)
                .values(&row)
                .execute(conn)?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    format!("account:{seller_id}"),
                    "seller.authorisation_letter_uploaded",
                    format!("account:{seller_id}"),
                )
                .details(serde_json::json!({ "letter": row.id, "sha256": row.sha256 })),
            )?;
            Ok::<_, LetterError>(())
        });
        if let Err(error) = stored {
            self.store.discard(&row.stored_path);
            return Err(error);
        }
        Ok(row)
    }

    /// A seller's letters, oldest first.
    pub fn of_seller(&self, seller_id: &str) -> Result<Vec<LetterRow>, LetterError> {
        Ok(of_seller(&mut *self.pool.get()?, seller_id)?)
    }

    /// A letter's record and content, checked against its hash.
    pub fn read(&self, seller_id: &str, id: &str) -> Result<(LetterRow, Vec<u8>), LetterError> {
        let row: LetterRow = authorisation_letters::table
            .find(id)
            .filter(authorisation_letters::seller_id.eq(seller_id))
            .select(LetterRow::as_select())
            .first(&mut *self.pool.get()?)
            .optional()?
            .ok_or(LetterError::NotFound)?;
        let content = self
            .store
            .read_verified(&row.stored_path, &row.sha256)
            .map_err(LetterError::Unreadable)?;
        Ok((row, content))
    }
}

fn of_seller(conn: &mut DbConnection, seller_id: &str) -> QueryResult<Vec<LetterRow>> {
    authorisation_letters::table
        .filter(authorisation_letters::seller_id.eq(seller_id))
        .order(authorisation_letters::created_at.asc())
        .select(LetterRow::as_select())
        .load(conn)
}
