//! A fast reader for exactly the bytes producers write (docs/FORMAT.md §4 and §6 step 12):
//! the outer object `{"header":"…","ciphertext":"…","signature":"…"}` and the compact
//! header with its members in the order of §4.
//!
//! It is an optimization of parsing only, never a second definition of it. It returns
//! `None` for anything it is not certain about (another member order, whitespace, an escape,
//! a byte outside printable ASCII in a string, a number it does not read exactly as
//! serde_json does), and the caller then parses with serde_json as before. Where it returns
//! `Some`, serde_json would have produced the same borrowed values, so the checks that
//! follow, shared by both paths, see the same input and give the same result: every
//! consumer still agrees on whether an envelope is well-formed. `fuzz/fuzz_targets/
//! parse_envelope.rs` and the unit tests below check that agreement.
//!
//! Why: on an envelope to 32 recipients, serde's generic string scanning, UTF-8 validation
//! and field matching of the 8 KB header took a quarter of the time of an open.

/// Reads `bytes` from the start, one expected piece at a time.
struct Reader<'a> {
    bytes: &'a [u8],
    /// `bytes` as text, when it was validated as UTF-8 once up front (for the header, whose
    /// many short strings would otherwise each be validated on their own).
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            text: "",
            at: 0,
        }
    }

    fn for_text(text: &'a str) -> Self {
        Self {
            bytes: text.as_bytes(),
            text,
            at: 0,
        }
    }

    /// Consumes `literal` if the input continues with it.
    fn literal(&mut self, literal: &[u8]) -> Option<()> {
        let rest = self.bytes.get(self.at..)?;
        if rest.starts_with(literal) {
            self.at += literal.len();
            Some(())
        } else {
            None
        }
    }

    /// The contents of a string whose opening quote was just consumed, and its closing
    /// quote. Only printable ASCII without `\` is read: such a string means exactly its
    /// bytes to any JSON parser (no escape, no control character, valid UTF-8).
    ///
    /// For the header, [`header`] has already made sure there is no `\` anywhere (so each
    /// `"` ends a string, exactly as for serde_json), and every member's own rule accepts
    /// printable ASCII only; so here the string only has to end at the next `"`.
    fn string(&mut self) -> Option<&'a str> {
        let rest = self.bytes.get(self.at..)?;
        let len = memchr::memchr(b'"', rest)?;
        let text = self.text.get(self.at..self.at + len)?;
        self.at += len + 1;
        Some(text)
    }

    /// The contents of a string and its closing quote, read only if it is printable ASCII
    /// without `\`: such a string means exactly its bytes to any JSON parser (no escape,
    /// no control character, valid UTF-8), so the checks after it see what serde_json
    /// would give them, in the same order (for the outer object, whose strings are checked
    /// by length before they are decoded).
    fn plain_bytes(&mut self) -> Option<&'a [u8]> {
        let rest = self.bytes.get(self.at..)?;
        let len = memchr::memchr(b'"', rest)?;
        let text = rest.get(..len)?;
        // Not short-circuiting, so that it compiles to a vector loop.
        let plain = text.iter().fold(true, |ok, &b| {
            ok & ((0x20..0x7f).contains(&b) & (b != b'\\'))
        });
        if !plain {
            return None;
        }
        self.at += len + 1;
        Some(text)
    }

    /// An integer as serde_json reads it into an `i64`: `0`, or an optional `-` and digits
    /// not starting with `0`, within range. `-0`, fractions and exponents are left to serde
    /// (which refuses them for an integer member).
    fn integer(&mut self) -> Option<i64> {
        let rest = self.bytes.get(self.at..)?;
        let (negative, digits_from) = match rest.first()? {
            b'-' => (true, 1),
            _ => (false, 0),
        };
        let digits = rest.get(digits_from..)?;
        let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        let text = digits.get(..n)?;
        match (text.first(), n) {
            (None, _) => return None,
            (Some(b'0'), 1) if !negative => {}
            (Some(b'0'), _) => return None,
            _ => {}
        }
        // A fraction or exponent follows: not an integer.
        if matches!(digits.get(n), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let mut value: i64 = 0;
        for &d in text {
            let d = i64::from(d - b'0');
            value = value.checked_mul(10)?;
            value = if negative {
                value.checked_sub(d)?
            } else {
                value.checked_add(d)?
            };
        }
        self.at += digits_from + n;
        Some(value)
    }

    /// Whether only JSON whitespace is left (serde_json accepts it after the value).
    fn only_whitespace_left(&self) -> bool {
        self.bytes.get(self.at..).is_some_and(|rest| {
            rest.iter()
                .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        })
    }
}

