//! The replay stores of the CLI's sync commands (`--replay-db`, `--replay-redis`), made from
//! their options: below both the single-envelope `open` (envelope.rs) and the AWS batch mode
//! (aws.rs), which wraps the SQLite one for its async opener.

use std::path::Path;
use std::sync::Arc;

#[cfg(feature = "redis")]
use crate::io::{self, Source};
use crate::Failure;

/// `--replay-db`: a directory, or a path that cannot be opened for writing, is an I/O error
/// naming the path and the cause (exit 1), not a rejection.
#[cfg(feature = "sqlite")]
pub(crate) fn sqlite_store(
    path: &Path,
    now: i64,
) -> Result<Arc<dyn eventseal::ReplayStore>, Failure> {
    sqlite_store_typed(path, now).map(|s| Arc::new(s) as Arc<dyn eventseal::ReplayStore>)
}

/// [`sqlite_store`], as its own type (the batch opener wraps it for the async API).
#[cfg(feature = "sqlite")]
pub(crate) fn sqlite_store_typed(
    path: &Path,
    now: i64,
) -> Result<eventseal::SqliteReplayStore, Failure> {
    if path.as_os_str() == "-" {
        return Err(Failure::Usage(
            "--replay-db -: the replay database must be a file".to_owned(),
        ));
    }
    if path.is_dir() {
        return Err(Failure::Other(format!(
            "--replay-db {}: is a directory; name a database file (created if missing)",
            path.display()
        )));
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| {
            Failure::Other(format!(
                "--replay-db {}: cannot open for writing: {e}",
                path.display()
            ))
        })?;
    eventseal::SqliteReplayStore::open(path, now).map_err(Failure::rejected)
}

#[cfg(not(feature = "sqlite"))]
pub(crate) fn sqlite_store(
    _path: &Path,
    _now: i64,
) -> Result<Arc<dyn eventseal::ReplayStore>, Failure> {
    Err(Failure::Other(
        "--replay-db needs eventseal built with the `sqlite` feature (the default)".to_owned(),
    ))
}

#[cfg(feature = "redis")]
pub(crate) fn redis_store(
    url: &str,
    ca: Option<&Path>,
) -> Result<Arc<dyn eventseal::ReplayStore>, Failure> {
    let store = match ca {
        None => eventseal::RedisReplayStore::new(url),
        Some(path) => {
            let pem =
                Source::from_arg(path).read_bounded(io::MAX_CA_FILE_BYTES, "--replay-redis-ca")?;
            eventseal::RedisReplayStore::with_root_certificates(url, &pem)
        }
    }
    .map_err(|e| Failure::Other(e.to_string()))?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "redis"))]
pub(crate) fn redis_store(
    _url: &str,
    _ca: Option<&Path>,
) -> Result<Arc<dyn eventseal::ReplayStore>, Failure> {
    Err(Failure::Other(
        "--replay-redis needs eventseal built with the `redis` feature (the default)".to_owned(),
    ))
}
