//! The gate's read model: exactly the facts a listing decision needs, in memory and
//! compact (no sealed personal data, no full rows), each with its version.
//!
//! Loaded whole at start, then kept current by following `fact_changes` in sequence order
//! (woken by this process's commits, and polling for other processes and nodes). A fact's
//! version is the sequence number of the last change that named it, or the load's
//! sequence for a fact unchanged since loading (so a restart never makes an old version
//! look current). A reader takes [`GateModel::applied`] before reading facts: every change
//! up to it is reflected, and any later change is caught by the decision writer.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use hashbrown::{Equivalent, HashMap, HashTable};

use crate::codes::Level;
use crate::codes::facts::{self as code_facts, Authorisation, CodeFacts, CodeState};
use crate::db::DbConnection;
use crate::epcis::facts::{self as custody_facts, CustodyFacts};
use crate::facts::{Fact, Projection, RecordedChange, changes_since, latest_seq};
use crate::identity::facts::{self as seller_facts, SellerFacts};

/// Reads the listings blocked by dispute sanctions: all, or one (platform, listing).
/// Disputes own them; startup hands the gate this reader.
pub type BlockedListings = dyn Fn(&mut DbConnection, Option<(&str, &str)>) -> diesel::QueryResult<Vec<(String, String)>>
    + Send
    + Sync;

/// Longest the model may go without following fact changes and still answer (a node that
/// cannot follow is not ready; the resolver then reads the database).
pub const FOLLOW_LAG_LIMIT: Duration = Duration::from_secs(5);

/// Changes applied per round of following.
const FOLLOW_BATCH: i64 = 5000;
const SHARDS: usize = 64;

/// A run of text in a shard's arena.
#[derive(Debug, Clone, Copy)]
struct Span {
    at: u32,
    len: u32,
}

/// One registered code, 40 bytes plus its key and product name in the shard's text.
#[derive(Debug, Clone, Copy)]
struct CodeEntry {
    key: Span,
    name: Span,
    owner: u32,
    /// Index in the origins, or `u32::MAX`.
    origin: u32,
    /// Days since 1970-01-01, or `i32::MIN`.
    expiry: i32,
    version: i64,
    level: Level,
    state: CodeState,
}

#[derive(Default)]
struct CodeShard {
    table: HashTable<u32>,
    entries: Vec<CodeEntry>,
    text: String,
}

impl CodeShard {
    fn text(&self, span: Span) -> &str {
        &self.text[span.at as usize..(span.at + span.len) as usize]
    }

    fn push_text(&mut self, text: &str) -> Span {
        let span = Span {
            at: self.text.len() as u32,
            len: text.len() as u32,
        };
        self.text.push_str(text);
        span
    }
}

/// Strings many codes share (owners' enterprise codes, origins), stored once.
#[derive(Default)]
struct Interner {
    ids: HashMap<Arc<str>, u32>,
    values: Vec<Arc<str>>,
}

impl Interner {
    fn id(&mut self, value: &str) -> u32 {
        if let Some(id) = self.ids.get(value) {
            return *id;
        }
        let value: Arc<str> = Arc::from(value);
        let id = self.values.len() as u32;
        self.values.push(value.clone());
        self.ids.insert(value, id);
        id
    }
}

/// A registered code as the gate reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeView {
    pub key: String,
    pub level: Level,
    pub state: CodeState,
    pub owner_code: Arc<str>,
    pub product_name: String,
    pub origin: Option<Arc<str>>,
    pub expiry: Option<NaiveDate>,
    pub version: i64,
}

/// The seller bound to a shop (none: unbound), with the binding's version.
#[derive(Debug, Clone)]
struct ShopEntry {
    seller: Option<Arc<str>>,
    version: i64,
}

#[derive(Debug, Clone)]
struct SellerEntry {
    facts: Arc<SellerFacts>,
    version: i64,
}

#[derive(Debug, Clone, Default)]
struct AuthEntry {
    grants: Vec<(Box<str>, NaiveDateTime)>,
    version: i64,
}

