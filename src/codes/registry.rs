//! The code registry: issuers, their signing keys, signed batches of codes, GS1 company
//! prefix licences, distributor authorisations, and recalls.
//!
//! A code counts only when a registered issuer vouched for it, in a batch signed with one
//! of its keys, on behalf of a business verified in tracegate.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use data_encoding::BASE64;
use diesel::prelude::*;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::store::{self, CodeRow, IssuerRow};
use super::{Form, Level, parse, valid_issuer_prefix};
use crate::audit::{self, NewAuditEntry};
use crate::clock::Clock;
use crate::db::schema::sellers;
use crate::db::{DbConnection, DbPool, write_transaction};
use crate::error::FieldError;
use crate::facts::{Change, Fact, FactBus};
use crate::identity::EnterpriseCode;
use crate::policies::{Policies, ProvinceScope};

/// Largest batch accepted.
pub const MAX_BATCH: usize = 100_000;
/// Bad rows reported at most (the batch is refused whatever their number).
const MAX_REPORTED: usize = 1000;

/// Kinds of issuer.
pub const ISSUER_KINDS: &[&str] = &["gs1", "national", "provincial", "ministry"];

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A batch with bad rows: every one is listed.
    #[error("{} rows of the batch are not acceptable; nothing was stored", .0.len())]
    BadRows(Vec<FieldError>),
    #[error("{0}")]
    Forbidden(String),
    /// An officer acted on a code whose owner is outside their provinces.
    #[error(
        "the code's owner is not in your provinces; ask an officer of its province or a national officer"
    )]
    OutOfScope,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
    #[error("{0}")]
    Internal(String),
}

fn invalid(field: &str, message: impl Into<String>) -> RegistryError {
    RegistryError::Invalid {
        field: field.to_string(),
        message: message.into(),
    }
}

/// An issuer's profile as an admin sets it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssuerProfile {
    pub name: String,
    /// `gs1` (a GS1 member organisation), `national`, `provincial` or `ministry`.
    pub kind: String,
    /// Prefix of the issuer's own codes (`prefix:value`), if it issues any.
    #[serde(default)]
    pub code_prefix: Option<String>,
    /// Province code, for provincial issuers.
    #[serde(default)]
    pub province: Option<String>,
}

/// One code of a batch.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRow {
    /// The code in any accepted form.
    pub code: String,
    /// Enterprise code of the business the code belongs to.
    pub owner: String,
    pub product_name: String,
    /// Category id (see `policies/listing.toml`).
    pub category: String,
    /// Province code (`79`) or ISO 3166 alpha-2 country (`VN`).
    #[serde(default)]
    pub origin: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub production_date: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub expiry_date: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchJson {
    pub codes: Vec<BatchRow>,
}

/// A stored batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchReceipt {
    pub batch_id: String,
    pub codes: usize,
    /// The same issuer had registered these exact bytes before: this is that batch's
    /// receipt, and nothing new was stored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub registered_before: bool,
}

/// How a batch body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFormat {
    Json,
    Csv,
}

/// Reads `keyid=…,sig=…` (the signature is base64 of 64 bytes).
fn parse_signature_header(header: &str) -> Result<(String, Signature), RegistryError> {
    let field = "Tracegate-Signature";
    let mut key_id = None;
    let mut sig = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("keyid", v)) => key_id = Some(v.trim().to_string()),
            Some(("sig", v)) => sig = Some(v.trim().to_string()),
            _ => {}
        }
    }
    let key_id = key_id.ok_or_else(|| {
        invalid(
            field,
            "missing keyid=…: the id of the key that signed the batch",
        )
    })?;
    let sig = sig.ok_or_else(|| {
        invalid(
            field,
            "missing sig=…: base64 Ed25519 signature of the exact request body",
        )
    })?;
    let bytes = BASE64
        .decode(sig.as_bytes())
        .map_err(|_| invalid(field, "sig is not base64"))?;
    let signature = Signature::from_slice(&bytes)
        .map_err(|_| invalid(field, "sig is not a 64-byte Ed25519 signature"))?;
    Ok((key_id, signature))
}

/// Splits one CSV line into fields, honouring double quotes (RFC 4180).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    fields.push(field);
    Ok(fields)
}

const CSV_HEADER: &[&str] = &[
    "code",
    "owner",
    "product_name",
    "category",
    "origin",
    "production_date",
    "expiry_date",
];

