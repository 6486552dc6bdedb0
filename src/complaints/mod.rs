//! Complaints a consumer files from the public pages. A consumer knows a listing by its
//! link and a shop by its name, never by the marketplace's internal ids: the complaint is
//! kept as told, with a reference the consumer can quote, and traced to the seller when the
//! shop is bound to one (the web page then also opens a case for the seller to answer).
//! Unknown and withdrawn codes, the likeliest fakes, are complained about the same way.

pub mod store;

use chrono::{Datelike, NaiveDateTime};

use crate::audit::{self, NewAuditEntry};
use crate::db::{DbConnection, DbPool, write_transaction};
use crate::i18n::Language;
use crate::notify::{self, ComplaintCase, ComplaintReceived};
use crate::policies::Policies;

pub use store::ComplaintRow;

/// What the consumer wrote, as the form sent it.
#[derive(Debug, Clone, Default)]
pub struct ComplaintInput {
    /// The code scanned or typed on the product, if the complaint started from one.
    pub code: String,
    /// The marketplace, or empty when the consumer does not know it.
    pub platform_id: String,
    pub listing_link: String,
    pub shop_name: String,
    pub kind: String,
    pub claim: String,
    pub description: String,
    pub email: String,
}

/// A field the consumer must correct, with the catalogue key (`complaint.{problem}`) that
/// says how, in either language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub problem: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum ComplaintError {
    /// Every field in error at once, so the form shows them together.
    #[error("the complaint has {} fields to correct", .0.len())]
    Invalid(Vec<FieldProblem>),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
}

/// The shop a complaint names, when it is bound to a seller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedShop {
    pub platform_id: String,
    pub shop_id: String,
    pub seller_id: String,
}

/// A complaint kept: its reference, the shop it was traced to, and the case it opened.
#[derive(Debug, Clone)]
pub struct Filed {
    pub reference: String,
    pub shop: Option<TracedShop>,
    /// The reference of the case opened for the seller to answer, if one was.
    pub case: Option<String>,
}

/// At most this many receipts a day go to one address for complaints that opened no case
/// (a case's own limit covers the others): the form is public, and nobody may use it to
/// flood someone else's mailbox. The complaints themselves are all kept.
const RECEIPTS_PER_DAY: i64 = 5;

/// Control characters other than line breaks and tabs are refused: PostgreSQL refuses a
/// NUL inside text, and nobody types the others.
fn clean(value: &str) -> bool {
    value
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
}

/// Checks the whole form, naming every field in error.
pub fn check(
    input: &ComplaintInput,
    policies: &Policies,
) -> Result<ComplaintInput, ComplaintError> {
    let mut problems = Vec::new();
    let mut problem = |field: &'static str, problem: &'static str| {
        problems.push(FieldProblem { field, problem });
    };
    let trimmed = |v: &str| v.trim().to_string();
    let mut checked = ComplaintInput {
        code: trimmed(&input.code),
        platform_id: trimmed(&input.platform_id),
        listing_link: trimmed(&input.listing_link),
        shop_name: trimmed(&input.shop_name),
        kind: trimmed(&input.kind),
        claim: trimmed(&input.claim),
        description: trimmed(&input.description),
        email: trimmed(&input.email),
    };
    if checked.listing_link.is_empty() && checked.shop_name.is_empty() {
        problem("listing_link", "listing_or_shop");
    }
    if !checked.listing_link.is_empty() {
        let link = checked.listing_link.to_ascii_lowercase();
        let web = link.starts_with("https://") || link.starts_with("http://");
        if !web
            || checked.listing_link.chars().count() > 2000
            || checked.listing_link.contains(char::is_whitespace)
        {
            problem("listing_link", "listing_link");
        }
    }
    if checked.shop_name.chars().count() > 200
        || !clean(&checked.shop_name)
        || checked.shop_name.contains('\n')
    {
        problem("shop_name", "shop_name");
    }
    if checked.code.chars().count() > 500 || !clean(&checked.code) {
        problem("code", "code");
    }
    if checked.platform_id.chars().count() > 128 || !clean(&checked.platform_id) {
        problem("platform_id", "platform");
    }
    if policies.disputes.kind(&checked.kind).is_none() {
        problem("kind", "kind");
    }
    if !policies.disputes.claims.contains(&checked.claim) {
        problem("claim", "claim");
    }
    let length = checked.description.chars().count();
    if !(10..=5000).contains(&length) || !clean(&checked.description) {
        problem("description", "description");
    }
    // Stored as disputes store it (lower case), so the daily receipt limit and the case's
    // buyer address see one address however its letters were typed.
    match crate::accounts::email::Email::parse(&checked.email) {
        Ok(email) => checked.email = email.as_str().to_string(),
        Err(_) => problem("email", "email"),
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(ComplaintError::Invalid(problems))
    }
}