/// What a business received of a lot.
#[derive(Debug, Clone, Copy)]
struct CustodyEntry {
    receipts: i64,
    units: Option<f64>,
    version: i64,
}

/// A business's custody of a lot as a decision reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CustodyView {
    /// Events by which it received (some of) the lot.
    pub receipts: i64,
    /// Units received, when every receipt counts them.
    pub units: Option<f64>,
    pub version: i64,
}

#[derive(Debug, Clone, Copy)]
struct BlockEntry {
    blocked: bool,
    version: i64,
}

/// An id scoped by a platform (a shop, a listing).
type Scoped = (Box<str>, Box<str>);

/// A (platform, id) pair as a look-up key, without building the stored key.
#[derive(Hash)]
struct Pair<'a>(&'a str, &'a str);

impl Equivalent<Scoped> for Pair<'_> {
    fn equivalent(&self, key: &(Box<str>, Box<str>)) -> bool {
        *key.0 == *self.0 && *key.1 == *self.1
    }
}

/// The seller behind a shop as a decision reads it.
#[derive(Debug, Clone)]
pub struct ShopView {
    pub seller: Option<(Arc<SellerFacts>, i64)>,
    pub binding_version: i64,
}

/// A distributor's right as a decision reads it: whether it holds, until when, and the
/// versions of the keys it was looked up under.
#[derive(Debug, Clone, Default)]
pub struct RightView {
    pub authorised: bool,
    pub until: Option<NaiveDateTime>,
    pub versions: Vec<i64>,
}

/// Counts for `/metrics` and start-up logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSize {
    pub codes: usize,
    pub sellers: usize,
    pub shops: usize,
}

pub struct GateModel {
    /// The facts are loaded (before, nothing can be decided).
    loaded_once: std::sync::atomic::AtomicBool,
    /// Every change up to this sequence number is applied.
    applied: AtomicI64,
    /// The sequence at load: the version of every fact unchanged since.
    loaded: AtomicI64,
    /// When following last succeeded (millis since `born`), for readiness.
    followed_at: AtomicU64,
    born: Instant,
    hasher: hashbrown::DefaultHashBuilder,
    codes: Box<[RwLock<CodeShard>]>,
    owners: RwLock<Interner>,
    origins: RwLock<Interner>,
    reasons: RwLock<HashMap<Box<str>, Box<str>>>,
    sellers: RwLock<HashMap<Box<str>, SellerEntry>>,
    shops: RwLock<HashMap<Scoped, ShopEntry>>,
    rights: RwLock<HashMap<Box<str>, AuthEntry>>,
    blocks: RwLock<HashMap<Scoped, BlockEntry>>,
    /// By (business, lot).
    custody: RwLock<HashMap<Scoped, CustodyEntry>>,
    blocked_listings: Box<BlockedListings>,
    /// Other features' read models, followed with this one.
    projections: Vec<Arc<dyn Projection>>,
    /// One follower at a time.
    following: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for GateModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GateModel({:?})", self.size())
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

fn days(date: Option<NaiveDate>) -> i32 {
    date.map_or(i32::MIN, |d| {
        (d - NaiveDate::default())
            .num_days()
            .clamp(i64::from(i32::MIN) + 1, i64::from(i32::MAX)) as i32
    })
}

fn date(days: i32) -> Option<NaiveDate> {
    (days != i32::MIN).then(|| NaiveDate::default() + chrono::TimeDelta::days(i64::from(days)))
}

impl GateModel {
    /// An empty model; [`GateModel::load`] fills it.
    pub fn new(blocked_listings: Box<BlockedListings>) -> Self {
        Self {
            loaded_once: std::sync::atomic::AtomicBool::new(false),
            applied: AtomicI64::new(0),
            loaded: AtomicI64::new(0),
            followed_at: AtomicU64::new(0),
            born: Instant::now(),
            hasher: hashbrown::DefaultHashBuilder::default(),
            codes: (0..SHARDS).map(|_| RwLock::default()).collect(),
            owners: RwLock::default(),
            origins: RwLock::default(),
            reasons: RwLock::default(),
            sellers: RwLock::default(),
            shops: RwLock::default(),
            rights: RwLock::default(),
            blocks: RwLock::default(),
            custody: RwLock::default(),
            blocked_listings,
            projections: Vec::new(),
            following: tokio::sync::Mutex::new(()),
        }
    }

