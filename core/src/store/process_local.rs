//! A resource that belongs to the process that made it.
//!
//! After `fork()` the child has a copy of the parent's memory, and with it
//! the parent's handles: a redb database, a pool of PostgreSQL connections.
//! Using or dropping one from the child acts on the parent's state (closing
//! its file, or its sockets). A [`ProcessLocal`] remembers the pid that made
//! its value. A process that finds another pid is a child: the store decides
//! what to do with the inherited value (keep it when it is the child's own
//! copy, as an in-memory database is; otherwise leak it, never using or
//! dropping it, and make a new one).
//!
//! Invariant: a value is only ever used, returned or dropped by the process
//! whose pid is stored beside it.

use std::sync::RwLock;

use crate::error::{Error, Result};

pub(crate) struct ProcessLocal<T> {
    slot: RwLock<Slot<T>>,
}

struct Slot<T> {
    /// `None` once closed.
    value: Option<T>,
    /// The process the value belongs to.
    pid: u32,
}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            // Inherited across fork(): dropping it would act on the parent's.
            std::mem::forget(self.value.take());
        }
    }
}

fn poisoned() -> Error {
    Error::storage("lock poisoned")
}

fn closed() -> Error {
    Error::storage("the engine is closed")
}

impl<T: Clone> ProcessLocal<T> {
    pub(crate) fn new(value: T) -> Self {
        ProcessLocal {
            slot: RwLock::new(Slot {
                value: Some(value),
                pid: std::process::id(),
            }),
        }
    }

    /// This process's value. In a child of `fork()`, the first call gives
    /// the inherited value (`None` if it was closed) to `after_fork`, whose
    /// result becomes the child's: `Ok(None)` leaves it closed, and an error
    /// is returned and leaves it closed too.
    pub(crate) fn get(&self, after_fork: impl FnOnce(Option<T>) -> Result<Option<T>>) -> Result<T> {
        let pid = std::process::id();
        {
            let slot = self.slot.read().map_err(|_| poisoned())?;
            if slot.pid == pid {
                return slot.value.clone().ok_or_else(closed);
            }
        }
        let mut slot = self.slot.write().map_err(|_| poisoned())?;
        if slot.pid != pid {
            let inherited = slot.value.take();
            slot.pid = pid;
            slot.value = after_fork(inherited)?;
        }
        slot.value.clone().ok_or_else(closed)
    }

    /// Takes the value out, to close it: `None` when already closed, or
    /// when the value was inherited (which is leaked instead).
    pub(crate) fn take(&self) -> Result<Option<T>> {
        let mut slot = self.slot.write().map_err(|_| poisoned())?;
        if slot.pid != std::process::id() {
            std::mem::forget(slot.value.take());
            return Ok(None);
        }
        Ok(slot.value.take())
    }
}
