//! Unit tests of the key types and the JWK codec.

use super::jwk::*;
use super::*;
use crate::crypto;
use crate::encoding::{b64_decode_fixed, b64_encode};
use crate::error::Error;

#[test]
fn rfc8037_thumbprint_example() {
    // RFC 8037 Appendix A.3: thumbprint of the Ed25519 example key.
    let x = b64_decode_fixed::<32>("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "x").unwrap();
    assert_eq!(
        KeyId::thumbprint(ED25519, &x).as_str(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
}

#[test]
fn rfc8037_signing_example_loads() {
    // RFC 8037 Appendix A.1 secret key, with our source member added.
    let jwk = r#"{"kty":"OKP","crv":"Ed25519","source":"s1",
        "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    let k = SigningKey::from_jwk(jwk).unwrap();
    assert_eq!(
        k.key_id().as_str(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    // RFC 8037 A.4: signature over "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc".
    let sig = k
        .sign(b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc")
        .unwrap();
    assert_eq!(
        b64_encode(&sig),
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    );
    // Wrong public half.
    let bad = jwk.replace("11qYAYKx", "21qYAYKx");
    assert!(matches!(
        SigningKey::from_jwk(&bad),
        Err(Error::InvalidKey(_))
    ));
}

#[test]
fn jwk_round_trips_and_debug_is_redacted() {
    let sk = SigningKey::generate("orders").unwrap();
    let again = SigningKey::from_jwk(&sk.to_secret_jwk()).unwrap();
    assert_eq!(again.verifying_key(), sk.verifying_key());
    let vk = VerifyingKey::from_jwk(&sk.verifying_key().to_jwk()).unwrap();
    assert_eq!(&vk, sk.verifying_key());
    let d = b64_encode(sk.secret.as_ref());
    assert!(!format!("{sk:?}").contains(&d));

    let rk = RecipientSecretKey::generate("billing").unwrap();
    let again = RecipientSecretKey::from_jwk(&rk.to_secret_jwk()).unwrap();
    assert_eq!(again.public_key(), rk.public_key());
    let pk = RecipientPublicKey::from_jwk(&rk.public_key().to_jwk()).unwrap();
    assert_eq!(&pk, rk.public_key());
    let d = b64_encode(rk.secret.to_bytes().as_ref());
    assert!(!format!("{rk:?}").contains(&d));
}

/// RFC 9864: Ed25519 keys are written with the fully specified `"alg": "Ed25519"`; the
/// deprecated `"EdDSA"` is read, and the key id (RFC 7638, without `alg`) is the same.
#[test]
fn ed25519_keys_are_written_with_rfc9864_alg_and_eddsa_is_read() {
    let sk = SigningKey::generate("orders").unwrap();
    let public = sk.verifying_key().to_jwk();
    let secret = sk.to_secret_jwk();
    for text in [&public, &*secret] {
        let jwk: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(jwk["alg"], "Ed25519", "{text}");
    }
    let with_alg = |text: &str, alg: &str| {
        let mut jwk: serde_json::Value = serde_json::from_str(text).unwrap();
        jwk["alg"] = alg.into();
        jwk.to_string()
    };
    let read = VerifyingKey::from_jwk(&with_alg(&public, "EdDSA")).unwrap();
    assert_eq!(&read, sk.verifying_key());
    assert_eq!(read.key_id(), sk.verifying_key().key_id());
    assert_eq!(
        SigningKey::from_jwk(&with_alg(&secret, "EdDSA"))
            .unwrap()
            .verifying_key(),
        sk.verifying_key()
    );
    // Any other alg is still refused.
    for alg in ["ES256", "Ed448", "EDDSA", ""] {
        assert!(
            matches!(
                VerifyingKey::from_jwk(&with_alg(&public, alg)),
                Err(Error::InvalidKey(_))
            ),
            "{alg}"
        );
    }
}

#[test]
fn key_kinds_do_not_cross() {
    let sk = SigningKey::generate("orders").unwrap();
    let rk = RecipientSecretKey::generate("billing").unwrap();
    assert!(matches!(
        RecipientPublicKey::from_jwk(&sk.verifying_key().to_jwk()),
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(
        VerifyingKey::from_jwk(&rk.public_key().to_jwk()),
        Err(Error::InvalidKey(_))
    ));
    // A secret JWK is not accepted where a public one is expected, and vice versa.
    assert!(matches!(
        VerifyingKey::from_jwk(&sk.to_secret_jwk()),
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(
        SigningKey::from_jwk(&sk.verifying_key().to_jwk()),
        Err(Error::InvalidKey(_))
    ));
}

#[test]
fn kid_must_be_the_thumbprint() {
    let sk = SigningKey::generate("orders").unwrap();
    let jwk = sk.verifying_key().to_jwk();
    let forged = jwk.replace(sk.key_id().as_str(), "some-other-kid");
    assert!(matches!(
        VerifyingKey::from_jwk(&forged),
        Err(Error::InvalidKey(_))
    ));
}

#[test]
fn non_canonical_recipient_keys_are_rejected() {
    let good = RecipientSecretKey::generate("c")
        .unwrap()
        .public_key()
        .bytes;
    assert!(crypto::x25519_is_canonical(&good));
    let mut high = good;
    high[31] |= 0x80;
    // p, p + 1 and 2^255 - 1: at or above p with bit 255 clear.
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    let mut p1 = p;
    p1[0] = 0xee;
    let mut max = [0xffu8; 32];
    max[31] = 0x7f;
    let mut below = p;
    below[0] = 0xec; // p - 1: canonical
    assert!(crypto::x25519_is_canonical(&below));
    for bad in [high, p, p1, max] {
        assert!(!crypto::x25519_is_canonical(&bad));
        let jwk = format!(
            r#"{{"kty":"OKP","crv":"X25519","consumer":"c","x":"{}"}}"#,
            b64_encode(&bad)
        );
        assert!(
            matches!(
                RecipientPublicKey::from_jwk(&jwk),
                Err(Error::InvalidKey(m)) if m.starts_with("X25519 public key not canonical")
            ),
            "{jwk}"
        );
    }
}

#[test]
fn small_order_recipient_keys_are_rejected() {
    // 0, 1 and a point of order 8 (from the list in RFC 7748 discussions / Wycheproof).
    let points = [
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "4Ot6fDtBuK4WVuP68Z_EatoJjeucMrH9hmIFFl9JuAA",
    ];
    for x in points {
        let jwk = format!(r#"{{"kty":"OKP","crv":"X25519","consumer":"c","x":"{x}"}}"#);
        assert!(
            matches!(
                RecipientPublicKey::from_jwk(&jwk),
                Err(Error::InvalidKey("X25519 public key of small order"))
            ),
            "{x}"
        );
    }
}
