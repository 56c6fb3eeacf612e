//! The producer side: sealed envelopes onto an EventBridge bus with `PutEvents`.
//!
//! [`ToSdkEntry`] turns eventseal's [`PutEventsEntry`] into the SDK's
//! [`PutEventsRequestEntry`]. [`put_entries`] puts any number of entries in requests of at
//! most 10 entries and 256 KiB (EventBridge's limits, sizes computed as EventBridge does),
//! retries the entries a response reports as failed with a transient error code
//! (`ThrottlingException`, `InternalFailure`, …), and gives the caller the final outcome of
//! every entry, in order. Entries failed for good (`AccessDeniedException`,
//! `NotAuthorizedForSourceException`, `MalformedDetail`, …) are not retried.

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use eventseal::PutEventsEntry;

/// At most this many entries per `PutEvents` request (EventBridge's limit).
pub const MAX_ENTRIES_PER_REQUEST: usize = 10;
/// At most this many bytes of entries per `PutEvents` request (EventBridge's limit).
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// eventseal's entry as the SDK's.
pub trait ToSdkEntry {
    /// The SDK's request entry, with the same `Source`, `DetailType`, `Detail` and
    /// `EventBusName`.
    fn to_sdk_entry(&self) -> PutEventsRequestEntry;
}

impl ToSdkEntry for PutEventsEntry {
    fn to_sdk_entry(&self) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .source(&self.source)
            .detail_type(&self.detail_type)
            .detail(&self.detail)
            .event_bus_name(&self.event_bus_name)
            .build()
    }
}

/// The final outcome of one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryOutcome {
    /// Accepted: EventBridge's event id.
    Put {
        /// The event id EventBridge assigned.
        event_id: String,
    },
    /// Not accepted after the retries: the last error code and message.
    Failed {
        /// EventBridge's per-entry `ErrorCode`, or the request's error code when the whole
        /// request failed (`RequestFailed` when the error had none).
        code: String,
        /// The error message, if any.
        message: Option<String>,
        /// How many requests carried this entry.
        attempts: u32,
    },
}

impl EntryOutcome {
    /// The event id, if the entry was put.
    #[must_use]
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Self::Put { event_id } => Some(event_id),
            Self::Failed { .. } => None,
        }
    }
}

/// How failed entries are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// At most this many requests carry one entry (at least 1). Default 4.
    pub max_attempts: u32,
    /// The wait before the first retry, doubled for each later one. Default 100 ms.
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
        }
    }
}

/// Whether an entry's error code is worth retrying.
#[must_use]
pub fn is_retryable(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "InternalFailure"
            | "InternalException"
            | "ServiceUnavailable"
            | "ServiceUnavailableException"
            | "RequestFailed"
    )
}

/// Puts `entries` (see the module docs) and returns each one's final outcome, in order.
///
/// A request that fails as a whole (after the SDK's own retries) fails its entries with the
/// request's error code; transient ones are retried with the rest.
pub async fn put_entries(
    client: &Client,
    entries: &[PutEventsEntry],
    policy: RetryPolicy,
) -> Vec<EntryOutcome> {
    let mut outcomes: Vec<Option<EntryOutcome>> = vec![None; entries.len()];
    let mut attempts = vec![0u32; entries.len()];
    let mut pending: Vec<usize> = (0..entries.len()).collect();
    let max_attempts = policy.max_attempts.max(1);
    let mut round = 0u32;
    while !pending.is_empty() {
        if round > 0 {
            let factor = 1u32.checked_shl(round - 1).unwrap_or(u32::MAX);
            tokio::time::sleep(policy.base_delay.saturating_mul(factor)).await;
        }
        round += 1;
        let mut retry = Vec::new();
        for chunk in chunks(entries, &pending) {
            let results = put_chunk(client, entries, &chunk).await;
            for (i, result) in chunk.into_iter().zip(results) {
                let Some(tries) = attempts.get_mut(i) else {
                    continue;
                };
                *tries += 1;
                let outcome = match result {
                    Ok(event_id) => EntryOutcome::Put { event_id },
                    Err((code, message)) => {
                        if is_retryable(&code) && *tries < max_attempts {
                            retry.push(i);
                            continue;
                        }
                        EntryOutcome::Failed {
                            code,
                            message,
                            attempts: *tries,
                        }
                    }
                };
                if let Some(slot) = outcomes.get_mut(i) {
                    *slot = Some(outcome);
                }
            }
        }
        pending = retry;
    }
    outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or(EntryOutcome::Failed {
                code: "RequestFailed".into(),
                message: None,
                attempts: 0,
            })
        })
        .collect()
}

