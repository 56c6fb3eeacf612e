//! Third-party webhooks: one `Verifier` class (the Python classes `Stripe`, `GitHub`, …
//! subclass it), the verified result, and the Standard Webhooks signer.

use std::time::Duration;

use eventseal::webhook::{self, GenericHmac, MacEncoding, Request, StandardSigner, Verifier};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use zeroize::Zeroizing;

use crate::clock::PyClock;
use crate::errors::{exception, invalid_input, key_err, process_err, to_py, IntoPy};
use crate::stores::PyReplayStore;
use crate::Input;

/// Default for `Verifier.process(retention_seconds=…)`: how long a processed message id is
/// remembered (7 days: longer than Stripe's 3 days of retries). For schemes without a signed
/// timestamp (GitHub, Shopify, Twilio) this is the whole replay protection.
const DEFAULT_RETENTION: u64 = 7 * 24 * 3600;

/// A verified webhook: the provider, the id to deduplicate on, the signed timestamp.
#[pyclass(frozen, module = "eventseal.webhook", name = "Verified")]
pub(crate) struct PyVerified {
    #[pyo3(get)]
    provider: &'static str,
    #[pyo3(get)]
    id: String,
    #[pyo3(get)]
    timestamp: Option<i64>,
}

impl PyVerified {
    fn new(v: &webhook::Verified) -> Self {
        Self {
            provider: v.provider,
            id: v.id.clone(),
            timestamp: v.timestamp,
        }
    }
}

#[pymethods]
impl PyVerified {
    fn __repr__(&self) -> String {
        let timestamp = self
            .timestamp
            .map_or_else(|| "None".to_owned(), |t| t.to_string());
        format!(
            "Verified(provider={:?}, id={:?}, timestamp={timestamp})",
            self.provider, self.id
        )
    }
}

/// A webhook signature scheme with its secrets; `verify` checks a request's raw body and
/// headers. Construct the provider classes (`StandardWebhooks`, `Stripe`, …) or
/// `Verifier(provider_name, secrets)`.
#[pyclass(frozen, subclass, module = "eventseal.webhook", name = "Verifier")]
pub(crate) struct PyVerifier {
    inner: Box<dyn Verifier>,
    clock: PyClock,
}

/// Header pairs from a mapping (`dict`, a framework's headers object: anything with
/// `items()`) or an iterable of `(name, value)` pairs (which may repeat a name), as `str` or
/// as `bytes` (ASGI's raw headers). A bytes name or value that is not UTF-8 cannot carry a
/// signature the verifiers read: `malformed`.
fn header_pairs(py: Python<'_>, headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let items = if headers.hasattr("items")? {
        headers.call_method0("items")?
    } else {
        headers.clone()
    };
    let mut out = Vec::new();
    for pair in items.try_iter()? {
        let pair = pair?;
        if let Ok(p) = pair.extract::<(String, String)>() {
            out.push(p);
            continue;
        }
        let (name, value): (Vec<u8>, Vec<u8>) = pair.extract().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(
                "headers: (name, value) pairs of str, or of bytes",
            )
        })?;
        match (String::from_utf8(name), String::from_utf8(value)) {
            (Ok(n), Ok(v)) => out.push((n, v)),
            _ => {
                return Err(exception(
                    py,
                    "Rejected",
                    "a header name or value is not UTF-8".to_owned(),
                    eventseal::ErrorKind::Malformed,
                ))
            }
        }
    }
    Ok(out)
}

fn tolerance(py: Python<'_>, seconds: u64) -> PyResult<Duration> {
    if seconds == 0 {
        return Err(invalid_input(py, "tolerance_seconds must be at least 1"));
    }
    Ok(Duration::from_secs(seconds))
}

#[pymethods]
impl PyVerifier {
    /// The verifier for `provider` (one of `PROVIDERS`) with `secrets` in the provider's own
    /// encoding (several for rotation); `tolerance_seconds` bounds a signed timestamp's age
    /// both ways (ignored by schemes without one); `clock` returns Unix seconds.
    #[new]
    #[pyo3(signature = (provider, secrets, tolerance_seconds = 300, *, clock = None))]
    fn new(
        py: Python<'_>,
        provider: &str,
        secrets: Vec<String>,
        tolerance_seconds: u64,
        clock: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let secrets: Vec<Zeroizing<String>> = secrets.into_iter().map(Zeroizing::new).collect();
        let refs: Vec<&str> = secrets.iter().map(|s| s.as_str()).collect();
        let inner =
            webhook::by_name(provider, &refs, tolerance(py, tolerance_seconds)?).map_err(|e| {
                match e.kind() {
                    eventseal::ErrorKind::InvalidInput => to_py(py, &e),
                    _ => key_err(py, &e),
                }
            })?;
        Ok(Self {
            inner,
            clock: PyClock::new(py, clock)?,
        })
    }

