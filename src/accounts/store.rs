//! Account queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{
    account_tokens, accounts, binding_codes, disputes, refresh_tokens, seller_bindings,
};
use crate::disputes::lifecycle::ALL_STATUSES;

/// A stored account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: String,
    pub kind: String,
    pub email: String,
    pub email_verified_at: Option<NaiveDateTime>,
    pub password_hash: Option<String>,
    pub role: Option<String>,
    pub provinces: String,
    pub language: String,
    pub totp_secret: Option<Vec<u8>>,
    pub totp_key_id: Option<String>,
    pub totp_confirmed_at: Option<NaiveDateTime>,
    pub totp_last_step: Option<i64>,
    pub status: String,
    pub created_at: NaiveDateTime,
    /// The name pages show an officer by; `None` until set.
    pub display_name: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
}

/// A new account's row.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub email: &'a str,
    pub email_verified_at: Option<NaiveDateTime>,
    pub password_hash: Option<&'a str>,
    pub role: Option<&'a str>,
    pub provinces: &'a str,
    pub language: &'a str,
    pub status: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

pub fn insert(conn: &mut DbConnection, account: &NewAccount<'_>) -> QueryResult<()> {
    diesel::insert_into(accounts::table)
        .values(account)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<AccountRow>> {
    accounts::table
        .find(id)
        .select(AccountRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<AccountRow>> {
    accounts::table
        .filter(accounts::email.eq(email))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()
}

/// Sets the language of the account's mail.
pub fn set_language(
    conn: &mut DbConnection,
    id: &str,
    language: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::language.eq(language),
            accounts::updated_at.eq(now),
            accounts::version.eq(accounts::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_email_verified(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::email_verified_at.eq(now),
            accounts::updated_at.eq(now),
            accounts::version.eq(accounts::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_password(
    conn: &mut DbConnection,
    id: &str,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::password_hash.eq(hash),
            accounts::updated_at.eq(now),
            accounts::version.eq(accounts::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// Stores a new, unconfirmed TOTP secret (sealed), replacing an unconfirmed one.
pub fn set_pending_totp(
    conn: &mut DbConnection,
    id: &str,
    sealed: &[u8],
    key_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        accounts::table
            .find(id)
            .filter(accounts::totp_confirmed_at.is_null()),
    )
    .set((
        accounts::totp_secret.eq(sealed),
        accounts::totp_key_id.eq(key_id),
        accounts::totp_last_step.eq(None::<i64>),
        accounts::updated_at.eq(now),
        accounts::version.eq(accounts::version + 1),
    ))
    .execute(conn)
}

pub fn confirm_totp(
    conn: &mut DbConnection,
    id: &str,
    step: i64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::totp_confirmed_at.eq(now),
            accounts::totp_last_step.eq(step),
            accounts::updated_at.eq(now),
            accounts::version.eq(accounts::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records the step of a TOTP code just used, only if it is later than the last one (so
/// two concurrent logins cannot both use one code). Returns false if it was not.
pub fn use_totp_step(conn: &mut DbConnection, id: &str, step: i64) -> QueryResult<bool> {
    let changed = diesel::update(
        accounts::table.find(id).filter(
            accounts::totp_last_step
                .is_null()
                .or(accounts::totp_last_step.lt(step)),
        ),
    )
    .set(accounts::totp_last_step.eq(step))
    .execute(conn)?;
    Ok(changed == 1)
}

// ---- single-use links ----

pub fn insert_token(
    conn: &mut DbConnection,
    token_hash: &str,
    account_id: &str,
    purpose: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(account_tokens::table)
        .values((
            account_tokens::token_hash.eq(token_hash),
            account_tokens::account_id.eq(account_id),
            account_tokens::purpose.eq(purpose),
            account_tokens::created_at.eq(now),
            account_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The account of a usable (unused, unexpired) link token, without using it.
pub fn peek_token(
    conn: &mut DbConnection,
    token_hash: &str,
    purpose: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    account_tokens::table
        .find(token_hash)
        .filter(account_tokens::purpose.eq(purpose))
        .filter(account_tokens::used_at.is_null())
        .filter(account_tokens::expires_at.gt(now))
        .select(account_tokens::account_id)
        .first(conn)
        .optional()
}

/// Uses a link token: marks it used if it exists for `purpose`, is unused and unexpired,
/// and returns its account. Atomic, so a token works exactly once.
pub fn take_token(
    conn: &mut DbConnection,
    token_hash: &str,
    purpose: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    let changed = diesel::update(
        account_tokens::table
            .find(token_hash)
            .filter(account_tokens::purpose.eq(purpose))
            .filter(account_tokens::used_at.is_null())
            .filter(account_tokens::expires_at.gt(now)),
    )
    .set(account_tokens::used_at.eq(now))
    .execute(conn)?;
    if changed != 1 {
        return Ok(None);
    }
    account_tokens::table
        .find(token_hash)
        .select(account_tokens::account_id)
        .first(conn)
        .optional()
}

/// Voids every unused link of `purpose` for an account (a newer one replaces them).
pub fn void_tokens(
    conn: &mut DbConnection,
    account_id: &str,
    purpose: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        account_tokens::table
            .filter(account_tokens::account_id.eq(account_id))
            .filter(account_tokens::purpose.eq(purpose))
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(())
}

// ---- sessions (refresh token families) ----

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshRow {
    pub family_id: String,
    pub account_id: String,
    pub amr: String,
    pub expires_at: NaiveDateTime,
}

pub struct NewRefresh<'a> {
    pub token_hash: &'a str,
    pub family_id: &'a str,
    pub account_id: &'a str,
    pub amr: &'a str,
    pub now: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert_refresh(conn: &mut DbConnection, new: &NewRefresh<'_>) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(new.token_hash),
            refresh_tokens::family_id.eq(new.family_id),
            refresh_tokens::account_id.eq(new.account_id),
            refresh_tokens::amr.eq(new.amr),
            refresh_tokens::created_at.eq(new.now),
            refresh_tokens::expires_at.eq(new.expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find_refresh(conn: &mut DbConnection, token_hash: &str) -> QueryResult<Option<RefreshRow>> {
    refresh_tokens::table
        .find(token_hash)
        .select(RefreshRow::as_select())
        .first(conn)
        .optional()
}

/// Marks a refresh token used if it still was usable; false means it was used or revoked
/// already (a replay).
pub fn use_refresh(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(
        refresh_tokens::table
            .find(token_hash)
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn revoke_family(
    conn: &mut DbConnection,
    family_id: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Ends every session of an account except `keep` (the caller's own).
pub fn revoke_sessions(
    conn: &mut DbConnection,
    account_id: &str,
    keep: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let mut query = diesel::update(refresh_tokens::table)
        .filter(refresh_tokens::account_id.eq(account_id))
        .filter(refresh_tokens::revoked_at.is_null())
        .into_boxed();
    if let Some(family) = keep {
        query = query.filter(refresh_tokens::family_id.ne(family.to_string()));
    }
    query
        .set(refresh_tokens::revoked_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Sessions (refresh token families) ended at or after `since`, with when.
pub fn sessions_revoked_since(
    conn: &mut DbConnection,
    since: NaiveDateTime,
) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    refresh_tokens::table
        .filter(refresh_tokens::revoked_at.ge(since))
        .select((
            refresh_tokens::family_id,
            refresh_tokens::revoked_at.assume_not_null(),
        ))
        .load(conn)
}

// ---- closing ----

/// What keeps an account from closing: its dispute cases not yet final (an appeal window
/// still open counts) and its shop bindings not revoked. Platforms and officers still need
/// to reach the seller behind them.
pub fn open_obligations(conn: &mut DbConnection, account_id: &str) -> QueryResult<(i64, i64)> {
    let finals: Vec<&str> = ALL_STATUSES
        .iter()
        .filter(|s| s.is_final())
        .map(|s| s.as_str())
        .collect();
    let cases = disputes::table
        .filter(disputes::seller_id.eq(account_id))
        .filter(disputes::status.ne_all(finals))
        .count()
        .get_result(conn)?;
    let bindings = seller_bindings::table
        .filter(seller_bindings::seller_id.eq(account_id))
        .filter(seller_bindings::revoked_at.is_null())
        .count()
        .get_result(conn)?;
    Ok((cases, bindings))
}

/// Marks an open account closed; false when it was already closed. Unused binding codes
/// go with it, so no shop can be bound to a closed account.
pub fn close(
    conn: &mut DbConnection,
    id: &str,
    status: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(
        accounts::table
            .find(id)
            .filter(accounts::closed_at.is_null()),
    )
    .set((
        accounts::status.eq(status),
        accounts::closed_at.eq(now),
        accounts::updated_at.eq(now),
        accounts::version.eq(accounts::version + 1),
    ))
    .execute(conn)?;
    diesel::delete(
        binding_codes::table
            .filter(binding_codes::seller_id.eq(id))
            .filter(binding_codes::used_at.is_null()),
    )
    .execute(conn)?;
    Ok(changed == 1)
}

/// Voids every unused link (verification, reset, invitation) of an account.
pub fn void_all_tokens(
    conn: &mut DbConnection,
    account_id: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        account_tokens::table
            .filter(account_tokens::account_id.eq(account_id))
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Sets the name pages show an officer by.
pub fn set_display_name(
    conn: &mut DbConnection,
    id: &str,
    name: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::display_name.eq(name),
            accounts::updated_at.eq(now),
            accounts::version.eq(accounts::version + 1),
        ))
        .execute(conn)
}

/// An active officer: (id, display name, email, provinces).
pub type OfficerEntry = (String, Option<String>, String, String);

/// Active officers with a role.
pub fn active_officers(conn: &mut DbConnection) -> QueryResult<Vec<OfficerEntry>> {
    accounts::table
        .filter(accounts::kind.eq("officer"))
        .filter(accounts::status.eq("active"))
        .filter(accounts::role.is_not_null())
        .order(accounts::email.asc())
        .select((
            accounts::id,
            accounts::display_name,
            accounts::email,
            accounts::provinces,
        ))
        .load(conn)
}
