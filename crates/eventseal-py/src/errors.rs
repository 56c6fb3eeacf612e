//! eventseal's errors as Python exceptions (classes defined in `eventseal/_errors.py`).
//!
//! The kind decides the class: `invalid-key`, `invalid-trust` and `invalid-input` are
//! `ValueError` subclasses (a caller's mistake); every other kind is `Rejected` (the input,
//! the store or the signer said no). Each carries `.kind` (the stable kebab-case name the
//! CLI prints) and `.disposition` (`acknowledge`, `retry` or `reject`).

use eventseal::{Error, ErrorKind, ProcessError};
use pyo3::prelude::*;

/// The exception class of a kind.
fn class_of(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidKey => "InvalidKey",
        ErrorKind::InvalidTrust => "InvalidTrust",
        ErrorKind::InvalidInput => "InvalidInput",
        _ => "Rejected",
    }
}

/// Builds an instance of `eventseal._errors.<class>(message, kind, disposition)`.
pub(crate) fn exception(py: Python<'_>, class: &str, message: String, kind: ErrorKind) -> PyErr {
    let made = py
        .import("eventseal._errors")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.call1((message, kind.as_str(), kind.disposition().as_str())));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

/// An eventseal error as its Python exception.
pub(crate) fn to_py(py: Python<'_>, e: &Error) -> PyErr {
    let kind = e.kind();
    exception(py, class_of(kind), e.to_string(), kind)
}

/// An error while loading a key: always `InvalidKey` (a malformed JWK is a bad key, not a
/// rejected envelope).
pub(crate) fn key_err(py: Python<'_>, e: &Error) -> PyErr {
    match e.kind() {
        ErrorKind::Rng => to_py(py, e),
        _ => exception(py, "InvalidKey", e.to_string(), ErrorKind::InvalidKey),
    }
}

/// An error while loading a trust configuration: always `InvalidTrust`.
pub(crate) fn trust_err(py: Python<'_>, e: &Error) -> PyErr {
    exception(py, "InvalidTrust", e.to_string(), ErrorKind::InvalidTrust)
}

/// A caller's mistake found by the binding itself (a bad argument value).
pub(crate) fn invalid_input(py: Python<'_>, message: &str) -> PyErr {
    exception(
        py,
        "InvalidInput",
        message.to_owned(),
        ErrorKind::InvalidInput,
    )
}

/// `Result<T, eventseal::Error>` → `PyResult<T>` with the GIL token at hand.
pub(crate) trait IntoPy<T> {
    /// Maps the error with [`to_py`].
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, &e))
    }
}

/// The outcome of a handler-form `process` (an envelope's or a webhook's) as the exception
/// the caller sees: a rejection as its class; the handler's own exception as raised;
/// `NotCompleted` when the handler returned but its record could not be completed.
pub(crate) fn process_err(py: Python<'_>, e: ProcessError<PyErr>) -> PyErr {
    match e {
        ProcessError::Rejected(e) => to_py(py, &e),
        ProcessError::Handler { error, release } => handler_error(py, error, release),
        ProcessError::NotCompleted(e) => exception(
            py,
            "NotCompleted",
            format!("the handler succeeded but its record was not completed: {e}"),
            e.kind(),
        ),
    }
}

/// A handler's exception from `process`, with the failed release of its lease (if any)
/// attached as its `__context__` ("during handling of the above exception, another exception
/// occurred"): the handler's exception is what the caller must see, and a `raise ... from`
/// cause the handler set is left alone. The lease then lapses at its end instead.
fn handler_error(py: Python<'_>, error: PyErr, release: Option<Error>) -> PyErr {
    if let Some(r) = release {
        let value = error.value(py);
        if value.getattr("__context__").is_ok_and(|c| c.is_none()) {
            if let Err(e) = value.setattr("__context__", to_py(py, &r).value(py)) {
                return e;
            }
        }
    }
    error
}
