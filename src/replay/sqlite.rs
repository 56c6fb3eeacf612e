//! The persistent replay store in one SQLite file (feature `sqlite`).

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use super::{
    Begun, Claim, Completion, LeaseRequest, LeaseToken, Poisoned, ReplayKey, ReplayKind,
    ReplayStore,
};
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
    token       BLOB,
    lease_until INTEGER,
    PRIMARY KEY (consumer, source, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS eventseal_replay_v1_expiry ON eventseal_replay_v1 (expires_at);
CREATE TABLE IF NOT EXISTS eventseal_webhook_replay_v1 (
    consumer    TEXT    NOT NULL,
    provider    TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    token       BLOB,
    lease_until INTEGER,
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

/// A record is in progress while `token` is set (owned by that token until `lease_until`),
/// completed when `token` is NULL; either way it is kept until `expires_at`. Each kind has its
/// own table, so the kinds cannot collide; the statements differ only in the table and the
/// name of the second key column.
struct Table {
    /// Begin (with a token and a lease) or claim (with NULLs: completed at once): insert, or
    /// take over a row whose record expired or whose lease lapsed; a live row is untouched.
    begin: &'static str,
    /// Whether a live row is in progress (1) or completed (0).
    state: &'static str,
    complete: &'static str,
    release: &'static str,
}

macro_rules! table {
    ($table:literal, $source:literal) => {
        Table {
            begin: concat!(
                "INSERT INTO ",
                $table,
                " (consumer, ",
                $source,
                ", id, expires_at, token, lease_until)
                 VALUES (?1, ?2, ?3, ?4, ?6, ?7)
                 ON CONFLICT (consumer, ",
                $source,
                ", id)
                 DO UPDATE SET expires_at = excluded.expires_at, token = excluded.token,
                               lease_until = excluded.lease_until
                 WHERE ",
                $table,
                ".expires_at <= ?5
                    OR (",
                $table,
                ".token IS NOT NULL AND ",
                $table,
                ".lease_until <= ?5)"
            ),
            state: concat!(
                "SELECT token IS NOT NULL FROM ",
                $table,
                " WHERE consumer = ?1 AND ",
                $source,
                " = ?2 AND id = ?3"
            ),
            complete: concat!(
                "UPDATE ",
                $table,
                " SET token = NULL, lease_until = NULL
                 WHERE consumer = ?1 AND ",
                $source,
                " = ?2 AND id = ?3 AND token = ?4"
            ),
            release: concat!(
                "DELETE FROM ",
                $table,
                " WHERE consumer = ?1 AND ",
                $source,
                " = ?2 AND id = ?3 AND token = ?4"
            ),
        }
    };
}

const ENVELOPES: Table = table!("eventseal_replay_v1", "source");
const WEBHOOKS: Table = table!("eventseal_webhook_replay_v1", "provider");

fn table(kind: ReplayKind) -> &'static Table {
    match kind {
        ReplayKind::Envelope => &ENVELOPES,
        ReplayKind::Webhook => &WEBHOOKS,
    }
}

/// Files written before leases existed have no `token` and `lease_until` columns: add them
/// (NULL: every old row is a completed record, as it was).
fn add_lease_columns(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    for t in ["eventseal_replay_v1", "eventseal_webhook_replay_v1"] {
        let has_token: bool = tx.query_row(
            &format!("SELECT EXISTS (SELECT 1 FROM pragma_table_info('{t}') WHERE name = 'token')"),
            [],
            |r| r.get(0),
        )?;
        if !has_token {
            tx.execute_batch(&format!(
                "ALTER TABLE {t} ADD COLUMN token BLOB; ALTER TABLE {t} ADD COLUMN lease_until INTEGER;"
            ))?;
        }
    }
    Ok(())
}

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
    add_lease_columns(&tx)?;
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

impl SqliteReplayStore {
    /// One transaction: begin (or claim, with no lease) and, when the row was live, read
    /// whether it is in progress.
    fn begin_record(
        &self,
        key: &ReplayKey<'_>,
        expires_at: i64,
        lease: Option<(&LeaseToken, i64)>,
        now: i64,
    ) -> Result<Begun> {
        let n = self
            .claims
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % PURGE_EVERY == PURGE_EVERY - 1 {
            self.purge_expired(now)?;
        }
        let t = table(key.kind);
        let mut conn = self.conn.lock().map_err(|_| Error::store(Poisoned))?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(Error::store)?;
        let changed = tx
            .prepare_cached(t.begin)
            .and_then(|mut st| {
                st.execute(rusqlite::params![
                    key.consumer,
                    key.source,
                    key.id,
                    expires_at,
                    now,
                    lease.map(|(token, _)| token.as_bytes().to_vec()),
                    lease.map(|(_, until)| until),
                ])
            })
            .map_err(Error::store)?;
        let begun = if changed == 1 {
            Begun::Started
        } else {
            let in_progress: bool = tx
                .prepare_cached(t.state)
                .and_then(|mut st| {
                    st.query_row(rusqlite::params![key.consumer, key.source, key.id], |r| {
                        r.get(0)
                    })
                })
                .map_err(Error::store)?;
            if in_progress {
                Begun::InProgress
            } else {
                Begun::AlreadyDone
            }
        };
        tx.commit().map_err(Error::store)?;
        Ok(begun)
    }

    /// One statement on the row of `key` owned by `token`; whether it changed it.
    fn owned_row(&self, key: &ReplayKey<'_>, token: &LeaseToken, sql: &str) -> Result<bool> {
        let conn = self.conn.lock().map_err(|_| Error::store(Poisoned))?;
        let changed = conn
            .prepare_cached(sql)
            .and_then(|mut st| {
                st.execute(rusqlite::params![
                    key.consumer,
                    key.source,
                    key.id,
                    token.as_bytes().as_slice()
                ])
            })
            .map_err(Error::store)?;
        Ok(changed == 1)
    }
}

impl ReplayStore for SqliteReplayStore {
    fn begin(&self, key: &ReplayKey<'_>, request: &LeaseRequest) -> Result<Begun> {
        self.begin_record(
            key,
            request.expires_at,
            Some((&request.token, request.lease_until)),
            request.now,
        )
    }

    fn complete(
        &self,
        key: &ReplayKey<'_>,
        token: &LeaseToken,
        _expires_at: i64,
        _now: i64,
    ) -> Result<Completion> {
        Ok(if self.owned_row(key, token, table(key.kind).complete)? {
            Completion::Completed
        } else {
            Completion::LeaseLost
        })
    }

    fn release(&self, key: &ReplayKey<'_>, token: &LeaseToken) -> Result<bool> {
        self.owned_row(key, token, table(key.kind).release)
    }

    fn claim(&self, key: &ReplayKey<'_>, expires_at: i64, now: i64) -> Result<Claim> {
        self.begin_record(key, expires_at, None, now)
            .map(Claim::from)
    }
}
