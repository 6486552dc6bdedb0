//! Machine clients: e-commerce platforms and code issuers. An admin creates one and sees its
//! secret once; the client trades id and secret for short-lived access tokens (OAuth 2.0
//! client credentials, RFC 6749 §4.4).

pub mod routes;
mod store;

/// For the revocation list (`auth::revocation`): clients disabled since a moment.
pub use store::disabled_since;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, NewAuditEntry};
use crate::auth::hashing::HashingPool;
use crate::auth::tokens::AUDIENCE;
use crate::auth::{
    Claims, PrincipalKind, TokenService, password, random_token, store as throttle_store, throttle,
};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{DbPool, write_transaction};
use crate::vault::Vault;

/// The two kinds of machine client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    Platform,
    Issuer,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Platform => "platform",
            ClientKind::Issuer => "issuer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "platform" => Some(ClientKind::Platform),
            "issuer" => Some(ClientKind::Issuer),
            _ => None,
        }
    }

    fn principal(self) -> PrincipalKind {
        match self {
            ClientKind::Platform => PrincipalKind::Platform,
            ClientKind::Issuer => PrincipalKind::Issuer,
        }
    }

    /// Every scope a client of this kind may hold (and holds unless created with fewer).
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            ClientKind::Platform => &[
                "sellers:bind",
                "sellers:read",
                "listings:check",
                "disputes:file",
                "webhooks:manage",
            ],
            ClientKind::Issuer => &["codes:write", "epcis:capture"],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// Unknown client, wrong secret, or disabled client: one answer for all.
    #[error("client authentication failed")]
    BadClient,
    #[error("the client asked for scopes it does not hold: {0}")]
    BadScope(String),
    #[error("too many failed attempts; try again in {retry_after_secs} seconds")]
    Locked { retry_after_secs: u64 },
    #[error("no such client")]
    NotFound,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
    #[error(transparent)]
    Hashing(#[from] crate::auth::hashing::HashingError),
    #[error("{0}")]
    Internal(String),
}

/// A client as admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    pub id: String,
    pub kind: ClientKind,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<DateTime<Utc>>,
}

/// A new client with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClient {
    #[serde(flatten)]
    pub client: ClientView,
    /// Keep it safe: it is stored only as a hash and cannot be shown again.
    pub client_secret: String,
}

/// An access token for a client (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u32,
    pub scope: String,
}

pub struct Clients<'a> {
    pub pool: &'a DbPool,
    pub config: &'a Config,
    pub clock: &'a dyn Clock,
    pub tokens: &'a TokenService,
    /// Keys the secret digests.
    pub vault: &'a Vault,
    /// Checks secrets stored as argon2 hashes by earlier versions.
    pub hashing: &'a HashingPool,
}

/// Prefix of a secret digest that is a keyed SHA-256 (HMAC) rather than an argon2 hash.
const KEYED_DIGEST: &str = "hmac-sha256:";

/// Equal strings, compared in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn view(row: store::ClientRow) -> Result<ClientView, ClientError> {
    let kind = ClientKind::parse(&row.kind).ok_or_else(|| {
        ClientError::Internal(format!("client {} has unknown kind {:?}", row.id, row.kind))
    })?;
    Ok(ClientView {
        kind,
        scopes: row.scopes.split_whitespace().map(str::to_string).collect(),
        created_at: DateTime::from_naive_utc_and_offset(row.created_at, Utc),
        disabled_at: row
            .disabled_at
            .map(|d| DateTime::from_naive_utc_and_offset(d, Utc)),
        name: row.name,
        id: row.id,
    })
}

fn random_id() -> Result<String, ClientError> {
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).map_err(|e| ClientError::Internal(format!("random id: {e}")))?;
    Ok(format!(
        "tgc_{}",
        data_encoding::BASE32_NOPAD
            .encode(&bytes)
            .to_ascii_lowercase()
    ))
}

