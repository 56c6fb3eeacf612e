//! eventseal signing keys that never leave a PKCS#11 token (an HSM, a smart card,
//! SoftHSM2): [`Pkcs11Signer`] implements [`eventseal::Signer`], so a
//! [`Sealer`](eventseal::Sealer) and the Standard Webhooks signer
//! ([`StandardSigner::from_signer`](eventseal::webhook::StandardSigner::from_signer)) sign
//! with it as with an in-process key.
//!
//! - **Ed25519** keys (`CKK_EC_EDWARDS` on the edwards25519 curve) sign with `CKM_EDDSA`
//!   over the whole message (pure Ed25519, RFC 8032).
//! - **ECDSA P-256** keys (`CKK_EC` on prime256v1) sign with `CKM_ECDSA` over the SHA-256
//!   digest of the message, computed here; the token returns the fixed-width `r || s` the
//!   envelope carries.
//! - Every signature is checked against the key's public half (read from the token's
//!   public-key object) before it is used, so a faulty token fails the seal with
//!   [`Error::Signer`](eventseal::Error::Signer) instead of producing envelopes that no
//!   consumer accepts.
//! - The key is found by label (`object=`) and/or id (`id=`) on a token found by label
//!   (`token=`) and/or serial (`serial=`): an RFC 7512 URI
//!   ([`Pkcs11Signer::from_uri`]) or a [`KeyLocation`].
//! - The PIN comes from a file (`pin-source=file:PATH`), the environment
//!   ([`PIN_ENV`]) or, for tests, the URI (`pin-value=`); the CLI never takes it as an
//!   argument of its own.
//! - A private key that could be copied out of the token (`CKA_EXTRACTABLE` true or
//!   `CKA_SENSITIVE` false) is refused unless [`KeyLocation::allow_extractable`] is set.
//! - One signer holds one logged-in session behind a mutex: share it (`Arc`) across threads;
//!   seals from many threads are serialised on the token.
//!
//! ```no_run
//! use eventseal::{RecipientSecretKey, Sealer, Signer};
//! use eventseal_pkcs11::Pkcs11Signer;
//!
//! let signer = Pkcs11Signer::from_uri(
//!     "pkcs11:token=producer;object=orders-signing\
//!      ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin",
//!     "orders",
//! )?;
//! println!("{}", signer.verifying_key().to_jwk()); // for `eventseal trust add`
//! let billing = RecipientSecretKey::generate("billing")?;
//! let sealer = Sealer::new(signer);
//! let envelope = sealer.seal("order.created", b"{}", &[billing.public_key()])?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs, unused_must_use)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use eventseal::{Signature, SignatureAlgorithm, Signer, SignerIdentity, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

mod uri;

pub use uri::{MODULE_PATH_ENV, PIN_ENV};

/// Where a PIN comes from.
pub enum Pin {
    /// The PIN itself (tests; `pin-value=` in a URI).
    Value(Zeroizing<String>),
    /// A file holding the PIN (one line; a trailing newline is ignored).
    File(PathBuf),
    /// An environment variable holding the PIN.
    Env(String),
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pin::Value(_) => f.write_str("Pin::Value(<redacted>)"),
            Pin::File(p) => f.debug_tuple("Pin::File").field(p).finish(),
            Pin::Env(v) => f.debug_tuple("Pin::Env").field(v).finish(),
        }
    }
}

impl Pin {
    fn read(&self) -> Result<Zeroizing<String>, Pkcs11Error> {
        let text = match self {
            Pin::Value(v) => v.clone(),
            Pin::File(path) => Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                Pkcs11Error::Pin(format!("cannot read the PIN file {}: {e}", path.display()))
            })?),
            Pin::Env(var) => Zeroizing::new(std::env::var(var).map_err(|_| {
                Pkcs11Error::Pin(format!("the environment variable {var} is not set"))
            })?),
        };
        let pin = text.trim_end_matches(['\r', '\n']);
        if pin.is_empty() {
            return Err(Pkcs11Error::Pin("the PIN is empty".into()));
        }
        Ok(Zeroizing::new(pin.to_owned()))
    }
}

