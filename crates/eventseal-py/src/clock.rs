//! The injectable clock: a Python callable returning Unix seconds, read once per operation
//! with the GIL held, then handed to the Rust pipeline through a thread-local while the GIL
//! is released (the pipeline runs on the calling thread).

use std::cell::Cell;

use eventseal::{Clock, SystemClock};
use pyo3::prelude::*;
use pyo3::types::PyFloat;

thread_local! {
    static NOW: Cell<Option<i64>> = const { Cell::new(None) };
}

/// The clock every binding-made `Opener`, `Sealer` and verifier is built with: the time read
/// for the current call, or the system clock outside one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallClock;

impl Clock for CallClock {
    fn now(&self) -> i64 {
        NOW.with(Cell::get).unwrap_or_else(|| SystemClock.now())
    }
}

/// Runs `f` with [`CallClock`] reading `now`; restores the previous value after (nested
/// calls from a handler on the same thread keep their own time).
pub(crate) fn at<R>(now: i64, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<i64>);
    impl Drop for Restore {
        fn drop(&mut self) {
            NOW.with(|n| n.set(self.0));
        }
    }
    let _restore = Restore(NOW.with(|n| n.replace(Some(now))));
    f()
}

/// A user's clock (`clock=` argument), or the system clock.
#[derive(Debug)]
pub(crate) struct PyClock(Option<Py<PyAny>>);

impl PyClock {
    /// Checks that `clock` is callable (or `None`).
    pub(crate) fn new(py: Python<'_>, clock: Option<Bound<'_, PyAny>>) -> PyResult<Self> {
        match clock {
            None => Ok(Self(None)),
            Some(c) if c.is_none() => Ok(Self(None)),
            Some(c) if c.is_callable() => Ok(Self(Some(c.unbind()))),
            Some(_) => Err(crate::errors::invalid_input(
                py,
                "clock: a callable returning Unix seconds, or None",
            )),
        }
    }

    /// The current time: the callable's result (an int, or a float rounded down), or the
    /// system clock's.
    pub(crate) fn read(&self, py: Python<'_>) -> PyResult<i64> {
        let Some(f) = &self.0 else {
            return Ok(SystemClock.now());
        };
        let value = f.bind(py).call0()?;
        if let Ok(float) = value.cast::<PyFloat>() {
            let secs = float.value();
            if !secs.is_finite() || secs.abs() > 1e15 {
                return Err(crate::errors::invalid_input(
                    py,
                    "clock returned a non-finite or out-of-range time",
                ));
            }
            #[allow(clippy::cast_possible_truncation)]
            return Ok(secs.floor() as i64);
        }
        value.extract::<i64>().map_err(|_| {
            crate::errors::invalid_input(py, "clock must return Unix seconds (int or float)")
        })
    }
}
