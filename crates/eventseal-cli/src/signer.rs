//! Signing keys given as a file (a secret JWK) or a key URI, following cosign and RFC 7512:
//!
//! - `awskms:///ARN_OR_ALIAS` (feature `aws`): an `ECC_NIST_P256` key in AWS KMS, with the
//!   AWS configuration from the environment (including `AWS_ENDPOINT_URL`);
//! - `pkcs11:token=LABEL;object=LABEL?module-path=PATH&pin-source=file:PATH` (feature
//!   `pkcs11`; also `pin-value=`, or the PIN in `EVENTSEAL_PKCS11_PIN`).
//!
//! A URI key names no source, so `--source ID` is required with one; with a key file it is
//! optional and must match the file's.

use std::ffi::OsStr;
use std::path::Path;

use eventseal::{Signature, Signer, SignerIdentity, SigningKey, VerifyingKey};

use crate::{io, Failure};

/// A source's signing key from `--key`.
pub enum CliSigner {
    /// A secret JWK file.
    File(Box<SigningKey>),
    /// A key on a PKCS#11 token.
    #[cfg(feature = "pkcs11")]
    Pkcs11(Box<eventseal_pkcs11::Pkcs11Signer>),
    /// A key in AWS KMS.
    #[cfg(feature = "aws")]
    Kms(Box<eventseal_aws::BlockingKmsSigner>),
}

impl SignerIdentity for CliSigner {
    fn verifying_key(&self) -> &VerifyingKey {
        match self {
            CliSigner::File(k) => k.verifying_key(),
            #[cfg(feature = "pkcs11")]
            CliSigner::Pkcs11(k) => k.verifying_key(),
            #[cfg(feature = "aws")]
            CliSigner::Kms(k) => SignerIdentity::verifying_key(k.as_ref()),
        }
    }
}

impl Signer for CliSigner {
    fn sign(&self, message: &[u8]) -> eventseal::Result<Signature> {
        match self {
            CliSigner::File(k) => Signer::sign(k.as_ref(), message),
            #[cfg(feature = "pkcs11")]
            CliSigner::Pkcs11(k) => Signer::sign(k.as_ref(), message),
            #[cfg(feature = "aws")]
            CliSigner::Kms(k) => Signer::sign(k.as_ref(), message),
        }
    }
}

/// The URI schemes `--key` takes besides a file.
pub const AWSKMS: &str = "awskms://";
/// RFC 7512's scheme.
pub const PKCS11: &str = "pkcs11:";

/// `value` after `scheme`, which is matched without regard to case (RFC 3986: `PKCS11:` is
/// `pkcs11:`), so that no spelling of a key URI is taken for a file name and echoed unredacted.
fn after_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    value
        .get(..scheme.len())
        .filter(|p| p.eq_ignore_ascii_case(scheme))
        .and_then(|_| value.get(scheme.len()..))
}

/// Whether `--key`'s value is a key URI rather than a file.
pub fn is_uri(value: &OsStr) -> bool {
    value
        .to_str()
        .is_some_and(|v| after_scheme(v, AWSKMS).is_some() || after_scheme(v, PKCS11).is_some())
}

/// Loads `--key VALUE` (`option` names it in messages) signing for `source`.
pub fn load(
    value: &Path,
    source: Option<&str>,
    option: &'static str,
) -> Result<CliSigner, Failure> {
    let text = value.as_os_str();
    if !is_uri(text) {
        let key_text = io::read_secret_key(value, option)?;
        let key = SigningKey::from_jwk(&key_text)
            .map_err(|e| Failure::loading(&format!("{option} {}", value.display()), e))?;
        if let Some(source) = source {
            if key.source() != source {
                return Err(Failure::Usage(format!(
                    "--source {source:?}: the key file {} signs for {:?}",
                    value.display(),
                    key.source()
                )));
            }
        }
        return Ok(CliSigner::File(Box::new(key)));
    }
    let uri = text.to_str().unwrap_or_default();
    let Some(source) = source else {
        return Err(Failure::Usage(format!(
            "{option} {}: a key URI names no source; give --source ID (the source id it signs for)",
            redact(uri)
        )));
    };
    if let Some(rest) = after_scheme(uri, AWSKMS) {
        return kms(rest, source, uri);
    }
    pkcs11(uri, source)
}