/// Which key, on which token, through which module.
#[derive(Debug, Default)]
pub struct KeyLocation {
    /// The PKCS#11 module (shared library); else [`MODULE_PATH_ENV`].
    pub module: Option<PathBuf>,
    /// The token's label (`CKA_LABEL` of the token, `token=`).
    pub token_label: Option<String>,
    /// The token's serial number (`serial=`).
    pub token_serial: Option<String>,
    /// The key's label (`CKA_LABEL`, `object=`).
    pub object_label: Option<String>,
    /// The key's id (`CKA_ID`, `id=`).
    pub object_id: Option<Vec<u8>>,
    /// The user PIN; else [`PIN_ENV`].
    pub pin: Option<Pin>,
    /// Accept a private key that can leave the token (`CKA_EXTRACTABLE` true or
    /// `CKA_SENSITIVE` false). Off by default, and not settable from a URI: the point of a
    /// token key is that it cannot be copied out.
    pub allow_extractable: bool,
}

impl KeyLocation {
    /// The location an RFC 7512 URI names (the form [`Pkcs11Signer::from_uri`] takes), for a
    /// caller that checks it before opening the signer (the CLI checks a PIN file's
    /// permissions).
    ///
    /// # Errors
    /// [`Pkcs11Error::Uri`], naming what is wrong; never echoing a value from the URI's path.
    pub fn from_uri(uri: &str) -> Result<Self, Pkcs11Error> {
        uri::parse(uri)
    }
}

/// Why a PKCS#11 signer could not be set up or could not sign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Pkcs11Error {
    /// The URI is not one this crate reads.
    #[error("PKCS#11 URI: {0}")]
    Uri(String),
    /// The module could not be loaded or initialised.
    #[error("PKCS#11 module {path}: {detail}")]
    Module {
        /// The module's path.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// No token, or more than one, matches.
    #[error("PKCS#11 token: {0}")]
    Token(String),
    /// The PIN is missing, unreadable, wrong or locked.
    #[error("PKCS#11 PIN: {0}")]
    Pin(String),
    /// No key, or more than one, matches; or its public half is missing.
    #[error("PKCS#11 key: {0}")]
    Key(String),
    /// The key is not Ed25519 or ECDSA P-256.
    #[error("PKCS#11 key: {0}")]
    Unsupported(String),
    /// A PKCS#11 call failed.
    #[error("PKCS#11 {call}: {detail}")]
    Call {
        /// The operation.
        call: &'static str,
        /// The return value and what it means here.
        detail: String,
    },
    /// The token's public key is not a valid eventseal verifying key, or the source id is not.
    #[error(transparent)]
    Eventseal(#[from] eventseal::Error),
}

impl Pkcs11Error {
    fn call(call: &'static str, module: &Path, e: &CkError) -> Self {
        let detail = match e {
            CkError::Pkcs11(rv, _) => describe(*rv, module),
            other => other.to_string(),
        };
        Pkcs11Error::Call { call, detail }
    }
}

/// A return value, named, with a hint where one helps.
fn describe(rv: RvError, module: &Path) -> String {
    match rv {
        RvError::GeneralError
        | RvError::FunctionFailed
        | RvError::DeviceError
        | RvError::UserPinNotInitialized
            if is_soft_hsm(module) =>
        {
            format!(
                "{rv:?}: the token failed; SoftHSM2's file store is not safe for several \
                 processes logging in at once (SoftHSM2 issue 757): retry, or sign from one \
                 process per token"
            )
        }
        RvError::UserNotLoggedIn => format!("{rv:?}: the session was logged out"),
        RvError::TokenNotPresent | RvError::DeviceRemoved => {
            format!("{rv:?}: the token was removed")
        }
        other => format!("{other:?}"),
    }
}

/// One context per module per process: `C_Initialize` may be called once.
fn context(module: &Path) -> Result<Pkcs11, Pkcs11Error> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let module_err = |detail: String| Pkcs11Error::Module {
        path: module.to_owned(),
        detail,
    };
    let key = std::fs::canonicalize(module).map_err(|e| module_err(e.to_string()))?;
    let mut contexts = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(ctx) = contexts.get(&key) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(&key).map_err(|e| module_err(e.to_string()))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(module_err(format!("C_Initialize: {e}"))),
    }
    contexts.insert(key, ctx.clone());
    Ok(ctx)
}

/// Whether a failed call may succeed when tried again: the token failed (SoftHSM2's file
/// store while another process writes it), not the caller.
fn transient(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::GeneralError
                | RvError::FunctionFailed
                | RvError::DeviceError
                | RvError::UserPinNotInitialized,
            _
        )
    )
}

