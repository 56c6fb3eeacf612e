//! PKCS#11 URIs (RFC 7512) naming a signing key: the subset eventseal reads.

use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::{KeyLocation, Pin, Pkcs11Error};

/// Environment variable holding the PIN when the URI gives none (as `COSIGN_PKCS11_PIN`
/// does for cosign).
pub const PIN_ENV: &str = "EVENTSEAL_PKCS11_PIN";
/// Environment variable holding the module path when the URI gives none.
pub const MODULE_PATH_ENV: &str = "EVENTSEAL_PKCS11_MODULE_PATH";

/// Percent-decodes an RFC 7512 attribute value (RFC 3986 §2.1).
fn percent_decode(value: &str, what: &str) -> Result<Vec<u8>, Pkcs11Error> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Pkcs11Error::Uri(format!("{what}: bad percent-encoding")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

fn decode_text(value: &str, what: &str) -> Result<String, Pkcs11Error> {
    String::from_utf8(percent_decode(value, what)?)
        .map_err(|_| Pkcs11Error::Uri(format!("{what}: not UTF-8")))
}

/// The file a `pin-source` names (RFC 7512 §2.4: a URI): `file:PATH`, `file:///PATH` or
/// `file://localhost/PATH`, or a bare absolute path.
fn pin_file(source: &str) -> Result<PathBuf, Pkcs11Error> {
    let path = if let Some(rest) = source.strip_prefix("file://") {
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        if !rest.starts_with('/') {
            return Err(Pkcs11Error::Uri(
                "pin-source: a file:// URI names a local absolute path (file:///PATH)".into(),
            ));
        }
        rest
    } else if let Some(rest) = source.strip_prefix("file:") {
        rest
    } else if source.starts_with('/') {
        source
    } else {
        return Err(Pkcs11Error::Uri(
            "pin-source: only file: PIN sources are read (file:PATH)".into(),
        ));
    };
    if path.is_empty() {
        return Err(Pkcs11Error::Uri(
            "pin-source: the file name is empty".into(),
        ));
    }
    Ok(PathBuf::from(path))
}

/// Parses `pkcs11:token=…;object=…[;id=…][;serial=…][;type=private]?module-path=…&pin-source=…`.
pub(crate) fn parse(uri: &str) -> Result<KeyLocation, Pkcs11Error> {
    // The scheme without regard to case (RFC 3986).
    let rest = uri
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("pkcs11:"))
        .and_then(|_| uri.get(7..))
        .ok_or_else(|| Pkcs11Error::Uri("a PKCS#11 URI starts with `pkcs11:`".into()))?;
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let mut loc = KeyLocation::default();
    let mut seen: Vec<&str> = Vec::new();
    let mut once = |name: &'static str| {
        if seen.contains(&name) {
            Err(Pkcs11Error::Uri(format!("{name} is given twice")))
        } else {
            seen.push(name);
            Ok(())
        }
    };
    // A PIN belongs in the query, as an attribute of its own (`?…&pin-source=…`). Anywhere
    // else it would be part of another attribute's value (`token=t&pin-value=1234` is the
    // token label `t&pin-value=1234`, `module-path=/m.so;pin-value=1234` a module path) that
    // an error could echo: refused, whatever the separator, and never echoed.
    let names_a_pin = |piece: &str| {
        let name = piece.split('=').next().unwrap_or_default();
        let name = name.to_ascii_lowercase().replace("%2d", "-");
        name == "pin-value" || name == "pin-source"
    };
    let anywhere = rest
        .split([';', '&', '?'])
        .filter(|p| names_a_pin(p))
        .count();
    let as_query_attributes = query.map_or(0, |q| q.split('&').filter(|p| names_a_pin(p)).count());
    if anywhere != as_query_attributes {
        return Err(Pkcs11Error::Uri(
            "a PIN attribute outside the query or not separated by `&`: give pin-source (or \
             pin-value) as a query attribute of its own, `…?module-path=PATH&pin-source=file:PATH`"
                .into(),
        ));
    }
    for attr in path.split(';').filter(|a| !a.is_empty()) {
        // The value is never echoed: a PIN typed into the path must not reach a log.
        let (name, value) = attr
            .split_once('=')
            .ok_or_else(|| Pkcs11Error::Uri("a path attribute has no `=`".into()))?;
        match name {
            "token" => {
                once("token")?;
                loc.token_label = Some(decode_text(value, "token")?);
            }
            "serial" => {
                once("serial")?;
                loc.token_serial = Some(decode_text(value, "serial")?);
            }
            "object" => {
                once("object")?;
                loc.object_label = Some(decode_text(value, "object")?);
            }
            "id" => {
                once("id")?;
                loc.object_id = Some(percent_decode(value, "id")?);
            }
            "type" if value == "private" => once("type")?,
            "type" => {
                return Err(Pkcs11Error::Uri(
                    "type: a signing key is type=private".into(),
                ))
            }
            // RFC 7512 attributes that would narrow the match further: refused rather than
            // ignored (ignoring them would widen it).
            "manufacturer"
            | "model"
            | "library-manufacturer"
            | "library-description"
            | "library-version"
            | "slot-description"
            | "slot-manufacturer"
            | "slot-id" => {
                return Err(Pkcs11Error::Uri(format!(
                    "{name} is not supported: name the token with token= or serial="
                )))
            }
            other => {
                return Err(Pkcs11Error::Uri(format!(
                    "unknown path attribute `{}`",
                    other.escape_debug()
                )))
            }
        }
    }
    if let Some(query) = query {
        for attr in query.split('&').filter(|a| !a.is_empty()) {
            let (name, value) = attr
                .split_once('=')
                .ok_or_else(|| Pkcs11Error::Uri("a query attribute has no `=`".into()))?;
            match name {
                "module-path" => {
                    once("module-path")?;
                    loc.module = Some(PathBuf::from(decode_text(value, "module-path")?));
                }
                "pin-value" | "pin-source" => {
                    once("pin").map_err(|_| {
                        Pkcs11Error::Uri("give one of pin-value and pin-source".into())
                    })?;
                    if name == "pin-value" {
                        loc.pin =
                            Some(Pin::Value(Zeroizing::new(decode_text(value, "pin-value")?)));
                    } else {
                        loc.pin = Some(Pin::File(pin_file(&decode_text(value, "pin-source")?)?));
                    }
                }
                "module-name" => {
                    return Err(Pkcs11Error::Uri(
                        "module-name is not searched for: give module-path".into(),
                    ))
                }
                other => {
                    return Err(Pkcs11Error::Uri(format!(
                        "unknown query attribute `{}`",
                        other.escape_debug()
                    )))
                }
            }
        }
    }
    if loc.object_label.is_none() && loc.object_id.is_none() {
        return Err(Pkcs11Error::Uri(
            "name the key with object=LABEL or id=%XX…".into(),
        ));
    }
    Ok(loc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_form() {
        let loc = parse(
            "pkcs11:token=eventseal%20test;object=orders-signing;type=private\
             ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin",
        )
        .unwrap();
        assert_eq!(loc.token_label.as_deref(), Some("eventseal test"));
        assert_eq!(loc.object_label.as_deref(), Some("orders-signing"));
        assert_eq!(
            loc.module.as_deref(),
            Some(std::path::Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
        assert!(matches!(loc.pin, Some(Pin::File(ref p)) if p == std::path::Path::new("/run/pin")));
    }

    #[test]
    fn pin_sources() {
        for (source, want) in [
            ("file:/run/pin", "/run/pin"),
            ("file:///run/pin", "/run/pin"),
            ("file://localhost/run/pin", "/run/pin"),
            ("/run/pin", "/run/pin"),
            ("file:pin", "pin"),
        ] {
            let loc = parse(&format!("pkcs11:object=a?pin-source={source}")).unwrap();
            assert!(
                matches!(loc.pin, Some(Pin::File(ref p)) if p == std::path::Path::new(want)),
                "{source}"
            );
        }
    }

    #[test]
    fn id_is_bytes_and_pin_value_is_taken() {
        let loc = parse("pkcs11:id=%01%ff;token=t?pin-value=1234").unwrap();
        assert_eq!(loc.object_id.as_deref(), Some(&[0x01, 0xff][..]));
        assert!(matches!(loc.pin, Some(Pin::Value(ref v)) if v.as_str() == "1234"));
    }

    #[test]
    fn a_pin_outside_its_own_query_attribute_is_refused_and_never_echoed() {
        for uri in [
            "pkcs11:token=t&pin-value=1234;object=o",
            "pkcs11:object=o;pin-value=1234",
            "pkcs11:object=o;PIN%2Dsource=file:/1234",
            "pkcs11:token=t;object=o&pin-source=file:/1234?module-path=/m.so",
            "pkcs11:object=o?module-path=/m.so;pin-value=1234",
            "pkcs11:object=o?module-path=/m.so&pin-source=file:/p;pin-value=1234",
        ] {
            let err = parse(uri).unwrap_err().to_string();
            assert!(
                err.contains("a PIN attribute outside the query"),
                "{uri}: {err}"
            );
            assert!(!err.contains("1234"), "{uri}: {err}");
        }
        // A label that merely contains the letters is a label.
        let loc = parse("pkcs11:object=spin-value-key").unwrap();
        assert_eq!(loc.object_label.as_deref(), Some("spin-value-key"));
    }

    #[test]
    fn refuses_what_it_does_not_read() {
        for (uri, want) in [
            ("pkcs12:object=a", "starts with"),
            ("pkcs11:token=t", "object=LABEL"),
            ("pkcs11:object=a;color=red", "unknown path attribute"),
            ("pkcs11:object=a?pin-value=1&pin-source=file:/p", "one of"),
            ("pkcs11:object=a?pin-source=https://x/pin", "only file:"),
            (
                "pkcs11:object=a?pin-source=file://host/pin",
                "local absolute path",
            ),
            ("pkcs11:object=a;object=b", "object is given twice"),
            (
                "pkcs11:object=a?module-path=/a&module-path=/b",
                "module-path is given twice",
            ),
            ("pkcs11:object=a;slot-id=1", "not supported"),
            ("pkcs11:object=%+f", "percent"),
            ("pkcs11:object=%zz", "percent"),
            ("pkcs11:object=a;type=public", "type=private"),
            ("pkcs11:object=a;1234", "has no `=`"),
            ("pkcs11:object=a?module-name=softhsm2", "module-path"),
        ] {
            let err = parse(uri).unwrap_err().to_string();
            assert!(err.contains(want), "{uri}: {err}");
            assert!(!err.contains("1234"), "{uri}: a value is echoed: {err}");
        }
    }

    proptest::proptest! {
        /// Any text is parsed or refused with a typed error, never a panic.
        #[test]
        fn any_text_parses_or_is_refused(uri in "pkcs11:[ -~]{0,80}", raw in ".{0,80}") {
            let _ = parse(&uri);
            let _ = parse(&raw);
        }

        /// Percent-encoding any bytes and decoding them gives the bytes back.
        #[test]
        fn percent_encoded_ids_round_trip(id in proptest::collection::vec(proptest::num::u8::ANY, 1..32)) {
            let encoded: String = id.iter().map(|b| format!("%{b:02x}")).collect();
            let loc = parse(&format!("pkcs11:id={encoded}")).unwrap();
            proptest::prop_assert_eq!(loc.object_id, Some(id));
        }
    }
}