fn parse_csv(text: &str) -> Result<Vec<BatchRow>, RegistryError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines
        .next()
        .ok_or_else(|| invalid("body", "the CSV has no header line"))?;
    let header =
        csv_fields(header.trim_start_matches('\u{feff}')).map_err(|m| invalid("body", m))?;
    if header.iter().map(|h| h.trim()).collect::<Vec<_>>() != CSV_HEADER {
        return Err(invalid(
            "body",
            format!("the CSV header must be {}", CSV_HEADER.join(",")),
        ));
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in lines {
        match csv_fields(line) {
            Ok(f) if f.len() == CSV_HEADER.len() => {
                let opt = |v: &str| Some(v.trim().to_string()).filter(|s| !s.is_empty());
                rows.push(BatchRow {
                    code: f[0].trim().to_string(),
                    owner: f[1].trim().to_string(),
                    product_name: f[2].trim().to_string(),
                    category: f[3].trim().to_string(),
                    origin: opt(&f[4]),
                    production_date: opt(&f[5]),
                    expiry_date: opt(&f[6]),
                });
            }
            Ok(f) => errors.push(FieldError::new(
                format!("line {}", index + 1),
                format!("expected 7 fields, found {}", f.len()),
            )),
            Err(m) => errors.push(FieldError::new(format!("line {}", index + 1), m)),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(RegistryError::BadRows(errors))
    }
}

fn parse_date(
    field: &str,
    value: &Option<String>,
    errors: &mut Vec<FieldError>,
) -> Option<NaiveDate> {
    let text = value.as_deref()?;
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                format!("{text:?} is not a date YYYY-MM-DD"),
            ));
            None
        }
    }
}

/// Registry operations with what they need.
pub struct Registry<'a> {
    pub pool: &'a DbPool,
    pub clock: &'a dyn Clock,
    pub policies: &'a Policies,
    /// Where changes to codes are published.
    pub facts: &'a FactBus,
}

