//! Keeps `os.fork()` from copying an engine in the middle of a call.
//!
//! Engine calls run without the GIL, so another thread may fork while one
//! is inside the store. The child would inherit locks held by a thread that
//! does not exist in it. The gate prevents that: every engine call holds it
//! shared, and the hooks registered with `os.register_at_fork` hold it
//! exclusively from just before the fork until just after it, in parent and
//! child. After the fork, core notices the new pid and reopens its database
//! in the child.
//!
//! Invariant: no Python code runs while the gate is held shared (events are
//! delivered after the call, see `events`), so a call can never wait on
//! a fork in its own thread.

use std::cell::RefCell;
use std::sync::{PoisonError, RwLock, RwLockWriteGuard};

use pyo3::prelude::*;
use pyo3::types::PyDict;

static GATE: RwLock<()> = RwLock::new(());

thread_local! {
    /// The exclusive hold, from the `before` hook to the `after_*` hook;
    /// both run on the forking thread (the child's only thread).
    static HELD: RefCell<Option<RwLockWriteGuard<'static, ()>>> = const { RefCell::new(None) };
}

/// Runs one engine call inside the gate.
pub(crate) fn during_call<T>(f: impl FnOnce() -> T) -> T {
    let _shared = GATE.read().unwrap_or_else(PoisonError::into_inner);
    f()
}

/// Registers the hooks with `os.register_at_fork`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let hooks = PyDict::new(py);
    hooks.set_item("before", wrap_pyfunction!(before_fork, m)?)?;
    hooks.set_item("after_in_parent", wrap_pyfunction!(after_fork, m)?)?;
    hooks.set_item("after_in_child", wrap_pyfunction!(after_fork, m)?)?;
    py.import("os")?
        .getattr("register_at_fork")?
        .call((), Some(&hooks))?;
    Ok(())
}

/// Waits for engine calls in other threads to finish, then holds the gate.
#[pyfunction]
fn before_fork(py: Python<'_>) {
    // Waiting without the GIL lets the threads in those calls finish them.
    py.detach(|| {
        let guard = GATE.write().unwrap_or_else(PoisonError::into_inner);
        HELD.with(|held| *held.borrow_mut() = Some(guard));
    });
}

/// Lets engine calls run again.
#[pyfunction]
fn after_fork() {
    HELD.with(|held| held.borrow_mut().take());
}