/// An error, and whether trying again may help.
type Attempt<T> = Result<T, (Pkcs11Error, bool)>;

fn find_slot(ctx: &Pkcs11, loc: &KeyLocation, module: &Path) -> Attempt<Slot> {
    let call = |name, e: CkError| {
        let again = transient(&e);
        (Pkcs11Error::call(name, module, &e), again)
    };
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| call("C_GetSlotList", e))?;
    let mut found = Vec::new();
    let mut uninitialized = 0usize;
    for slot in slots {
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| call("C_GetTokenInfo", e))?;
        if !info.token_initialized() {
            // An empty slot's token (SoftHSM2 always offers one), or a token that could not be
            // read: never a match.
            uninitialized += 1;
            continue;
        }
        let label_ok = loc
            .token_label
            .as_deref()
            .is_none_or(|l| info.label().trim_end() == l);
        let serial_ok = loc
            .token_serial
            .as_deref()
            .is_none_or(|s| info.serial_number().trim_end() == s);
        if label_ok && serial_ok {
            found.push(slot);
        }
    }
    let wanted = || match (&loc.token_label, &loc.token_serial) {
        (Some(l), Some(s)) => format!("label {l:?} and serial {s:?}"),
        (Some(l), None) => format!("label {l:?}"),
        (None, Some(s)) => format!("serial {s:?}"),
        (None, None) => "any".to_owned(),
    };
    match found.as_slice() {
        [one] => Ok(*one),
        [] => {
            // SoftHSM2 lists one uninitialized token for the next `--init-token`. While another
            // process writes its file store, a token can be missing or unreadable (SoftHSM2
            // issue 757): tried again, and the message says it may be that.
            let soft_hsm = is_soft_hsm(module);
            let hint = if soft_hsm {
                format!(
                    "; {uninitialized} uninitialized. If another process uses this SoftHSM2 \
                     token store at the same moment, this can be SoftHSM2 issue 757 (its file \
                     store is not safe for several processes at once): retry, or sign from one \
                     process per token"
                )
            } else {
                String::new()
            };
            Err((
                Pkcs11Error::Token(format!(
                    "no token with {} in {}{hint}",
                    wanted(),
                    module.display()
                )),
                soft_hsm,
            ))
        }
        _ => Err((
            Pkcs11Error::Token(format!(
                "{} tokens match ({}): name one with token= or serial=",
                found.len(),
                wanted()
            )),
            false,
        )),
    }
}

/// Finds the token, opens a session and logs in.
fn logged_in_session(
    ctx: &Pkcs11,
    loc: &KeyLocation,
    module: &Path,
    pin: &str,
) -> Attempt<Session> {
    let slot = find_slot(ctx, loc, module)?;
    let session = ctx.open_ro_session(slot).map_err(|e| {
        let again = transient(&e);
        (Pkcs11Error::call("C_OpenSession", module, &e), again)
    })?;
    match session.login(UserType::User, Some(&AuthPin::from(pin.to_owned()))) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
            Err((Pkcs11Error::Pin("the PIN is incorrect".into()), false))
        }
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
            Err((Pkcs11Error::Pin("the PIN is locked".into()), false))
        }
        Err(e) => {
            let again = transient(&e);
            Err((Pkcs11Error::call("C_Login", module, &e), again))
        }
    }
}

/// How often setting up a signer is tried when the token fails transiently, and the first
/// pause (doubled each time).
const SETUP_ATTEMPTS: u32 = 4;
const SETUP_PAUSE: std::time::Duration = std::time::Duration::from_millis(25);

fn is_soft_hsm(module: &Path) -> bool {
    module
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains("softhsm"))
}

/// The curve of `CKA_EC_PARAMS`: the DER OID, or the printable string OpenSC's
/// `pkcs11-tool --keypairgen --key-type EC:edwards25519` writes.
fn curve(params: &[u8]) -> Option<SignatureAlgorithm> {
    const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    // 1.3.101.112 (RFC 8410).
    const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
    // 1.3.6.1.4.1.11591.15.1, GnuPG's curve OID for Ed25519 (older tokens).
    const ED25519_GNU_OID: &[u8] = &[
        0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01,
    ];
    // PrintableString "edwards25519" (PKCS#11 3.0 §2.3.10 allows curve names).
    const ED25519_NAME: &[u8] = b"\x13\x0cedwards25519";
    match params {
        P256_OID => Some(SignatureAlgorithm::EcdsaP256Sha256),
        ED25519_OID | ED25519_GNU_OID | ED25519_NAME => Some(SignatureAlgorithm::Ed25519),
        _ => None,
    }
}