impl Registry<'_> {
    fn issuer(&self, conn: &mut DbConnection, client_id: &str) -> Result<IssuerRow, RegistryError> {
        store::find_issuer(conn, client_id)?.ok_or_else(|| {
            RegistryError::Forbidden("this client has no issuer profile yet; an administrator sets it (PUT /v1/admin/issuers/{client_id})".into())
        })
    }

    /// Creates or updates an issuer's profile (admins).
    pub fn set_issuer(
        &self,
        admin: &str,
        client_id: &str,
        profile: &IssuerProfile,
    ) -> Result<(), RegistryError> {
        if profile.name.trim().is_empty() || profile.name.chars().count() > 200 {
            return Err(invalid("name", "name must be 1 to 200 characters"));
        }
        if !ISSUER_KINDS.contains(&profile.kind.as_str()) {
            return Err(invalid(
                "kind",
                format!("kind must be one of {}", ISSUER_KINDS.join(", ")),
            ));
        }
        if let Some(prefix) = &profile.code_prefix
            && !valid_issuer_prefix(prefix)
        {
            return Err(invalid(
                "code_prefix",
                "a prefix is 2–16 lower-case letters, digits or dashes, starting with a letter",
            ));
        }
        if let Some(province) = &profile.province
            && self.policies.jurisdictions.province(province).is_none()
        {
            return Err(invalid(
                "province",
                format!("{province:?} is not a province code"),
            ));
        }
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let kind: Option<String> = crate::db::schema::clients::table
                .find(client_id)
                .select(crate::db::schema::clients::kind)
                .first(conn)
                .optional()?;
            if kind.as_deref() != Some("issuer") {
                return Err(RegistryError::NotFound(
                    "no issuer client with this id".into(),
                ));
            }
            if let Some(prefix) = &profile.code_prefix
                && store::issuer_by_prefix(conn, prefix)?.is_some_and(|i| i.client_id != client_id)
            {
                return Err(RegistryError::Conflict(format!(
                    "prefix {prefix:?} belongs to another issuer"
                )));
            }
            store::upsert_issuer(
                conn,
                &IssuerRow {
                    client_id: client_id.to_string(),
                    name: profile.name.trim().to_string(),
                    kind: profile.kind.clone(),
                    code_prefix: profile.code_prefix.clone(),
                    province: profile.province.clone(),
                    created_at: now.naive_utc(),
                },
            )?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(admin, "issuer.profile_set", format!("client:{client_id}"))
                    .details(serde_json::json!(profile)),
            )?;
            Ok(())
        })
    }

    /// Registers an Ed25519 public key (base64 of 32 bytes); returns its id.
    pub fn add_key(&self, issuer_id: &str, public_key: &str) -> Result<String, RegistryError> {
        let bytes = BASE64
            .decode(public_key.trim().as_bytes())
            .map_err(|_| invalid("public_key", "public_key must be base64"))?;
        let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            invalid(
                "public_key",
                format!("an Ed25519 public key is 32 bytes, not {}", bytes.len()),
            )
        })?;
        VerifyingKey::from_bytes(&array)
            .map_err(|_| invalid("public_key", "not a valid Ed25519 public key"))?;
        let key_id: String = Sha256::digest(array)
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            self.issuer(conn, issuer_id)?;
            store::insert_key(conn, &key_id, issuer_id, &array, now.naive_utc())?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    format!("client:{issuer_id}"),
                    "issuer.key_added",
                    format!("client:{issuer_id}"),
                )
                .details(serde_json::json!({ "key_id": key_id })),
            )?;
            Ok(())
        })
        .map_err(|e| match e {
            RegistryError::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => RegistryError::Conflict("this key is registered already".into()),
            other => other,
        })?;
        Ok(key_id)
    }

    pub fn keys(
        &self,
        issuer_id: &str,
    ) -> Result<Vec<(String, NaiveDateTime, Option<NaiveDateTime>)>, RegistryError> {
        Ok(store::keys_of(&mut *self.pool.get()?, issuer_id)?)
    }

    pub fn revoke_key(&self, issuer_id: &str, key_id: &str) -> Result<(), RegistryError> {
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            if !store::revoke_key(conn, issuer_id, key_id, now.naive_utc())? {
                return Err(RegistryError::NotFound("no active key with this id".into()));
            }
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    format!("client:{issuer_id}"),
                    "issuer.key_revoked",
                    format!("client:{issuer_id}"),
                )
                .details(serde_json::json!({ "key_id": key_id })),
            )?;
            Ok(())
        })
    }

    /// Verifies and stores a signed batch. Any bad row refuses the whole batch, with every
    /// bad row listed; nothing is stored then.
    pub fn import_batch(
        &self,
        issuer_id: &str,
        body: &[u8],
        format: BatchFormat,
        signature_header: Option<&str>,
    ) -> Result<BatchReceipt, RegistryError> {
        let (key_id, signature) = parse_signature_header(signature_header.ok_or_else(|| {
            invalid(
                "Tracegate-Signature",
                "every batch is signed: send Tracegate-Signature: keyid=…,sig=…",
            )
        })?)?;
        let mut conn = self.pool.get()?;
        let issuer = self.issuer(&mut conn, issuer_id)?;
        let public = store::active_key(&mut conn, issuer_id, &key_id)?.ok_or_else(|| {
            invalid(
                "Tracegate-Signature",
                format!("key {key_id:?} is not an active key of this issuer"),
            )
        })?;
        let public: [u8; 32] = public
            .as_slice()
            .try_into()
            .map_err(|_| RegistryError::Internal(format!("stored key {key_id} is not 32 bytes")))?;
        let verifying = VerifyingKey::from_bytes(&public)
            .map_err(|e| RegistryError::Internal(e.to_string()))?;
        verifying
            .verify_strict(body, &signature)
            .map_err(|_| invalid("Tracegate-Signature", "the signature does not match the body and key: the batch was altered or signed with another key"))?;
        let digest: String = Sha256::digest(body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        // A resend after a lost answer: the issuer learns the batch id instead of being told
        // that every code is registered already.
        if let Some(receipt) = store::batch_by_digest(&mut conn, issuer_id, &digest)? {
            return Ok(receipt);
        }
        drop(conn);

        let text =
            std::str::from_utf8(body).map_err(|_| invalid("body", "the body is not UTF-8"))?;
        let rows = match format {
            BatchFormat::Json => {
                serde_json::from_str::<BatchJson>(text)
                    .map_err(|e| invalid("body", format!("the JSON batch cannot be read: {e}")))?
                    .codes
            }
            BatchFormat::Csv => parse_csv(text)?,
        };
        if rows.is_empty() {
            return Err(invalid("codes", "the batch has no codes"));
        }
        if rows.len() > MAX_BATCH {
            return Err(invalid(
                "codes",
                format!(
                    "a batch holds at most {MAX_BATCH} codes (this has {})",
                    rows.len()
                ),
            ));
        }
        let now = self.clock.now();
        let batch_id = uuid::Uuid::now_v7().to_string();
        let rows = self.validate_rows(&issuer, &rows, &batch_id, now.naive_utc())?;
        let count = rows.len();
        let mut conn = self.pool.get()?;
        let earlier = write_transaction(&mut conn, |conn| {
            // The same bytes may have been registered meanwhile by a concurrent resend.
            if let Some(receipt) = store::batch_by_digest(conn, issuer_id, &digest)? {
                return Ok(Some(receipt));
            }
            // Checked again inside the transaction: another batch may have won the race.
            let keys: Vec<String> = rows.iter().map(|r| r.code_key.clone()).collect();
            let taken = store::existing_keys(conn, &keys)?;
            if !taken.is_empty() {
                return Err(RegistryError::BadRows(
                    taken
                        .iter()
                        .take(MAX_REPORTED)
                        .map(|k| FieldError::new("codes", format!("{k} is registered already")))
                        .collect(),
                ));
            }
            store::insert_batch(
                conn,
                &batch_id,
                issuer_id,
                &key_id,
                &digest,
                count as i32,
                now.naive_utc(),
            )?;
            store::insert_codes(conn, &rows)?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    format!("client:{issuer_id}"),
                    "codes.batch_registered",
                    format!("batch:{batch_id}"),
                )
                .details(serde_json::json!({ "codes": count, "key_id": key_id, "sha256": digest })),
            )?;
            self.facts
                .publish(conn, now, &[Change::of(Fact::CodeBatch(batch_id.clone()))])?;
            Ok(None)
        })?;
        if let Some(receipt) = earlier {
            return Ok(receipt);
        }
        self.facts.committed();
        Ok(BatchReceipt {
            batch_id,
            codes: count,
            registered_before: false,
        })
    }

    fn validate_rows(
        &self,
        issuer: &IssuerRow,
        rows: &[BatchRow],
        batch_id: &str,
        now: NaiveDateTime,
    ) -> Result<Vec<CodeRow>, RegistryError> {
        let year = now.year();
        let mut errors: Vec<FieldError> = Vec::new();
        let mut out = Vec::with_capacity(rows.len());
        let mut seen = BTreeSet::new();
        let mut owners: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut sources: Vec<usize> = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            if errors.len() >= MAX_REPORTED {
                break;
            }
            let mut row_errors = Vec::new();
            let field = |name: &str| format!("codes[{i}].{name}");
            let code = match parse(&row.code, year) {
                Ok(code) => Some(code),
                Err(e) => {
                    row_errors.push(FieldError::new(field("code"), e.to_string()));
                    None
                }
            };
            if let Some(code) = &code {
                match code.form {
                    Form::Issuer if code.issuer_prefix() != issuer.code_prefix.as_deref() => {
                        row_errors.push(FieldError::new(
                            field("code"),
                            format!(
                                "issuer codes of this issuer start with {:?}",
                                issuer.code_prefix.clone().unwrap_or_default()
                            ),
                        ))
                    }
                    Form::Issuer => {}
                    _ if code.gtin().is_none() => row_errors.push(FieldError::new(
                        field("code"),
                        "GS1 codes are registered by GTIN (AI 01)",
                    )),
                    _ => {}
                }
                if !seen.insert(code.lookup_keys().first().to_owned()) {
                    row_errors.push(FieldError::new(field("code"), "appears twice in the batch"));
                }
            }
            let owner = match EnterpriseCode::parse(&row.owner) {
                Ok(o) => Some(o.normalized()),
                Err(e) => {
                    row_errors.push(FieldError::new(
                        field("owner"),
                        format!("enterprise code {e}"),
                    ));
                    None
                }
            };
            if row.product_name.trim().is_empty() || row.product_name.chars().count() > 200 {
                row_errors.push(FieldError::new(
                    field("product_name"),
                    "1 to 200 characters",
                ));
            }
            let category_ok = !row.category.is_empty()
                && row.category.split('.').all(|p| {
                    !p.is_empty()
                        && p.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                });
            if !category_ok {
                row_errors.push(FieldError::new(
                    field("category"),
                    "a category id, lower-case words joined by dots (e.g. food.fresh)",
                ));
            }
            if let Some(origin) = &row.origin {
                let province = self.policies.jurisdictions.province(origin).is_some();
                let country = origin.len() == 2 && origin.bytes().all(|b| b.is_ascii_uppercase());
                if !province && !country {
                    row_errors.push(FieldError::new(
                        field("origin"),
                        "a province code (79) or an ISO 3166 country code (VN)",
                    ));
                }
            }
            let produced = parse_date(
                &field("production_date"),
                &row.production_date,
                &mut row_errors,
            );
            let expires = parse_date(&field("expiry_date"), &row.expiry_date, &mut row_errors);
            if let (Some(p), Some(e)) = (produced, expires)
                && e < p
            {
                row_errors.push(FieldError::new(
                    field("expiry_date"),
                    "is before the production date",
                ));
            }
            if !row_errors.is_empty() {
                errors.extend(row_errors);
                continue;
            }
            let (Some(code), Some(owner)) = (code, owner) else {
                continue;
            };
            owners.entry(owner.clone()).or_default().push(out.len());
            sources.push(i);
            // Registered under the key of its own level, which look-ups walk up to.
            out.push(CodeRow {
                code_key: code.lookup_keys().first().to_owned(),
                level: code.level.as_str().to_string(),
                gtin: code.gtin().map(str::to_owned),
                issuer_id: issuer.client_id.clone(),
                owner_code: owner,
                product_name: row.product_name.trim().to_string(),
                category: row.category.clone(),
                origin: row.origin.clone(),
                production_date: produced.map(|d| d.to_string()),
                expiry_date: expires.or(code.expiry).map(|d| d.to_string()),
                status: "active".into(),
                status_reason: None,
                batch_id: batch_id.to_string(),
                created_at: now,
                updated_at: now,
            });
        }
        let owner_list: Vec<String> = owners.keys().cloned().collect();
        let mut conn = self.pool.get()?;
        let mut verified = BTreeSet::new();
        for chunk in owner_list.chunks(store::CHUNK) {
            let found: Vec<Option<String>> = sellers::table
                .filter(sellers::business_code.eq_any(chunk))
                .filter(sellers::business_status.eq("verified"))
                .select(sellers::business_code)
                .load(&mut conn)?;
            verified.extend(found.into_iter().flatten());
        }
        let licences = store::licences_of(&mut conn, &owner_list)?;
        let keys: Vec<String> = out.iter().map(|r| r.code_key.clone()).collect();
        let taken: BTreeSet<String> = store::existing_keys(&mut conn, &keys)?
            .into_iter()
            .collect();
        for (index, row) in out.iter().enumerate() {
            if errors.len() >= MAX_REPORTED {
                break;
            }
            let source = sources[index];
            let field = |name: &str| format!("codes[{source}].{name}");
            if !verified.contains(&row.owner_code) {
                errors.push(FieldError::new(
                    field("owner"),
                    format!("{} is not a business verified in tracegate", row.owner_code),
                ));
            }
            let prefixes: Vec<&String> = licences
                .iter()
                .filter(|(e, _)| e == &row.owner_code)
                .map(|(_, p)| p)
                .collect();
            if let (Some(gtin), false) = (&row.gtin, prefixes.is_empty()) {
                let inside = prefixes.iter().any(|p| gtin[1..].starts_with(p.as_str()));
                if !inside {
                    errors.push(FieldError::new(
                        field("code"),
                        format!(
                            "GTIN {gtin} is outside the company prefixes licensed to {}",
                            row.owner_code
                        ),
                    ));
                }
            }
            if taken.contains(&row.code_key) {
                errors.push(FieldError::new(
                    field("code"),
                    format!("{} is registered already", row.code_key),
                ));
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(RegistryError::BadRows(errors))
        }
    }

    /// Records that a GS1 company prefix is licensed to an enterprise (GS1 issuers only).
    pub fn add_licence(
        &self,
        issuer_id: &str,
        prefix: &str,
        enterprise: &str,
    ) -> Result<(), RegistryError> {
        if !(6..=12).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("prefix", "a GS1 company prefix is 6 to 12 digits"));
        }
        let enterprise = EnterpriseCode::parse(enterprise)
            .map_err(|e| invalid("enterprise_code", format!("enterprise code {e}")))?
            .normalized();
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let issuer = self.issuer(conn, issuer_id)?;
            if issuer.kind != "gs1" {
                return Err(RegistryError::Forbidden(
                    "only a GS1 member organisation records company prefix licences".into(),
                ));
            }
            store::upsert_licence(conn, prefix, &enterprise, issuer_id, now.naive_utc())?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    format!("client:{issuer_id}"),
                    "licence.recorded",
                    format!("prefix:{prefix}"),
                )
                .details(serde_json::json!({ "enterprise": enterprise })),
            )?;
            Ok(())
        })
    }

    /// The registered code a scanned code resolves to, walking up serial → lot → product.
    pub fn resolve(
        &self,
        conn: &mut DbConnection,
        lookup_keys: &[String],
    ) -> Result<Option<CodeRow>, RegistryError> {
        let found = store::find_codes(conn, lookup_keys)?;
        Ok(lookup_keys
            .iter()
            .find_map(|k| found.iter().find(|r| &r.code_key == k).cloned()))
    }

    /// Recalls or revokes a code: by its issuer, or by an officer. Returns the listings
    /// withdrawn as a result (their platforms are told by webhook).
    pub fn set_status(
        &self,
        actor: StatusActor<'_>,
        code: &str,
        status: CodeStatus,
        reason: &str,
    ) -> Result<usize, RegistryError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 2000 {
            return Err(invalid(
                "reason",
                "give the reason (1 to 2000 characters); it is shown to consumers and platforms",
            ));
        }
        let now = self.clock.now();
        let parsed = parse(code, now.year()).map_err(|e| invalid("code", e.to_string()))?;
        let mut conn = self.pool.get()?;
        let withdrawn = write_transaction(&mut conn, |conn| {
            // Exactly the level named: recalling one lot must not recall the whole product.
            let row = store::find_codes(conn, &[parsed.lookup_keys().first().to_owned()])?
                .pop()
                .ok_or_else(|| {
                    RegistryError::NotFound(format!(
                        "no code is registered as {}",
                        parsed.lookup_keys().first()
                    ))
                })?;
            apply_status(conn, self.facts, now, actor, &row, status, reason)
        })?;
        self.facts.committed();
        Ok(withdrawn)
    }

    /// An owner lets a distributor sell its product or lot until a day.
    pub fn authorise_distributor(
        &self,
        seller_id: &str,
        code: &str,
        distributor: &str,
        until: &str,
    ) -> Result<String, RegistryError> {
        let now = self.clock.now();
        let parsed = parse(code, now.year()).map_err(|e| invalid("code", e.to_string()))?;
        if parsed.level == Level::Serial {
            return Err(invalid(
                "code",
                "authorise a product (GTIN) or a lot, not one item",
            ));
        }
        let distributor = EnterpriseCode::parse(distributor)
            .map_err(|e| invalid("distributor", format!("enterprise code {e}")))?
            .normalized();
        let until = NaiveDate::parse_from_str(until, "%Y-%m-%d")
            .map_err(|_| invalid("valid_until", "a date YYYY-MM-DD"))?;
        let until = until
            .and_hms_opt(23, 59, 59)
            .ok_or_else(|| invalid("valid_until", "not a day"))?;
        if until <= now.naive_utc() {
            return Err(invalid("valid_until", "must be in the future"));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let owner: Option<Option<String>> = sellers::table
                .find(seller_id)
                .filter(sellers::business_status.eq("verified"))
                .select(sellers::business_code)
                .first(conn)
                .optional()?;
            let owner = owner.flatten().ok_or_else(|| {
                RegistryError::Forbidden(
                    "only a verified business can authorise distributors".into(),
                )
            })?;
            let row = self
                .resolve(conn, &parsed.lookup_keys().to_vec())?
                .ok_or_else(|| RegistryError::NotFound("no registered code matches".into()))?;
            if row.owner_code != owner {
                return Err(RegistryError::Forbidden(
                    "the code belongs to another business".into(),
                ));
            }
            store::insert_authorisation(
                conn,
                &id,
                parsed.lookup_keys().first(),
                &owner,
                &distributor,
                until,
                now.naive_utc(),
            )?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    format!("account:{seller_id}"),
                    "distributor.authorised",
                    format!("code:{}", parsed.lookup_keys().first()),
                )
                .details(
                    serde_json::json!({ "distributor": distributor, "until": until.to_string() }),
                ),
            )?;
            self.facts.publish(
                conn,
                now,
                &[Change::of(Fact::Authorisation(
                    parsed.lookup_keys().first().to_owned(),
                ))],
            )?;
            Ok(())
        })?;
        self.facts.committed();
        Ok(id)
    }
}

