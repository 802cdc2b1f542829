//! Conversions between Python values and core types.
//!
//! A value of the wrong Python type raises `TypeError`; a value of the right
//! type that no core type can hold (a negative lifetime, a naive datetime, a
//! claim that is not JSON) raises `ConfigError`. Whether a value is
//! acceptable to the engine (key length, lifetime bounds, reserved claim
//! names) is left to core.

use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use serde_json::{Map, Number, Value};
use tessera::{Claims, Validation, WireValue};
use zeroize::Zeroizing;

use crate::errors;

/// Deepest nesting accepted in claims; deeper (or self-referencing) values
/// are refused rather than overflowing the stack.
const MAX_DEPTH: usize = 32;

static TIMEDELTA: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// A span of time given as int seconds or a `datetime.timedelta`.
pub(crate) fn duration(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Duration> {
    let py = value.py();
    let negative = || errors::config(py, format!("{what} must not be negative"));
    if value.is_instance(TIMEDELTA.import(py, "datetime", "timedelta")?)? {
        let days: i64 = value.getattr("days")?.extract()?;
        let seconds: i64 = value.getattr("seconds")?.extract()?;
        let micros: u32 = value.getattr("microseconds")?.extract()?;
        // timedelta normalises to days * 86400 + seconds, with only `days`
        // negative for a negative span.
        let whole = days
            .checked_mul(86_400)
            .and_then(|d| d.checked_add(seconds))
            .ok_or_else(negative)?;
        let whole = u64::try_from(whole).map_err(|_| negative())?;
        return Ok(Duration::new(whole, micros * 1_000));
    }
    let seconds = integer(value, what, "an int of seconds or a datetime.timedelta")?;
    u64::try_from(seconds)
        .map(Duration::from_secs)
        .map_err(|_| negative())
}

/// Whole seconds, for settings core keeps as integers (`leeway`).
pub(crate) fn whole_seconds(value: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    let d = duration(value, what)?;
    if d.subsec_nanos() != 0 {
        return Err(errors::config(
            value.py(),
            format!("{what} must be whole seconds"),
        ));
    }
    Ok(d.as_secs())
}

/// A point in time: int seconds since the epoch, or an aware `datetime`.
pub(crate) fn timestamp(value: &Bound<'_, PyAny>, what: &str) -> PyResult<i64> {
    let py = value.py();
    if value.is_instance(DATETIME.import(py, "datetime", "datetime")?)? {
        if value.call_method0("utcoffset")?.is_none() {
            return Err(errors::config(
                py,
                format!("{what} must be a timezone-aware datetime"),
            ));
        }
        let seconds: f64 = value.call_method0("timestamp")?.extract()?;
        // Within datetime's range (years 1 to 9999), which i64 holds.
        #[allow(clippy::cast_possible_truncation)]
        return Ok(seconds.floor() as i64);
    }
    integer(value, what, "an int timestamp or an aware datetime")
}

/// A user id: text, or an integer primary key written in decimal.
pub(crate) fn user_id(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(s.to_str()?.to_owned());
    }
    let n = integer(value, "user_id", "a str or an int")?;
    Ok(n.to_string())
}

/// Key material: bytes, or text taken as its UTF-8 bytes.
pub(crate) fn key_material(value: &Bound<'_, PyAny>) -> PyResult<Zeroizing<Vec<u8>>> {
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(Zeroizing::new(b.as_bytes().to_vec()));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Zeroizing::new(s.to_str()?.as_bytes().to_vec()));
    }
    Err(PyTypeError::new_err(format!(
        "signing_key must be bytes or str (a secret, or a PEM document), not {}",
        type_name(value)
    )))
}

/// Verify-only keys: any iterable of key material (str or bytes) except a
/// single str or bytes, which would be one key mistaken for a list.
pub(crate) fn key_materials(value: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Zeroizing<Vec<u8>>>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Vec::new());
    };
    if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(format!(
            "previous_signing_keys must be a list of keys, not a single {}",
            type_name(value)
        )));
    }
    let items = value.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "previous_signing_keys must be a list of keys, not {}",
            type_name(value)
        ))
    })?;
    items.map(|item| key_material(&item?)).collect()
}

/// PAT scopes: any iterable of str except a str itself.
pub(crate) fn scopes(value: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Vec::new());
    };
    if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(format!(
            "scopes must be a list of str, not a single {}",
            type_name(value)
        )));
    }
    let items = value.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "scopes must be a list of str, not {}",
            type_name(value)
        ))
    })?;
    items
        .enumerate()
        .map(|(i, item)| {
            let item = item?;
            match item.cast::<PyString>() {
                Ok(s) => Ok(s.to_str()?.to_owned()),
                Err(_) => Err(PyTypeError::new_err(format!(
                    "scopes[{i}] must be a str, not {}",
                    type_name(&item)
                ))),
            }
        })
        .collect()
}

