//! EventBridge delivered-event parsing: never panics; a parsed event's detail is a slice of
//! the input.
#![no_main]

use eventseal::{DeliveredEvent, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = DeliveredEvent::parse(data, &Limits::default()) {
        let detail = event.detail_bytes();
        assert!(data.windows(detail.len().max(1)).any(|w| w == detail) || detail.is_empty());
        assert_eq!(event.version(), "0");
    }
});
