//! Sessions known to be active, kept in memory for engines whose store no
//! other process writes: redb in memory, or a redb file opened without
//! `multi_process` (which redb locks to this process). Every change to a
//! session's state then goes through this engine, so the engine can keep
//! the cache exact and spare `verify_access` its store read.
//!
//! Invariants, all under `inner`'s lock:
//! - a family is in `active` only if the store held it active when it was
//!   read, and no call that may revoke or delete a family finished its write
//!   since that read began (`generation` counts those calls: an insert is
//!   refused when the count moved between the read and the insert);
//! - such a call bumps `generation` and forgets the family (or every family)
//!   after its write commits and before it returns, so no verification that
//!   begins after it returns can find the old state here;
//! - once disabled (the engine closed), nothing is found or inserted again.

use std::collections::HashSet;
use std::sync::RwLock;

use crate::store::records::Id16;

/// Most families remembered; past it the set starts again empty.
const CAPACITY: usize = 100_000;

pub(crate) struct ActiveSessions {
    inner: RwLock<Inner>,
}

struct Inner {
    active: HashSet<Id16>,
    generation: u64,
    enabled: bool,
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// Active, with no revoking call since it was read.
    Active,
    /// Unknown here: read the store, then [`ActiveSessions::insert`] with
    /// this generation if it is active.
    Unknown(u64),
}

impl ActiveSessions {
    pub(crate) fn new() -> Self {
        ActiveSessions {
            inner: RwLock::new(Inner {
                active: HashSet::new(),
                generation: 0,
                enabled: true,
            }),
        }
    }

    pub(crate) fn lookup(&self, family: &Id16) -> Lookup {
        match self.inner.read() {
            Ok(g) if g.enabled && g.active.contains(family) => Lookup::Active,
            Ok(g) => Lookup::Unknown(g.generation),
            // A poisoned lock: never claim anything; the store decides.
            Err(_) => Lookup::Unknown(u64::MAX),
        }
    }

    /// Remembers `family` as active, read at `generation`, unless a revoking
    /// call finished since.
    pub(crate) fn insert(&self, family: Id16, generation: u64) {
        if let Ok(mut g) = self.inner.write() {
            if g.enabled && g.generation == generation {
                if g.active.len() >= CAPACITY {
                    g.active.clear();
                }
                g.active.insert(family);
            }
        }
    }

    /// After a write that may have revoked `family` (or, with `None`, any
    /// family): forget it, and refuse inserts of reads begun before.
    pub(crate) fn forget(&self, family: Option<&Id16>) {
        match self.inner.write() {
            Ok(mut g) => {
                g.generation = g.generation.wrapping_add(1);
                match family {
                    Some(f) => {
                        g.active.remove(f);
                    }
                    None => g.active.clear(),
                }
            }
            // Poisoned: stop trusting the set at all.
            Err(e) => {
                let mut g = e.into_inner();
                g.enabled = false;
                g.active.clear();
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
        g.active.clear();
    }
}