    /// Keeps another feature's read model current with this one (before loading).
    pub fn keeping(mut self, projection: Arc<dyn Projection>) -> Self {
        self.projections.push(projection);
        self
    }

    /// Whether the facts are loaded and were followed within `bound`: a reader that
    /// may also ask the database prefers it otherwise.
    pub fn followed_within(&self, bound: Duration) -> bool {
        self.is_loaded() && self.behind() <= bound
    }

    /// Every change up to this sequence number is reflected. Read it before the facts.
    pub fn applied(&self) -> i64 {
        self.applied.load(Ordering::Acquire)
    }

    pub fn size(&self) -> ModelSize {
        ModelSize {
            codes: self.codes.iter().map(|s| read(s).entries.len()).sum(),
            sellers: read(&self.sellers).len(),
            shops: read(&self.shops)
                .values()
                .filter(|s| s.seller.is_some())
                .count(),
        }
    }

    /// How long since following last succeeded.
    pub fn behind(&self) -> Duration {
        let at = Duration::from_millis(self.followed_at.load(Ordering::Relaxed));
        self.born.elapsed().saturating_sub(at)
    }

    fn mark_followed(&self) {
        self.followed_at
            .store(self.born.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Loads every fact. The sequence is read first: a change committed while loading is
    /// applied again by the follower.
    pub fn load(&self, conn: &mut DbConnection, now: NaiveDateTime) -> diesel::QueryResult<()> {
        let seq = latest_seq(conn)?;
        self.loaded.store(seq, Ordering::Release);
        let mut loaded = 0usize;
        code_facts::each_code(conn, |code| {
            self.put_code(&code, seq);
            loaded += 1;
        })?;
        for shard in self.codes.iter() {
            let mut shard = write(shard);
            shard.entries.shrink_to_fit();
            shard.text.shrink_to_fit();
        }
        {
            let mut sellers = write(&self.sellers);
            for facts in seller_facts::all_sellers(conn)? {
                sellers.insert(
                    facts.seller_id.as_str().into(),
                    SellerEntry {
                        facts: Arc::new(facts),
                        version: seq,
                    },
                );
            }
        }
        {
            let mut shops = write(&self.shops);
            for binding in seller_facts::all_bindings(conn)? {
                shops.insert(
                    (binding.platform_id.into(), binding.shop_id.into()),
                    ShopEntry {
                        seller: Some(binding.seller_id.into()),
                        version: seq,
                    },
                );
            }
        }
        {
            let mut rights = write(&self.rights);
            for grant in code_facts::authorisations(conn, None, now)? {
                let entry = rights
                    .entry(grant.code_key.as_str().into())
                    .or_insert_with(|| AuthEntry {
                        grants: Vec::new(),
                        version: seq,
                    });
                entry
                    .grants
                    .push((grant.distributor_code.into(), grant.valid_until));
            }
        }
        {
            let mut blocks = write(&self.blocks);
            for (platform, listing) in (self.blocked_listings)(conn, None)? {
                blocks.insert(
                    (platform.into(), listing.into()),
                    BlockEntry {
                        blocked: true,
                        version: seq,
                    },
                );
            }
        }
        {
            let mut custody = write(&self.custody);
            for facts in custody_facts::all_custody(conn)? {
                custody.insert(
                    (facts.business.into(), facts.lot.into()),
                    CustodyEntry {
                        receipts: facts.receipts,
                        units: facts.units,
                        version: seq,
                    },
                );
            }
        }
        for projection in &self.projections {
            projection.load(conn)?;
        }
        self.applied.store(seq, Ordering::Release);
        self.mark_followed();
        self.loaded_once.store(true, Ordering::Release);
        tracing::info!(codes = loaded, seq, "listing gate facts loaded");
        Ok(())
    }

    /// Whether the facts are loaded.
    pub fn is_loaded(&self) -> bool {
        self.loaded_once.load(Ordering::Acquire)
    }

    fn shard_of(&self, hash: u64) -> &RwLock<CodeShard> {
        &self.codes[(hash >> 58) as usize % SHARDS]
    }

    fn put_code(&self, code: &CodeFacts, version: i64) {
        let owner = write(&self.owners).id(&code.owner_code);
        let origin = code
            .origin
            .as_deref()
            .map_or(u32::MAX, |o| write(&self.origins).id(o));
        if code.state != CodeState::Active
            && let Some(reason) = &code.status_reason
        {
            write(&self.reasons).insert(code.key.as_str().into(), reason.as_str().into());
        }
        let hash = self.hasher.hash_one(code.key.as_str());
        let mut guard = write(self.shard_of(hash));
        let shard = &mut *guard;
        let found = shard
            .table
            .find(hash, |&i| {
                shard.text(shard.entries[i as usize].key) == code.key
            })
            .copied();
        match found {
            Some(i) => {
                let old = shard.entries[i as usize];
                let name = if shard.text(old.name) == code.product_name {
                    old.name
                } else {
                    shard.push_text(&code.product_name)
                };
                shard.entries[i as usize] = CodeEntry {
                    key: old.key,
                    name,
                    owner,
                    origin,
                    expiry: days(code.expiry),
                    version,
                    level: code.level,
                    state: code.state,
                };
            }
            None => {
                let key = shard.push_text(&code.key);
                let name = shard.push_text(&code.product_name);
                let index = shard.entries.len() as u32;
                shard.entries.push(CodeEntry {
                    key,
                    name,
                    owner,
                    origin,
                    expiry: days(code.expiry),
                    version,
                    level: code.level,
                    state: code.state,
                });
                let CodeShard {
                    table,
                    entries,
                    text,
                } = shard;
                table.insert_unique(hash, index, |&i| {
                    let span = entries[i as usize].key;
                    self.hasher
                        .hash_one(&text[span.at as usize..(span.at + span.len) as usize])
                });
            }
        }
    }

    /// The version of a code key that is not registered.
    fn absent(&self) -> i64 {
        self.loaded.load(Ordering::Acquire)
    }

    /// A code key's status (if registered) and version, without the rest.
    pub fn code_state(&self, key: &str) -> (Option<CodeState>, i64) {
        let hash = self.hasher.hash_one(key);
        let shard = read(self.shard_of(hash));
        match shard
            .table
            .find(hash, |&i| shard.text(shard.entries[i as usize].key) == key)
        {
            Some(&i) => {
                let entry = shard.entries[i as usize];
                (Some(entry.state), entry.version)
            }
            None => (None, self.absent()),
        }
    }

    /// A code key's registration (if any) and version.
    pub fn code(&self, key: &str) -> (Option<CodeView>, i64) {
        let hash = self.hasher.hash_one(key);
        let shard = read(self.shard_of(hash));
        let Some(&i) = shard
            .table
            .find(hash, |&i| shard.text(shard.entries[i as usize].key) == key)
        else {
            return (None, self.absent());
        };
        let entry = shard.entries[i as usize];
        let view = CodeView {
            key: key.to_string(),
            level: entry.level,
            state: entry.state,
            owner_code: read(&self.owners).values[entry.owner as usize].clone(),
            product_name: shard.text(entry.name).to_string(),
            origin: (entry.origin != u32::MAX)
                .then(|| read(&self.origins).values[entry.origin as usize].clone()),
            expiry: date(entry.expiry),
            version: entry.version,
        };
        (Some(view), entry.version)
    }

    /// Why a code was recalled or revoked, as its issuer or an officer said.
    pub fn status_reason(&self, key: &str) -> Option<String> {
        read(&self.reasons).get(key).map(|r| r.to_string())
    }

    /// The seller bound to a platform's shop.
    pub fn shop(&self, platform: &str, shop: &str) -> ShopView {
        let entry = read(&self.shops).get(&Pair(platform, shop)).cloned();
        let (seller_id, binding_version) = match entry {
            Some(e) => (e.seller, e.version),
            None => (None, self.absent()),
        };
        let seller = seller_id.and_then(|id| {
            read(&self.sellers)
                .get(&*id)
                .map(|e| (e.facts.clone(), e.version))
        });
        ShopView {
            seller,
            binding_version,
        }
    }

    /// Whether `distributor` may sell what the code keys name (product or lot) at `now`.
    pub fn right(&self, keys: &[String], distributor: &str, now: NaiveDateTime) -> RightView {
        let rights = read(&self.rights);
        let mut view = RightView::default();
        for key in keys {
            match rights.get(key.as_str()) {
                Some(entry) => {
                    view.versions.push(entry.version);
                    for (who, until) in &entry.grants {
                        if &**who == distributor && *until > now {
                            view.authorised = true;
                            view.until = Some(view.until.map_or(*until, |u| u.max(*until)));
                        }
                    }
                }
                None => view.versions.push(self.absent()),
            }
        }
        view
    }

    /// Whether a dispute sanction blocks a platform's listing, and the block's version.
    pub fn block(&self, platform: &str, listing: &str) -> (bool, i64) {
        read(&self.blocks)
            .get(&Pair(platform, listing))
            .map_or((false, self.absent()), |b| (b.blocked, b.version))
    }

    /// What a business received of a lot (`/01/{gtin}/10/{lot}`), with the fact's version.
    pub fn custody(&self, business: &str, lot: &str) -> CustodyView {
        read(&self.custody).get(&Pair(business, lot)).map_or(
            CustodyView {
                receipts: 0,
                units: None,
                version: self.absent(),
            },
            |c| CustodyView {
                receipts: c.receipts,
                units: c.units,
                version: c.version,
            },
        )
    }

    /// Applies recorded changes (in sequence order), reading each named fact anew.
    pub fn apply(
        &self,
        conn: &mut DbConnection,
        changes: &[RecordedChange],
        now: NaiveDateTime,
    ) -> diesel::QueryResult<()> {
        for change in changes {
            let version = change.seq;
            match &change.fact {
                Fact::Code(key) => {
                    for code in code_facts::codes_by_key(conn, &[key.as_str()])? {
                        self.put_code(&code, version);
                    }
                }
                Fact::CodeBatch(batch) => {
                    code_facts::each_code_of_batch(conn, batch, |code| {
                        self.put_code(&code, version)
                    })?;
                }
                Fact::Seller(id) => {
                    let found = seller_facts::sellers_by_id(conn, &[id.as_str()])?;
                    let mut sellers = write(&self.sellers);
                    match found.into_iter().next() {
                        Some(facts) => {
                            sellers.insert(
                                id.as_str().into(),
                                SellerEntry {
                                    facts: Arc::new(facts),
                                    version,
                                },
                            );
                        }
                        None => {
                            sellers.remove(id.as_str());
                        }
                    }
                }
                Fact::Binding { platform, shop } => {
                    let seller = seller_facts::bound_seller(conn, platform, shop)?;
                    write(&self.shops).insert(
                        (platform.as_str().into(), shop.as_str().into()),
                        ShopEntry {
                            seller: seller.map(Into::into),
                            version,
                        },
                    );
                }
                Fact::Authorisation(key) => {
                    let grants = code_facts::authorisations(conn, Some(&[key.as_str()]), now)?;
                    write(&self.rights).insert(
                        key.as_str().into(),
                        AuthEntry {
                            grants: grants
                                .into_iter()
                                .map(
                                    |Authorisation {
                                         distributor_code,
                                         valid_until,
                                         ..
                                     }| {
                                        (distributor_code.into(), valid_until)
                                    },
                                )
                                .collect(),
                            version,
                        },
                    );
                }
                Fact::Block { platform, listing } => {
                    let blocked =
                        !(self.blocked_listings)(conn, Some((platform, listing)))?.is_empty();
                    write(&self.blocks).insert(
                        (platform.as_str().into(), listing.as_str().into()),
                        BlockEntry { blocked, version },
                    );
                }
                Fact::Custody { business, lot } => {
                    let found: Option<CustodyFacts> =
                        custody_facts::custody_of(conn, business, lot)?;
                    write(&self.custody).insert(
                        (business.as_str().into(), lot.as_str().into()),
                        CustodyEntry {
                            receipts: found.as_ref().map_or(0, |f| f.receipts),
                            units: found.and_then(|f| f.units),
                            version,
                        },
                    );
                }
                Fact::Links(_) => {}
            }
            for projection in &self.projections {
                projection.apply(conn, &change.fact)?;
            }
            self.applied.store(change.seq, Ordering::Release);
        }
        Ok(())
    }

    /// One round of following: applies every change recorded since the last one. Returns
    /// the sequence now applied.
    pub fn follow(&self, conn: &mut DbConnection, now: NaiveDateTime) -> diesel::QueryResult<i64> {
        if !self.is_loaded() {
            self.load(conn, now)?;
            return Ok(self.applied());
        }
        loop {
            let changes = changes_since(conn, self.applied(), FOLLOW_BATCH)?;
            let done = (changes.len() as i64) < FOLLOW_BATCH;
            self.apply(conn, &changes, now)?;
            if done {
                break;
            }
        }
        self.mark_followed();
        Ok(self.applied())
    }

    /// Serialises rounds of following (the background follower and catch-ups asked for
    /// by the gate).
    pub async fn follow_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.following.lock().await
    }
}

/// The resolver reads registered codes from here while the model is as current as a ready
/// node must be; otherwise from the database.
impl crate::links::KnownCodes for GateModel {
    fn is_current(&self) -> bool {
        self.followed_within(FOLLOW_LAG_LIMIT)
    }