/// The outer object in the producer's form: header, ciphertext and signature, in that
/// order, no whitespace inside (any after it).
pub(crate) fn outer(bytes: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let mut r = Reader::new(bytes);
    r.literal(br#"{"header":""#)?;
    let header = r.plain_bytes()?;
    r.literal(br#","ciphertext":""#)?;
    let ciphertext = r.plain_bytes()?;
    r.literal(br#","signature":""#)?;
    let signature = r.plain_bytes()?;
    r.literal(b"}")?;
    r.only_whitespace_left()
        .then_some((header, ciphertext, signature))
}

/// The members of a header in the producer's form, borrowed from its bytes.
pub(crate) struct CanonicalHeader<'a> {
    pub(crate) id: &'a str,
    pub(crate) source: &'a str,
    pub(crate) key_id: &'a str,
    pub(crate) event_type: &'a str,
    pub(crate) content_type: &'a str,
    pub(crate) issued_at: i64,
    pub(crate) expires_at: i64,
    /// (consumer, key_id, enc, wrapped_key) per entry, in order.
    pub(crate) recipients: Vec<[&'a str; 4]>,
    pub(crate) key_commitment: &'a str,
}

/// The header in the producer's form (version 1, members in the order of §4, compact,
/// nothing after it). `max_recipients` bounds the entries read: past it, `None` (the serde
/// path then reports the limit).
pub(crate) fn header(bytes: &[u8], max_recipients: usize) -> Option<CanonicalHeader<'_>> {
    // With no `\` in the text, strings end where serde_json ends them. A control character
    // or a non-ASCII character in a string is refused by that member's rule (`malformed`),
    // as serde_json refuses it (`malformed`), and in the same place of the order: the
    // structure is fixed, so nothing before the member rules depends on string contents.
    if memchr::memchr(b'\\', bytes).is_some() {
        return None;
    }
    let mut r = Reader::for_text(std::str::from_utf8(bytes).ok()?);
    r.literal(br#"{"version":1,"id":""#)?;
    let id = r.string()?;
    r.literal(br#","source":""#)?;
    let source = r.string()?;
    r.literal(br#","key_id":""#)?;
    let key_id = r.string()?;
    r.literal(br#","event_type":""#)?;
    let event_type = r.string()?;
    r.literal(br#","content_type":""#)?;
    let content_type = r.string()?;
    r.literal(br#","issued_at":"#)?;
    let issued_at = r.integer()?;
    r.literal(br#","expires_at":"#)?;
    let expires_at = r.integer()?;
    r.literal(br#","recipients":["#)?;
    // An entry takes about 220 bytes: room for all of them at once, within the limit.
    let mut recipients = Vec::with_capacity(max_recipients.min(bytes.len() / 200 + 1));
    loop {
        if recipients.len() == max_recipients {
            return None;
        }
        r.literal(br#"{"consumer":""#)?;
        let consumer = r.string()?;
        r.literal(br#","key_id":""#)?;
        let kid = r.string()?;
        r.literal(br#","enc":""#)?;
        let enc = r.string()?;
        r.literal(br#","wrapped_key":""#)?;
        let wrapped = r.string()?;
        r.literal(b"}")?;
        recipients.push([consumer, kid, enc, wrapped]);
        if r.literal(b",").is_none() {
            break;
        }
    }
    r.literal(br#"],"key_commitment":""#)?;
    let key_commitment = r.string()?;
    r.literal(b"}")?;
    (r.at == bytes.len()).then_some(CanonicalHeader {
        id,
        source,
        key_id,
        event_type,
        content_type,
        issued_at,
        expires_at,
        recipients,
        key_commitment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_as_serde_reads_them() {
        let read = |t: &str| Reader::new(t.as_bytes()).integer();
        for (text, want) in [
            ("0", Some(0)),
            ("7", Some(7)),
            ("1700000000", Some(1_700_000_000)),
            ("-5", Some(-5)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("-0", None),
            ("01", None),
            ("-01", None),
            ("1.0", None),
            ("1e3", None),
            ("1E3", None),
            ("-", None),
            ("", None),
            ("+1", None),
        ] {
            assert_eq!(read(text), want, "{text:?}");
            // Where it reads a value, serde_json reads the same one.
            if let Some(v) = want {
                assert_eq!(serde_json::from_str::<i64>(text).ok(), Some(v), "{text:?}");
            }
        }
    }

    #[test]
    fn outer_strings_are_plain_printable_ascii_only() {
        let read = |t: &[u8]| Reader::new(t).plain_bytes().map(<[u8]>::to_vec);
        assert_eq!(read(br#"abc" rest"#).as_deref(), Some(b"abc".as_slice()));
        assert_eq!(read(br#"" rest"#).as_deref(), Some(b"".as_slice()));
        for bad in [
            &br#"a\"b""#[..],
            b"a\tb\"",
            b"a\x7fb\"",
            "é\"".as_bytes(),
            b"unterminated",
        ] {
            assert_eq!(read(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn headers_with_a_backslash_are_left_to_serde() {
        let h = br#"{"version":1,"id":"a\","source":"b"}"#;
        assert!(header(h, 64).is_none());
    }

    #[test]
    fn outer_form_only() {
        let good = br#"{"header":"aA","ciphertext":"bB","signature":"cC"}"#;
        assert_eq!(
            outer(good),
            Some((b"aA".as_slice(), b"bB".as_slice(), b"cC".as_slice()))
        );
        assert!(outer(&[good.as_slice(), b"\n \t\r"].concat()).is_some());
        for bad in [
            &br#" {"header":"aA","ciphertext":"bB","signature":"cC"}"#[..],
            br#"{"header":"aA","signature":"cC","ciphertext":"bB"}"#,
            br#"{"header":"aA","ciphertext":"bB","signature":"cC"}x"#,
            br#"{"header":"aA","ciphertext":"bB","signature":"cC","x":"d"}"#,
            br#"{"header":"a\u0041","ciphertext":"bB","signature":"cC"}"#,
            br#"{"header":"aA", "ciphertext":"bB","signature":"cC"}"#,
        ] {
            assert_eq!(outer(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
