//! Links per code and level, and what the public GS1 resolver needs to answer a scan.
//!
//! A registered code (product, lot or item) may carry links that its issuer or its owner
//! publishes: a GS1 Web Vocabulary link type, an https target, a title, and optionally a
//! language, a media type, a context and an activity window. Only the code's issuer or
//! owner may add or remove them, and every change is audited. tracegate adds its own links
//! to every registered code (its verification page as the default link, the recall status,
//! a signed statement, the legal entity, the QR code); owners cannot replace those.
//!
//! [`look_up`] is the one read the resolver makes per request: code key → what the answer
//! needs.

pub mod index;
pub mod resolution;
pub mod routes;
pub mod store;
pub mod vocabulary;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, NewAuditEntry};
use crate::clock::Clock;
use crate::codes::Level;
use crate::codes::store::{self as code_store, CodeRow};
use crate::db::{DbConnection, DbPool, write_transaction};
use crate::facts::{Change, Fact, FactBus};
pub use store::LinkRow;
use vocabulary::{LinkType, Use};

/// Links one code level may carry, beside tracegate's own.
pub const MAX_LINKS_PER_CODE: usize = 50;

/// A code's state as the resolver shows it (anything unknown reads as revoked: answered as
/// withdrawn, never as genuine).
pub use crate::codes::facts::CodeState;
pub use index::{KnownCode, KnownCodes, LinkIndex};

/// One registered level of a request, with its links that are active now.
#[derive(Debug, Clone)]
pub struct Registered {
    pub key: String,
    pub level: Level,
    pub product_name: String,
    pub state: CodeState,
    pub status_reason: Option<String>,
    pub owner_code: String,
    pub links: Vec<LinkRow>,
}

/// The registered levels among `keys` (most specific first, as `keys` are), each with its
/// links active at `now`: everything a redirect or a linkset needs from storage. The
/// resolver asks [`index::look_up`] first (memory); this reads the database.
pub fn look_up(
    conn: &mut DbConnection,
    keys: &[String],
    now: NaiveDateTime,
) -> diesel::QueryResult<Vec<Registered>> {
    let rows = code_store::find_codes(conn, keys)?;
    let mut found: Vec<KnownCode> = keys
        .iter()
        .filter_map(|key| rows.iter().find(|c| &c.code_key == key))
        .map(KnownCode::from)
        .collect();
    if found.is_empty() {
        let Some(product) = keys.last() else {
            return Ok(Vec::new());
        };
        match product_known_by_lots(conn, product)? {
            Some((_, row)) => found.push(KnownCode::from(&row)),
            None => return Ok(Vec::new()),
        }
    } else {
        complete_product(&mut found, keys);
    }
    let found_keys: Vec<String> = found.iter().map(|c| c.key.clone()).collect();
    let mut links = store::of_codes(conn, &found_keys)?;
    links.retain(|l| l.is_active(now));
    Ok(found
        .into_iter()
        .map(|code| {
            let own = links
                .iter()
                .filter(|l| l.code_key == code.key)
                .cloned()
                .collect();
            registered(code, own)
        })
        .collect())
}

impl From<&CodeRow> for KnownCode {
    fn from(row: &CodeRow) -> Self {
        KnownCode {
            key: row.code_key.clone(),
            level: Level::parse(&row.level).unwrap_or(Level::Gtin),
            product_name: row.product_name.clone(),
            state: CodeState::parse(&row.status),
            status_reason: row.status_reason.clone(),
            owner_code: row.owner_code.clone(),
        }
    }
}

/// A product (GTIN) that is not registered itself is known through the registered lot or
/// item the request names: it stands as the product level, active, named and owned as that
/// level is (the item in hand names its product).
fn complete_product(found: &mut Vec<KnownCode>, keys: &[String]) {
    let Some(product) = keys
        .last()
        .filter(|k| k.strip_prefix("/01/").is_some_and(|g| !g.contains('/')))
    else {
        return;
    };
    if found.iter().any(|c| &c.key == product) {
        return;
    }
    if let Some(specific) = found.first() {
        let level = KnownCode {
            key: product.clone(),
            level: Level::Gtin,
            state: CodeState::Active,
            status_reason: None,
            ..specific.clone()
        };
        found.push(level);
    }
}

