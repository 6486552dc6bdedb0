//! What the listing gate needs to know of registered codes and distributors' rights:
//! narrow projections of the registry's tables. The gate loads them whole at start and
//! again for each code, batch or authorisation a published change names.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::Level;
use crate::db::DbConnection;
use crate::db::schema::{codes, distributor_authorisations};

/// Where a registered code stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CodeState {
    Active,
    /// Withdrawn from sale for now (a safety problem).
    Recalled,
    /// Never valid (fraudulent or issued in error).
    Revoked,
}

impl CodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeState::Active => "active",
            CodeState::Recalled => "recalled",
            CodeState::Revoked => "revoked",
        }
    }

    /// Reads a stored status; anything unknown counts as revoked (never as active).
    pub fn parse(text: &str) -> Self {
        match text {
            "active" => CodeState::Active,
            "recalled" => CodeState::Recalled,
            _ => CodeState::Revoked,
        }
    }
}

/// A registered code as a listing decision sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFacts {
    pub key: String,
    pub level: Level,
    pub state: CodeState,
    pub status_reason: Option<String>,
    /// Enterprise code of the business that owns the product.
    pub owner_code: String,
    pub product_name: String,
    /// Province code or ISO 3166 alpha-2 country, as the issuer registered it.
    pub origin: Option<String>,
    pub expiry: Option<NaiveDate>,
}

type Columns = (
    codes::code_key,
    codes::level,
    codes::status,
    codes::status_reason,
    codes::owner_code,
    codes::product_name,
    codes::origin,
    codes::expiry_date,
);

const COLUMNS: Columns = (
    codes::code_key,
    codes::level,
    codes::status,
    codes::status_reason,
    codes::owner_code,
    codes::product_name,
    codes::origin,
    codes::expiry_date,
);

type Row = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
);

fn facts_of(row: Row) -> CodeFacts {
    let (key, level, status, status_reason, owner_code, product_name, origin, expiry) = row;
    CodeFacts {
        key,
        level: Level::parse(&level).unwrap_or(Level::Gtin),
        state: CodeState::parse(&status),
        status_reason,
        owner_code,
        product_name,
        origin,
        expiry: expiry.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
    }
}

/// Every registered code, one at a time (a million codes are never held as rows at once).
pub fn each_code(conn: &mut DbConnection, mut f: impl FnMut(CodeFacts)) -> QueryResult<()> {
    for row in codes::table
        .select(COLUMNS)
        .load_iter::<Row, diesel::connection::DefaultLoadingMode>(conn)?
    {
        f(facts_of(row?));
    }
    Ok(())
}

/// The registered codes among `keys`.
pub fn codes_by_key(conn: &mut DbConnection, keys: &[&str]) -> QueryResult<Vec<CodeFacts>> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(super::store::CHUNK) {
        found.extend(
            codes::table
                .filter(codes::code_key.eq_any(chunk))
                .select(COLUMNS)
                .load::<Row>(conn)?
                .into_iter()
                .map(facts_of),
        );
    }
    Ok(found)
}

/// The codes one batch registered, one at a time.
pub fn each_code_of_batch(
    conn: &mut DbConnection,
    batch_id: &str,
    mut f: impl FnMut(CodeFacts),
) -> QueryResult<()> {
    for row in codes::table
        .filter(codes::batch_id.eq(batch_id))
        .select(COLUMNS)
        .load_iter::<Row, diesel::connection::DefaultLoadingMode>(conn)?
    {
        f(facts_of(row?));
    }
    Ok(())
}

/// A distributor's right to sell a product or lot (by its key) until a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorisation {
    pub code_key: String,
    pub distributor_code: String,
    pub valid_until: NaiveDateTime,
}

type AuthRow = (String, String, NaiveDateTime);

/// Authorisations not revoked and still running at `now`, for every code or for the codes
/// with these keys.
pub fn authorisations(
    conn: &mut DbConnection,
    keys: Option<&[&str]>,
    now: NaiveDateTime,
) -> QueryResult<Vec<Authorisation>> {
    let query = || {
        distributor_authorisations::table
            .filter(distributor_authorisations::revoked_at.is_null())
            .filter(distributor_authorisations::valid_until.gt(now))
            .select((
                distributor_authorisations::code_key,
                distributor_authorisations::distributor_code,
                distributor_authorisations::valid_until,
            ))
            .into_boxed()
    };
    let rows: Vec<AuthRow> = match keys {
        None => query().load(conn)?,
        Some(keys) => {
            let mut rows = Vec::new();
            for chunk in keys.chunks(super::store::CHUNK) {
                rows.extend(
                    query()
                        .filter(distributor_authorisations::code_key.eq_any(chunk))
                        .load::<AuthRow>(conn)?,
                );
            }
            rows
        }
    };
    Ok(rows
        .into_iter()
        .map(|(code_key, distributor_code, valid_until)| Authorisation {
            code_key,
            distributor_code,
            valid_until,
        })
        .collect())
}

/// The enterprises whose licensed GS1 company prefix each of these GLNs starts with:
/// (GLN, enterprise code). A GLN is allocated from its owner's company prefix.
pub fn licensees_of_glns(
    conn: &mut DbConnection,
    glns: &[&str],
) -> QueryResult<Vec<(String, String)>> {
    use crate::db::schema::company_prefix_licences;
    let mut prefixes: Vec<&str> = glns
        .iter()
        .flat_map(|gln| (6..=12).filter_map(move |n| gln.get(..n)))
        .collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    let mut licences: Vec<(String, String)> = Vec::new();
    for chunk in prefixes.chunks(super::store::CHUNK) {
        licences.extend(
            company_prefix_licences::table
                .filter(company_prefix_licences::prefix.eq_any(chunk))
                .select((
                    company_prefix_licences::prefix,
                    company_prefix_licences::enterprise_code,
                ))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(glns
        .iter()
        .filter_map(|gln| {
            licences
                .iter()
                .filter(|(prefix, _)| gln.starts_with(prefix.as_str()))
                .max_by_key(|(prefix, _)| prefix.len())
                .map(|(_, enterprise)| (gln.to_string(), enterprise.clone()))
        })
        .collect())
}
