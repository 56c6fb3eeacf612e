//! JWK import for every key type: never panics; an imported key exports to a JWK that imports
//! to the same key.
#![no_main]

use eventseal::{RecipientPublicKey, RecipientSecretKey, SigningKey, SymmetricKey, VerifyingKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(k) = VerifyingKey::from_jwk(text) {
        assert_eq!(VerifyingKey::from_jwk(&k.to_jwk()).expect("round trip"), k);
    }
    if let Ok(k) = RecipientPublicKey::from_jwk(text) {
        assert_eq!(RecipientPublicKey::from_jwk(&k.to_jwk()).expect("round trip"), k);
    }
    if let Ok(k) = SigningKey::from_jwk(text) {
        let again = SigningKey::from_jwk(&k.to_secret_jwk()).expect("round trip");
        assert_eq!(again.verifying_key(), k.verifying_key());
    }
    if let Ok(k) = RecipientSecretKey::from_jwk(text) {
        let again = RecipientSecretKey::from_jwk(&k.to_secret_jwk()).expect("round trip");
        assert_eq!(again.public_key(), k.public_key());
    }
    if let Ok(k) = SymmetricKey::from_jwk(text) {
        let again = SymmetricKey::from_jwk(&k.to_secret_jwk()).expect("round trip");
        assert_eq!(again.key_id(), k.key_id());
    }
});