/// A claims dict, as a JSON object.
pub(crate) fn claims(value: Option<&Bound<'_, PyAny>>) -> PyResult<Map<String, Value>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Map::new());
    };
    let dict = value.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(format!("claims must be a dict, not {}", type_name(value)))
    })?;
    object(dict, "claims", 0)
}

/// Extra claims that may be absent: None keeps the session's.
pub(crate) fn optional_claims(
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Map<String, Value>>> {
    match value.filter(|v| !v.is_none()) {
        Some(v) => claims(Some(v)).map(Some),
        None => Ok(None),
    }
}

/// A positive count that fits `u32`.
pub(crate) fn positive_u32(value: &Bound<'_, PyAny>, what: &str) -> PyResult<u32> {
    let py = value.py();
    if value.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be an int, not bool"
        )));
    }
    let n: i64 = value.extract().map_err(|_| {
        PyTypeError::new_err(format!("{what} must be an int, not {}", type_name(value)))
    })?;
    u32::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
        errors::config(
            py,
            format!("{what} must be a positive number up to 2**32-1"),
        )
    })
}

/// A JSON document given as text or as a dict.
pub(crate) fn json_text(value: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(s.to_str()?.to_owned());
    }
    if let Ok(d) = value.cast::<PyDict>() {
        return Ok(Value::Object(object(d, what, 0)?).to_string());
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be a str or a dict, not {}",
        type_name(value)
    )))
}

/// Verified claims as a dict under their wire names: the members core's
/// `Validation::wire_members` lists, which are the payload the token carries.
/// A test compares it with PyJWT's decoding of the same token.
pub(crate) fn claims_dict<'py>(
    py: Python<'py>,
    validation: &Validation,
    c: &Claims,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    validation.wire_members(c, |name, value| {
        let name = PyString::intern(py, name);
        match value {
            WireValue::Str(s) => dict.set_item(name, s),
            WireValue::Int(n) => dict.set_item(name, n),
            WireValue::Strs(many) => dict.set_item(name, many),
            WireValue::Json(v) => dict.set_item(name, to_py(py, v)?),
            // A value kind this binding does not know yet, as JSON.
            other => dict.set_item(name, to_py(py, &other.to_value())?),
        }
    })?;
    Ok(dict)
}

fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

fn object(dict: &Bound<'_, PyDict>, path: &str, depth: usize) -> PyResult<Map<String, Value>> {
    let py = dict.py();
    let mut map = Map::new();
    for (k, v) in dict.iter() {
        let key = k.cast::<PyString>().map_err(|_| {
            errors::config(
                py,
                format!(
                    "{path} has a key of type {}; JSON keys are str",
                    type_name(&k)
                ),
            )
        })?;
        let key = key.to_str()?.to_owned();
        let value = json(&v, &format!("{path}[{key:?}]"), depth + 1)?;
        map.insert(key, value);
    }
    Ok(map)
}

fn json(value: &Bound<'_, PyAny>, path: &str, depth: usize) -> PyResult<Value> {
    let py = value.py();
    if depth > MAX_DEPTH {
        return Err(errors::config(
            py,
            format!("{path} is nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok(i.into());
        }
        if let Ok(u) = value.extract::<u64>() {
            return Ok(u.into());
        }
        return Err(errors::config(
            py,
            format!("{path} is an integer outside the 64-bit range"),
        ));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| errors::config(py, format!("{path} is not a finite number")));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(d) = value.cast::<PyDict>() {
        return object(d, path, depth).map(Value::Object);
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        return value
            .try_iter()?
            .enumerate()
            .map(|(i, item)| json(&item?, &format!("{path}[{i}]"), depth + 1))
            .collect::<PyResult<_>>()
            .map(Value::Array);
    }
    Err(errors::config(
        py,
        format!(
            "{path} is a {}, which is not JSON-serialisable",
            type_name(value)
        ),
    ))
}

/// An int argument; `bool` is refused even though Python counts it as one.
fn integer(value: &Bound<'_, PyAny>, what: &str, expected: &str) -> PyResult<i64> {
    if value.is_instance_of::<PyInt>() && !value.is_instance_of::<PyBool>() {
        return value
            .extract::<i64>()
            .map_err(|_| errors::config(value.py(), format!("{what} is out of range")));
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be {expected}, not {}",
        type_name(value)
    )))
}

pub(crate) fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "object".to_owned(), |n| n.to_string())
}
