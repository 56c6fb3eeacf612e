//! Several `eventseal open` processes racing for one envelope over a shared replay store:
//! exactly one accepts it, every other one is `replayed`.

mod common;

use common::*;

/// Several processes on one machine share one SQLite file: four `eventseal open` processes
/// racing for the same envelope accept it exactly once (WAL, busy timeout, one atomic
/// statement per claim).
#[test]
fn four_processes_share_one_sqlite_file_and_accept_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = CliKeys::write_to(d);
    for round in 0..3 {
        let file = format!("env{round}.json");
        keys.write_envelope(&d.join(&file), b"processes");
        let outputs = race_cli_open(d, &file, &["--replay-db", "replay.db"]);
        assert_exactly_one_accepted(&outputs, b"processes");
    }
}