/// A reference to quote: `PA-{year}-` and eight letters and digits that cannot be
/// mistaken for one another (no I, L, O, U), from 40 random bits.
pub fn new_reference(now: NaiveDateTime, random: [u8; 5]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bits = random
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let mut letters = [0u8; 8];
    for slot in letters.iter_mut().rev() {
        *slot = ALPHABET[(bits & 31) as usize];
        bits >>= 5;
    }
    format!("PA-{}-{}", now.year(), String::from_utf8_lossy(&letters))
}

/// The complaint service.
pub struct Complaints<'a> {
    pub pool: &'a DbPool,
    pub clock: &'a dyn crate::clock::Clock,
    pub policies: &'a Policies,
    /// Where the consumer's links point.
    pub public_url: &'a str,
}

impl Complaints<'_> {
    /// Keeps a complaint and traces its shop; the audit log records it (without the
    /// consumer's address) and the consumer's receipt mail is queued, all in one
    /// transaction. A traced shop is handed to `open_case` inside that transaction; the case
    /// it opens (if any) is told in the same receipt, so the consumer gets one mail either
    /// way.
    pub fn file(
        &self,
        input: &ComplaintInput,
        language: Language,
        open_case: impl FnOnce(
            &mut DbConnection,
            &TracedShop,
            &ComplaintInput,
            &str,
        ) -> Option<ComplaintCase>,
    ) -> Result<Filed, ComplaintError> {
        let complaint = check(input, self.policies)?;
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let shop = trace(conn, &complaint)?;
            let seller = match &shop {
                Some(s) => crate::identity::find_seller(conn, &s.seller_id)?,
                None => None,
            };
            let random: [u8; 5] = {
                let id = uuid::Uuid::new_v4();
                let b = id.as_bytes();
                [b[0], b[1], b[2], b[3], b[5]]
            };
            let optional = |v: &str| (!v.is_empty()).then(|| v.to_string());
            let row = ComplaintRow {
                id: uuid::Uuid::now_v7().to_string(),
                reference: new_reference(now.naive_utc(), random),
                code: optional(&complaint.code),
                platform_id: optional(&complaint.platform_id)
                    .or_else(|| shop.as_ref().map(|s| s.platform_id.clone())),
                listing_link: optional(&complaint.listing_link),
                shop_name: optional(&complaint.shop_name),
                shop_id: shop.as_ref().map(|s| s.shop_id.clone()),
                seller_id: shop.as_ref().map(|s| s.seller_id.clone()),
                province: seller
                    .as_ref()
                    .and_then(|s| crate::identity::seller_province(s).map(str::to_string)),
                kind: complaint.kind.clone(),
                claim: complaint.claim.clone(),
                description: complaint.description.clone(),
                email: complaint.email.clone(),
                language: language.code().to_string(),
                created_at: now.naive_utc(),
                email_erased_at: None,
            };
            store::insert(conn, &row)?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    "consumer",
                    "complaint.filed",
                    format!("complaint:{}", row.id),
                )
                .details(serde_json::json!({
                    "reference": row.reference,
                    "kind": row.kind,
                    "traced": shop.is_some(),
                })),
            )?;
            let case = match &shop {
                Some(traced) => open_case(conn, traced, &complaint, &row.reference),
                None => None,
            };
            let since = now.naive_utc() - chrono::TimeDelta::days(1);
            if case.is_some() || store::filed_by_since(conn, &row.email, since)? <= RECEIPTS_PER_DAY
            {
                notify::queue_mail(conn, now, &row.email, &self.receipt(&row, case.clone()))?;
            } else {
                tracing::info!(reference = %row.reference, "receipt not sent: too many complaints from one address today");
            }
            Ok(Filed {
                reference: row.reference,
                shop,
                case: case.map(|c| c.reference),
            })
        })
    }

    /// The consumer's receipt, in the language of the page they filed from. It repeats only
    /// what the consumer wrote (the code, the kind of problem) and when it arrived.
    fn receipt(&self, row: &ComplaintRow, case: Option<ComplaintCase>) -> ComplaintReceived {
        let lang = Language::from_code(&row.language);
        let kind = match self.policies.disputes.kind(&row.kind) {
            Some(k) if lang.is_vi() => k.name.clone(),
            Some(k) => k.name_en.clone(),
            None => row.kind.clone(),
        };
        ComplaintReceived {
            lang,
            reference: row.reference.clone(),
            code: row.code.clone(),
            kind,
            received: crate::disputes::calendar::local(row.created_at.and_utc())
                .format("%d/%m/%Y %H:%M")
                .to_string(),
            follow_link: format!(
                "{}/report/received/{}",
                self.public_url.trim_end_matches('/'),
                row.reference
            ),
            case,
        }
    }

    /// A complaint by the reference the consumer quotes.
    pub fn by_reference(&self, reference: &str) -> Result<ComplaintRow, ComplaintError> {
        let reference = reference.trim().to_ascii_uppercase();
        if reference.len() > 32
            || !reference
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(ComplaintError::NotFound);
        }
        store::by_reference(&mut *self.pool.get()?, &reference)?.ok_or(ComplaintError::NotFound)
    }

    /// The newest complaints an officer with `scope` may read: those traced to a seller of
    /// their provinces, and (for the whole country) those not traced at all.
    pub fn newest_for(
        &self,
        scope: &crate::policies::ProvinceScope,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<ComplaintRow>, ComplaintError> {
        let provinces = match scope {
            crate::policies::ProvinceScope::All => None,
            crate::policies::ProvinceScope::Only(codes) => Some(codes.as_slice()),
        };
        Ok(store::newest(
            &mut *self.pool.get()?,
            provinces,
            offset,
            limit,
        )?)
    }
}