impl Clients<'_> {
    /// Creates a client. `scopes` defaults to every scope of its kind.
    pub fn create(
        &self,
        kind: ClientKind,
        name: &str,
        scopes: Option<&[String]>,
        created_by: &str,
    ) -> Result<CreatedClient, ClientError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ClientError::Invalid {
                field: "name",
                message: "give the client a name of 1 to 200 characters".into(),
            });
        }
        let scopes: Vec<String> = match scopes {
            None => kind.scopes().iter().map(|s| s.to_string()).collect(),
            Some(asked) => {
                if let Some(bad) = asked.iter().find(|s| !kind.scopes().contains(&s.as_str())) {
                    return Err(ClientError::Invalid {
                        field: "scopes",
                        message: format!(
                            "{bad:?} is not a scope of {} clients; choose from {}",
                            kind.as_str(),
                            kind.scopes().join(", ")
                        ),
                    });
                }
                asked.to_vec()
            }
        };
        let id = random_id()?;
        let secret = random_token("tgs_")
            .map_err(|e| ClientError::Internal(format!("random secret: {e}")))?;
        self.insert(kind, name, scopes, id, secret, created_by)
    }

    /// Creates a client with an id and secret chosen beforehand: the sandbox's documented
    /// credentials. Never for real clients, whose secrets must be random.
    pub fn create_with_credentials(
        &self,
        kind: ClientKind,
        name: &str,
        id: &str,
        secret: &str,
        created_by: &str,
    ) -> Result<CreatedClient, ClientError> {
        let scopes = kind.scopes().iter().map(|s| s.to_string()).collect();
        self.insert(kind, name, scopes, id.into(), secret.into(), created_by)
    }

    fn insert(
        &self,
        kind: ClientKind,
        name: &str,
        scopes: Vec<String>,
        id: String,
        secret: String,
        created_by: &str,
    ) -> Result<CreatedClient, ClientError> {
        let hash = self.secret_digest(&secret);
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        let row = write_transaction(&mut conn, |conn| {
            store::insert(
                conn,
                &store::NewClientRow {
                    id: &id,
                    kind: kind.as_str(),
                    name,
                    secret_hash: &hash,
                    scopes: &scopes.join(" "),
                    created_at: now.naive_utc(),
                    created_by,
                },
            )?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(created_by, "client.created", format!("client:{id}")).details(
                    serde_json::json!({ "kind": kind.as_str(), "name": name, "scopes": scopes }),
                ),
            )?;
            store::find(conn, &id)?.ok_or(ClientError::NotFound)
        })?;
        Ok(CreatedClient {
            client: view(row)?,
            client_secret: secret,
        })
    }

    pub fn list(&self) -> Result<Vec<ClientView>, ClientError> {
        store::list(&mut *self.pool.get()?)?
            .into_iter()
            .map(view)
            .collect()
    }

    pub fn get(&self, id: &str) -> Result<ClientView, ClientError> {
        view(store::find(&mut *self.pool.get()?, id)?.ok_or(ClientError::NotFound)?)
    }

    /// Disables a client: it can get no new tokens (tokens already issued lapse within
    /// their short lifetime).
    pub fn disable(&self, id: &str, actor: &str) -> Result<(), ClientError> {
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            if !store::disable(conn, id, now.naive_utc())? {
                return Err(ClientError::NotFound);
            }
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(actor, "client.disabled", format!("client:{id}")),
            )?;
            Ok(())
        })
    }

    /// How a secret is stored. Client secrets are 256 random bits, so a keyed SHA-256
    /// resists guessing as well as a slow hash would, costs a microsecond instead of 19 MiB
    /// and tens of milliseconds, and a copy of the table alone (without the key) does not
    /// let anyone test guesses offline.
    fn secret_digest(&self, secret: &str) -> String {
        format!(
            "{KEYED_DIGEST}{}",
            self.vault.blind_index("client secret", secret.as_bytes())
        )
    }

    /// True when `secret` is the one `stored` was made from. Secrets stored by earlier
    /// versions as argon2 hashes still verify (and are then stored keyed, see
    /// [`Self::issue_token`]).
    fn secret_matches(&self, secret: &str, stored: &str) -> Result<bool, ClientError> {
        if stored.starts_with(KEYED_DIGEST) {
            Ok(same_secret(&self.secret_digest(secret), stored))
        } else {
            Ok(password::verify(self.hashing, secret, stored)?)
        }
    }

    /// The counters a token request is charged to: this client from this source, and this
    /// source; never the client alone, so a stranger's wrong guesses cannot lock the
    /// platform out of its own tokens.
    fn throttle_keys(&self, client_id: &str, ip: &str) -> Vec<throttle_store::ThrottleKey> {
        let auth = &self.config.auth;
        let source = throttle::source_of(ip);
        let policy = |max_failures| throttle::Policy {
            max_failures,
            base_secs: auth.lockout_base_secs,
        };
        vec![
            throttle_store::ThrottleKey {
                key: format!("client:{client_id}@{source}"),
                policy: policy(auth.max_failures_per_account),
                per_secret: true,
            },
            throttle_store::ThrottleKey {
                key: format!("client-source:{source}"),
                policy: policy(auth.max_failures_per_ip),
                per_secret: false,
            },
        ]
    }

    /// Client credentials grant: checks id and secret, and issues a token with the asked
    /// scopes (all the client holds when none are asked). `ip` is the caller's address.
    pub fn issue_token(
        &self,
        client_id: &str,
        secret: &str,
        scope: Option<&str>,
        ip: &str,
    ) -> Result<ClientToken, ClientError> {
        let now = self.clock.now();
        let keys = self.throttle_keys(client_id, ip);
        let row = {
            let mut conn = self.pool.get()?;
            // Counted before the secret is checked, as logins are (see `throttle_store`).
            let refused =
                write_transaction(&mut conn, |conn| throttle_store::reserve(conn, &keys, now))?;
            if let Some(retry_after_secs) = refused {
                return Err(ClientError::Locked { retry_after_secs });
            }
            store::find(&mut conn, client_id)?
        };
        let secret_ok = match &row {
            Some(r) => self.secret_matches(secret, &r.secret_hash)?,
            None => false,
        };
        let Some(row) = row.filter(|r| secret_ok && r.disabled_at.is_none()) else {
            let mut conn = self.pool.get()?;
            let subject = format!("client:{client_id}");
            write_transaction(&mut conn, |conn| {
                audit::append(
                    conn,
                    now,
                    &NewAuditEntry::new("anonymous", "client.authentication_failed", subject),
                )?;
                Ok::<_, ClientError>(())
            })?;
            return Err(ClientError::BadClient);
        };
        let upgrade =
            (!row.secret_hash.starts_with(KEYED_DIGEST)).then(|| self.secret_digest(secret));
        let client = view(row)?;
        let granted: Vec<String> = match scope.map(str::split_whitespace) {
            None => client.scopes.clone(),
            Some(asked) => {
                let asked: Vec<String> = asked.map(str::to_string).collect();
                let missing: Vec<&String> = asked
                    .iter()
                    .filter(|s| !client.scopes.contains(s))
                    .collect();
                if !missing.is_empty() {
                    return Err(ClientError::BadScope(
                        missing
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(" "),
                    ));
                }
                asked
            }
        };
        let ttl = self.config.auth.client_token_ttl_secs;
        let claims = Claims {
            iss: self.tokens.issuer().to_string(),
            aud: AUDIENCE.to_string(),
            sub: client.id.clone(),
            iat: now.timestamp(),
            exp: now.timestamp() + i64::from(ttl),
            jti: uuid::Uuid::now_v7().to_string(),
            kind: client.kind.principal(),
            role: None,
            provinces: Vec::new(),
            scope: granted.join(" "),
            sid: None,
            amr: Vec::new(),
        };
        let access_token = self
            .tokens
            .issue(&claims)
            .map_err(|e| ClientError::Internal(e.to_string()))?;
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            throttle_store::give_back(conn, &keys, true)?;
            if let Some(digest) = &upgrade {
                store::set_secret_hash(conn, &client.id, digest)?;
            }
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    format!("client:{}", client.id),
                    "client.token_issued",
                    format!("client:{}", client.id),
                )
                .details(serde_json::json!({ "scope": claims.scope, "jti": claims.jti })),
            )?;
            Ok::<_, ClientError>(())
        })?;
        Ok(ClientToken {
            access_token,
            token_type: "Bearer",
            expires_in: ttl,
            scope: claims.scope,
        })
    }
}