/// The indices of `pending`, in requests of at most 10 entries and 256 KiB.
fn chunks(entries: &[PutEventsEntry], pending: &[usize]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut bytes = 0usize;
    for &i in pending {
        let size = entries.get(i).map_or(0, PutEventsEntry::size);
        if !current.is_empty()
            && (current.len() == MAX_ENTRIES_PER_REQUEST || bytes + size > MAX_REQUEST_BYTES)
        {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        current.push(i);
        bytes += size;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

type EntryResult = Result<String, (String, Option<String>)>;

/// One `PutEvents` request: each entry's event id or error.
async fn put_chunk(
    client: &Client,
    entries: &[PutEventsEntry],
    chunk: &[usize],
) -> Vec<EntryResult> {
    let request: Vec<PutEventsRequestEntry> = chunk
        .iter()
        .filter_map(|&i| entries.get(i))
        .map(ToSdkEntry::to_sdk_entry)
        .collect();
    match client.put_events().set_entries(Some(request)).send().await {
        Ok(output) => {
            let results = output.entries();
            chunk
                .iter()
                .enumerate()
                .map(|(n, _)| match results.get(n) {
                    Some(r) => match (r.event_id(), r.error_code()) {
                        (Some(id), None) => Ok(id.to_owned()),
                        (_, Some(code)) => {
                            Err((code.to_owned(), r.error_message().map(str::to_owned)))
                        }
                        (None, None) => Err(("RequestFailed".into(), Some("no event id".into()))),
                    },
                    // Fewer results than entries: the response is not usable for this one.
                    None => Err(("RequestFailed".into(), Some("missing result entry".into()))),
                })
                .collect()
        }
        Err(e) => {
            use aws_sdk_eventbridge::error::ProvideErrorMetadata;
            let code = e.code().unwrap_or("RequestFailed").to_owned();
            let message = Some(e.message().map_or_else(
                || aws_sdk_eventbridge::error::DisplayErrorContext(&e).to_string(),
                str::to_owned,
            ));
            chunk
                .iter()
                .map(|_| Err((code.clone(), message.clone())))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(detail_bytes: usize) -> PutEventsEntry {
        PutEventsEntry {
            source: "s".into(),
            detail_type: "t".into(),
            detail: "x".repeat(detail_bytes),
            event_bus_name: "bus".into(),
        }
    }

    #[test]
    fn chunks_hold_at_most_ten_entries_and_256_kib() {
        let small: Vec<_> = (0..25).map(|_| entry(10)).collect();
        let all: Vec<usize> = (0..25).collect();
        let sizes: Vec<usize> = chunks(&small, &all).iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 5]);

        // 100 KiB entries: two fit in 256 KiB, the third starts a new request.
        let big: Vec<_> = (0..5).map(|_| entry(100 * 1024)).collect();
        let c = chunks(&big, &[0, 1, 2, 3, 4]);
        assert_eq!(c, vec![vec![0, 1], vec![2, 3], vec![4]]);
        for chunk in &c {
            let bytes: usize = chunk.iter().map(|&i| big[i].size()).sum();
            assert!(bytes <= MAX_REQUEST_BYTES);
        }
        // A retry round chunks only what is pending, keeping order.
        assert_eq!(chunks(&small, &[3, 7, 24]), vec![vec![3, 7, 24]]);
    }

    #[test]
    fn transient_codes_are_retried_permanent_ones_not() {
        for code in [
            "ThrottlingException",
            "InternalFailure",
            "InternalException",
        ] {
            assert!(is_retryable(code), "{code}");
        }
        for code in [
            "AccessDeniedException",
            "NotAuthorizedForSourceException",
            "NotAuthorizedForDetailTypeException",
            "MalformedDetail",
            "InvalidArgument",
            "ResourceNotFoundException",
        ] {
            assert!(!is_retryable(code), "{code}");
        }
    }
}
