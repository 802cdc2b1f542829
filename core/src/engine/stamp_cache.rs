//! Users' change stamps, kept in memory under the same condition as the
//! active-session cache: this process is the store's only writer, so every
//! bump goes through this engine, which keeps the cache exact and spares a
//! stamped verification its store read when the session cache answered.
//!
//! Invariants, all under `inner`'s lock:
//! - a user's stamp is in `stamps` only if the store held that value when
//!   it was read, and no bump finished since that read began (`generation`
//!   counts bumps: an insert is refused when the count moved between the
//!   read and the insert);
//! - a bump advances `generation` and forgets the user after its write
//!   commits and before it returns, so no verification that begins after
//!   it returns can find the old stamp here. It forgets rather than
//!   writing the new value: two bumps may finish in either order;
//! - once disabled (the engine closed), nothing is found or inserted again.

use std::collections::HashMap;
use std::sync::RwLock;

/// Most users remembered; past it the map starts again empty.
const CAPACITY: usize = 100_000;

pub(crate) struct UserStamps {
    inner: RwLock<Inner>,
}

struct Inner {
    stamps: HashMap<String, u64>,
    generation: u64,
    enabled: bool,
}

/// What a lookup found.
pub(crate) enum StampLookup {
    /// The stamp, with no bump of the user since it was read.
    Known(u64),
    /// Unknown here: read the store, then [`UserStamps::insert`] with this
    /// generation.
    Unknown(u64),
}

impl UserStamps {
    pub(crate) fn new() -> Self {
        UserStamps {
            inner: RwLock::new(Inner {
                stamps: HashMap::new(),
                generation: 0,
                enabled: true,
            }),
        }
    }

    pub(crate) fn lookup(&self, user: &str) -> StampLookup {
        match self.inner.read() {
            Ok(g) if g.enabled => match g.stamps.get(user) {
                Some(s) => StampLookup::Known(*s),
                None => StampLookup::Unknown(g.generation),
            },
            Ok(g) => StampLookup::Unknown(g.generation),
            // A poisoned lock: never claim anything; the store decides.
            Err(_) => StampLookup::Unknown(u64::MAX),
        }
    }

    /// Remembers `stamp` for `user`, read at `generation`, unless a bump
    /// finished since.
    pub(crate) fn insert(&self, user: &str, stamp: u64, generation: u64) {
        if let Ok(mut g) = self.inner.write() {
            if g.enabled && g.generation == generation {
                if g.stamps.len() >= CAPACITY {
                    g.stamps.clear();
                }
                g.stamps.insert(user.to_owned(), stamp);
            }
        }
    }

    /// After a write that may have bumped `user`'s stamp (or, with `None`,
    /// anyone's): forget it, and refuse inserts of reads begun before.
    pub(crate) fn forget(&self, user: Option<&str>) {
        match self.inner.write() {
            Ok(mut g) => {
                g.generation = g.generation.wrapping_add(1);
                match user {
                    Some(u) => {
                        g.stamps.remove(u);
                    }
                    None => g.stamps.clear(),
                }
            }
            // Poisoned: stop trusting the map at all.
            Err(e) => {
                let mut g = e.into_inner();
                g.enabled = false;
                g.stamps.clear();
            }
        }
    }

    /// For good: nothing is found or remembered from now on.
    pub(crate) fn disable(&self) {
        let mut g = match self.inner.write() {
            Ok(g) => g,
            Err(e) => e.into_inner(),
        };
        g.enabled = false;
        g.stamps.clear();
    }
}