    fn known(&self, key: &str) -> Option<crate::links::KnownCode> {
        let view = self.code(key).0?;
        Some(crate::links::KnownCode {
            status_reason: (view.state != CodeState::Active)
                .then(|| self.status_reason(key))
                .flatten(),
            key: view.key,
            level: view.level,
            product_name: view.product_name,
            state: view.state,
            owner_code: view.owner_code.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> GateModel {
        GateModel::new(Box::new(|_, _| Ok(Vec::new())))
    }

    fn code(key: &str, state: CodeState, name: &str) -> CodeFacts {
        CodeFacts {
            key: key.into(),
            level: Level::Lot,
            state,
            status_reason: None,
            owner_code: "0312345678".into(),
            product_name: name.into(),
            origin: Some("79".into()),
            expiry: NaiveDate::from_ymd_opt(2030, 12, 31),
        }
    }

    #[test]
    fn codes_are_found_by_key_and_replaced_in_place() {
        let m = model();
        for n in 0..5000 {
            m.put_code(
                &code(&format!("/01/x/10/L{n}"), CodeState::Active, "Tea"),
                1,
            );
        }
        let (found, version) = m.code("/01/x/10/L4321");
        let found = found.expect("registered");
        assert_eq!(version, 1);
        assert_eq!(found.product_name, "Tea");
        assert_eq!(&*found.owner_code, "0312345678");
        assert_eq!(found.origin.as_deref(), Some("79"));
        assert_eq!(found.expiry, NaiveDate::from_ymd_opt(2030, 12, 31));
        m.put_code(&code("/01/x/10/L4321", CodeState::Recalled, "Green tea"), 7);
        let (found, version) = m.code("/01/x/10/L4321");
        assert_eq!(version, 7);
        let found = found.expect("still registered");
        assert_eq!(
            (found.state, found.product_name.as_str()),
            (CodeState::Recalled, "Green tea")
        );
        assert_eq!(m.size().codes, 5000);
        assert!(m.code("/01/x/10/L5000").0.is_none());
    }

    #[test]
    fn absent_facts_carry_the_load_version() {
        let m = model();
        m.loaded.store(42, Ordering::Release);
        assert_eq!(m.code("/01/none").1, 42);
        assert_eq!(m.shop("p", "s").binding_version, 42);
        assert_eq!(m.block("p", "l"), (false, 42));
    }
}
