//! Signed checkpoints of the chain. A chain alone does not stop someone who can write the
//! database: they can rewrite a row and recompute every later hash and the head, or cut
//! the last rows and roll the head back. So the head is signed, every so many entries or
//! minutes, with an Ed25519 key the database never holds, and the checkpoints are
//! published (`GET /v1/audit/checkpoints` and the service log). A rewrite of anything up
//! to a checkpoint then no longer matches it, and no new checkpoint can be signed for it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use data_encoding::BASE64URL_NOPAD;
use diesel::prelude::*;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

use crate::clock::Clock;
use crate::db::schema::{audit_checkpoints, audit_head, audit_log};
use crate::db::{DbConnection, DbPool};
use crate::keys::KeyRing;

/// One signed checkpoint: the chain's head at a moment.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = audit_checkpoints)]
pub struct Checkpoint {
    /// The last entry the checkpoint covers.
    pub seq: i64,
    /// That entry's hash (the chain head), lower-case hex SHA-256.
    pub head_hash: String,
    /// When it was signed (UTC).
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "utc")]
    pub signed_at: NaiveDateTime,
    /// The `kid` of the audit key in `/.well-known/jwks.json`.
    pub key_id: String,
    /// Ed25519 signature (base64url, no padding) over [`signed_message`].
    pub signature: String,
}

fn utc<S: serde::Serializer>(at: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

/// The bytes a checkpoint's signature covers: a fixed label, then seq, head hash and time,
/// one per line.
pub fn signed_message(seq: i64, head_hash: &str, signed_at: NaiveDateTime) -> String {
    format!(
        "tracegate audit checkpoint\n{seq}\n{head_hash}\n{}",
        signed_at.format("%Y-%m-%dT%H:%M:%S%.6fZ")
    )
}

/// Signs checkpoints with the audit key.
pub struct CheckpointSigner {
    key: SigningKey,
    kid: String,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckpointSigner({})", self.kid)
    }
}

/// The `kid` of an audit public key: derived from the key itself, so a verifier holding
/// only the public key knows which checkpoints it can check.
pub fn key_id(key: &VerifyingKey) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"tracegate audit key id\0")
        .chain_update(key.as_bytes())
        .finalize();
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("audit-{hex}")
}

impl CheckpointSigner {
    pub fn new(keys: &KeyRing) -> Self {
        let key = SigningKey::from_bytes(keys.audit.bytes());
        let kid = key_id(&key.verifying_key());
        Self { key, kid }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The public key as a JWK (RFC 8037), for the service's key set.
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": BASE64URL_NOPAD.encode(self.key.verifying_key().as_bytes()),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }

    fn sign(&self, seq: i64, head_hash: &str, signed_at: NaiveDateTime) -> Checkpoint {
        let signature = self
            .key
            .sign(signed_message(seq, head_hash, signed_at).as_bytes());
        Checkpoint {
            seq,
            head_hash: head_hash.to_string(),
            signed_at,
            key_id: self.kid.clone(),
            signature: BASE64URL_NOPAD.encode(&signature.to_bytes()),
        }
    }
}

/// Whether `checkpoint` was signed by `key`.
pub fn signature_holds(checkpoint: &Checkpoint, key: &VerifyingKey) -> bool {
    let Ok(bytes) = BASE64URL_NOPAD.decode(checkpoint.signature.as_bytes()) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(&bytes) else {
        return false;
    };
    key.verify(
        signed_message(checkpoint.seq, &checkpoint.head_hash, checkpoint.signed_at).as_bytes(),
        &signature,
    )
    .is_ok()
}

/// When the head is signed: after this many entries, or once the oldest entry no
/// checkpoint covers is this old.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointPolicy {
    pub every_entries: i64,
    pub every: chrono::TimeDelta,
}

/// Every checkpoint after `after`, oldest first, at most `limit`.
pub fn checkpoints(
    conn: &mut DbConnection,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<Checkpoint>> {
    audit_checkpoints::table
        .filter(audit_checkpoints::seq.gt(after))
        .order(audit_checkpoints::seq.asc())
        .limit(limit)
        .select(Checkpoint::as_select())
        .load(conn)
}

/// Signs the current head if it is past the last checkpoint and `policy` says it is due
/// (`None`: whenever it is past). Returns the new checkpoint. Two nodes signing the same
/// head at once store one checkpoint.
pub fn checkpoint_if_due(
    conn: &mut DbConnection,
    signer: &CheckpointSigner,
    now: DateTime<Utc>,
    policy: Option<CheckpointPolicy>,
) -> QueryResult<Option<Checkpoint>> {
    let (head_seq, head_hash): (i64, String) = audit_head::table
        .filter(audit_head::id.eq(1))
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    let last: i64 = audit_checkpoints::table
        .select(diesel::dsl::max(audit_checkpoints::seq))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0);
    if head_seq <= last {
        return Ok(None);
    }
    if let Some(policy) = policy
        && head_seq - last < policy.every_entries
    {
        let oldest: Option<NaiveDateTime> = audit_log::table
            .filter(audit_log::seq.eq(last + 1))
            .select(audit_log::occurred_at)
            .first(conn)
            .optional()?;
        let waited = oldest.is_some_and(|at| now.naive_utc() - at >= policy.every);
        if !waited {
            return Ok(None);
        }
    }
    let checkpoint = signer.sign(head_seq, &head_hash, now.naive_utc().trunc_subsecs(6));
    let stored = diesel::insert_into(audit_checkpoints::table)
        .values((
            audit_checkpoints::seq.eq(checkpoint.seq),
            audit_checkpoints::head_hash.eq(&checkpoint.head_hash),
            audit_checkpoints::signed_at.eq(checkpoint.signed_at),
            audit_checkpoints::key_id.eq(&checkpoint.key_id),
            audit_checkpoints::signature.eq(&checkpoint.signature),
        ))
        .execute(conn);
    match stored {
        Ok(_) => {}
        // Another node signed this head first.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => return Ok(None),
        Err(e) => return Err(e),
    }
    // In the log too, so a copy exists outside the database.
    tracing::info!(
        seq = checkpoint.seq,
        head_hash = %checkpoint.head_hash,
        signed_at = %checkpoint.signed_at,
        key_id = %checkpoint.key_id,
        signature = %checkpoint.signature,
        "audit checkpoint signed"
    );
    Ok(Some(checkpoint))
}

/// Signs the head when due, looking once a second (one indexed read when nothing is due).
pub struct CheckpointWorker {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub signer: Arc<CheckpointSigner>,
    pub policy: CheckpointPolicy,
}

impl CheckpointWorker {
    pub async fn run(self, mut stopped: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.changed() => return,
            }
            if *stopped.borrow() {
                return;
            }
            let (pool, clock, signer, policy) = (
                self.pool.clone(),
                self.clock.clone(),
                self.signer.clone(),
                self.policy,
            );
            let round = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let mut conn = pool.get()?;
                checkpoint_if_due(&mut conn, &signer, clock.now(), Some(policy))?;
                Ok(())
            })
            .await;
            match round {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(error = %format!("{error:#}"), "audit checkpoint round failed");
                }
                Err(error) => tracing::error!(error = %error, "audit checkpoint task failed"),
            }
        }
    }
}
