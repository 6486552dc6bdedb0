//! Re-sealing after an encryption key change: every sealed value (citizen IDs, TOTP
//! secrets, webhook secrets) that the current key did not seal is opened with the key that
//! did and sealed again with the current one. Run by `tracegate admin rotate-key`; safe to
//! run again (it only touches what is left).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, NewAuditEntry};
use crate::db::schema::{accounts, platform_webhooks, sellers};
use crate::db::{DbConnection, DbPool, write_transaction};
use crate::vault::{Sealed, Vault, VaultError};

/// What was re-sealed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Resealed {
    pub citizen_ids: usize,
    pub totp_secrets: usize,
    pub webhook_secrets: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error("{what}: {source}")]
    Vault { what: String, source: VaultError },
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
}

fn reseal(
    vault: &Vault,
    what: &str,
    bytes: Vec<u8>,
    key_id: String,
    context: &str,
) -> Result<Sealed, ResealError> {
    let plain = vault
        .open(&Sealed { key_id, bytes }, context)
        .map_err(|source| ResealError::Vault {
            what: what.to_string(),
            source,
        })?;
    vault
        .seal(&plain, context)
        .map_err(|source| ResealError::Vault {
            what: what.to_string(),
            source,
        })
}

/// Re-seals everything not sealed with the vault's current key, in one transaction, with
/// an audit entry.
pub fn reseal_all(
    pool: &DbPool,
    vault: &Vault,
    now: DateTime<Utc>,
) -> Result<Resealed, ResealError> {
    let current = vault.current_key_id().to_string();
    let mut conn = pool.get()?;
    write_transaction(&mut conn, |conn: &mut DbConnection| {
        let mut done = Resealed::default();
        let rows: Vec<(String, Option<Vec<u8>>, Option<String>)> = sellers::table
            .filter(sellers::national_id_key.ne(&current))
            .select((
                sellers::account_id,
                sellers::national_id_sealed,
                sellers::national_id_key,
            ))
            .load(conn)?;
        for (id, bytes, key) in rows {
            let (Some(bytes), Some(key)) = (bytes, key) else {
                continue;
            };
            let context = crate::identity::sealed_context(&id);
            let sealed = reseal(
                vault,
                &format!("citizen ID of seller {id}"),
                bytes,
                key,
                &context,
            )?;
            diesel::update(sellers::table.find(&id))
                .set((
                    sellers::national_id_sealed.eq(sealed.bytes),
                    sellers::national_id_key.eq(sealed.key_id),
                ))
                .execute(conn)?;
            done.citizen_ids += 1;
        }
        let rows: Vec<(String, Option<Vec<u8>>, Option<String>)> = accounts::table
            .filter(accounts::totp_key_id.ne(&current))
            .select((accounts::id, accounts::totp_secret, accounts::totp_key_id))
            .load(conn)?;
        for (id, bytes, key) in rows {
            let (Some(bytes), Some(key)) = (bytes, key) else {
                continue;
            };
            let context = crate::accounts::totp_context(&id);
            let sealed = reseal(
                vault,
                &format!("TOTP secret of account {id}"),
                bytes,
                key,
                &context,
            )?;
            diesel::update(accounts::table.find(&id))
                .set((
                    accounts::totp_secret.eq(sealed.bytes),
                    accounts::totp_key_id.eq(sealed.key_id),
                ))
                .execute(conn)?;
            done.totp_secrets += 1;
        }
        let rows: Vec<(String, Vec<u8>, String)> = platform_webhooks::table
            .filter(platform_webhooks::secret_key.ne(&current))
            .select((
                platform_webhooks::platform_id,
                platform_webhooks::secret_sealed,
                platform_webhooks::secret_key,
            ))
            .load(conn)?;
        for (id, bytes, key) in rows {
            let context = crate::notify::webhooks::secret_context(&id);
            let sealed = reseal(
                vault,
                &format!("webhook secret of platform {id}"),
                bytes,
                key,
                &context,
            )?;
            diesel::update(platform_webhooks::table.find(&id))
                .set((
                    platform_webhooks::secret_sealed.eq(sealed.bytes),
                    platform_webhooks::secret_key.eq(sealed.key_id),
                ))
                .execute(conn)?;
            done.webhook_secrets += 1;
        }
        audit::append(
            conn,
            now,
            &NewAuditEntry::new("cli", "keys.resealed", format!("key:{current}"))
                .details(serde_json::json!(done)),
        )?;
        Ok(done)
    })
}
