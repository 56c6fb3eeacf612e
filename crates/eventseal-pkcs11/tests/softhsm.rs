//! eventseal-pkcs11 against a real SoftHSM2 token made by the tests (common/softhsm.rs):
//! Ed25519 (both `CKA_EC_PARAMS` forms) and P-256 keys seal envelopes the library opens and
//! sign Standard Webhooks; a wrong PIN, a missing key and a missing module are clear errors;
//! eight threads seal through one signer at once.

#[path = "common/softhsm.rs"]
mod softhsm;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use eventseal::webhook::{by_name, Request, StandardSigner};
use eventseal::{
    open, ErrorKind, MemoryReplayStore, RecipientSecretKey, Sealer, SignatureAlgorithm,
    SystemClock, TrustStore, VerifyingKey,
};
use eventseal_pkcs11::{KeyLocation, Pin, Pkcs11Error, Pkcs11Signer};
use softhsm::{SoftHsm, ED_KEY, MODULE, P256_KEY, PIN, PIN_TOKEN, TOKEN};
use zeroize::Zeroizing;

/// The token `a_logged_out_signer_logs_in_again` logs out of (a logout is per token and
/// process: on the main token it would disturb the other tests).
const LOGOUT_TOKEN: &str = "logout-test";

/// A private key made with CKA_EXTRACTABLE true.
const EXTRACTABLE_KEY: &str = "ed-extractable";

/// The key `a_key_gone_from_the_token_fails_the_seal` destroys.
const DOOMED_KEY: &str = "ed-doomed";

/// The Ed25519 key made through cryptoki with the RFC 8410 OID as `CKA_EC_PARAMS`.
const ED_OID_KEY: &str = "ed-oid";

/// One token store per test process: SoftHSM2 reads `SOFTHSM2_CONF` once, at
/// `C_Initialize`.
fn hsm() -> &'static SoftHsm {
    static HSM: OnceLock<SoftHsm> = OnceLock::new();
    HSM.get_or_init(|| {
        let hsm = SoftHsm::new();
        // A token of its own for the test that logs the whole process out of it.
        hsm.init_token(LOGOUT_TOKEN);
        hsm.keypairgen(LOGOUT_TOKEN, "EC:prime256v1", P256_KEY, "02");
        std::env::set_var("SOFTHSM2_CONF", &hsm.conf);
        generate_ed25519_with_oid();
        hsm
    })
}

/// A read-write session on the main token, logged in (this process's own PKCS#11 calls,
/// beside the signers').
fn rw_session(token: &str) -> cryptoki::session::Session {
    let ctx = Pkcs11::new(MODULE).unwrap();
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(
            cryptoki::error::RvError::CryptokiAlreadyInitialized,
            _,
        )) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| {
            let info = ctx.get_token_info(*s).unwrap();
            info.token_initialized() && info.label().trim_end() == token
        })
        .unwrap();
    let session = ctx.open_rw_session(slot).unwrap();
    match session.login(UserType::User, Some(&AuthPin::from(PIN.to_owned()))) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(e) => panic!("C_Login: {e}"),
    }
    session
}

/// `C_GenerateKeyPair` with `CKM_EC_EDWARDS_KEY_PAIR_GEN`, the curve given as `params`.
fn generate_ed25519(
    session: &cryptoki::session::Session,
    label: &str,
    id: u8,
    params: Vec<u8>,
    extractable: bool,
) -> cryptoki::object::ObjectHandle {
    let label = label.as_bytes().to_vec();
    let (_, private) = session
        .generate_key_pair(
            &Mechanism::EccEdwardsKeyPairGen,
            &[
                Attribute::Token(true),
                Attribute::Verify(true),
                Attribute::EcParams(params),
                Attribute::Label(label.clone()),
                Attribute::Id(vec![id]),
            ],
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(extractable),
                Attribute::Sign(true),
                Attribute::Label(label),
                Attribute::Id(vec![id]),
            ],
        )
        .unwrap();
    private
}

