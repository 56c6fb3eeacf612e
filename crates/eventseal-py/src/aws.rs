//! AWS (feature `aws`): a replay store in DynamoDB and a signing key in AWS KMS, both with the
//! AWS SDK for Rust's configuration from the environment (the Lambda role's credentials,
//! `AWS_REGION`, `AWS_ENDPOINT_URL`, …).

use std::sync::Arc;

use eventseal::ErrorKind;
use eventseal_aws::{BlockingDynamoDbReplayStore, BlockingKmsSigner};
use pyo3::prelude::*;

use crate::errors::{exception, IntoPy};
use crate::keys::{AnySigner, PyVerifyingKey};
use crate::stores::PyReplayStore;

/// A replay store in a DynamoDB table (partition key `id`, string; TTL attribute `expires`):
/// one store for every instance of a consumer, the natural one on Lambda. See
/// docs/REPLAY_STORES.md for the table and the IAM policy.
#[pyclass(frozen, extends = PyReplayStore, module = "eventseal", name = "DynamoDbReplayStore")]
pub(crate) struct PyDynamoDbReplayStore {
    table: String,
}

#[pymethods]
impl PyDynamoDbReplayStore {
    #[new]
    fn new(py: Python<'_>, table: &str) -> PyResult<(Self, PyReplayStore)> {
        let store = py
            .detach(|| BlockingDynamoDbReplayStore::from_env(table))
            .or_raise(py)?;
        Ok((
            Self {
                table: table.to_owned(),
            },
            PyReplayStore {
                inner: Arc::new(store),
            },
        ))
    }

    /// The table name.
    #[getter]
    fn table(&self) -> &str {
        &self.table
    }
}

/// A source's signing key in AWS KMS (ECC_NIST_P256, SIGN_VERIFY): the private key never
/// leaves KMS. `key` is a key id, key ARN or `alias/…` (resolved once, here). Pass it to
/// `Sealer` in place of a `SigningKey`.
#[pyclass(frozen, module = "eventseal", name = "KmsSigner")]
pub(crate) struct PyKmsSigner {
    pub(crate) inner: AnySigner,
    key_arn: String,
}

#[pymethods]
impl PyKmsSigner {
    #[new]
    fn new(py: Python<'_>, key: &str, source: &str) -> PyResult<Self> {
        let signer = py
            .detach(|| BlockingKmsSigner::from_env(key, source))
            .map_err(|e| {
                exception(
                    py,
                    "Rejected",
                    format!("KMS signer: {e}"),
                    ErrorKind::SignerFailed,
                )
            })?;
        let key_arn = signer.inner().key_arn().to_owned();
        Ok(Self {
            inner: Arc::new(signer),
            key_arn,
        })
    }

    /// The key's ARN (the key an alias named when this signer was made).
    #[getter]
    fn key_arn(&self) -> &str {
        &self.key_arn
    }

    /// The public key, for consumers' trust stores.
    fn verifying_key(&self) -> PyVerifyingKey {
        PyVerifyingKey {
            inner: self.inner.verifying_key().clone(),
        }
    }

    fn __repr__(&self) -> String {
        format!("KmsSigner(key_arn={:?})", self.key_arn)
    }
}
