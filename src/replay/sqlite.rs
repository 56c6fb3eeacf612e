//! The persistent replay store in one SQLite file (feature `sqlite`).

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use super::{Claim, Poisoned, ReplayKey, ReplayKind, ReplayStore};
use crate::error::{Error, Result};

/// How often (in claims) the SQLite store deletes expired rows.
const PURGE_EVERY: u64 = 1024;

/// An embedded, persistent replay store in one SQLite file.
///
/// - Claims survive restarts: each claim is committed with `synchronous=FULL` before the
///   envelope is accepted.
/// - Several processes on one machine may share the file: WAL journal mode, a busy timeout,
///   and a claim that is one atomic `INSERT … ON CONFLICT DO UPDATE … WHERE expired`.
/// - Expired rows are purged when the store opens and every 1024 claims
///   ([`SqliteReplayStore::purge_expired`] does it on demand).
pub struct SqliteReplayStore {
    conn: Mutex<rusqlite::Connection>,
    claims: std::sync::atomic::AtomicU64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS eventseal_replay_v1 (
    consumer    TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (consumer, source, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS eventseal_replay_v1_expiry ON eventseal_replay_v1 (expires_at);
CREATE TABLE IF NOT EXISTS eventseal_webhook_replay_v1 (
    consumer    TEXT    NOT NULL,
    provider    TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (consumer, provider, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS eventseal_webhook_replay_v1_expiry
    ON eventseal_webhook_replay_v1 (expires_at);
";

/// Run once, when the webhook table is first created in a file that earlier versions wrote
/// webhook claims into (as source `webhook:PROVIDER` in the envelope table): copies them, so
/// an upgrade does not forget them. It can only add claims (a copied row that was really an
/// envelope claim of a source named `webhook:…` can reject, never accept, a delivery).
const MIGRATE_WEBHOOK_CLAIMS: &str = "
INSERT OR IGNORE INTO eventseal_webhook_replay_v1 (consumer, provider, id, expires_at)
    SELECT consumer, substr(source, 9), id, expires_at FROM eventseal_replay_v1
    WHERE substr(source, 1, 8) = 'webhook:';
";

/// The claim statement for each kind: insert, or take over a row that has expired; a live
/// row is untouched. Each kind has its own table, so the kinds cannot collide.
const CLAIM_ENVELOPE: &str = "INSERT INTO eventseal_replay_v1 (consumer, source, id, expires_at)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (consumer, source, id)
     DO UPDATE SET expires_at = excluded.expires_at
     WHERE eventseal_replay_v1.expires_at <= ?5";
const CLAIM_WEBHOOK: &str =
    "INSERT INTO eventseal_webhook_replay_v1 (consumer, provider, id, expires_at)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (consumer, provider, id)
     DO UPDATE SET expires_at = excluded.expires_at
     WHERE eventseal_webhook_replay_v1.expires_at <= ?5";

/// How long an SQLite operation waits for another process's lock before failing closed.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

fn init_sqlite(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    let tx = conn.unchecked_transaction()?;
    let had_webhook_table: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'eventseal_webhook_replay_v1')",
        [],
        |r| r.get(0),
    )?;
    let had_envelope_table: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'eventseal_replay_v1')",
        [],
        |r| r.get(0),
    )?;
    tx.execute_batch(SCHEMA)?;
    if had_envelope_table && !had_webhook_table {
        tx.execute_batch(MIGRATE_WEBHOOK_CLAIMS)?;
    }
    tx.commit()
}

/// Errors of a file that another process is initialising at the same moment: its lock, or
/// its rollback journal vanishing as that process switches the file to WAL.
fn sqlite_busy(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => {
            matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) || f.extended_code == rusqlite::ffi::SQLITE_IOERR_DELETE_NOENT
        }
        _ => false,
    }
}

impl SqliteReplayStore {
    /// Opens (creating if needed) the store at `path`, and purges entries expired at `now`.
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`] if the file cannot be opened or initialised.
    pub fn open(path: impl AsRef<Path>, now: i64) -> Result<Self> {
        let conn = rusqlite::Connection::open(path).map_err(Error::store)?;
        conn.busy_timeout(SQLITE_BUSY_TIMEOUT)
            .map_err(Error::store)?;
        // Switching a new file to WAL takes an exclusive lock and SQLite answers "busy" at
        // once, without its busy handler, while another process initialises the same file:
        // retry for as long as the busy timeout would have waited.
        let deadline = std::time::Instant::now() + SQLITE_BUSY_TIMEOUT;
        loop {
            match init_sqlite(&conn) {
                Ok(()) => break,
                Err(e) if sqlite_busy(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(Error::store(e)),
            }
        }
        let store = Self {
            conn: Mutex::new(conn),
            claims: std::sync::atomic::AtomicU64::new(0),
        };
        store.purge_expired(now)?;
        Ok(store)
    }

    /// Deletes entries whose expiry is at or before `now`; returns how many.
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`].
    pub fn purge_expired(&self, now: i64) -> Result<usize> {
        let conn = self.conn.lock().map_err(|_| Error::store(Poisoned))?;
        let mut removed = 0;
        for table in ["eventseal_replay_v1", "eventseal_webhook_replay_v1"] {
            removed += conn
                .prepare_cached(&format!("DELETE FROM {table} WHERE expires_at <= ?1"))
                .and_then(|mut st| st.execute(rusqlite::params![now]))
                .map_err(Error::store)?;
        }
        Ok(removed)
    }

    /// Number of entries in the file (live or not yet purged).
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`].
    pub fn entry_count(&self) -> Result<u64> {
        let conn = self.conn.lock().map_err(|_| Error::store(Poisoned))?;
        conn.query_row(
            "SELECT (SELECT COUNT(*) FROM eventseal_replay_v1)
                  + (SELECT COUNT(*) FROM eventseal_webhook_replay_v1)",
            [],
            |r| r.get(0),
        )
        .map_err(Error::store)
    }
}

impl std::fmt::Debug for SqliteReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReplayStore").finish_non_exhaustive()
    }
}

impl ReplayStore for SqliteReplayStore {
    fn claim(&self, key: &ReplayKey<'_>, expires_at: i64, now: i64) -> Result<Claim> {
        let n = self
            .claims
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % PURGE_EVERY == PURGE_EVERY - 1 {
            self.purge_expired(now)?;
        }
        let conn = self.conn.lock().map_err(|_| Error::store(Poisoned))?;
        // One statement: insert, or take over a row that has expired; a live row is untouched.
        let statement = match key.kind {
            ReplayKind::Envelope => CLAIM_ENVELOPE,
            ReplayKind::Webhook => CLAIM_WEBHOOK,
        };
        let changed = conn
            .prepare_cached(statement)
            .and_then(|mut st| {
                st.execute(rusqlite::params![
                    key.consumer,
                    key.source,
                    key.id,
                    expires_at,
                    now
                ])
            })
            .map_err(Error::store)?;
        Ok(if changed == 1 {
            Claim::Claimed
        } else {
            Claim::AlreadyClaimed
        })
    }
}