/// The Ed25519 key with the OID form of the curve.
fn generate_ed25519_with_oid() {
    let session = rw_session(TOKEN);
    let oid = vec![0x06, 0x03, 0x2b, 0x65, 0x70];
    generate_ed25519(&session, ED_OID_KEY, 3, oid.clone(), false);
    // For the test that destroys a key under a running signer.
    generate_ed25519(&session, DOOMED_KEY, 4, oid.clone(), false);
    // A key that could be copied out of the token.
    generate_ed25519(&session, EXTRACTABLE_KEY, 5, oid.clone(), true);
    // Check the two Ed25519 keys really differ in the form of their parameters.
    for (name, want) in [
        (ED_KEY, b"\x13\x0cedwards25519".to_vec()),
        (ED_OID_KEY, oid),
    ] {
        let public = session
            .find_objects(&[
                Attribute::Class(cryptoki::object::ObjectClass::PUBLIC_KEY),
                Attribute::Label(name.as_bytes().to_vec()),
            ])
            .unwrap();
        let attrs = session
            .get_attributes(public[0], &[AttributeType::EcParams])
            .unwrap();
        assert!(
            matches!(&attrs[..], [Attribute::EcParams(p)] if *p == want),
            "{name}: {attrs:?}"
        );
    }
}

fn signer(object: &str) -> Pkcs11Signer {
    Pkcs11Signer::from_uri(&hsm().uri(TOKEN, object), "orders").unwrap()
}

/// Seals with `signer`, opens with the library trusting the signer's JWK.
fn seal_and_open(signer: Pkcs11Signer) {
    let billing = RecipientSecretKey::generate("billing").unwrap();
    let trust =
        TrustStore::new().with(VerifyingKey::from_jwk(&signer.verifying_key().to_jwk()).unwrap());
    let sealer = Sealer::new(signer).with_ttl(Duration::from_secs(60));
    let env = sealer
        .seal("order.created", b"{\"order\":7}", &[billing.public_key()])
        .unwrap();
    let opened = open_once(&env, billing, &trust);
    assert_eq!(opened.payload(), b"{\"order\":7}");
    assert_eq!(opened.header().source(), "orders");
}

/// Opens `env` once as billing, trusting `trust`.
fn open_once(
    env: &eventseal::SealedEnvelope,
    billing: RecipientSecretKey,
    trust: &TrustStore,
) -> eventseal::Opened {
    open(
        env.as_bytes(),
        &[billing],
        trust,
        &SystemClock,
        &MemoryReplayStore::default(),
    )
    .unwrap()
}

#[test]
fn ed25519_from_pkcs11_tool_seals_what_the_library_opens() {
    let s = signer(ED_KEY);
    assert_eq!(s.verifying_key().algorithm(), SignatureAlgorithm::Ed25519);
    seal_and_open(s);
}

#[test]
fn ed25519_with_the_oid_parameters_seals_too() {
    let s = signer(ED_OID_KEY);
    assert_eq!(s.verifying_key().algorithm(), SignatureAlgorithm::Ed25519);
    seal_and_open(s);
}

#[test]
fn p256_signs_the_digest_with_ckm_ecdsa() {
    let s = signer(P256_KEY);
    assert_eq!(
        s.verifying_key().algorithm(),
        SignatureAlgorithm::EcdsaP256Sha256
    );
    seal_and_open(s);
}

#[test]
fn a_key_found_by_id_alone() {
    let s = Pkcs11Signer::from_uri(
        &format!(
            "pkcs11:token={TOKEN};id=%02?module-path={MODULE}&pin-source=file:{}",
            hsm().pin_file.display()
        ),
        "orders",
    )
    .unwrap();
    assert_eq!(
        s.verifying_key(),
        signer(P256_KEY).verifying_key(),
        "id=%02 is the P-256 key"
    );
}

