//! The Python exception hierarchy, and the one function that maps a core
//! error onto it.
//!
//! Invariants: there is one class per stable code in `tessera::Error::CODES`,
//! all under `TesseraError`, and each carries its code as the class attribute
//! `code`. `ConfigError` is also a `ValueError`, so hosts that validate
//! settings with `except ValueError` keep working. The message is the core
//! error's detail, which never holds a token or a secret.

use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// Class name, code and docstring, in the order of `tessera::Error::CODES`.
const CLASSES: [(&str, &str, &str); 11] = [
    (
        "TokenInvalid",
        "token_invalid",
        "The token is malformed, its signature does not verify, or a claim is wrong.",
    ),
    (
        "TokenExpired",
        "token_expired",
        "The token's exp (plus leeway) has passed.",
    ),
    (
        "TokenNotYetValid",
        "token_not_yet_valid",
        "The token's nbf or iat lies in the future beyond the leeway.",
    ),
    (
        "TokenWrongType",
        "token_wrong_type",
        "A refresh token was presented where an access token was expected, or the reverse.",
    ),
    (
        "TokenRevoked",
        "token_revoked",
        "The token's session was logged out, or all of its user's sessions were.",
    ),
    (
        "RefreshReused",
        "refresh_reused",
        "An already-rotated refresh token was presented again; its session is now revoked.",
    ),
    (
        "PatInvalid",
        "pat_invalid",
        "The personal access token is malformed, fails its checksum, or is unknown.",
    ),
    (
        "PatExpired",
        "pat_expired",
        "The personal access token is past its expires_at.",
    ),
    (
        "PatRevoked",
        "pat_revoked",
        "The personal access token was revoked by its owner.",
    ),
    (
        "StorageError",
        "storage_error",
        "The store failed (I/O, lock, closed engine); the operation did not take effect.",
    ),
    (
        "ConfigError",
        "config_invalid",
        "The configuration, a key, or an argument is unusable. Also a ValueError.",
    ),
];

/// The code of the base class; the engine never raises the base itself.
const BASE_CODE: &str = "tessera_error";

/// The created classes: the base, then one per entry of [`CLASSES`].
struct Classes {
    base: Py<PyType>,
    by_code: Vec<Py<PyType>>,
}

static EXCEPTIONS: PyOnceLock<Classes> = PyOnceLock::new();

/// Maps a core error to its Python exception. The only such mapping.
pub(crate) fn to_py(py: Python<'_>, err: tessera::Error) -> PyErr {
    match classes(py) {
        Ok(c) => {
            // A code newer than this table still raises a TesseraError.
            let class = CLASSES
                .iter()
                .position(|(_, code, _)| *code == err.code())
                .and_then(|i| c.by_code.get(i))
                .unwrap_or(&c.base);
            PyErr::from_type(class.bind(py).clone(), err.detail().to_owned())
        }
        Err(e) => e,
    }
}

/// `result.or_raise(py)?`: a core result as a Python one, through [`to_py`].
pub(crate) trait OrRaise<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> OrRaise<T> for tessera::Result<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}

/// A `ConfigError` for an argument the binding refuses before core sees it.
pub(crate) fn config(py: Python<'_>, detail: impl Into<String>) -> PyErr {
    to_py(py, tessera::Error::ConfigInvalid(detail.into().into()))
}

/// Adds the classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let c = classes(py)?;
    m.add("TesseraError", c.base.bind(py))?;
    for ((name, _, _), class) in CLASSES.iter().zip(&c.by_code) {
        m.add(*name, class.bind(py))?;
    }
    Ok(())
}

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    EXCEPTIONS.get_or_try_init(py, || {
        let base = new_class(
            py,
            "TesseraError",
            "Base of every Tessera error; `code` is the stable machine code.",
            BASE_CODE,
            PyTuple::new(py, [py.get_type::<PyException>()])?,
        )?;
        let by_code = CLASSES
            .iter()
            .map(|(name, code, doc)| {
                let bases = if *code == "config_invalid" {
                    PyTuple::new(py, [base.bind(py), &py.get_type::<PyValueError>()])?
                } else {
                    PyTuple::new(py, [base.bind(py)])?
                };
                new_class(py, name, doc, code, bases)
            })
            .collect::<PyResult<_>>()?;
        Ok(Classes { base, by_code })
    })
}

/// `type(name, bases, namespace)`: the one way to give a class two bases.
fn new_class(
    py: Python<'_>,
    name: &str,
    doc: &str,
    code: &str,
    bases: Bound<'_, PyTuple>,
) -> PyResult<Py<PyType>> {
    let namespace = PyDict::new(py);
    namespace.set_item("__module__", "tessera")?;
    namespace.set_item("__doc__", doc)?;
    namespace.set_item("code", code)?;
    let class = py
        .get_type::<PyType>()
        .call1((name, bases, namespace))?
        .cast_into::<PyType>()?;
    Ok(class.unbind())
}