/// A product that is not registered itself but is known through its registered lots or
/// items (what every EAN barcode names): how many, and the product as its newest lot names
/// it (owner, name), active at the product level.
fn product_known_by_lots(
    conn: &mut DbConnection,
    product_key: &str,
) -> diesel::QueryResult<Option<(i64, CodeRow)>> {
    let Some(gtin) = product_key
        .strip_prefix("/01/")
        .filter(|g| !g.contains('/'))
    else {
        return Ok(None);
    };
    let (count, newest) = code_store::registered_under_product(conn, gtin)?;
    Ok(newest.map(|newest| {
        (
            count,
            CodeRow {
                code_key: product_key.to_string(),
                level: Level::Gtin.as_str().into(),
                status: "active".into(),
                status_reason: None,
                production_date: None,
                expiry_date: None,
                ..newest
            },
        )
    }))
}

/// The product a parsed code names, when it is known only through its lots or items.
pub fn known_product(
    conn: &mut DbConnection,
    parsed: &crate::codes::ParsedCode,
) -> diesel::QueryResult<Option<(i64, CodeRow)>> {
    match parsed.lookup_keys().iter().last() {
        Some(product) => product_known_by_lots(conn, product),
        None => Ok(None),
    }
}

fn registered(code: KnownCode, links: Vec<LinkRow>) -> Registered {
    Registered {
        key: code.key,
        level: code.level,
        product_name: code.product_name,
        state: code.state,
        status_reason: code.status_reason,
        owner_code: code.owner_code,
        links,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LinksError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
}

fn invalid(field: &str, message: impl Into<String>) -> LinksError {
    LinksError::Invalid {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Who manages links.
#[derive(Debug, Clone)]
pub enum Manager {
    /// An issuer client: the codes it registered.
    Issuer(String),
    /// A seller account: the codes its verified business owns.
    Seller(String),
}

impl Manager {
    fn actor(&self) -> String {
        match self {
            Manager::Issuer(id) => format!("client:{id}"),
            Manager::Seller(id) => format!("account:{id}"),
        }
    }
}

/// A link to add to a code.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    /// The code in any accepted form, at the level the link is for (product, lot or item).
    pub code: String,
    /// A GS1 Web Vocabulary link type, as a CURIE (`gs1:pip`) or a URI
    /// (`https://gs1.org/voc/pip`).
    pub link_type: String,
    /// The target: an https URL.
    pub href: String,
    /// What a person sees for the link, in the target's language.
    pub title: String,
    /// Language of the target: `vi`, `en`, or with a region (`en-GB`).
    #[serde(default)]
    pub language: Option<String>,
    /// Media type of the target (`text/html`, `application/pdf`).
    #[serde(default)]
    pub media_type: Option<String>,
    /// Where or for whom the link applies (`VN`, a context value of the owner's choice).
    #[serde(default)]
    pub context: Option<String>,
    /// RFC 3339; answered from then on.
    #[serde(default)]
    pub active_from: Option<DateTime<Utc>>,
    /// RFC 3339; answered until then.
    #[serde(default)]
    pub active_until: Option<DateTime<Utc>>,
}

/// A link as its managers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkView {
    pub id: String,
    /// Canonical key of the code level the link belongs to.
    pub code: String,
    /// CURIE (`gs1:pip`).
    pub link_type: String,
    /// Full URI, as linksets show it.
    pub link_type_uri: String,
    pub href: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_from: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl LinkView {
    fn of(row: &LinkRow) -> Self {
        let link_type = LinkType::parse(&row.link_type);
        Self {
            id: row.id.clone(),
            code: row.code_key.clone(),
            link_type: link_type.map_or_else(|| row.link_type.clone(), LinkType::curie),
            link_type_uri: row.link_type.clone(),
            href: row.href.clone(),
            title: row.title.clone(),
            language: row.language.clone(),
            media_type: row.media_type.clone(),
            context: row.context.clone(),
            active_from: row.active_from.map(|t| t.and_utc()),
            active_until: row.active_until.map(|t| t.and_utc()),
            created_at: row.created_at.and_utc(),
        }
    }
}

/// A checked link, ready to store.
#[derive(Debug)]
struct CheckedLink {
    link_type: LinkType,
    href: String,
    title: String,
    language: Option<String>,
    media_type: Option<String>,
    context: Option<String>,
    active_from: Option<NaiveDateTime>,
    active_until: Option<NaiveDateTime>,
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// An https URL that a linkset may carry: ASCII host of letters, digits, dots and dashes
/// (optionally a port), then URI characters only.
fn check_href(href: &str) -> Result<String, LinksError> {
    let href = href.trim();
    let rest = href
        .strip_prefix("https://")
        .ok_or_else(|| invalid("href", "the target must be an https:// URL"))?;
    if href.len() > 2000 {
        return Err(invalid("href", "at most 2000 characters"));
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, port) = match rest[..authority_end].split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (&rest[..authority_end], None),
    };
    let host_ok = !host.is_empty()
        && host.contains('.')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && host
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if !host_ok {
        return Err(invalid(
            "href",
            "the host must be a domain name in ASCII (letters, digits, dots, dashes; IDNs in punycode)",
        ));
    }
    if port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(invalid("href", "the port must be a number"));
    }
    let uri_char = |b: u8| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b);
    if !rest.bytes().all(uri_char) {
        return Err(invalid(
            "href",
            "the URL has characters a URL cannot carry (percent-encode spaces and non-ASCII)",
        ));
    }
    Ok(href.to_string())
}

