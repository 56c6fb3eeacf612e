//! The handler of `open … -- HANDLER` and of `open --sqs-batch … -- HANDLER`: a child process
//! that gets the verified payload on stdin, run under the envelope's lease and stopped before
//! that lease ends. Below both the single-envelope `open` (envelope.rs) and the batch mode
//! (aws.rs).

use std::time::Duration;

use eventseal::Opened;

use crate::Failure;

/// Runs the handler with the payload on its stdin and the verified envelope's id, source and
/// event type in its environment; its stdout and stderr are eventseal's. It is stopped before
/// the envelope's `lease` ends ([`HandlerDeadline`]).
pub(crate) fn run_handler(
    program: &str,
    args: &[String],
    opened: &Opened,
    lease: Duration,
) -> Result<(), Failure> {
    run_handler_with(program, args, opened, false, HandlerDeadline::within(lease))
}

/// When a handler is stopped: SIGTERM after `term_after`, SIGKILL `grace` later, so that it is
/// gone before its lease ends and no other worker can take the envelope over while it still
/// runs. The store counts the lease in whole seconds from the second the lease began, which
/// can be up to a second before the handler starts: the deadline is counted from the
/// handler's start with that second taken off. The grace is a tenth of the lease (between
/// 100 ms and 10 s); SIGTERM comes two graces before the (earliest possible) end of the lease,
/// leaving one grace for the release. A lease of a second or two leaves no time at all: the
/// handler is stopped at once (give `--lease` a few seconds more than the handler needs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HandlerDeadline {
    term_after: Duration,
    grace: Duration,
}

impl HandlerDeadline {
    pub(crate) fn within(lease: Duration) -> Self {
        let grace = (lease / 10).clamp(Duration::from_millis(100), Duration::from_secs(10));
        Self {
            term_after: lease
                .saturating_sub(Duration::from_secs(1))
                .saturating_sub(grace * 2),
            grace,
        }
    }

    /// As `--lease` is written when it is whole seconds (`4m40s` is `280s`), else in ms.
    fn shown(self) -> String {
        if self.term_after.subsec_nanos() == 0 {
            crate::duration::display(self.term_after)
        } else {
            format!("{}ms", self.term_after.as_millis())
        }
    }
}

/// [`run_handler`]; with `stdout_to_stderr`, the handler's stdout goes to eventseal's stderr
/// (`--sqs-batch`, whose stdout is the batch response).
pub(crate) fn run_handler_with(
    program: &str,
    args: &[String],
    opened: &Opened,
    stdout_to_stderr: bool,
    deadline: HandlerDeadline,
) -> Result<(), Failure> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let started = std::time::Instant::now();
    let h = opened.header();
    let mut command = Command::new(program);
    command
        .args(args)
        .env("EVENTSEAL_ENVELOPE_ID", h.id().to_string())
        .env("EVENTSEAL_SOURCE", h.source())
        .env("EVENTSEAL_EVENT_TYPE", h.event_type())
        .stdin(Stdio::piped());
    if stdout_to_stderr {
        command.stdout(Stdio::from(std::io::stderr()));
    }
    let mut child = command
        .spawn()
        .map_err(|e| Failure::HandlerFailed(format!("{program}: cannot start: {e}")))?;
    // The payload goes in from a thread of its own: a handler that never reads a payload larger
    // than the pipe's buffer must not stop the deadline from being kept.
    let writer = child.stdin.take().map(|mut stdin| {
        let payload = zeroize::Zeroizing::new(opened.payload().to_vec());
        std::thread::spawn(move || stdin.write_all(&payload))
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                // Its state is unknown: stop it before the caller releases the lease.
                stop(&mut child, deadline.grace);
                return Err(Failure::HandlerFailed(format!("{program}: {e}")));
            }
        }
        if started.elapsed() >= deadline.term_after {
            stop(&mut child, deadline.grace);
            return Err(Failure::HandlerFailed(format!(
                "timed out after {}",
                deadline.shown()
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // A handler that exits without reading its stdin closes the pipe: not an error here; its
    // exit status decides. A process it left behind may hold the pipe open without reading it:
    // the write is then abandoned at the deadline rather than waited for.
    let writer = writer.filter(|w| {
        while !w.is_finished() && started.elapsed() < deadline.term_after {
            std::thread::sleep(Duration::from_millis(10));
        }
        w.is_finished()
    });
    if let Some(Ok(Err(e))) = writer.map(std::thread::JoinHandle::join) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(Failure::HandlerFailed(format!(
                "{program}: writing the payload to its stdin: {e}"
            )));
        }
    }
    if status.success() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Err(Failure::HandlerFailed(format!(
                "{program} was killed by signal {signal}"
            )));
        }
    }
    Err(Failure::HandlerFailed(format!(
        "{program} exited with status {}",
        status.code().unwrap_or(-1)
    )))
}

/// Stops a handler past its deadline: SIGTERM, then SIGKILL if it has not exited within
/// `grace`; waits for it either way, so it is gone when the lease is released.
fn stop(child: &mut std::process::Child, grace: Duration) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            let asked = std::time::Instant::now();
            while asked.elapsed() < grace {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = grace;
    let _ = child.kill();
    let _ = child.wait();
}
