//! The `mail_preferences` table: one row per account that ever saved its choices.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::{MailCategory, parse_silenced, stored_silenced};
use crate::db::DbConnection;
use crate::db::schema::{accounts, mail_preferences};

/// An account's stored choices: what it silenced, and the version of the choices (0 while
/// it never saved any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPreferences {
    pub silenced: Vec<MailCategory>,
    pub version: i64,
}

/// The choices of an account (none saved: nothing silenced, version 0).
pub fn find(conn: &mut DbConnection, account_id: &str) -> QueryResult<StoredPreferences> {
    let row: Option<(String, i64)> = mail_preferences::table
        .find(account_id)
        .select((mail_preferences::silenced, mail_preferences::version))
        .first(conn)
        .optional()?;
    Ok(row.map_or(
        StoredPreferences {
            silenced: Vec::new(),
            version: 0,
        },
        |(silenced, version)| StoredPreferences {
            silenced: parse_silenced(&silenced),
            version,
        },
    ))
}

/// What the account holding the address `email` silenced (nothing for an address without
/// an account, such as a buyer's).
pub fn silenced_for_address(
    conn: &mut DbConnection,
    email: &str,
) -> QueryResult<Vec<MailCategory>> {
    let stored: Option<String> = mail_preferences::table
        .inner_join(accounts::table)
        .filter(accounts::email.eq(email))
        .select(mail_preferences::silenced)
        .first(conn)
        .optional()?;
    Ok(stored.as_deref().map(parse_silenced).unwrap_or_default())
}

/// Saves the choices if they are still at `expected_version`; returns the new version, or
/// `None` if someone saved meanwhile.
pub fn save(
    conn: &mut DbConnection,
    account_id: &str,
    silenced: &[MailCategory],
    expected_version: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    let text = stored_silenced(silenced);
    let next = expected_version + 1;
    if expected_version == 0 {
        let inserted = diesel::insert_into(mail_preferences::table)
            .values((
                mail_preferences::account_id.eq(account_id),
                mail_preferences::silenced.eq(&text),
                mail_preferences::version.eq(next),
                mail_preferences::updated_at.eq(now),
            ))
            .execute(conn);
        return match inserted {
            Ok(_) => Ok(Some(next)),
            // Another save created the row first.
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(None),
            Err(e) => Err(e),
        };
    }
    let updated = diesel::update(
        mail_preferences::table
            .filter(mail_preferences::account_id.eq(account_id))
            .filter(mail_preferences::version.eq(expected_version)),
    )
    .set((
        mail_preferences::silenced.eq(&text),
        mail_preferences::version.eq(next),
        mail_preferences::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok((updated == 1).then_some(next))
}