/// `ll` or `ll-CC` (the forms GS1's linkset schema admits), normalised to `vi`, `en-GB`.
fn check_language(language: &str) -> Result<String, LinksError> {
    let message =
        "a language tag such as vi, en or en-GB (two letters, optionally a two-letter region)";
    let (lang, region) = match language.trim().split_once('-') {
        Some((l, r)) => (l, Some(r)),
        None => (language.trim(), None),
    };
    let two_letters = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic());
    if !two_letters(lang) || region.is_some_and(|r| !two_letters(r)) {
        return Err(invalid("language", message));
    }
    Ok(match region {
        Some(r) => format!("{}-{}", lang.to_ascii_lowercase(), r.to_ascii_uppercase()),
        None => lang.to_ascii_lowercase(),
    })
}

fn check_media_type(media_type: &str) -> Result<String, LinksError> {
    let media_type = media_type.trim().to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    match media_type.split_once('/') {
        Some((major, minor))
            if token(major) && token(minor) && major.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Ok(media_type)
        }
        _ => Err(invalid(
            "media_type",
            "an IANA media type such as text/html or application/pdf",
        )),
    }
}

fn check_context(context: &str) -> Result<String, LinksError> {
    let context = context.trim();
    if context.is_empty()
        || context.len() > 64
        || !context
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(
            "context",
            "1 to 64 letters, digits, dashes or underscores (for example VN)",
        ));
    }
    Ok(context.to_string())
}

fn check(input: &NewLink, now: DateTime<Utc>) -> Result<CheckedLink, LinksError> {
    let link_type = LinkType::parse(&input.link_type).ok_or_else(|| {
        invalid(
            "link_type",
            format!(
                "{:?} is not a ratified GS1 link type; use one of {}",
                input.link_type,
                vocabulary::open_types().join(", ")
            ),
        )
    })?;
    match link_type.usage() {
        Use::Open => {}
        Use::Resolver => {
            return Err(invalid(
                "link_type",
                format!(
                    "{} is answered by tracegate itself (the verification page, recall status, signed statement, legal entity, QR code): a consumer who scans must see what tracegate knows, whatever links are added",
                    link_type.curie()
                ),
            ));
        }
        Use::ValidatedHealthcare => {
            return Err(invalid(
                "link_type",
                format!(
                    "GS1 restricts {} to validated healthcare content, which tracegate does not validate",
                    link_type.curie()
                ),
            ));
        }
    }
    let href = check_href(&input.href)?;
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > 200 || has_control(title) {
        return Err(invalid(
            "title",
            "1 to 200 characters without control characters",
        ));
    }
    let language = input.language.as_deref().map(check_language).transpose()?;
    let media_type = input
        .media_type
        .as_deref()
        .map(check_media_type)
        .transpose()?;
    let context = input.context.as_deref().map(check_context).transpose()?;
    if let (Some(from), Some(until)) = (input.active_from, input.active_until)
        && until <= from
    {
        return Err(invalid("active_until", "must be after active_from"));
    }
    if input.active_until.is_some_and(|until| until <= now) {
        return Err(invalid("active_until", "must be in the future"));
    }
    Ok(CheckedLink {
        link_type,
        href,
        title: title.to_string(),
        language,
        media_type,
        context,
        active_from: input.active_from.map(|t| t.naive_utc()),
        active_until: input.active_until.map(|t| t.naive_utc()),
    })
}

