//! Delivers core's audit events to a Python callable.
//!
//! Core calls its sink synchronously inside an engine call, which here runs
//! without the GIL. The sink only queues the event on the calling thread;
//! the engine wrapper delivers the queue once the call has returned and the
//! GIL is held again. So a handler runs on the thread that made the call,
//! before that call returns, and never while the engine holds a lock.
//!
//! A handler that raises an `Exception` cannot fail the call (the change is
//! already durable): the exception is logged on the `tessera` logger and
//! the next event is delivered. Other `BaseException`s (KeyboardInterrupt,
//! SystemExit) propagate, as they would from any Python code.

use std::cell::RefCell;
use std::sync::Arc;

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tessera::EventSink;

use crate::values::Event;

type Pending = Vec<(Arc<Py<PyAny>>, tessera::Event)>;

thread_local! {
    static PENDING: RefCell<Pending> = const { RefCell::new(Vec::new()) };
}

/// A core sink that queues events for `handler`.
pub(crate) fn sink(handler: Py<PyAny>) -> Arc<dyn EventSink> {
    let handler = Arc::new(handler);
    Arc::new(move |event: &tessera::Event| {
        PENDING.with(|p| p.borrow_mut().push((Arc::clone(&handler), event.clone())));
    })
}

/// Calls the handlers of the events this thread's last call queued.
pub(crate) fn deliver(py: Python<'_>) -> PyResult<()> {
    let pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    for (handler, event) in pending {
        let event = Py::new(py, Event::from(event))?;
        if let Err(err) = handler.call1(py, (event,)) {
            if !err.is_instance_of::<PyException>(py) {
                return Err(err);
            }
            log(py, err);
        }
    }
    Ok(())
}

fn log(py: Python<'_>, err: PyErr) {
    let logged = (|| -> PyResult<()> {
        let logger = py
            .import("logging")?
            .call_method1("getLogger", ("tessera",))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("exc_info", err.value(py))?;
        logger.call_method(
            "error",
            ("the tessera events handler raised; the event was dropped",),
            Some(&kwargs),
        )?;
        Ok(())
    })();
    if let Err(e) = logged {
        e.write_unraisable(py, None);
    }
}
