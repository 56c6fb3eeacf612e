//! The consumer: `TrustStore`, `Opener`, `Opened`.

use std::sync::Arc;
use std::time::Duration;

use eventseal::{ConsumerKey, Freshness, Opened, Opener, TrustStore};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::clock::{self, CallClock, PyClock};
use crate::errors::{invalid_input, key_err, process_err, trust_err, IntoPy};
use crate::keys::{PyRecipientSecretKey, PySymmetricKey, PyVerifyingKey};
use crate::stores::PyReplayStore;
use crate::Input;

/// The sources a consumer trusts: their verifying keys, and (from a trust file) the event
/// types each may send, its accounts and its EventBridge source.
#[pyclass(module = "eventseal", name = "TrustStore")]
#[derive(Clone)]
pub(crate) struct PyTrustStore {
    pub(crate) inner: TrustStore,
}

#[pymethods]
impl PyTrustStore {
    /// A store trusting `keys` (VerifyingKey objects), each for any event type of its source.
    #[new]
    #[pyo3(signature = (keys = Vec::new()))]
    fn new(keys: Vec<PyRef<'_, PyVerifyingKey>>) -> Self {
        let mut inner = TrustStore::new();
        for k in keys {
            inner.add(k.inner.clone());
        }
        Self { inner }
    }

    /// Loads a trust file (docs/TRUST.md; `eventseal trust` writes them).
    #[staticmethod]
    fn from_file(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        py.detach(|| TrustStore::load(&path))
            .map(|inner| Self { inner })
            .map_err(|e| trust_err(py, &e))
    }

    /// Parses a trust file's JSON text.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        TrustStore::from_json(text)
            .map(|inner| Self { inner })
            .map_err(|e| trust_err(py, &e))
    }

    /// Trusts one more key (for any event type of its source). An `Opener` keeps a copy of
    /// the trust it was built with: add keys before building it (or build a new one).
    fn add(&mut self, key: PyRef<'_, PyVerifyingKey>) {
        self.inner.add(key.inner.clone());
    }

    /// The trusted source ids.
    fn sources(&self) -> Vec<String> {
        self.inner.sources().map(|s| s.id().to_owned()).collect()
    }

    fn __len__(&self) -> usize {
        self.inner.sources().map(|s| s.keys().len()).sum()
    }

    fn __repr__(&self) -> String {
        format!("TrustStore(sources={:?})", self.sources())
    }
}

/// An opened envelope: the verified header's facts and the decrypted payload.
#[pyclass(frozen, module = "eventseal", name = "Opened")]
pub(crate) struct PyOpened {
    payload: Py<PyBytes>,
    source: String,
    key_id: String,
    event_type: String,
    content_type: String,
    envelope_id: String,
    issued_at: i64,
    expires_at: i64,
}

impl PyOpened {
    fn new(py: Python<'_>, opened: &Opened) -> Self {
        let h = opened.header();
        Self {
            payload: PyBytes::new(py, opened.payload()).unbind(),
            source: h.source().to_owned(),
            key_id: h.key_id().to_owned(),
            event_type: h.event_type().to_owned(),
            content_type: h.content_type().to_owned(),
            envelope_id: h.id().to_string(),
            issued_at: h.issued_at(),
            expires_at: h.expires_at(),
        }
    }
}

#[pymethods]
impl PyOpened {
    /// The decrypted payload.
    #[getter]
    fn payload(&self, py: Python<'_>) -> Py<PyBytes> {
        self.payload.clone_ref(py)
    }
    /// The verified source.
    #[getter]
    fn source(&self) -> &str {
        &self.source
    }
    /// The id of the key that signed it.
    #[getter]
    fn key_id(&self) -> &str {
        &self.key_id
    }
    /// The event type.
    #[getter]
    fn event_type(&self) -> &str {
        &self.event_type
    }
    /// The payload's content type.
    #[getter]
    fn content_type(&self) -> &str {
        &self.content_type
    }
    /// The envelope id (a UUID string): the id the replay store deduplicates on.
    #[getter]
    fn envelope_id(&self) -> &str {
        &self.envelope_id
    }
    /// Signed issue time, Unix seconds.
    #[getter]
    fn issued_at(&self) -> i64 {
        self.issued_at
    }
    /// Signed expiry, Unix seconds.
    #[getter]
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
    fn __repr__(&self) -> String {
        format!(
            "Opened(source={:?}, event_type={:?}, envelope_id={:?}, payload=<{} bytes>)",
            self.source,
            self.event_type,
            self.envelope_id,
            Python::attach(|py| self.payload.bind(py).as_bytes().len())
        )
    }
}

/// A consumer's opener: its keys, the trusted sources, freshness rules, clock and replay
/// store. Thread-safe: share one per process.
#[pyclass(frozen, module = "eventseal", name = "Opener")]
pub(crate) struct PyOpener {
    inner: Opener,
    clock: PyClock,
}