/// The shop a complaint names, when exactly one bound shop answers to its name.
fn trace(
    conn: &mut DbConnection,
    complaint: &ComplaintInput,
) -> Result<Option<TracedShop>, ComplaintError> {
    if complaint.shop_name.is_empty() {
        return Ok(None);
    }
    let platform = (!complaint.platform_id.is_empty()).then_some(complaint.platform_id.as_str());
    let shops = store::shops_named(conn, platform, &complaint.shop_name)?;
    Ok(match shops.as_slice() {
        [(platform_id, shop_id, seller_id)] => Some(TracedShop {
            platform_id: platform_id.clone(),
            shop_id: shop_id.clone(),
            seller_id: seller_id.clone(),
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ComplaintInput {
        ComplaintInput {
            code: "09506000134352".into(),
            platform_id: String::new(),
            listing_link: "https://shop.example.vn/sp/123".into(),
            shop_name: String::new(),
            kind: "counterfeit".into(),
            claim: "refund".into(),
            description: "Hàng nhận được không có tem chống giả.".into(),
            email: "nguoi.mua@example.vn".into(),
        }
    }

    #[test]
    fn a_link_or_a_shop_name_is_enough() {
        let policies = Policies::built_in().expect("policies");
        assert!(check(&input(), &policies).is_ok());
        let mut by_name = input();
        by_name.listing_link.clear();
        by_name.shop_name = "Tạp hóa Bình An".into();
        assert!(check(&by_name, &policies).is_ok());
    }

    #[test]
    fn every_field_in_error_is_named_at_once() {
        let policies = Policies::built_in().expect("policies");
        let bad = ComplaintInput {
            listing_link: String::new(),
            description: "ngắn".into(),
            email: "không phải email".into(),
            ..input()
        };
        let Err(ComplaintError::Invalid(problems)) = check(&bad, &policies) else {
            panic!("refused");
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field).collect();
        assert_eq!(fields, ["listing_link", "description", "email"]);
        let mut not_web = input();
        not_web.listing_link = "javascript:alert(1)".into();
        assert!(check(&not_web, &policies).is_err());
    }

    #[test]
    fn references_are_readable_and_fixed_length() {
        let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 28)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .expect("time");
        let reference = new_reference(now, [0xff, 0, 0x12, 0x34, 0x56]);
        assert!(reference.starts_with("PA-2026-"), "{reference}");
        assert_eq!(reference.len(), "PA-2026-".len() + 8);
        assert!(!reference[8..].contains(['I', 'L', 'O', 'U']));
    }
}
