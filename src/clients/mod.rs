//! Machine clients: e-commerce platforms and code issuers. An admin creates one and sees its
//! secret once; the client trades id and secret for short-lived access tokens (OAuth 2.0
//! client credentials, RFC 6749 §4.4).

pub mod routes;
mod store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, NewAuditEntry};
use crate::auth::tokens::AUDIENCE;
use crate::auth::{
    Claims, PrincipalKind, TokenService, password, random_token, store as throttle_store, throttle,
};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{DbPool, write_transaction};

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
        let hash = password::hash(&secret).map_err(|e| ClientError::Internal(e.to_string()))?;
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

    /// Client credentials grant: checks id and secret, and issues a token with the asked
    /// scopes (all the client holds when none are asked).
    pub fn issue_token(
        &self,
        client_id: &str,
        secret: &str,
        scope: Option<&str>,
    ) -> Result<ClientToken, ClientError> {
        let now = self.clock.now();
        let key = format!("client:{client_id}");
        let row = {
            let mut conn = self.pool.get()?;
            if let Some(retry_after_secs) = throttle_store::locked_for(&mut conn, &key, now)? {
                return Err(ClientError::Locked { retry_after_secs });
            }
            store::find(&mut conn, client_id)?
        };
        let secret_ok = match &row {
            Some(r) => password::verify(secret, &r.secret_hash),
            None => {
                password::verify_dummy(secret);
                false
            }
        };
        let Some(row) = row.filter(|r| secret_ok && r.disabled_at.is_none()) else {
            let mut conn = self.pool.get()?;
            let policy = throttle::Policy {
                max_failures: self.config.auth.max_failures_per_account,
                base_secs: self.config.auth.lockout_base_secs,
            };
            write_transaction(&mut conn, |conn| {
                throttle_store::record_failure(conn, &key, now, policy)?;
                audit::append(
                    conn,
                    now,
                    &NewAuditEntry::new("anonymous", "client.authentication_failed", key.clone()),
                )?;
                Ok::<_, ClientError>(())
            })?;
            return Err(ClientError::BadClient);
        };
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
            throttle_store::clear(conn, &key)?;
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