/// `CKA_EC_POINT`: a DER OCTET STRING around the point (the standard), or the bare point
/// (some tokens).
fn ec_point(value: &[u8], len: usize) -> Option<&[u8]> {
    if value.len() == len {
        return Some(value);
    }
    match value {
        [0x04, n, rest @ ..] if usize::from(*n) == len && rest.len() == len => Some(rest),
        _ => None,
    }
}

/// A logged-in session and the key's handle in it.
struct Connection {
    session: Session,
    key: ObjectHandle,
}

/// What `connect` finds: the connection, and the public half as the token holds it.
struct Found {
    connection: Connection,
    algorithm: SignatureAlgorithm,
    point: Vec<u8>,
}

/// Return values after which the session (not the key) is gone: the signer logs in again,
/// once, and retries.
fn session_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid,
            _
        )
    )
}

/// What the signer signs once when it is made, to prove that the public key it read belongs
/// to the private key (no PAE message begins so: PAE begins with a little-endian count).
const KEY_CHECK: &[u8] = b"eventseal/v1/pkcs11-key-check";

/// A signing key on a PKCS#11 token. See the [crate documentation](crate).
pub struct Pkcs11Signer {
    connection: Mutex<Connection>,
    ctx: Pkcs11,
    location: KeyLocation,
    verifying: VerifyingKey,
    module: PathBuf,
    name: String,
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("key", &self.name)
            .field("module", &self.module)
            .field("verifying_key", &self.verifying)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// The signer for the key an RFC 7512 URI names, signing for `source`:
    /// `pkcs11:token=LABEL;object=LABEL?module-path=PATH&pin-source=file:PATH` (also `id=`,
    /// `serial=`, `pin-value=`; without a module path or PIN, [`MODULE_PATH_ENV`] and
    /// [`PIN_ENV`]).
    ///
    /// # Errors
    /// [`Pkcs11Error`], naming what is missing or wrong.
    pub fn from_uri(uri: &str, source: &str) -> Result<Self, Pkcs11Error> {
        Self::open(KeyLocation::from_uri(uri)?, source)
    }

    /// The signer for the key at `location`, signing for `source`: loads the module, finds
    /// the token and the key (exactly one of each), logs in, reads the public half, and signs
    /// a fixed check message with the private key to prove the two belong together.
    ///
    /// # Errors
    /// [`Pkcs11Error`], naming what is missing or wrong.
    pub fn open(location: KeyLocation, source: &str) -> Result<Self, Pkcs11Error> {
        let module = match location.module.clone() {
            Some(m) => m,
            None => std::env::var_os(MODULE_PATH_ENV)
                .map(PathBuf::from)
                .ok_or_else(|| {
                    Pkcs11Error::Uri(format!(
                        "no module-path in the URI and {MODULE_PATH_ENV} is not set"
                    ))
                })?,
        };
        let name = match (&location.object_label, &location.object_id) {
            (Some(l), Some(id)) => format!("label {l:?}, id {}", hex(id)),
            (Some(l), None) => format!("label {l:?}"),
            (None, Some(id)) => format!("id {}", hex(id)),
            (None, None) => return Err(Pkcs11Error::Uri("name the key with a label or id".into())),
        };
        let ctx = context(&module)?;
        let found = connect(&ctx, &location, &module, &name)?;
        let verifying = VerifyingKey::from_public_bytes(source, found.algorithm, &found.point)?;
        let signer = Self {
            connection: Mutex::new(found.connection),
            ctx,
            location,
            verifying,
            module,
            name,
        };
        Signer::sign(&signer, KEY_CHECK).map_err(|e| {
            Pkcs11Error::Key(format!(
                "the key with {} failed its check signature: {e}",
                signer.name
            ))
        })?;
        Ok(signer)
    }

    /// The verifying key (source, algorithm, key id), for trust files.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }

    fn sign_with(&self, c: &Connection, message: &[u8]) -> Result<Vec<u8>, CkError> {
        match self.verifying.algorithm() {
            SignatureAlgorithm::EcdsaP256Sha256 => {
                let digest = Sha256::digest(message);
                c.session.sign(&Mechanism::Ecdsa, c.key, &digest)
            }
            _ => c.session.sign(
                &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                c.key,
                message,
            ),
        }
    }

