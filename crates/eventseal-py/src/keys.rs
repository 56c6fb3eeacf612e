//! Keys: the producer's signing key and its public half, a consumer's recipient key pair,
//! and a pre-shared symmetric key. Secret keys have redacted `repr`s; their JWKs come out
//! only through `to_jwk()`.

use std::sync::Arc;

use eventseal::{
    RecipientPublicKey, RecipientSecretKey, SignatureAlgorithm, SigningKey, SymmetricKey,
    VerifyingKey,
};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::errors::{invalid_input, key_err};

/// What a `Sealer` signs with: a key in this process, or (feature `aws`) a key in AWS KMS.
/// Here, below both the sealer (seal.rs) and the KMS signer (aws.rs), which make one.
pub(crate) type AnySigner = Arc<dyn eventseal::Signer>;

fn algorithm_name(alg: SignatureAlgorithm) -> &'static str {
    match alg {
        SignatureAlgorithm::EcdsaP256Sha256 => "ES256",
        // RFC 9864's name (the JWK's `alg`); "EdDSA" is still read.
        _ => "Ed25519",
    }
}

/// A source's public key, as consumers trust it.
#[pyclass(frozen, module = "eventseal", name = "VerifyingKey")]
#[derive(Clone)]
pub(crate) struct PyVerifyingKey {
    pub(crate) inner: VerifyingKey,
}

#[pymethods]
impl PyVerifyingKey {
    /// Parses a public JWK (with its `source` member).
    #[staticmethod]
    fn from_jwk(py: Python<'_>, jwk: &str) -> PyResult<Self> {
        VerifyingKey::from_jwk(jwk)
            .map(|inner| Self { inner })
            .map_err(|e| key_err(py, &e))
    }

    /// The public JWK.
    fn to_jwk(&self) -> String {
        self.inner.to_jwk()
    }

    #[getter]
    fn source(&self) -> &str {
        self.inner.source()
    }

    #[getter]
    fn key_id(&self) -> &str {
        self.inner.key_id().as_str()
    }

    #[getter]
    fn algorithm(&self) -> &'static str {
        algorithm_name(self.inner.algorithm())
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Self>()
            .is_ok_and(|o| o.get().inner.to_jwk() == self.inner.to_jwk())
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.inner.to_jwk().hash(&mut h);
        h.finish()
    }

    fn __repr__(&self) -> String {
        format!(
            "VerifyingKey(source={:?}, key_id={:?}, algorithm={:?})",
            self.inner.source(),
            self.inner.key_id().as_str(),
            algorithm_name(self.inner.algorithm())
        )
    }
}

/// A source's signing key (Ed25519 or ECDSA P-256), held in process.
#[pyclass(frozen, module = "eventseal", name = "SigningKey")]
pub(crate) struct PySigningKey {
    pub(crate) inner: Arc<SigningKey>,
}

#[pymethods]
impl PySigningKey {
    /// A new random key for `source`; `algorithm` is `"Ed25519"` (the default; `"EdDSA"`
    /// is read too) or `"ES256"` (ECDSA P-256).
    #[staticmethod]
    #[pyo3(signature = (source, algorithm = "Ed25519"))]
    fn generate(py: Python<'_>, source: &str, algorithm: &str) -> PyResult<Self> {
        let alg = match algorithm {
            "EdDSA" | "Ed25519" => SignatureAlgorithm::Ed25519,
            "ES256" | "P-256" => SignatureAlgorithm::EcdsaP256Sha256,
            _ => return Err(invalid_input(py, "algorithm: \"Ed25519\" or \"ES256\"")),
        };
        let key = py
            .detach(|| SigningKey::generate_with(source, alg))
            .map_err(|e| key_err(py, &e))?;
        Ok(Self {
            inner: Arc::new(key),
        })
    }

    /// Parses a secret JWK (with its `source` member).
    #[staticmethod]
    fn from_jwk(py: Python<'_>, jwk: &str) -> PyResult<Self> {
        SigningKey::from_jwk(jwk)
            .map(|k| Self { inner: Arc::new(k) })
            .map_err(|e| key_err(py, &e))
    }

    /// The **secret** JWK: store it as a secret (a secrets manager, a 0600 file).
    fn to_jwk<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        // Straight from the zeroized buffer into the Python str: no other copy in Rust.
        PyString::new(py, self.inner.to_secret_jwk().as_str())
    }

    /// The public half, for consumers' trust stores.
    fn verifying_key(&self) -> PyVerifyingKey {
        PyVerifyingKey {
            inner: self.inner.verifying_key().clone(),
        }
    }

    #[getter]
    fn source(&self) -> &str {
        self.inner.source()
    }

    #[getter]
    fn key_id(&self) -> &str {
        self.inner.key_id().as_str()
    }

    #[getter]
    fn algorithm(&self) -> &'static str {
        algorithm_name(self.inner.algorithm())
    }

    fn __repr__(&self) -> String {
        format!(
            "SigningKey(source={:?}, key_id={:?}, algorithm={:?}, secret=<redacted>)",
            self.inner.source(),
            self.inner.key_id().as_str(),
            algorithm_name(self.inner.algorithm())
        )
    }
}

