//! What the listing gate needs to know of custody: per business and lot, whether the
//! business received the lot and how many units, as receipts record. The gate loads them
//! whole at start and again for each (business, lot) a published change names.

use super::store;
use crate::db::DbConnection;

/// What a business received of a lot.
#[derive(Debug, Clone, PartialEq)]
pub struct CustodyFacts {
    pub business: String,
    /// `/01/{gtin}/10/{lot}`.
    pub lot: String,
    /// Events by which it received (some of) the lot.
    pub receipts: i64,
    /// Units received, when every receipt counts them.
    pub units: Option<f64>,
}

fn facts_of(total: store::ReceiptTotal) -> CustodyFacts {
    CustodyFacts {
        business: total.business,
        lot: total.lot,
        receipts: total.receipts,
        units: total.units,
    }
}

/// Every business's receipts, per lot.
pub fn all_custody(conn: &mut DbConnection) -> diesel::QueryResult<Vec<CustodyFacts>> {
    Ok(store::receipt_totals(conn, None)?
        .into_iter()
        .map(facts_of)
        .collect())
}

/// One business's receipts of one lot, if any.
pub fn custody_of(
    conn: &mut DbConnection,
    business: &str,
    lot: &str,
) -> diesel::QueryResult<Option<CustodyFacts>> {
    Ok(store::receipt_totals(conn, Some((business, lot)))?
        .into_iter()
        .map(facts_of)
        .next())
}