    /// Signs on the token; after a lost session (logged out, closed, the token re-inserted),
    /// logs in again once, checks the key is the same, and retries.
    fn sign_on_token(&self, message: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match self.sign_with(&connection, message) {
            Ok(sig) => return Ok(sig),
            Err(e) if session_lost(&e) => {}
            Err(e) => return Err(Pkcs11Error::call("C_Sign", &self.module, &e)),
        }
        let found = connect(&self.ctx, &self.location, &self.module, &self.name)?;
        if found.algorithm != self.verifying.algorithm()
            || found.point.as_slice() != self.verifying.public_bytes()
        {
            return Err(Pkcs11Error::Key(format!(
                "after logging in again, the key with {} is a different key",
                self.name
            )));
        }
        *connection = found.connection;
        self.sign_with(&connection, message)
            .map_err(|e| Pkcs11Error::call("C_Sign", &self.module, &e))
    }
}

/// Finds the token (trying again while it fails transiently), logs in, finds the key and
/// reads its public half.
fn connect(
    ctx: &Pkcs11,
    location: &KeyLocation,
    module: &Path,
    name: &str,
) -> Result<Found, Pkcs11Error> {
    let pin = location
        .pin
        .as_ref()
        .map_or_else(|| Pin::Env(PIN_ENV.to_owned()).read(), Pin::read)?;
    // A token that fails transiently (SoftHSM2's file store while another process writes
    // it) is tried again a few times, then reported with the reason.
    let mut attempt = 1;
    let session = loop {
        match logged_in_session(ctx, location, module, &pin) {
            Ok(session) => break session,
            Err((_, true)) if attempt < SETUP_ATTEMPTS => {
                std::thread::sleep(SETUP_PAUSE * 2u32.pow(attempt - 1));
                attempt += 1;
            }
            Err((e, _)) => return Err(e),
        }
    };
    let selector = |class: ObjectClass| {
        let mut t = vec![Attribute::Class(class)];
        if let Some(l) = &location.object_label {
            t.push(Attribute::Label(l.as_bytes().to_vec()));
        }
        if let Some(id) = &location.object_id {
            t.push(Attribute::Id(id.clone()));
        }
        t
    };
    let keys = session
        .find_objects(&selector(ObjectClass::PRIVATE_KEY))
        .map_err(|e| Pkcs11Error::call("C_FindObjects", module, &e))?;
    let key = match keys.as_slice() {
        [one] => *one,
        [] => {
            return Err(Pkcs11Error::Key(format!(
                "no private key with {name} on the token"
            )))
        }
        _ => {
            return Err(Pkcs11Error::Key(format!(
                "{} private keys with {name}: name one with both object= and id=",
                keys.len()
            )))
        }
    };
    let attrs = session
        .get_attributes(
            key,
            &[
                AttributeType::KeyType,
                AttributeType::Id,
                AttributeType::Sensitive,
                AttributeType::Extractable,
            ],
        )
        .map_err(|e| Pkcs11Error::call("C_GetAttributeValue", module, &e))?;
    let mut key_type = None;
    let mut key_id = Vec::new();
    // Absent attributes count as the unsafe value.
    let (mut sensitive, mut extractable) = (false, true);
    for a in attrs {
        match a {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::Id(id) => key_id = id,
            Attribute::Sensitive(v) => sensitive = v,
            Attribute::Extractable(v) => extractable = v,
            _ => {}
        }
    }
    if (extractable || !sensitive) && !location.allow_extractable {
        return Err(Pkcs11Error::Key(format!(
            "the private key with {name} can leave the token (CKA_EXTRACTABLE {extractable}, \
             CKA_SENSITIVE {sensitive}); eventseal signs only with keys that cannot: make the \
             key with CKA_EXTRACTABLE false and CKA_SENSITIVE true"
        )));
    }
    // The public half: the public-key object with the private key's id (and the label the
    // caller gave); the check signature in `open` proves they are a pair.
    let mut public_template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
    if key_id.is_empty() {
        public_template = selector(ObjectClass::PUBLIC_KEY);
    } else {
        if let Some(l) = &location.object_label {
            public_template.push(Attribute::Label(l.as_bytes().to_vec()));
        }
        public_template.push(Attribute::Id(key_id));
    }
    let publics = session
        .find_objects(&public_template)
        .map_err(|e| Pkcs11Error::call("C_FindObjects", module, &e))?;
    let public = match publics.as_slice() {
        [one] => *one,
        [] => {
            return Err(Pkcs11Error::Key(format!(
                "the private key with {name} has no public-key object on the token \
                 (eventseal reads the verifying key from it)"
            )))
        }
        _ => {
            return Err(Pkcs11Error::Key(format!(
                "{} public keys match the key with {name}",
                publics.len()
            )))
        }
    };
    let attrs = session
        .get_attributes(public, &[AttributeType::EcParams, AttributeType::EcPoint])
        .map_err(|e| Pkcs11Error::call("C_GetAttributeValue", module, &e))?;
    let (mut params, mut point) = (None, None);
    for a in attrs {
        match a {
            Attribute::EcParams(p) => params = Some(p),
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    let (Some(params), Some(point)) = (params, point) else {
        return Err(Pkcs11Error::Unsupported(format!(
            "the key with {name} is not an elliptic-curve key (no CKA_EC_PARAMS/CKA_EC_POINT)"
        )));
    };
    let algorithm = match (key_type, curve(&params)) {
        (Some(KeyType::EC_EDWARDS), Some(a @ SignatureAlgorithm::Ed25519))
        | (Some(KeyType::EC), Some(a @ SignatureAlgorithm::EcdsaP256Sha256)) => a,
        _ => {
            return Err(Pkcs11Error::Unsupported(format!(
                "the key with {name} is {}; eventseal signs with Ed25519 or ECDSA P-256",
                key_type.map_or_else(|| "of an unknown type".to_owned(), |t| t.to_string())
            )))
        }
    };
    let len = match algorithm {
        SignatureAlgorithm::EcdsaP256Sha256 => 65,
        _ => 32,
    };
    let point = ec_point(&point, len)
        .ok_or_else(|| {
            Pkcs11Error::Key(format!(
                "the public key of {name} has a CKA_EC_POINT of unexpected length {}",
                point.len()
            ))
        })?
        .to_vec();
    Ok(Found {
        connection: Connection { session, key },
        algorithm,
        point,
    })
}

impl SignerIdentity for Pkcs11Signer {
    fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }
}

impl Signer for Pkcs11Signer {
    fn sign(&self, message: &[u8]) -> eventseal::Result<Signature> {
        let raw = self
            .sign_on_token(message)
            .map_err(eventseal::Error::signer)?;
        let signature: Signature = raw.as_slice().try_into().map_err(|_| {
            eventseal::Error::signer(format!(
                "the token returned a {}-byte signature for the key with {}; expected 64",
                raw.len(),
                self.name
            ))
        })?;
        self.verifying.verify(message, &signature).map_err(|_| {
            eventseal::Error::signer(format!(
                "the token's signature with the key with {} does not verify with its public key",
                self.name
            ))
        })?;
        Ok(signature)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_by_oid_and_by_name() {
        assert_eq!(
            curve(&[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
            Some(SignatureAlgorithm::EcdsaP256Sha256)
        );
        assert_eq!(
            curve(&[0x06, 0x03, 0x2b, 0x65, 0x70]),
            Some(SignatureAlgorithm::Ed25519)
        );
        assert_eq!(
            curve(b"\x13\x0cedwards25519"),
            Some(SignatureAlgorithm::Ed25519)
        );
        // P-384 and Ed448 are not eventseal's.
        assert_eq!(curve(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]), None);
        assert_eq!(curve(&[0x06, 0x03, 0x2b, 0x65, 0x71]), None);
        assert_eq!(curve(b"\x13\x0aedwards448"), None);
    }

    #[test]
    fn ec_point_wrapped_or_bare() {
        let bare = [7u8; 32];
        assert_eq!(ec_point(&bare, 32), Some(&bare[..]));
        let mut wrapped = vec![0x04, 32];
        wrapped.extend_from_slice(&bare);
        assert_eq!(ec_point(&wrapped, 32), Some(&bare[..]));
        assert_eq!(ec_point(&wrapped[..33], 32), None);
        let mut wrong_len = vec![0x04, 31];
        wrong_len.extend_from_slice(&bare);
        assert_eq!(ec_point(&wrong_len, 32), None);
    }

    #[test]
    fn pin_debug_is_redacted() {
        let pin = Pin::Value(Zeroizing::new("123456".into()));
        assert!(!format!("{pin:?}").contains("123456"));
    }
}