/// A consumer's X25519 key pair: the secret half opens envelopes sealed to the public half.
#[pyclass(frozen, module = "eventseal", name = "RecipientSecretKey")]
pub(crate) struct PyRecipientSecretKey {
    pub(crate) inner: RecipientSecretKey,
}

impl PyRecipientSecretKey {
    /// An owned copy for an opener (secret keys are not `Clone` in Rust; the copy goes
    /// through the zeroized secret JWK).
    pub(crate) fn copy(&self) -> eventseal::Result<RecipientSecretKey> {
        RecipientSecretKey::from_jwk(&self.inner.to_secret_jwk())
    }
}

#[pymethods]
impl PyRecipientSecretKey {
    /// A new random key pair for `consumer`.
    #[staticmethod]
    fn generate(py: Python<'_>, consumer: &str) -> PyResult<Self> {
        RecipientSecretKey::generate(consumer)
            .map(|inner| Self { inner })
            .map_err(|e| key_err(py, &e))
    }

    /// Parses a secret JWK (with its `consumer` member).
    #[staticmethod]
    fn from_jwk(py: Python<'_>, jwk: &str) -> PyResult<Self> {
        RecipientSecretKey::from_jwk(jwk)
            .map(|inner| Self { inner })
            .map_err(|e| key_err(py, &e))
    }

    /// The **secret** JWK.
    fn to_jwk<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        // Straight from the zeroized buffer into the Python str: no other copy in Rust.
        PyString::new(py, self.inner.to_secret_jwk().as_str())
    }

    /// The public half, for producers.
    fn public_key(&self) -> PyRecipientPublicKey {
        PyRecipientPublicKey {
            inner: self.inner.public_key().clone(),
        }
    }

    #[getter]
    fn consumer(&self) -> &str {
        self.inner.consumer()
    }

    #[getter]
    fn key_id(&self) -> &str {
        self.inner.key_id().as_str()
    }

    fn __repr__(&self) -> String {
        format!(
            "RecipientSecretKey(consumer={:?}, key_id={:?}, secret=<redacted>)",
            self.inner.consumer(),
            self.inner.key_id().as_str()
        )
    }
}

/// A consumer's public key, as producers seal to it.
#[pyclass(frozen, module = "eventseal", name = "RecipientPublicKey")]
#[derive(Clone)]
pub(crate) struct PyRecipientPublicKey {
    pub(crate) inner: RecipientPublicKey,
}

#[pymethods]
impl PyRecipientPublicKey {
    /// Parses a public JWK (with its `consumer` member).
    #[staticmethod]
    fn from_jwk(py: Python<'_>, jwk: &str) -> PyResult<Self> {
        RecipientPublicKey::from_jwk(jwk)
            .map(|inner| Self { inner })
            .map_err(|e| key_err(py, &e))
    }

    /// The public JWK.
    fn to_jwk(&self) -> String {
        self.inner.to_jwk()
    }

    #[getter]
    fn consumer(&self) -> &str {
        self.inner.consumer()
    }

    #[getter]
    fn key_id(&self) -> &str {
        self.inner.key_id().as_str()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Self>()
            .is_ok_and(|o| o.get().inner.to_jwk() == self.inner.to_jwk())
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.inner.to_jwk().hash(&mut h);
        h.finish()
    }

    fn __repr__(&self) -> String {
        format!(
            "RecipientPublicKey(consumer={:?}, key_id={:?})",
            self.inner.consumer(),
            self.inner.key_id().as_str()
        )
    }
}

/// A 256-bit key shared in advance between producers and one consumer: the same object
/// seals (as a recipient) and opens (as the consumer's key).
#[pyclass(frozen, module = "eventseal", name = "SymmetricKey")]
pub(crate) struct PySymmetricKey {
    pub(crate) inner: SymmetricKey,
}

impl PySymmetricKey {
    /// An owned copy for an opener, through the zeroized secret JWK.
    pub(crate) fn copy(&self) -> eventseal::Result<SymmetricKey> {
        SymmetricKey::from_jwk(&self.inner.to_secret_jwk())
    }
}

#[pymethods]
impl PySymmetricKey {
    /// A new random key for `consumer`.
    #[staticmethod]
    fn generate(py: Python<'_>, consumer: &str) -> PyResult<Self> {
        SymmetricKey::generate(consumer)
            .map(|inner| Self { inner })
            .map_err(|e| key_err(py, &e))
    }

    /// Parses a secret JWK (`kty` `oct`, with its `consumer` member).
    #[staticmethod]
    fn from_jwk(py: Python<'_>, jwk: &str) -> PyResult<Self> {
        SymmetricKey::from_jwk(jwk)
            .map(|inner| Self { inner })
            .map_err(|e| key_err(py, &e))
    }

    /// The **secret** JWK.
    fn to_jwk<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        // Straight from the zeroized buffer into the Python str: no other copy in Rust.
        PyString::new(py, self.inner.to_secret_jwk().as_str())
    }

    #[getter]
    fn consumer(&self) -> &str {
        self.inner.consumer()
    }

    #[getter]
    fn key_id(&self) -> &str {
        self.inner.key_id().as_str()
    }

    fn __repr__(&self) -> String {
        format!(
            "SymmetricKey(consumer={:?}, key_id={:?}, secret=<redacted>)",
            self.inner.consumer(),
            self.inner.key_id().as_str()
        )
    }
}
