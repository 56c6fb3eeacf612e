//! The private runtime of the blocking adapters (`BlockingDynamoDbReplayStore`,
//! `BlockingKmsSigner`).

/// A one-worker Tokio runtime owned by a blocking adapter. Dropping a runtime inside an async
/// context panics in Tokio ("Cannot drop a runtime in a context where blocking is not
/// allowed"), which happens when an adapter made before the application's runtime started is
/// dropped in one of its tasks; this one shuts down in the background instead.
#[derive(Debug)]
pub(crate) struct OwnedRuntime(Option<tokio::runtime::Runtime>);

impl OwnedRuntime {
    /// Starts a runtime with one worker thread named `name`.
    pub(crate) fn start(name: &str) -> std::io::Result<Self> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(name)
            .enable_all()
            .build()
            .map(|rt| Self(Some(rt)))
    }

    /// Runs `future` to completion on this runtime. `None` only after drop began.
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> Option<F::Output> {
        self.0.as_ref().map(|rt| rt.block_on(future))
    }
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}