/// Recalls or revokes a registered code inside the caller's transaction: publishes the
/// change (the listings allowed on it, or on a narrower level of it, are withdrawn and
/// their platforms told) and audits it. The caller tells the bus after commit.
pub fn apply_status(
    conn: &mut DbConnection,
    facts: &FactBus,
    now: chrono::DateTime<chrono::Utc>,
    actor: StatusActor<'_>,
    row: &CodeRow,
    status: CodeStatus,
    reason: &str,
) -> Result<usize, RegistryError> {
    let actor_name = match actor {
        StatusActor::Issuer(id) if row.issuer_id != id => {
            return Err(RegistryError::Forbidden(
                "only the issuer of a code (or an officer) may change its status".into(),
            ));
        }
        StatusActor::Issuer(id) => format!("client:{id}"),
        StatusActor::Officer { id, scope } => {
            // As with cases: a province officer acts on the codes of businesses in their
            // provinces; a code whose owner has no verified business (so no known
            // province) is left to national officers.
            if *scope != ProvinceScope::All {
                let province = crate::identity::verified_business(conn, &row.owner_code)?
                    .and_then(|(_, province)| province);
                if !province.is_some_and(|p| scope.covers(&p)) {
                    return Err(RegistryError::OutOfScope);
                }
            }
            format!("account:{id}")
        }
        StatusActor::Decision(id) => format!("account:{id}"),
    };
    if row.status == CodeStatus::Revoked.as_str() {
        return Err(RegistryError::Conflict(
            "the code is revoked already".into(),
        ));
    }
    store::set_status(
        conn,
        &row.code_key,
        status.as_str(),
        reason,
        now.naive_utc(),
    )?;
    let event_reason = match status {
        CodeStatus::Recalled => "code_recalled",
        CodeStatus::Revoked => "code_revoked",
    };
    let withdrawn = facts.publish(
        conn,
        now,
        &[Change::withdrawing(
            Fact::Code(row.code_key.clone()),
            event_reason,
        )],
    )?;
    audit::append(
        conn,
        now,
        &NewAuditEntry::new(
            actor_name,
            status.action(),
            format!("code:{}", row.code_key),
        )
        .details(serde_json::json!({ "reason": reason, "listings_withdrawn": withdrawn })),
    )?;
    Ok(withdrawn)
}

