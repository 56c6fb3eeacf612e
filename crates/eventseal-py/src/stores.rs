//! Replay stores: where an opener records the envelope ids it has claimed or processed.

use std::sync::Arc;
use std::time::Duration;

use eventseal::{MemoryReplayStore, RedisReplayStore, ReplayStore, SqliteReplayStore};
use pyo3::prelude::*;

use crate::clock::PyClock;
use crate::errors::{invalid_input, IntoPy};

/// The base class of every replay store (not constructed directly).
#[pyclass(frozen, subclass, module = "eventseal", name = "ReplayStore")]
pub(crate) struct PyReplayStore {
    pub(crate) inner: Arc<dyn ReplayStore>,
}

/// A store in this process's memory: for one long-lived process. Every instance of a
/// consumer needs the same store; use Redis, SQLite or DynamoDB for more than one.
#[pyclass(frozen, extends = PyReplayStore, module = "eventseal", name = "MemoryReplayStore")]
pub(crate) struct PyMemoryReplayStore {
    store: Arc<MemoryReplayStore>,
    clock: PyClock,
}

#[pymethods]
impl PyMemoryReplayStore {
    /// `capacity`: most live entries (default 1,000,000); past it, claims fail closed with
    /// `store-full`. `clock`: the time `purge_expired` uses (give it the opener's clock).
    #[new]
    #[pyo3(signature = (capacity = None, *, clock = None))]
    fn new(
        py: Python<'_>,
        capacity: Option<usize>,
        clock: Option<Bound<'_, PyAny>>,
    ) -> PyResult<(Self, PyReplayStore)> {
        if capacity == Some(0) {
            return Err(invalid_input(py, "capacity must be at least 1"));
        }
        let store =
            Arc::new(capacity.map_or_else(MemoryReplayStore::default, MemoryReplayStore::new));
        Ok((
            Self {
                store: store.clone(),
                clock: PyClock::new(py, clock)?,
            },
            PyReplayStore { inner: store },
        ))
    }

    /// Live entries (expired ones are purged lazily).
    fn __len__(&self) -> usize {
        self.store.len()
    }

    /// Deletes entries expired as of the store's clock; returns how many.
    fn purge_expired(&self, py: Python<'_>) -> PyResult<usize> {
        let now = self.clock.read(py)?;
        self.store.purge_expired(now).or_raise(py)
    }
}

/// A store in an SQLite file: survives restarts; one machine (processes on it may share the
/// file).
#[pyclass(frozen, extends = PyReplayStore, module = "eventseal", name = "SqliteReplayStore")]
pub(crate) struct PySqliteReplayStore {
    store: Arc<SqliteReplayStore>,
    clock: PyClock,
}

#[pymethods]
impl PySqliteReplayStore {
    /// Opens (creating if needed) the store at `path`. `clock`: the time used when opening
    /// and by `purge_expired` (give it the opener's clock).
    #[new]
    #[pyo3(signature = (path, *, clock = None))]
    fn new(
        py: Python<'_>,
        path: std::path::PathBuf,
        clock: Option<Bound<'_, PyAny>>,
    ) -> PyResult<(Self, PyReplayStore)> {
        let clock = PyClock::new(py, clock)?;
        let now = clock.read(py)?;
        let store = py
            .detach(|| SqliteReplayStore::open(&path, now))
            .or_raise(py)?;
        let store = Arc::new(store);
        Ok((
            Self {
                store: store.clone(),
                clock,
            },
            PyReplayStore { inner: store },
        ))
    }

    /// Entries in the file.
    fn entry_count(&self, py: Python<'_>) -> PyResult<u64> {
        let store = &self.store;
        py.detach(|| store.entry_count()).or_raise(py)
    }

    /// Deletes entries expired as of the store's clock; returns how many.
    fn purge_expired(&self, py: Python<'_>) -> PyResult<usize> {
        let now = self.clock.read(py)?;
        let store = &self.store;
        py.detach(|| store.purge_expired(now)).or_raise(py)
    }
}

/// A store in Redis (`redis://`, `rediss://` or `redis+unix://`): one store for every
/// instance of a consumer. Connects on first use.
#[pyclass(frozen, extends = PyReplayStore, module = "eventseal", name = "RedisReplayStore")]
pub(crate) struct PyRedisReplayStore {
    store: Arc<RedisReplayStore>,
}

#[pymethods]
impl PyRedisReplayStore {
    /// `timeout_seconds`: connect, read and write timeout (default 1 s).
    #[new]
    #[pyo3(signature = (url, timeout_seconds = None))]
    fn new(
        py: Python<'_>,
        url: &str,
        timeout_seconds: Option<f64>,
    ) -> PyResult<(Self, PyReplayStore)> {
        let mut store = RedisReplayStore::new(url).or_raise(py)?;
        if let Some(t) = timeout_seconds {
            let t = Duration::try_from_secs_f64(t)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| invalid_input(py, "timeout_seconds: a positive number"))?;
            store = store.with_timeout(t);
        }
        let store = Arc::new(store);
        Ok((
            Self {
                store: store.clone(),
            },
            PyReplayStore { inner: store },
        ))
    }

    /// Checks the server answers (raises `Rejected` with kind `store-unavailable`).
    fn ping(&self, py: Python<'_>) -> PyResult<()> {
        let store = &self.store;
        py.detach(|| store.ping()).or_raise(py)
    }
}