    /// A generic HMAC-SHA256 scheme (see the Rust `GenericHmac`).
    #[staticmethod]
    #[pyo3(signature = (header, prefix, encoding, template, secrets, *, timestamp_header = None, id_header = None, tolerance_seconds = 300, clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn generic_hmac(
        py: Python<'_>,
        header: &str,
        prefix: &str,
        encoding: &str,
        template: &str,
        secrets: Vec<String>,
        timestamp_header: Option<&str>,
        id_header: Option<&str>,
        tolerance_seconds: u64,
        clock: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let encoding = match encoding {
            "hex" => MacEncoding::Hex,
            "base64" => MacEncoding::Base64,
            _ => return Err(invalid_input(py, "encoding: \"hex\" or \"base64\"")),
        };
        let secrets: Vec<Zeroizing<String>> = secrets.into_iter().map(Zeroizing::new).collect();
        let refs: Vec<&str> = secrets.iter().map(|s| s.as_str()).collect();
        let mut v =
            GenericHmac::new(header, prefix, encoding, template, &refs).map_err(|e| {
                match e.kind() {
                    eventseal::ErrorKind::InvalidKey => key_err(py, &e),
                    _ => to_py(py, &e),
                }
            })?;
        if let Some(h) = timestamp_header {
            v = v.with_timestamp_header(h);
        }
        if let Some(h) = id_header {
            v = v.with_id_header(h);
        }
        v = v.with_tolerance(tolerance(py, tolerance_seconds)?);
        Ok(Self {
            inner: Box::new(v),
            clock: PyClock::new(py, clock)?,
        })
    }

    /// The provider name.
    #[getter]
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    /// Verifies a request: `headers` (a mapping or `(name, value)` pairs, looked up
    /// case-insensitively), the raw `body` bytes exactly as received, and for Twilio the full
    /// `url`. Raises `Rejected` (`bad-signature`, `malformed`, `expired`, …).
    #[pyo3(signature = (headers, body, url = None))]
    fn verify(
        &self,
        py: Python<'_>,
        headers: &Bound<'_, PyAny>,
        body: Input,
        url: Option<&str>,
    ) -> PyResult<PyVerified> {
        let pairs = header_pairs(py, headers)?;
        let now = self.clock.read(py)?;
        let verified = py
            .detach(|| {
                let mut request = Request::new(
                    pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                    body.as_bytes(),
                );
                if let Some(u) = url {
                    request = request.with_url(u);
                }
                self.inner.verify(&request, now)
            })
            .or_raise(py)?;
        Ok(PyVerified::new(&verified))
    }

    /// Effectively-once processing of a delivery: verifies it, takes a lease on its message
    /// id in `store` for `consumer`, runs `handler(verified)`, completes the record when it
    /// returns (its value is returned) and releases it when it raises (so the provider's
    /// retry is processed). A redelivery while it runs raises `Rejected` `in-progress`
    /// (answer 409/503); after completion `replayed` (answer 200).
    #[pyo3(signature = (headers, body, store, consumer, handler, *, url = None, retention_seconds = DEFAULT_RETENTION, lease_seconds = 300))]
    #[allow(clippy::too_many_arguments)]
    fn process(
        &self,
        py: Python<'_>,
        headers: &Bound<'_, PyAny>,
        body: Input,
        store: PyRef<'_, PyReplayStore>,
        consumer: &str,
        handler: Bound<'_, PyAny>,
        url: Option<&str>,
        retention_seconds: u64,
        lease_seconds: u64,
    ) -> PyResult<Py<PyAny>> {
        if lease_seconds == 0 || retention_seconds == 0 {
            return Err(invalid_input(
                py,
                "retention_seconds and lease_seconds must be at least 1",
            ));
        }
        let pairs = header_pairs(py, headers)?;
        let now = self.clock.read(py)?;
        let store = store.inner.clone();
        let handler = handler.unbind();
        let result = py.detach(|| {
            let mut request = Request::new(
                pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                body.as_bytes(),
            );
            if let Some(u) = url {
                request = request.with_url(u);
            }
            webhook::verify_and_process(
                self.inner.as_ref(),
                &request,
                now,
                store.as_ref(),
                consumer,
                Duration::from_secs(retention_seconds),
                Duration::from_secs(lease_seconds),
                |verified| {
                    Python::attach(|py| {
                        let v = Py::new(py, PyVerified::new(verified))?;
                        handler.call1(py, (v,))
                    })
                },
            )
        });
        result.map_err(|e| process_err(py, e))
    }

    fn __repr__(&self) -> String {
        format!("Verifier(provider={:?})", self.inner.provider())
    }
}

/// Signs Standard Webhooks (`v1` HMAC with a `whsec_` secret, `v1a` Ed25519 with a `whsk_`
/// key), for a service that sends webhooks.
#[pyclass(frozen, module = "eventseal.webhook", name = "StandardSigner")]
pub(crate) struct PyStandardSigner {
    inner: StandardSigner,
}

#[pymethods]
impl PyStandardSigner {
    #[new]
    fn new(py: Python<'_>, secret: &str) -> PyResult<Self> {
        StandardSigner::new(secret)
            .map(|inner| Self { inner })
            .map_err(|e| key_err(py, &e))
    }

    /// A new `whsk_` secret key and its `whpk_` public key, as `(secret, public)`.
    #[staticmethod]
    fn generate_ed25519(py: Python<'_>) -> PyResult<(String, String)> {
        let (secret, public) = StandardSigner::generate_ed25519().or_raise(py)?;
        Ok((secret.as_str().to_owned(), public))
    }

    /// The `whpk_` public key of a v1a signer (None for v1).
    fn public_key(&self) -> Option<String> {
        self.inner.public_key()
    }

    /// The `webhook-signature` header value for `(msg_id, timestamp, body)`.
    fn signature(
        &self,
        py: Python<'_>,
        msg_id: &str,
        timestamp: i64,
        body: Input,
    ) -> PyResult<String> {
        self.inner
            .signature(msg_id, timestamp, body.as_bytes())
            .or_raise(py)
    }

    /// The three headers to send: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    fn headers<'py>(
        &self,
        py: Python<'py>,
        msg_id: &str,
        timestamp: i64,
        body: Input,
    ) -> PyResult<Bound<'py, PyDict>> {
        let headers = self
            .inner
            .headers(msg_id, timestamp, body.as_bytes())
            .or_raise(py)?;
        let dict = PyDict::new(py);
        for (name, value) in headers {
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        "StandardSigner(secret=<redacted>)".to_owned()
    }
}
