//! Trust-file parsing: never panics; whatever parses writes back to an equal trust store.
#![no_main]

use eventseal::TrustStore;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(trust) = TrustStore::from_json(text) {
        let again = TrustStore::from_json(&trust.to_json()).expect("written trust file parses");
        assert_eq!(again, trust);
    }
});
