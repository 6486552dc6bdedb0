//! What the resolver answers from without the database: the links of every code level
//! (few: only what issuers and owners publish, changed only through this feature) and the
//! registered codes the listing gate's read model already holds, behind [`KnownCodes`].
//! Both are exactly as current as the gate's facts: the same follower applies
//! [`Fact::Links`] here.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use diesel::prelude::*;

use super::store::{self, LinkRow};
use super::{CodeState, Registered};
use crate::codes::Level;
use crate::db::DbConnection;
use crate::db::schema::code_links;
use crate::facts::{Fact, Projection};

/// A registered code level as the resolver needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownCode {
    pub key: String,
    pub level: Level,
    pub product_name: String,
    pub state: CodeState,
    pub status_reason: Option<String>,
    pub owner_code: String,
}

/// Registered codes by canonical key, held in memory by whoever keeps them current (the
/// listing gate's read model); `None` also when the holder is not current, so that the
/// caller asks the database.
pub trait KnownCodes: Send + Sync {
    fn is_current(&self) -> bool;
    fn known(&self, key: &str) -> Option<KnownCode>;
}

/// Every published link, by the code key it belongs to, oldest first.
#[derive(Debug, Default)]
pub struct LinkIndex {
    by_code: RwLock<HashMap<Box<str>, Arc<[LinkRow]>>>,
}

impl LinkIndex {
    pub fn new() -> Self {
        Self::default()
    }

    fn of(&self, key: &str) -> Option<Arc<[LinkRow]>> {
        self.by_code
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    fn put(&self, key: &str, rows: Vec<LinkRow>) {
        let mut map = self.by_code.write().unwrap_or_else(|p| p.into_inner());
        if rows.is_empty() {
            map.remove(key);
        } else {
            map.insert(key.into(), rows.into());
        }
    }
}

impl Projection for LinkIndex {
    fn load(&self, conn: &mut DbConnection) -> QueryResult<()> {
        let rows: Vec<LinkRow> = code_links::table
            .order((code_links::created_at.asc(), code_links::id.asc()))
            .select(LinkRow::as_select())
            .load(conn)?;
        let mut grouped: HashMap<Box<str>, Vec<LinkRow>> = HashMap::new();
        for row in rows {
            grouped
                .entry(row.code_key.as_str().into())
                .or_default()
                .push(row);
        }
        *self.by_code.write().unwrap_or_else(|p| p.into_inner()) = grouped
            .into_iter()
            .map(|(key, rows)| (key, rows.into()))
            .collect();
        Ok(())
    }

    fn apply(&self, conn: &mut DbConnection, fact: &Fact) -> QueryResult<()> {
        if let Fact::Links(key) = fact {
            let rows = store::of_codes(conn, std::slice::from_ref(key))?;
            self.put(key, rows);
        }
        Ok(())
    }
}

/// [`super::look_up`] from memory: `None` when the codes are not current or none of the
/// keys is registered (a product may still be known through its lots: only the database
/// counts those).
pub fn look_up(
    codes: &dyn KnownCodes,
    links: &LinkIndex,
    keys: &[String],
    now: chrono::NaiveDateTime,
) -> Option<Vec<Registered>> {
    if !codes.is_current() {
        return None;
    }
    let mut found: Vec<KnownCode> = keys.iter().filter_map(|key| codes.known(key)).collect();
    if found.is_empty() {
        return None;
    }
    super::complete_product(&mut found, keys);
    Some(
        found
            .into_iter()
            .map(|code| {
                let rows = links.of(&code.key);
                super::registered(
                    code,
                    rows.iter()
                        .flat_map(|r| r.iter())
                        .filter(|l| l.is_active(now))
                        .cloned()
                        .collect(),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveDateTime};

    use super::*;

    struct Codes(Vec<KnownCode>, bool);

    impl KnownCodes for Codes {
        fn is_current(&self) -> bool {
            self.1
        }

        fn known(&self, key: &str) -> Option<KnownCode> {
            self.0.iter().find(|c| c.key == key).cloned()
        }
    }

    fn lot(state: CodeState) -> KnownCode {
        KnownCode {
            key: "/01/09506000134352/10/A1".into(),
            level: Level::Lot,
            product_name: "Tea".into(),
            state,
            status_reason: None,
            owner_code: "0312345678".into(),
        }
    }

    fn link(key: &str, until: Option<NaiveDateTime>) -> LinkRow {
        LinkRow {
            id: format!("{key}{until:?}"),
            code_key: key.into(),
            link_type: "https://gs1.org/voc/pip".into(),
            href: "https://brand.example/tea".into(),
            title: "Tea".into(),
            language: None,
            media_type: None,
            context: None,
            active_from: None,
            active_until: until,
            created_by: "client:x".into(),
            created_at: NaiveDateTime::default(),
        }
    }

    fn keys() -> Vec<String> {
        vec![
            "/01/09506000134352/10/A1".into(),
            "/01/09506000134352".into(),
        ]
    }

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 28)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .expect("a time")
    }

    #[test]
    fn a_lot_names_its_unregistered_product_and_carries_its_active_links() {
        let links = LinkIndex::new();
        links.put(
            "/01/09506000134352/10/A1",
            vec![
                link("/01/09506000134352/10/A1", None),
                link("/01/09506000134352/10/A1", Some(now())),
            ],
        );
        let found = look_up(
            &Codes(vec![lot(CodeState::Recalled)], true),
            &links,
            &keys(),
            now(),
        )
        .expect("registered");
        assert_eq!(found.len(), 2);
        assert_eq!(
            (found[0].level, found[0].state, found[0].links.len()),
            (Level::Lot, CodeState::Recalled, 1),
            "a link whose window ended is not answered"
        );
        assert_eq!(
            (
                found[1].key.as_str(),
                found[1].level,
                found[1].state,
                found[1].owner_code.as_str()
            ),
            (
                "/01/09506000134352",
                Level::Gtin,
                CodeState::Active,
                "0312345678"
            ),
            "the product stands active, owned as its lot"
        );
        assert!(found[1].links.is_empty());
    }

    #[test]
    fn the_database_is_asked_when_memory_is_not_current_or_knows_nothing() {
        let links = LinkIndex::new();
        let codes = Codes(vec![lot(CodeState::Active)], false);
        assert!(look_up(&codes, &links, &keys(), now()).is_none());
        let codes = Codes(Vec::new(), true);
        assert!(look_up(&codes, &links, &keys(), now()).is_none());
    }

    #[test]
    fn removing_the_last_link_forgets_the_code() {
        let links = LinkIndex::new();
        links.put("/01/x", vec![link("/01/x", None)]);
        assert!(links.of("/01/x").is_some());
        links.put("/01/x", Vec::new());
        assert!(links.of("/01/x").is_none());
    }
}
