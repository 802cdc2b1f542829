//! The Python exception hierarchy, and the one function that maps a core
//! error onto it.
//!
//! Invariants: there is one class per engine code of the catalog
//! (`tessera::CATALOG`), all under `TesseraError`, and each carries its code
//! as the class attribute `code` and its meaning as its docstring. `ConfigError` is also a `ValueError`, so hosts that validate
//! settings with `except ValueError` keep working. The message is the core
//! error's detail, which never holds a token or a secret.

use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// Class names that are not the code in CamelCase; kept for the API that
/// shipped with them.
const RENAMED: [(&str, &str); 1] = [("config_invalid", "ConfigError")];

/// The engine's codes, in catalog order: one exception class each.
fn engine_codes() -> impl Iterator<Item = &'static tessera::CodeInfo> {
    tessera::CATALOG
        .iter()
        .filter(|c| c.layer == tessera::Layer::Engine)
}

/// The class name of `code`: `token_expired` is `TokenExpired`.
fn class_name(code: &str) -> String {
    if let Some((_, name)) = RENAMED.iter().find(|(c, _)| *c == code) {
        return (*name).to_owned();
    }
    code.split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

/// The class docstring: the catalog's meaning, as a sentence.
fn class_doc(info: &tessera::CodeInfo) -> String {
    let mut doc = String::with_capacity(info.meaning.len() + 24);
    let mut chars = info.meaning.chars();
    if let Some(first) = chars.next() {
        doc.extend(first.to_uppercase());
        doc.push_str(chars.as_str());
    }
    doc.push('.');
    if info.code == "config_invalid" {
        doc.push_str(" Also a ValueError.");
    }
    doc
}

/// The code of the base class; the engine never raises the base itself.
const BASE_CODE: &str = "tessera_error";

/// The created classes: the base, then one per engine code, by code.
struct Classes {
    base: Py<PyType>,
    by_code: Vec<(&'static str, Py<PyType>)>,
}

static EXCEPTIONS: PyOnceLock<Classes> = PyOnceLock::new();

/// Maps a core error to its Python exception. The only such mapping.
pub(crate) fn to_py(py: Python<'_>, err: tessera::Error) -> PyErr {
    match classes(py) {
        Ok(c) => {
            // Every engine code has its class; the base is a fallback only.
            let class = c
                .by_code
                .iter()
                .find(|(code, _)| *code == err.code())
                .map_or(&c.base, |(_, class)| class);
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
    for (code, class) in &c.by_code {
        m.add(class_name(code), class.bind(py))?;
    }
    // The catalog itself, for the HTTP layer and tests: one
    // (code, http_status, meaning, layer) tuple per code.
    let catalog = tessera::CATALOG
        .iter()
        .map(|c| {
            let layer = match c.layer {
                tessera::Layer::Engine => "engine",
                _ => "http",
            };
            (c.code, c.http_status, c.meaning, layer)
        })
        .collect::<Vec<_>>();
    m.add("ERROR_CATALOG", PyTuple::new(py, catalog)?)?;
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
        let by_code = engine_codes()
            .map(|info| {
                let bases = if info.code == "config_invalid" {
                    PyTuple::new(py, [base.bind(py), &py.get_type::<PyValueError>()])?
                } else {
                    PyTuple::new(py, [base.bind(py)])?
                };
                let class = new_class(
                    py,
                    &class_name(info.code),
                    &class_doc(info),
                    info.code,
                    bases,
                )?;
                Ok((info.code, class))
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
