//! The Python binding of Tessera: the `tessera._native` extension module,
//! re-exported by the `tessera` package (python/tessera).
//!
//! The binding is thin: it converts values, releases the GIL around every
//! core call, and maps core errors to Python exceptions in one place
//! (`errors::to_py`). Anything about tokens is decided in core.

mod convert;
mod engine;
mod errors;
mod events;
mod fork;
mod keys;
mod values;
mod verifier;

use pyo3::prelude::*;

/// The native half of the `tessera` package; import `tessera` instead.
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("UNRESTRICTED_SCOPE", tessera::pat::UNRESTRICTED_SCOPE)?;
    m.add_class::<engine::Engine>()?;
    m.add_class::<verifier::Verifier>()?;
    m.add_class::<values::TokenPair>()?;
    m.add_class::<values::PendingRefresh>()?;
    m.add_class::<values::Session>()?;
    m.add_class::<values::Attempt>()?;
    m.add_class::<values::NewPat>()?;
    m.add_class::<values::Pat>()?;
    m.add_class::<values::Event>()?;
    m.add_function(wrap_pyfunction!(keys::generate_key, m)?)?;
    errors::register(m)?;
    fork::register(m)
}
