//! In-memory caches for the listing gate's reads: the seller behind each bound shop, and
//! registered codes (including "not registered"). Writes in this process invalidate them
//! at once; every entry also expires after [`MAX_AGE`], which bounds how stale a write made
//! elsewhere (another node, a command-line import) can be seen.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use crate::codes::store::CodeRow;
use crate::identity::SellerRow;

/// Longest an entry is trusted.
pub const MAX_AGE: Duration = Duration::from_secs(30);

#[derive(Clone)]
struct Entry<T> {
    value: T,
    at: Instant,
}

/// The caches of one running service.
pub struct HotCache {
    shops: Cache<(String, String), Entry<Option<Arc<SellerRow>>>>,
    codes: Cache<String, Entry<Option<Arc<CodeRow>>>>,
    /// Listings blocked by a dispute sanction, as `{platform}/{listing}` (few: read whole).
    blocked: RwLock<Option<Entry<Arc<HashSet<String>>>>>,
}

impl std::fmt::Debug for HotCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HotCache(shops {}, codes {})",
            self.shops.len(),
            self.codes.len()
        )
    }
}

impl Default for HotCache {
    fn default() -> Self {
        // Sized so that a service under load with a million codes stays inside 256 MiB
        // (docs/PERFORMANCE.md); with codes drawn at random a larger cache gains little.
        Self::new(60_000, 120_000)
    }
}

fn fresh<T: Clone>(entry: Option<Entry<T>>) -> Option<T> {
    entry.filter(|e| e.at.elapsed() < MAX_AGE).map(|e| e.value)
}

impl HotCache {
    pub fn new(shops: usize, codes: usize) -> Self {
        Self {
            shops: Cache::new(shops),
            codes: Cache::new(codes),
            blocked: RwLock::new(None),
        }
    }

    /// The key of a listing in the blocked set.
    pub fn listing_key(platform: &str, listing: &str) -> String {
        format!("{platform}/{listing}")
    }

    /// The blocked listings, unless they must be read again.
    pub fn blocked_listings(&self) -> Option<Arc<HashSet<String>>> {
        let guard = self.blocked.read().unwrap_or_else(|p| p.into_inner());
        fresh(guard.clone())
    }

    /// Caches the blocked listings just read; returns them.
    pub fn put_blocked_listings(&self, listings: HashSet<String>) -> Arc<HashSet<String>> {
        let value = Arc::new(listings);
        *self.blocked.write().unwrap_or_else(|p| p.into_inner()) = Some(Entry {
            value: value.clone(),
            at: Instant::now(),
        });
        value
    }

    /// A listing was blocked or unblocked.
    pub fn blocks_changed(&self) {
        *self.blocked.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// `Some(None)` means "known: no seller is bound"; `None` means "not cached".
    pub fn shop(&self, platform: &str, shop: &str) -> Option<Option<Arc<SellerRow>>> {
        fresh(self.shops.get(&(platform.to_string(), shop.to_string())))
    }

    pub fn put_shop(&self, platform: &str, shop: &str, seller: Option<SellerRow>) {
        self.shops.insert(
            (platform.to_string(), shop.to_string()),
            Entry {
                value: seller.map(Arc::new),
                at: Instant::now(),
            },
        );
    }

    /// Any change to a seller or a binding: the shop entries are few and cheap to reload.
    pub fn sellers_changed(&self) {
        self.shops.clear();
    }

    /// `Some(None)` means "known: not registered".
    pub fn code(&self, key: &str) -> Option<Option<Arc<CodeRow>>> {
        fresh(self.codes.get(key))
    }

    pub fn put_code(&self, key: &str, row: Option<CodeRow>) {
        self.codes.insert(
            key.to_string(),
            Entry {
                value: row.map(Arc::new),
                at: Instant::now(),
            },
        );
    }

    pub fn codes_changed<'a>(&self, keys: impl IntoIterator<Item = &'a String>) {
        for key in keys {
            self.codes.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidated_codes_are_read_again() {
        let cache = HotCache::new(10, 10);
        cache.put_code("/01/x", None);
        assert_eq!(
            cache.code("/01/x").map(|c| c.is_none()),
            Some(true),
            "negative entry"
        );
        cache.codes_changed([&"/01/x".to_string()]);
        assert!(cache.code("/01/x").is_none());
    }
}