#[test]
fn the_pin_from_the_environment_or_a_location() {
    hsm();
    let loc = KeyLocation {
        module: Some(MODULE.into()),
        token_label: Some(TOKEN.into()),
        object_label: Some(ED_KEY.into()),
        pin: Some(Pin::Env("EVENTSEAL_TEST_PKCS11_PIN".into())),
        ..KeyLocation::default()
    };
    // Not set: a clear error naming the variable.
    let err = Pkcs11Signer::open(loc, "orders").unwrap_err();
    assert!(
        matches!(&err, Pkcs11Error::Pin(m) if m.contains("EVENTSEAL_TEST_PKCS11_PIN")),
        "{err}"
    );
    let loc = KeyLocation {
        module: Some(MODULE.into()),
        token_label: Some(TOKEN.into()),
        object_label: Some(ED_KEY.into()),
        pin: Some(Pin::Value(Zeroizing::new(PIN.into()))),
        ..KeyLocation::default()
    };
    Pkcs11Signer::open(loc, "orders").unwrap();
}

#[test]
fn a_wrong_pin_is_a_clear_error() {
    let hsm = hsm();
    let wrong = hsm.dir().join("wrong-pin");
    std::fs::write(&wrong, "0000\n").unwrap();
    let uri = format!(
        "pkcs11:token={PIN_TOKEN};object={ED_KEY}?module-path={MODULE}&pin-source=file:{}",
        wrong.display()
    );
    let err = Pkcs11Signer::from_uri(&uri, "orders").unwrap_err();
    assert!(
        matches!(&err, Pkcs11Error::Pin(m) if m == "the PIN is incorrect"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "PKCS#11 PIN: the PIN is incorrect");
}

#[test]
fn missing_things_are_named() {
    let hsm = hsm();
    let err = Pkcs11Signer::from_uri(&hsm.uri(TOKEN, "no-such-key"), "orders").unwrap_err();
    assert!(
        matches!(&err, Pkcs11Error::Key(m) if m.contains("no private key with label \"no-such-key\"")),
        "{err}"
    );
    let err = Pkcs11Signer::from_uri(&hsm.uri("no-such-token", ED_KEY), "orders").unwrap_err();
    assert!(
        matches!(&err, Pkcs11Error::Token(m) if m.contains("no token with label \"no-such-token\"")),
        "{err}"
    );
    let err = Pkcs11Signer::from_uri(
        &format!(
            "pkcs11:token={TOKEN};object={ED_KEY}?module-path=/nonexistent/libpkcs11.so&pin-value=1"
        ),
        "orders",
    )
    .unwrap_err();
    assert!(matches!(&err, Pkcs11Error::Module { .. }), "{err}");
    let err = Pkcs11Signer::from_uri(&hsm.uri(TOKEN, ED_KEY), "not a source").unwrap_err();
    assert!(
        matches!(&err, Pkcs11Error::Eventseal(e) if e.kind() == ErrorKind::Malformed),
        "{err}"
    );
}

#[test]
fn eight_threads_seal_through_one_signer() {
    let signer = Arc::new(signer(ED_KEY));
    let keys = Arc::new([RecipientSecretKey::generate("billing").unwrap()]);
    let trust = Arc::new(TrustStore::new().with(signer.verifying_key().clone()));
    let store = Arc::new(MemoryReplayStore::default());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (signer, keys, trust, store) =
                (signer.clone(), keys.clone(), trust.clone(), store.clone());
            std::thread::spawn(move || {
                let sealer = Sealer::new(signer);
                for i in 0..25 {
                    let payload = format!("{t}/{i}");
                    let env = sealer
                        .seal("order.created", payload.as_bytes(), &[keys[0].public_key()])
                        .unwrap();
                    let opened = open(
                        env.as_bytes(),
                        &keys[..],
                        trust.as_ref(),
                        &SystemClock,
                        store.as_ref(),
                    )
                    .unwrap();
                    assert_eq!(opened.payload(), payload.as_bytes());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn standard_webhooks_v1a_from_the_token() {
    let signer = signer(ED_KEY);
    let webhook = StandardSigner::from_signer(signer).unwrap();
    let whpk = webhook.public_key().unwrap();
    let body = br#"{"type":"invoice.paid"}"#;
    let headers = webhook.headers("msg_hsm", 1_700_000_000, body).unwrap();
    let verifier = by_name(
        "standard-webhooks",
        &[whpk.as_str()],
        Duration::from_secs(300),
    )
    .unwrap();
    let request = Request::new(headers.iter().map(|(n, v)| (*n, v.as_str())), body);
    verifier.verify(&request, 1_700_000_000).unwrap();
    // A P-256 key on the token cannot sign v1a.
    assert_eq!(
        StandardSigner::from_signer(self::signer(P256_KEY))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidKey
    );
}

/// A key destroyed under a running signer: the seal fails with `signer-failed`, naming the
/// key, and produces nothing.
#[test]
fn a_key_gone_from_the_token_fails_the_seal() {
    hsm();
    let sealer = Sealer::new(signer(DOOMED_KEY));
    let billing = RecipientSecretKey::generate("billing").unwrap();
    sealer
        .seal("order.created", b"before", &[billing.public_key()])
        .unwrap();
    // Another session of this process destroys the private key. (SoftHSM2 has been seen to
    // invalidate a fresh session while other tests open and close theirs: tried again.)
    let mut destroyed = false;
    for _ in 0..5 {
        let session = rw_session(TOKEN);
        let found = session.find_objects(&[
            Attribute::Class(cryptoki::object::ObjectClass::PRIVATE_KEY),
            Attribute::Label(DOOMED_KEY.as_bytes().to_vec()),
        ]);
        if let Ok([key]) = found.as_deref() {
            if session.destroy_object(*key).is_ok() {
                destroyed = true;
                break;
            }
        }
    }
    assert!(destroyed, "the key could not be destroyed");
    let err = sealer
        .seal("order.created", b"after", &[billing.public_key()])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignerFailed);
    assert!(
        err.to_string()
            .contains(&format!("no private key with label {DOOMED_KEY:?}")),
        "{err}"
    );
}

/// A signer whose session was logged out (another part of the process called `C_Logout`)
/// logs in again and signs.
#[test]
fn a_logged_out_signer_logs_in_again() {
    let hsm = hsm();
    let sealer =
        Sealer::new(Pkcs11Signer::from_uri(&hsm.uri(LOGOUT_TOKEN, P256_KEY), "orders").unwrap());
    let trust = TrustStore::new().with(sealer.key().verifying_key().clone());
    let billing = RecipientSecretKey::generate("billing").unwrap();
    let session = rw_session(LOGOUT_TOKEN);
    session.logout().unwrap();
    let env = sealer
        .seal("order.created", b"again", &[billing.public_key()])
        .unwrap();
    let opened = open_once(&env, billing, &trust);
    assert_eq!(opened.payload(), b"again");
}

/// A key that can leave the token is refused unless the caller says it accepts that.
#[test]
fn an_extractable_key_is_refused_by_default() {
    let hsm = hsm();
    let err = Pkcs11Signer::from_uri(&hsm.uri(TOKEN, EXTRACTABLE_KEY), "orders").unwrap_err();
    assert!(
        matches!(&err, Pkcs11Error::Key(m) if m.contains("can leave the token (CKA_EXTRACTABLE true")),
        "{err}"
    );
    let loc = KeyLocation {
        module: Some(MODULE.into()),
        token_label: Some(TOKEN.into()),
        object_label: Some(EXTRACTABLE_KEY.into()),
        pin: Some(Pin::Value(Zeroizing::new(PIN.into()))),
        allow_extractable: true,
        ..KeyLocation::default()
    };
    seal_and_open(Pkcs11Signer::open(loc, "orders").unwrap());
}
