//! Byte encodings shared by keys and envelopes: strict base64url, the pre-authentication
//! encoding (PAE), JSON nesting checks and identifier rules.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{Error, Result};

/// Encodes bytes as base64url without padding (RFC 4648 §5).
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes canonical base64url without padding: padding, whitespace, the standard alphabet's
/// `+`/`/`, and non-zero trailing bits are all rejected, so each byte string has exactly one
/// accepted encoding.
pub(crate) fn b64_decode(text: impl AsRef<[u8]>, what: &'static str) -> Result<Vec<u8>> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(text.as_ref())
        .map_err(|_| Error::Malformed(what))
}

/// Decodes canonical base64url into exactly `N` bytes. The encoded length is checked first,
/// so an oversized field costs nothing to reject.
pub(crate) fn b64_decode_fixed<const N: usize>(
    text: impl AsRef<[u8]>,
    what: &'static str,
) -> Result<[u8; N]> {
    let text = text.as_ref();
    if text.len() != encoded_len(N) {
        return Err(Error::Malformed(what));
    }
    // Decoded on the stack; the decoder needs room for exactly the length it computes.
    if base64_simd::URL_SAFE_NO_PAD.decoded_length(text).ok() != Some(N) {
        return Err(Error::Malformed(what));
    }
    let mut buf = [0u8; N];
    let out = base64_simd::URL_SAFE_NO_PAD
        .decode(text, base64_simd::Out::from_slice(&mut buf))
        .map_err(|_| Error::Malformed(what))?;
    if out.len() != N {
        return Err(Error::Malformed(what));
    }
    Ok(buf)
}

/// Length of the unpadded base64 encoding of `n` bytes (saturating, so an operator's
/// `usize::MAX` limit cannot overflow).
pub(crate) const fn encoded_len(n: usize) -> usize {
    (n / 3).saturating_mul(4).saturating_add(match n % 3 {
        0 => 0,
        1 => 2,
        _ => 3,
    })
}

