//! Python bindings for eventseal: the module `eventseal._eventseal`, wrapped by the Python
//! package `eventseal` (python/eventseal). Every cryptographic operation and store round trip
//! runs with the GIL released; every object is immutable or internally locked, so one
//! `Opener`, `Sealer` or verifier may be shared by all threads.
//!
//! The pipeline is the Rust library's, unchanged: this crate only converts arguments,
//! results and errors (`errors.rs`), and hands a Python clock's reading to it (`clock.rs`).

#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod clock;
mod errors;
mod keys;
mod open;
mod seal;
mod stores;
mod webhook;

#[cfg(feature = "aws")]
mod aws;

use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};

/// Bytes-like input: `bytes` or `bytearray` (copied once), or `str` (its UTF-8). Held without
/// the GIL while the pipeline runs.
#[derive(FromPyObject)]
pub(crate) enum Input {
    Bytes(PyBackedBytes),
    Str(PyBackedStr),
}

impl Input {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Input::Bytes(b) => b,
            Input::Str(s) => s.as_bytes(),
        }
    }
}

/// The Rust side of the benchmark (bench/bench.py): seals and opens `iterations` envelopes
/// of `payload_bytes` with the same configuration the Python loop uses (Ed25519, one HPKE
/// recipient, a memory replay store), in this process, and returns the seconds per seal and
/// per open. Not API.
#[pyfunction]
fn _rust_baseline(py: Python<'_>, payload_bytes: usize, iterations: usize) -> PyResult<(f64, f64)> {
    use eventseal::{
        MemoryReplayStore, Opener, RecipientSecretKey, Sealer, SigningKey, TrustStore,
    };
    use std::sync::Arc;
    use std::time::Instant;
    let run = || -> eventseal::Result<(f64, f64)> {
        let signing = SigningKey::generate("orders")?;
        let billing = RecipientSecretKey::generate("billing")?;
        let billing_pub = billing.public_key().clone();
        let to = [&billing_pub];
        let trust = TrustStore::new().with(signing.verifying_key().clone());
        let sealer = Sealer::new(signing).with_ttl(std::time::Duration::from_secs(3600));
        let payload = vec![b'x'; payload_bytes];
        let opener = Opener::new([billing], trust, Arc::new(MemoryReplayStore::default()));
        let n = iterations.max(1);
        let start = Instant::now();
        let mut envelopes = Vec::with_capacity(n);
        for _ in 0..n {
            envelopes.push(sealer.seal("order.created", &payload, &to)?);
        }
        let seal = start.elapsed().as_secs_f64();
        let start = Instant::now();
        for e in &envelopes {
            std::hint::black_box(opener.open(e.as_bytes())?);
        }
        let open = start.elapsed().as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        let n = n as f64;
        Ok((seal / n, open / n))
    };
    py.detach(run).map_err(|e| errors::to_py(py, &e))
}

/// The native module.
#[pymodule]
fn _eventseal(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("FORMAT_VERSION", eventseal::FORMAT_VERSION)?;
    m.add(
        "PROVIDERS",
        pyo3::types::PyTuple::new(m.py(), eventseal::webhook::PROVIDERS)?,
    )?;
    m.add_class::<keys::PyVerifyingKey>()?;
    m.add_class::<keys::PySigningKey>()?;
    m.add_class::<keys::PyRecipientSecretKey>()?;
    m.add_class::<keys::PyRecipientPublicKey>()?;
    m.add_class::<keys::PySymmetricKey>()?;
    m.add_class::<seal::PySealer>()?;
    m.add_function(wrap_pyfunction!(seal::put_events_entry, m)?)?;
    m.add_class::<open::PyTrustStore>()?;
    m.add_class::<open::PyOpened>()?;
    m.add_class::<open::PyOpener>()?;
    m.add_class::<stores::PyReplayStore>()?;
    m.add_class::<stores::PyMemoryReplayStore>()?;
    m.add_class::<stores::PySqliteReplayStore>()?;
    m.add_class::<stores::PyRedisReplayStore>()?;
    #[cfg(feature = "aws")]
    {
        m.add_class::<aws::PyDynamoDbReplayStore>()?;
        m.add_class::<aws::PyKmsSigner>()?;
    }
    m.add_class::<webhook::PyVerifier>()?;
    m.add_class::<webhook::PyVerified>()?;
    m.add_class::<webhook::PyStandardSigner>()?;
    m.add_function(wrap_pyfunction!(_rust_baseline, m)?)?;
    Ok(())
}