/// Who changes a code's status.
#[derive(Debug, Clone, Copy)]
pub enum StatusActor<'a> {
    Issuer(&'a str),
    /// An officer, who may act only on codes whose owner is in their provinces.
    Officer {
        id: &'a str,
        scope: &'a ProvinceScope,
    },
    /// An officer's decision on a dispute case: the case, already in the officer's
    /// provinces, is the authority for the codes sold under it.
    Decision(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CodeStatus {
    /// Withdrawn from sale for now (a safety problem); may be cleared by a new batch.
    Recalled,
    /// Never valid (fraudulent or issued in error).
    Revoked,
}

impl CodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeStatus::Recalled => "recalled",
            CodeStatus::Revoked => "revoked",
        }
    }

    fn action(self) -> &'static str {
        match self {
            CodeStatus::Recalled => "code.recalled",
            CodeStatus::Revoked => "code.revoked",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_honour_quotes() {
        assert_eq!(
            csv_fields("a,\"b, c\",\"d \"\"e\"\"\",").expect("valid"),
            vec!["a", "b, c", "d \"e\"", ""]
        );
        assert!(csv_fields("\"open").is_err());
    }

    #[test]
    fn signature_header_names_what_is_missing() {
        assert!(
            parse_signature_header("sig=AAAA")
                .unwrap_err()
                .to_string()
                .contains("keyid")
        );
        assert!(
            parse_signature_header("keyid=k1")
                .unwrap_err()
                .to_string()
                .contains("sig")
        );
        assert!(
            parse_signature_header("keyid=k1,sig=!!")
                .unwrap_err()
                .to_string()
                .contains("base64")
        );
    }
}