/// A key URI as messages show it: for `pkcs11:`, only the attributes that name the key and
/// the module, with every other value hidden (a PIN given as `pin-value`, or mistyped, is
/// never echoed). Attributes are split at every `;`, `&` and `?`, whichever part of the URI
/// they are in, so a PIN behind the other part's separator (`token=t&pin-value=…;object=o`,
/// `?module-path=/m.so;pin-value=…`) is hidden too. `awskms:` URIs hold no secret.
pub fn redact(uri: &str) -> String {
    let Some(rest) = after_scheme(uri, PKCS11) else {
        return uri.to_owned();
    };
    const SHOWN: &[&str] = &[
        "token",
        "serial",
        "object",
        "id",
        "type",
        "module-path",
        "pin-source",
    ];
    let show = |attr: &str| match attr.split_once('=') {
        // A PIN typed where its file belongs (`pin-source=1234`) is hidden too.
        Some(("pin-source", value)) if !(value.starts_with("file:") || value.starts_with('/')) => {
            "pin-source=<hidden>".to_owned()
        }
        Some((name, _)) if SHOWN.contains(&name) => attr.to_owned(),
        Some((name, _)) => format!("{name}=<hidden>"),
        None if attr.is_empty() => String::new(),
        None => "<hidden>".to_owned(),
    };
    let mut out = String::from(PKCS11);
    let mut attr = String::new();
    for c in rest.chars() {
        if matches!(c, ';' | '&' | '?') {
            out.push_str(&show(&attr));
            out.push(c);
            attr.clear();
        } else {
            attr.push(c);
        }
    }
    out.push_str(&show(&attr));
    out
}

#[cfg(feature = "aws")]
fn kms(rest: &str, source: &str, uri: &str) -> Result<CliSigner, Failure> {
    // cosign's form: awskms://[ENDPOINT]/KEY. The endpoint comes from the environment here.
    let Some(key) = rest.strip_prefix('/') else {
        return Err(Failure::Usage(format!(
            "{uri}: an endpoint in the URI is not read; use awskms:///ARN_OR_ALIAS and set \
             AWS_ENDPOINT_URL for a non-default endpoint"
        )));
    };
    if key.is_empty() {
        return Err(Failure::Usage(format!(
            "{uri}: name the key: awskms:///arn:aws:kms:REGION:ACCOUNT:key/ID or awskms:///alias/NAME"
        )));
    }
    eventseal_aws::BlockingKmsSigner::from_env(key, source)
        .map(|k| CliSigner::Kms(Box::new(k)))
        .map_err(|e| Failure::Other(e.to_string()))
}

#[cfg(not(feature = "aws"))]
fn kms(_rest: &str, _source: &str, uri: &str) -> Result<CliSigner, Failure> {
    Err(Failure::Usage(format!(
        "{uri}: this eventseal was built without the `aws` feature"
    )))
}

#[cfg(feature = "pkcs11")]
fn pkcs11(uri: &str, source: &str) -> Result<CliSigner, Failure> {
    if uri.contains("pin-value") {
        eprintln!(
            "eventseal: warning: the PIN is on the command line (pin-value=), where other \
             users' `ps` can read it; prefer pin-source=file:PATH or {}",
            eventseal_pkcs11::PIN_ENV
        );
    }
    let failed = |e: eventseal_pkcs11::Pkcs11Error| Failure::Other(format!("{}: {e}", redact(uri)));
    let location = eventseal_pkcs11::KeyLocation::from_uri(uri).map_err(failed)?;
    // A PIN file is a secret like a key file: checked for permissions the same way.
    if let Some(eventseal_pkcs11::Pin::File(path)) = &location.pin {
        crate::io::warn_if_readable_by_others(path, "a PIN");
    }
    eventseal_pkcs11::Pkcs11Signer::open(location, source)
        .map(|k| CliSigner::Pkcs11(Box::new(k)))
        .map_err(failed)
}

#[cfg(not(feature = "pkcs11"))]
fn pkcs11(uri: &str, _source: &str) -> Result<CliSigner, Failure> {
    Err(Failure::Usage(format!(
        "{}: this eventseal was built without the `pkcs11` feature",
        redact(uri)
    )))
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_every_value_but_the_names_of_the_key() {
        assert_eq!(
            redact("pkcs11:token=t;object=o?module-path=/m.so&pin-value=1234"),
            "pkcs11:token=t;object=o?module-path=/m.so&pin-value=<hidden>"
        );
        // Mistyped: a PIN in the path, under another spelling, or without a name.
        for uri in [
            "pkcs11:token=t;object=o;pin-value=1234",
            "pkcs11:object=o?PIN-VALUE=1234",
            "pkcs11:object=o?pin%2Dvalue=1234",
            "pkcs11:object=o?1234",
            "pkcs11:object=o;1234",
            // The other part's separator: `&` in the path, `;` in the query.
            "pkcs11:token=t&pin-value=1234;object=o",
            "pkcs11:object=o?module-path=/m.so;pin-value=1234",
            "pkcs11:object=o?module-path=/m.so&pin-source=file:/p;pin-value=1234",
            "pkcs11:token=t?object=o?pin-value=1234",
            "pkcs11:object=o?pin-source=1234",
            "PKCS11:object=o?pin-value=1234",
        ] {
            assert!(!redact(uri).contains("1234"), "{uri}: {}", redact(uri));
        }
        assert_eq!(
            redact("pkcs11:token=t&pin-value=1234;object=o?module-path=/m.so;pin-value=5678"),
            "pkcs11:token=t&pin-value=<hidden>;object=o?module-path=/m.so;pin-value=<hidden>"
        );
        assert_eq!(redact("awskms:///alias/a"), "awskms:///alias/a");
    }
}