/// Pre-authentication encoding: `LE64(count) || for each part: LE64(len) || part`.
///
/// The same construction as PASETO's PAE. Every part is length-prefixed, so no two different
/// lists of parts encode to the same bytes; the first part is always a domain-separation
/// label naming the format version and purpose.
pub(crate) fn pae(parts: &[&[u8]]) -> Vec<u8> {
    let total: usize = parts.iter().map(|p| p.len() + 8).sum::<usize>() + 8;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(parts.len() as u64).to_le_bytes());
    for p in parts {
        out.extend_from_slice(&(p.len() as u64).to_le_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// Checks that `json` nests objects and arrays at most `max_depth` deep, scanning the bytes
/// once without building anything (so a deeply nested input is rejected before any parser
/// recurses into it). Brackets inside strings are skipped, escapes included.
///
/// Its result is defined on any bytes, JSON or not (docs/FORMAT.md §2.2): reading in order,
/// outside strings `{`/`[` count up and `}`/`]` down; `"` opens a string that ends at the
/// next `"` not preceded by an escaping `\`. The first event decides: the count exceeding
/// `max_depth` is [`Error::TooLarge`], a closing bracket at count 0 is [`Error::Malformed`];
/// text that ends inside a string or with brackets open passes to the parser.
pub(crate) fn check_json_depth(json: &[u8], max_depth: usize) -> Result<()> {
    let mut depth = 0usize;
    let mut i = 0usize;
    while let Some(&b) = json.get(i) {
        match b {
            b'"' => {
                // Skip the string's contents, jumping between quotes and backslashes (the
                // envelope is mostly long base64 strings: this keeps the scan at memchr speed).
                let mut j = i + 1;
                loop {
                    match json
                        .get(j..)
                        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
                    {
                        None => return Ok(()), // unterminated string: the parser rejects it
                        Some(k) => {
                            let at = j + k;
                            if json.get(at) == Some(&b'\\') {
                                j = at + 2; // skip the escaped character
                            } else {
                                i = at + 1;
                                break;
                            }
                        }
                    }
                }
                continue;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err(Error::too_large("JSON nesting depth", max_depth, depth));
                }
            }
            b'}' | b']' => {
                // A closing bracket with nothing open cannot start or continue JSON text.
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| Error::Malformed("JSON: closing bracket with nothing open"))?;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// For an optional member (`#[serde(default, deserialize_with = "present")]`): absent is
/// `None`, and a present member must have its type, so `null` is refused rather than read as
/// absent.
pub(crate) fn present<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Validates an identifier (source id, consumer id): 1 to 128 bytes of ASCII letters, digits
/// and `. _ - : / @ +`. A narrow alphabet keeps look-alike characters, control characters
/// and separators out of logs, keys of stores and the signed structure.
pub(crate) fn check_identifier(id: &str, what: &'static str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-:/@+".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Malformed(what))
    }
}

/// Validates a free-text label (event type, content type): 1 to `max` bytes of printable
/// ASCII except `"` and `\` (which JSON would have to escape), space allowed inside (as
/// EventBridge detail types use it), no leading or trailing space.
pub(crate) fn check_label(text: &str, max: usize, what: &'static str) -> Result<()> {
    let ok = !text.is_empty()
        && text.len() <= max
        && text
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        && !text.starts_with(' ')
        && !text.ends_with(' ');
    if ok {
        Ok(())
    } else {
        Err(Error::Malformed(what))
    }
}

/// Deserializes `T` only from a JSON object.
///
/// serde's derived struct impls also accept a JSON array of the fields in order
/// (`["h","c","s"]`); the format allows exactly one shape, so this wrapper asks the
/// deserializer for a map and hands that map to `T`.
pub(crate) struct ObjectOnly<T>(pub(crate) T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = ObjectOnly<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(ObjectOnly)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_canonical_only() {
        assert_eq!(b64_decode("AAE", "x").unwrap(), vec![0, 1]);
        for bad in ["AAE=", "AA E", "AAF", "AA+E", "AA/E", "A", " AAE", "AAE\n"] {
            assert!(b64_decode(bad, "x").is_err(), "{bad:?} accepted");
        }
        assert!(b64_decode_fixed::<2>("AAE", "x").is_ok());
        assert!(b64_decode_fixed::<2>("AAEA", "x").is_err());
    }

    #[test]
    fn encoded_len_matches_encoder() {
        for n in 0..100 {
            assert_eq!(encoded_len(n), b64_encode(&vec![0; n]).len());
        }
        assert_eq!(encoded_len(usize::MAX), usize::MAX);
    }

    #[test]
    fn pae_is_injective_on_boundaries() {
        assert_ne!(pae(&[b"ab", b"c"]), pae(&[b"a", b"bc"]));
        assert_ne!(pae(&[b"a"]), pae(&[b"a", b""]));
        assert_eq!(
            pae(&[b"x"]),
            [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, b'x']
        );
    }

    #[test]
    fn depth_counts_outside_strings_only() {
        assert!(check_json_depth(br#"{"a":[{"b":"[[[[[[["}]}"#, 3).is_ok());
        assert!(matches!(
            check_json_depth(b"[[[[", 3),
            Err(Error::TooLarge { .. })
        ));
        assert!(check_json_depth(br#"{"a":"\"[[[["}"#, 1).is_ok());
        // Not JSON: the first event decides.
        assert!(matches!(
            check_json_depth(b"]]]][[[[[[[[[[", 3),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            check_json_depth(b"[[[[]]]]]", 3),
            Err(Error::TooLarge { .. })
        ));
        assert!(matches!(
            check_json_depth(b"[]]", 3),
            Err(Error::Malformed(_))
        ));
        assert!(check_json_depth(b"[[\"]]]]", 3).is_ok()); // ends inside a string
    }

    /// The byte-at-a-time scanner the fast one replaced, as the reference: `Ok`, or the
    /// error kind's name.
    fn reference_depth(json: &[u8], max_depth: usize) -> std::result::Result<(), &'static str> {
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        for &b in json {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => {
                    depth += 1;
                    if depth > max_depth {
                        return Err("too-large");
                    }
                }
                b'}' | b']' => depth = depth.checked_sub(1).ok_or("malformed")?,
                _ => {}
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn depth_scan_matches_the_reference(
            json in proptest::collection::vec(
                proptest::sample::select(b"{}[]\"\\a".to_vec()), 0..64),
            max in 0usize..6,
        ) {
            let ours = check_json_depth(&json, max).map_err(|e| e.kind().as_str());
            proptest::prop_assert_eq!(ours, reference_depth(&json, max));
        }
    }

    #[test]
    fn identifiers() {
        assert!(check_identifier("orders-prod.eu/1", "x").is_ok());
        for bad in ["", "a b", "é", "a\nb", &"a".repeat(129)] {
            assert!(check_identifier(bad, "x").is_err());
        }
        assert!(check_label("EC2 Instance State-change Notification", 256, "x").is_ok());
        for bad in ["", " a", "a ", "a\tb", "ü", "a\"b", "a\\b"] {
            assert!(check_label(bad, 256, "x").is_err());
        }
    }
}