/// Link management with what it needs.
pub struct Links<'a> {
    pub pool: &'a DbPool,
    pub clock: &'a dyn Clock,
    /// Every change is published, so that each node's resolver answers it at once.
    pub facts: &'a FactBus,
}

impl Links<'_> {
    /// The registered code at exactly the level named, if `manager` may manage its links.
    fn managed_code(
        &self,
        conn: &mut DbConnection,
        manager: &Manager,
        code: &str,
    ) -> Result<CodeRow, LinksError> {
        let year = chrono::Datelike::year(&crate::disputes::calendar::local(self.clock.now()));
        let parsed = crate::codes::parse(code, year).map_err(|e| invalid("code", e.to_string()))?;
        managed_key(conn, manager, parsed.lookup_keys().first())
    }

    /// Adds a link to a code the manager issued or owns.
    pub fn add(&self, manager: &Manager, input: &NewLink) -> Result<LinkView, LinksError> {
        let now = self.clock.now();
        let checked = check(input, now)?;
        let mut conn = self.pool.get()?;
        let added = write_transaction(&mut conn, |conn| {
            let code = self.managed_code(conn, manager, &input.code)?;
            let existing = store::of_codes(conn, std::slice::from_ref(&code.code_key))?;
            if existing.len() >= MAX_LINKS_PER_CODE {
                return Err(LinksError::Conflict(format!(
                    "a code level carries at most {MAX_LINKS_PER_CODE} links; remove one first"
                )));
            }
            let uri = checked.link_type.uri();
            if existing.iter().any(|l| {
                l.link_type == uri
                    && l.href == checked.href
                    && l.language == checked.language
                    && l.context == checked.context
                    && l.media_type == checked.media_type
            }) {
                return Err(LinksError::Conflict(
                    "the code has this link already (same type, target, language, media type and context)"
                        .into(),
                ));
            }
            let row = LinkRow {
                id: uuid::Uuid::now_v7().to_string(),
                code_key: code.code_key.clone(),
                link_type: uri,
                href: checked.href.clone(),
                title: checked.title.clone(),
                language: checked.language.clone(),
                media_type: checked.media_type.clone(),
                context: checked.context.clone(),
                active_from: checked.active_from,
                active_until: checked.active_until,
                created_by: manager.actor(),
                created_at: now.naive_utc(),
            };
            store::insert(conn, &row)?;
            self.facts
                .publish(conn, now, &[Change::of(Fact::Links(row.code_key.clone()))])?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    manager.actor(),
                    "code.link_added",
                    format!("code:{}", code.code_key),
                )
                .details(serde_json::json!({
                    "link_id": row.id,
                    "link_type": checked.link_type.curie(),
                    "href": row.href,
                    "language": row.language,
                    "media_type": row.media_type,
                    "context": row.context,
                    "active_from": row.active_from.map(|t| t.and_utc().to_rfc3339()),
                    "active_until": row.active_until.map(|t| t.and_utc().to_rfc3339()),
                })),
            )?;
            Ok(LinkView::of(&row))
        })?;
        self.facts.committed();
        Ok(added)
    }

    /// The links of one code level (all of them, active or not).
    pub fn list(&self, manager: &Manager, code: &str) -> Result<Vec<LinkView>, LinksError> {
        let mut conn = self.pool.get()?;
        let code = self.managed_code(&mut conn, manager, code)?;
        Ok(
            store::of_codes(&mut conn, std::slice::from_ref(&code.code_key))?
                .iter()
                .map(LinkView::of)
                .collect(),
        )
    }

    /// Removes a link from a code the manager issued or owns.
    pub fn remove(&self, manager: &Manager, id: &str) -> Result<(), LinksError> {
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let link = store::find(conn, id)?
                .ok_or_else(|| LinksError::NotFound("no link with this id".into()))?;
            managed_key(conn, manager, &link.code_key)?;
            store::delete(conn, id)?;
            self.facts
                .publish(conn, now, &[Change::of(Fact::Links(link.code_key.clone()))])?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    manager.actor(),
                    "code.link_removed",
                    format!("code:{}", link.code_key),
                )
                .details(serde_json::json!({
                    "link_id": link.id,
                    "link_type": link.link_type,
                    "href": link.href,
                })),
            )?;
            Ok::<_, LinksError>(())
        })?;
        self.facts.committed();
        Ok(())
    }
}

