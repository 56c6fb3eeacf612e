//! The producer: `Sealer` and `put_events_entry`.

use std::sync::Arc;
use std::time::Duration;

use eventseal::{PutEventsEntry, SealTo, Sealer};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::clock::{self, CallClock, PyClock};
use crate::errors::{invalid_input, IntoPy};
use crate::keys::{AnySigner, PyRecipientPublicKey, PySigningKey, PySymmetricKey};
use crate::Input;

/// Seals events for one source: signs with its key, encrypts for the named recipients.
#[pyclass(frozen, module = "eventseal", name = "Sealer")]
pub(crate) struct PySealer {
    inner: Sealer<AnySigner>,
    clock: PyClock,
}

#[pymethods]
impl PySealer {
    #[new]
    #[pyo3(signature = (signing_key, ttl_seconds = 3600, content_type = None, *, clock = None))]
    fn new(
        py: Python<'_>,
        signing_key: &Bound<'_, PyAny>,
        ttl_seconds: u64,
        content_type: Option<&str>,
        clock: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let signer = any_signer(py, signing_key)?;
        if ttl_seconds == 0 {
            return Err(invalid_input(py, "ttl_seconds must be at least 1"));
        }
        let mut inner = Sealer::new(signer)
            .with_clock(Arc::new(CallClock))
            .with_ttl(Duration::from_secs(ttl_seconds));
        if let Some(ct) = content_type {
            inner = inner.with_content_type(ct);
        }
        Ok(Self {
            inner,
            clock: PyClock::new(py, clock)?,
        })
    }

    /// Seals `payload` as an event of `event_type` for `recipients` (RecipientPublicKey or
    /// SymmetricKey objects, in any mix); returns the envelope JSON as bytes.
    fn seal<'py>(
        &self,
        py: Python<'py>,
        event_type: &str,
        payload: Input,
        recipients: Vec<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        // In the caller's order: the envelope lists its recipients as given.
        let mut to: Vec<SealTo<'_>> = Vec::with_capacity(recipients.len());
        for r in &recipients {
            if let Ok(k) = r.cast::<PyRecipientPublicKey>() {
                to.push(SealTo::from(&k.get().inner));
            } else if let Ok(k) = r.cast::<PySymmetricKey>() {
                to.push(SealTo::from(&k.get().inner));
            } else {
                return Err(pyo3::exceptions::PyTypeError::new_err(
                    "recipients: RecipientPublicKey or SymmetricKey objects",
                ));
            }
        }
        let now = self.clock.read(py)?;
        let sealed = py
            .detach(|| clock::at(now, || self.inner.seal(event_type, payload.as_bytes(), &to)))
            .or_raise(py)?;
        Ok(PyBytes::new(py, sealed.as_bytes()))
    }

    /// The source's public key (what consumers trust).
    fn verifying_key(&self) -> crate::keys::PyVerifyingKey {
        crate::keys::PyVerifyingKey {
            inner: self.inner.key().verifying_key().clone(),
        }
    }

    fn __repr__(&self) -> String {
        let key = self.inner.key().verifying_key();
        format!(
            "Sealer(source={:?}, key_id={:?})",
            key.source(),
            key.key_id().as_str()
        )
    }
}

fn any_signer(py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<AnySigner> {
    if let Ok(k) = key.cast::<PySigningKey>() {
        return Ok(k.get().inner.clone());
    }
    #[cfg(feature = "aws")]
    if let Ok(k) = key.cast::<crate::aws::PyKmsSigner>() {
        return Ok(k.get().inner.clone());
    }
    let _ = py;
    Err(pyo3::exceptions::PyTypeError::new_err(
        "signing_key: a SigningKey or a KmsSigner",
    ))
}

/// The entry `boto3`'s `put_events(Entries=[...])` takes for `envelope` (bytes or str, as
/// `Sealer.seal` returned it) under the EventBridge source `source_name`, on `bus`.
#[pyfunction]
pub(crate) fn put_events_entry<'py>(
    py: Python<'py>,
    envelope: Input,
    source_name: &str,
    bus: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let text = std::str::from_utf8(envelope.as_bytes())
        .map_err(|_| invalid_input(py, "envelope: not UTF-8"))?;
    let entry = PutEventsEntry::from_envelope_json(text, source_name, bus).or_raise(py)?;
    let dict = PyDict::new(py);
    dict.set_item("Source", entry.source)?;
    dict.set_item("DetailType", entry.detail_type)?;
    dict.set_item("Detail", entry.detail)?;
    dict.set_item("EventBusName", entry.event_bus_name)?;
    Ok(dict)
}
