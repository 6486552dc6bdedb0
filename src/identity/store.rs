//! Seller queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{binding_codes, identity_holders, seller_bindings, sellers};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sellers)]
#[diesel(treat_none_as_null = true)]
pub struct SellerRow {
    pub account_id: String,
    pub kind: String,
    pub status: String,
    pub national_id_sealed: Option<Vec<u8>>,
    pub national_id_key: Option<String>,
    pub national_id_index: Option<String>,
    pub national_id_masked: Option<String>,
    pub full_name: Option<String>,
    pub birth_date: Option<String>,
    pub residence_province: Option<String>,
    pub identity_status: String,
    pub identity_reason: Option<String>,
    pub identity_verified_at: Option<NaiveDateTime>,
    pub business_kind: Option<String>,
    pub business_code: Option<String>,
    pub business_name: Option<String>,
    pub business_province: Option<String>,
    pub business_address: Option<String>,
    pub business_lines: Option<String>,
    pub business_status: String,
    pub business_reason: Option<String>,
    pub business_verified_at: Option<NaiveDateTime>,
    pub business_checked_at: Option<NaiveDateTime>,
    pub authorisation_note: Option<String>,
    pub verification_expires_at: Option<NaiveDateTime>,
    pub reminder_sent_at: Option<NaiveDateTime>,
    pub suspended_at: Option<NaiveDateTime>,
    pub suspended_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

pub fn find(conn: &mut DbConnection, account_id: &str) -> QueryResult<Option<SellerRow>> {
    sellers::table
        .find(account_id)
        .select(SellerRow::as_select())
        .first(conn)
        .optional()
}

/// A seller's names as searches compare them: the own name and the business name, each
/// folded, one per line (a folded pattern holds no line break, so it never matches across
/// the two).
fn folded_names(full_name: Option<&str>, business_name: Option<&str>) -> Option<String> {
    let names: Vec<String> = [full_name, business_name]
        .into_iter()
        .flatten()
        .map(crate::i18n::fold)
        .filter(|n| !n.is_empty())
        .collect();
    (!names.is_empty()).then(|| names.join("\n"))
}

/// The folded search column of a seller's row, written with every insert and update so it
/// never falls behind the names.
fn search_name(row: &SellerRow) -> diesel::dsl::Eq<sellers::search_name, Option<String>> {
    sellers::search_name.eq(folded_names(
        row.full_name.as_deref(),
        row.business_name.as_deref(),
    ))
}

/// Folds a seller's names again after a change written column by column (pseudonymising
/// clears the own name).
pub fn refresh_search_name(conn: &mut DbConnection, account_id: &str) -> QueryResult<()> {
    let names: Option<(Option<String>, Option<String>)> = sellers::table
        .find(account_id)
        .select((sellers::full_name, sellers::business_name))
        .first(conn)
        .optional()?;
    if let Some((full_name, business_name)) = names {
        diesel::update(sellers::table.find(account_id))
            .set(
                sellers::search_name
                    .eq(folded_names(full_name.as_deref(), business_name.as_deref())),
            )
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert(conn: &mut DbConnection, row: &SellerRow) -> QueryResult<()> {
    diesel::insert_into(sellers::table)
        .values((row, search_name(row)))
        .execute(conn)?;
    Ok(())
}

/// Saves a changed row if nobody else changed it since it was read (its version is the
/// one read); returns false on a concurrent change.
pub fn update(conn: &mut DbConnection, row: &SellerRow, read_version: i64) -> QueryResult<bool> {
    let changed = diesel::update(
        sellers::table
            .find(&row.account_id)
            .filter(sellers::version.eq(read_version)),
    )
    .set((row, search_name(row)))
    .execute(conn)?;
    Ok(changed == 1)
}

/// The verified business behind an enterprise or household code: (name, province), from
/// the newest verification.
pub fn verified_business(
    conn: &mut DbConnection,
    code: &str,
) -> QueryResult<Option<(Option<String>, Option<String>)>> {
    sellers::table
        .filter(sellers::business_code.eq(code))
        .filter(sellers::business_status.eq("verified"))
        .order(sellers::business_verified_at.desc())
        .select((sellers::business_name, sellers::business_province))
        .first(conn)
        .optional()
}

/// Takes the seller's row lock until the transaction ends (PostgreSQL; SQLite's write
/// transactions are serial anyway), so that counts about the seller are not raced.
pub fn lock(conn: &mut DbConnection, account_id: &str) -> QueryResult<()> {
    diesel::update(sellers::table.find(account_id))
        .set(sellers::version.eq(sellers::version))
        .execute(conn)?;
    Ok(())
}

/// Other sellers backed by the same person (same citizen ID index), with their kind and
/// status.
pub fn same_person(
    conn: &mut DbConnection,
    index: &str,
    except: &str,
) -> QueryResult<Vec<(String, String, String, String)>> {
    sellers::table
        .filter(sellers::national_id_index.eq(index))
        .filter(sellers::account_id.ne(except))
        .select((
            sellers::account_id,
            sellers::kind,
            sellers::status,
            sellers::identity_status,
        ))
        .load(conn)
}

/// Sellers with a verified business whose last register check is older than `before`.
pub fn due_business_checks(
    conn: &mut DbConnection,
    before: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<SellerRow>> {
    sellers::table
        .filter(sellers::business_status.eq("verified"))
        .filter(sellers::status.eq("active"))
        .filter(
            sellers::business_checked_at
                .is_null()
                .or(sellers::business_checked_at.lt(before)),
        )
        .order(sellers::business_checked_at.asc())
        .limit(limit)
        .select(SellerRow::as_select())
        .load(conn)
}

/// Verified sellers whose verification ends before `before` and who were not reminded.
pub fn due_reminders(
    conn: &mut DbConnection,
    before: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<SellerRow>> {
    sellers::table
        .filter(sellers::identity_status.eq("verified"))
        .filter(sellers::verification_expires_at.lt(before))
        .filter(sellers::reminder_sent_at.is_null())
        .limit(limit)
        .select(SellerRow::as_select())
        .load(conn)
}

/// Sellers waiting for an officer's review of their authorisation.
pub fn pending_reviews(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<SellerRow>> {
    sellers::table
        .filter(sellers::business_status.eq("pending_review"))
        .order(sellers::updated_at.asc())
        .limit(limit)
        .select(SellerRow::as_select())
        .load(conn)
}

// ---- binding codes and bindings ----

pub fn insert_binding_code(
    conn: &mut DbConnection,
    code_hash: &str,
    seller_id: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(binding_codes::table)
        .values((
            binding_codes::code_hash.eq(code_hash),
            binding_codes::seller_id.eq(seller_id),
            binding_codes::created_at.eq(now),
            binding_codes::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Uses a binding code once; returns its seller.
pub fn take_binding_code(
    conn: &mut DbConnection,
    code_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    let changed = diesel::update(
        binding_codes::table
            .find(code_hash)
            .filter(binding_codes::used_at.is_null())
            .filter(binding_codes::expires_at.gt(now)),
    )
    .set(binding_codes::used_at.eq(now))
    .execute(conn)?;
    if changed != 1 {
        return Ok(None);
    }
    binding_codes::table
        .find(code_hash)
        .select(binding_codes::seller_id)
        .first(conn)
        .optional()
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = seller_bindings)]
pub struct BindingRow {
    pub id: String,
    pub seller_id: String,
    pub platform_id: String,
    pub shop_id: String,
    pub shop_name: Option<String>,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert_binding(conn: &mut DbConnection, row: &BindingRow) -> QueryResult<()> {
    diesel::insert_into(seller_bindings::table)
        .values((
            seller_bindings::id.eq(&row.id),
            seller_bindings::seller_id.eq(&row.seller_id),
            seller_bindings::platform_id.eq(&row.platform_id),
            seller_bindings::shop_id.eq(&row.shop_id),
            seller_bindings::shop_name.eq(&row.shop_name),
            seller_bindings::search_shop_name.eq(row.shop_name.as_deref().map(crate::i18n::fold)),
            seller_bindings::created_at.eq(row.created_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The active binding of a platform's shop.
pub fn binding_by_shop(
    conn: &mut DbConnection,
    platform_id: &str,
    shop_id: &str,
) -> QueryResult<Option<BindingRow>> {
    seller_bindings::table
        .filter(seller_bindings::platform_id.eq(platform_id))
        .filter(seller_bindings::shop_id.eq(shop_id))
        .filter(seller_bindings::revoked_at.is_null())
        .select(BindingRow::as_select())
        .first(conn)
        .optional()
}

pub fn bindings_of(conn: &mut DbConnection, seller_id: &str) -> QueryResult<Vec<BindingRow>> {
    seller_bindings::table
        .filter(seller_bindings::seller_id.eq(seller_id))
        .order(seller_bindings::created_at.desc())
        .select(BindingRow::as_select())
        .load(conn)
}

/// Revokes a seller's active binding; returns it, or `None` when there is no such one.
pub fn revoke_binding(
    conn: &mut DbConnection,
    seller_id: &str,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<BindingRow>> {
    let changed = diesel::update(
        seller_bindings::table
            .find(id)
            .filter(seller_bindings::seller_id.eq(seller_id))
            .filter(seller_bindings::revoked_at.is_null()),
    )
    .set(seller_bindings::revoked_at.eq(now))
    .execute(conn)?;
    if changed != 1 {
        return Ok(None);
    }
    seller_bindings::table
        .find(id)
        .select(BindingRow::as_select())
        .first(conn)
        .optional()
}

/// Gives `account_id` a place among the sellers the citizen ID behind `index` backs, if
/// one of the `limit` places is free (or it holds one already). Run inside the saving
/// transaction: two accounts taking the last place at once collide on the primary key.
pub fn take_holder_place(
    conn: &mut DbConnection,
    index: &str,
    account_id: &str,
    limit: u32,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let held: Option<String> = identity_holders::table
        .filter(identity_holders::account_id.eq(account_id))
        .select(identity_holders::national_id_index)
        .first(conn)
        .optional()?;
    match held {
        Some(held) if held == index => return Ok(true),
        // Verified again with another ID (after an officer's correction): the old place goes.
        Some(_) => {
            diesel::delete(
                identity_holders::table.filter(identity_holders::account_id.eq(account_id)),
            )
            .execute(conn)?;
        }
        None => {}
    }
    let taken: Vec<i32> = identity_holders::table
        .filter(identity_holders::national_id_index.eq(index))
        .select(identity_holders::place)
        .load(conn)?;
    let limit = i32::try_from(limit).unwrap_or(i32::MAX);
    let Some(free) = (0..limit).find(|place| !taken.contains(place)) else {
        return Ok(false);
    };
    diesel::insert_into(identity_holders::table)
        .values((
            identity_holders::national_id_index.eq(index),
            identity_holders::place.eq(free),
            identity_holders::account_id.eq(account_id),
            identity_holders::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Sellers whose business name or own name contains `text` (ignoring case and
/// diacritics), or whose enterprise or household code is `text`: their account ids, at
/// most 500.
pub fn sellers_matching(conn: &mut DbConnection, text: &str) -> QueryResult<Vec<String>> {
    // Nothing to look for once folded, and no code is made of accents alone.
    let Some(pattern) = crate::db::folded_pattern(text) else {
        return Ok(Vec::new());
    };
    sellers::table
        .filter(
            sellers::search_name
                .like(pattern)
                .escape('\\')
                .or(sellers::business_code.eq(text.trim())),
        )
        .select(sellers::account_id)
        .limit(500)
        .load(conn)
}

/// Sellers with a shop, bound now or before, whose name (ignoring case and diacritics) or
/// platform id (ignoring case) contains `text`: their account ids, at most 500.
pub fn sellers_with_shops_like(conn: &mut DbConnection, text: &str) -> QueryResult<Vec<String>> {
    use crate::db::{contains_pattern, folded_pattern, lower};
    let Some(pattern) = folded_pattern(text) else {
        return Ok(Vec::new());
    };
    seller_bindings::table
        .filter(
            seller_bindings::search_shop_name
                .like(pattern)
                .escape('\\')
                .or(lower(seller_bindings::shop_id)
                    .like(contains_pattern(text))
                    .escape('\\')),
        )
        .select(seller_bindings::seller_id)
        .distinct()
        .limit(500)
        .load(conn)
}

/// Fills the folded search columns of rows written before they existed (or by an older
/// version), a batch at a time; returns how many rows were filled. Cheap when there is
/// nothing to fill, so it runs at every start.
pub fn fill_search_names(conn: &mut DbConnection) -> QueryResult<usize> {
    use crate::i18n::fold;
    const BATCH: i64 = 500;
    let mut filled = 0;
    loop {
        type Names = (String, Option<String>, Option<String>);
        let rows: Vec<Names> = sellers::table
            .filter(sellers::search_name.is_null())
            .filter(
                sellers::full_name
                    .is_not_null()
                    .or(sellers::business_name.is_not_null()),
            )
            .select((
                sellers::account_id,
                sellers::full_name,
                sellers::business_name,
            ))
            .limit(BATCH)
            .load(conn)?;
        for (id, full_name, business_name) in &rows {
            diesel::update(sellers::table.find(id))
                // Never left NULL, or the row would be picked again forever.
                .set(
                    sellers::search_name.eq(folded_names(
                        full_name.as_deref(),
                        business_name.as_deref(),
                    )
                    .unwrap_or_default()),
                )
                .execute(conn)?;
        }
        filled += rows.len();
        if (rows.len() as i64) < BATCH {
            break;
        }
    }
    loop {
        let rows: Vec<(String, Option<String>)> = seller_bindings::table
            .filter(seller_bindings::shop_name.is_not_null())
            .filter(seller_bindings::search_shop_name.is_null())
            .select((seller_bindings::id, seller_bindings::shop_name))
            .limit(BATCH)
            .load(conn)?;
        for (id, shop_name) in &rows {
            diesel::update(seller_bindings::table.find(id))
                .set(seller_bindings::search_shop_name.eq(shop_name.as_deref().map(fold)))
                .execute(conn)?;
        }
        filled += rows.len();
        if (rows.len() as i64) < BATCH {
            break;
        }
    }
    Ok(filled)
}

/// How pages name a seller: (business or own name, enterprise code).
pub type SellerLabel = (Option<String>, Option<String>);

/// How pages name sellers, by account id.
pub fn seller_labels(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<std::collections::HashMap<String, SellerLabel>> {
    type Names = (String, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Names> = sellers::table
        .filter(sellers::account_id.eq_any(ids))
        .select((
            sellers::account_id,
            sellers::business_name,
            sellers::full_name,
            sellers::business_code,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, business, person, code)| (id, (business.or(person), code)))
        .collect())
}

/// Shop names by (platform id, shop id), for the shops given that have one.
pub fn shop_names(
    conn: &mut DbConnection,
    seller_ids: &[String],
) -> QueryResult<std::collections::HashMap<(String, String), String>> {
    let rows: Vec<(String, String, Option<String>)> = seller_bindings::table
        .filter(seller_bindings::seller_id.eq_any(seller_ids))
        .select((
            seller_bindings::platform_id,
            seller_bindings::shop_id,
            seller_bindings::shop_name,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(platform, shop, name)| name.map(|n| ((platform, shop), n)))
        .collect())
}