/// The registered code with this key, if `manager` may manage its links.
fn managed_key(
    conn: &mut DbConnection,
    manager: &Manager,
    key: &str,
) -> Result<CodeRow, LinksError> {
    let row = code_store::find_codes(conn, &[key.to_string()])?
        .pop()
        .ok_or_else(|| {
            LinksError::NotFound(format!(
                "no code is registered as {key}; links belong to a registered product, lot or item"
            ))
        })?;
    let allowed = match manager {
        Manager::Issuer(client_id) => &row.issuer_id == client_id,
        Manager::Seller(account_id) => crate::identity::find_seller(conn, account_id)?
            .filter(|s| s.business_status == "verified")
            .and_then(|s| s.business_code)
            .is_some_and(|business| business == row.owner_code),
    };
    if !allowed {
        return Err(LinksError::Forbidden(
            "only the code's issuer or the verified business that owns it may manage its links"
                .into(),
        ));
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> NewLink {
        NewLink {
            code: "(01)09506000134352".into(),
            link_type: "gs1:pip".into(),
            href: "https://brand.example.vn/tra-xanh?x=1".into(),
            title: "Trang sản phẩm".into(),
            language: Some("VI".into()),
            media_type: Some("Text/HTML".into()),
            context: Some("VN".into()),
            active_from: None,
            active_until: None,
        }
    }

    #[test]
    fn a_good_link_is_normalised() {
        let checked = check(&input(), Utc::now()).expect("valid");
        assert_eq!(checked.language.as_deref(), Some("vi"));
        assert_eq!(checked.media_type.as_deref(), Some("text/html"));
        assert_eq!(checked.link_type.uri(), "https://gs1.org/voc/pip");
        let mut en_gb = input();
        en_gb.language = Some("en-gb".into());
        assert_eq!(
            check(&en_gb, Utc::now())
                .expect("valid")
                .language
                .as_deref(),
            Some("en-GB")
        );
    }

    #[test]
    fn bad_links_name_the_field() {
        let field = |input: NewLink| match check(&input, Utc::now()) {
            Err(LinksError::Invalid { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        };
        for (change, expected) in [
            (
                (|i: &mut NewLink| i.href = "http://brand.example.vn/".into()) as fn(&mut NewLink),
                "href",
            ),
            (|i| i.href = "https://localhost/x".into(), "href"),
            (|i| i.href = "https://brand.example.vn/a b".into(), "href"),
            (|i| i.href = "javascript:alert(1)".into(), "href"),
            (|i| i.link_type = "gs1:nosuchlt".into(), "link_type"),
            (|i| i.link_type = "gs1:defaultLink".into(), "link_type"),
            (|i| i.link_type = "gs1:recallStatus".into(), "link_type"),
            (|i| i.link_type = "gs1:epil".into(), "link_type"),
            (|i| i.title = "  ".into(), "title"),
            (|i| i.title = "a\u{0}b".into(), "title"),
            (|i| i.language = Some("vie".into()), "language"),
            (|i| i.media_type = Some("html".into()), "media_type"),
            (|i| i.context = Some("a b".into()), "context"),
            (
                |i| i.active_until = Some(Utc::now() - chrono::TimeDelta::days(1)),
                "active_until",
            ),
        ] {
            let mut bad = input();
            change(&mut bad);
            assert_eq!(field(bad), expected);
        }
    }

    #[test]
    fn activity_windows_bound_when_a_link_is_answered() {
        let now = Utc::now().naive_utc();
        let row = |from: Option<i64>, until: Option<i64>| LinkRow {
            id: "l".into(),
            code_key: "/01/09506000134352".into(),
            link_type: "https://gs1.org/voc/pip".into(),
            href: "https://b.example/".into(),
            title: "t".into(),
            language: None,
            media_type: None,
            context: None,
            active_from: from.map(|d| now + chrono::TimeDelta::days(d)),
            active_until: until.map(|d| now + chrono::TimeDelta::days(d)),
            created_by: "client:x".into(),
            created_at: now,
        };
        assert!(row(None, None).is_active(now));
        assert!(row(Some(-1), Some(1)).is_active(now));
        assert!(!row(Some(1), None).is_active(now));
        assert!(!row(None, Some(-1)).is_active(now));
    }
}