/// What `open_eventbridge` and `process_eventbridge` take: the delivered event as bytes or
/// str (an SQS message body), or as the dict a Lambda runtime parsed it into.
fn event_bytes(py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<Input> {
    if let Ok(input) = event.extract::<Input>() {
        return Ok(input);
    }
    if event.cast::<PyDict>().is_ok() {
        // Re-serialized: the envelope's signature covers its base64 members, not the outer
        // JSON's formatting (docs/FORMAT.md), so any faithful serialization opens.
        let text = py
            .import("json")?
            .call_method1("dumps", (event,))?
            .cast_into::<PyString>()
            .map_err(|_| invalid_input(py, "event: json.dumps did not return a str"))?;
        return text.extract::<Input>();
    }
    Err(pyo3::exceptions::PyTypeError::new_err(
        "event: bytes, str or dict (an EventBridge event)",
    ))
}

impl PyOpener {
    fn consumer_keys(py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<Vec<ConsumerKey>> {
        let mut out = Vec::new();
        for k in keys.try_iter()? {
            let k = k?;
            let key: ConsumerKey = if let Ok(s) = k.cast::<PyRecipientSecretKey>() {
                s.get().copy().map_err(|e| key_err(py, &e))?.into()
            } else if let Ok(s) = k.cast::<PySymmetricKey>() {
                s.get().copy().map_err(|e| key_err(py, &e))?.into()
            } else {
                return Err(pyo3::exceptions::PyTypeError::new_err(
                    "keys: RecipientSecretKey or SymmetricKey objects",
                ));
            };
            out.push(key);
        }
        if out.is_empty() {
            return Err(invalid_input(py, "keys: at least one consumer key"));
        }
        Ok(out)
    }
}

#[pymethods]
impl PyOpener {
    #[new]
    #[pyo3(signature = (keys, trust, store, max_skew = 60, max_lifetime = 172_800, *, lease_seconds = 300, clock = None))]
    #[allow(clippy::too_many_arguments)] // the Python signature: keywords, not a builder
    fn new(
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        trust: PyRef<'_, PyTrustStore>,
        store: PyRef<'_, PyReplayStore>,
        max_skew: u64,
        max_lifetime: u64,
        lease_seconds: u64,
        clock: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let keys = Self::consumer_keys(py, keys)?;
        if lease_seconds == 0 {
            return Err(invalid_input(py, "lease_seconds must be at least 1"));
        }
        let mut freshness = Freshness::default();
        freshness.max_skew = Duration::from_secs(max_skew);
        freshness.max_lifetime = Duration::from_secs(max_lifetime);
        let inner = Opener::new(keys, trust.inner.clone(), store.inner.clone())
            .with_clock(Arc::new(CallClock))
            .with_freshness(freshness)
            .with_lease(Duration::from_secs(lease_seconds));
        Ok(Self {
            inner,
            clock: PyClock::new(py, clock)?,
        })
    }

    /// An opener with **no replay protection**: an envelope opens any number of times within
    /// its validity window. Only for inspecting archived traffic.
    #[staticmethod]
    #[pyo3(signature = (keys, trust, max_skew = 60, max_lifetime = 172_800, *, clock = None))]
    fn without_replay_check_dangerous(
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        trust: PyRef<'_, PyTrustStore>,
        max_skew: u64,
        max_lifetime: u64,
        clock: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let keys = Self::consumer_keys(py, keys)?;
        let mut freshness = Freshness::default();
        freshness.max_skew = Duration::from_secs(max_skew);
        freshness.max_lifetime = Duration::from_secs(max_lifetime);
        let inner = Opener::new_without_replay_check_dangerous(keys, trust.inner.clone())
            .with_clock(Arc::new(CallClock))
            .with_freshness(freshness);
        Ok(Self {
            inner,
            clock: PyClock::new(py, clock)?,
        })
    }

    /// Verifies, checks policy and freshness, claims the envelope id in the replay store, and
    /// only then decrypts. Raises `Rejected` (with `.kind`) on any failure.
    fn open(&self, py: Python<'_>, envelope: Input) -> PyResult<PyOpened> {
        let now = self.clock.read(py)?;
        let opened = py
            .detach(|| clock::at(now, || self.inner.open(envelope.as_bytes())))
            .or_raise(py)?;
        Ok(PyOpened::new(py, &opened))
    }

    /// `open` for an envelope delivered inside an EventBridge event (bytes, str, or the dict
    /// Lambda parsed it into): the event's account, source and detail-type are bound to the
    /// verified envelope, so the trust store must name each source's `accounts` and
    /// `eventbridge_source` (a trust file; keys alone fail closed with `binding-mismatch`).
    fn open_eventbridge(&self, py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<PyOpened> {
        let event = event_bytes(py, event)?;
        let now = self.clock.read(py)?;
        let opened = py
            .detach(|| clock::at(now, || self.inner.open_eventbridge(event.as_bytes())))
            .or_raise(py)?;
        Ok(PyOpened::new(py, &opened))
    }

    /// Effectively-once processing: every check of `open`, then a lease on the envelope id,
    /// decryption, `handler(opened)`; the record is completed when the handler returns (its
    /// value is returned) and released when it raises (the exception propagates), so a
    /// redelivery is processed. A delivery while the handler runs raises `Rejected` with kind
    /// `in-progress`; one after completion `replayed`. `NotCompleted` if the handler returned
    /// but the record could not be completed.
    fn process(
        &self,
        py: Python<'_>,
        envelope: Input,
        handler: Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let handler = handler.unbind();
        let now = self.clock.read(py)?;
        let result = py.detach(|| {
            clock::at(now, || {
                self.inner
                    .process(envelope.as_bytes(), |opened| run_handler(&handler, opened))
            })
        });
        result.map_err(|e| process_err(py, e))
    }

    /// `process` for an envelope delivered inside an EventBridge event.
    fn process_eventbridge(
        &self,
        py: Python<'_>,
        event: &Bound<'_, PyAny>,
        handler: Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let event = event_bytes(py, event)?;
        let handler = handler.unbind();
        let now = self.clock.read(py)?;
        let result = py.detach(|| {
            clock::at(now, || {
                self.inner
                    .process_eventbridge(event.as_bytes(), |opened| run_handler(&handler, opened))
            })
        });
        result.map_err(|e| process_err(py, e))
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// Calls the Python handler with the GIL held again.
fn run_handler(handler: &Py<PyAny>, opened: &Opened) -> Result<Py<PyAny>, PyErr> {
    Python::attach(|py| {
        let opened = Py::new(py, PyOpened::new(py, opened))?;
        handler.call1(py, (opened,))
    })
}
