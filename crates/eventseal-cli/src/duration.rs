//! Durations on the command line: `90`, `90s`, `5m`, `25h`, `2d`.

use std::time::Duration;

/// The longest duration any option takes: 100 years. Longer values are typos, and would
/// overflow the format's timestamps when added to now.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Parses `N` (seconds) or `N` followed by `s`, `m`, `h` or `d`. For clap's `value_parser`.
///
/// # Errors
/// A message that names the value, what was expected and the range.
pub fn parse(text: &str) -> Result<Duration, String> {
    let expected = "expected a whole number of seconds, or a number followed by s, m, h or d \
                    (90, 90s, 5m, 25h, 2d)";
    let t = text.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let per_unit: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: {expected}")),
    };
    if digits.is_empty() {
        return Err(format!("{text:?}: {expected}"));
    }
    let too_long = || {
        format!(
            "{text:?}: longer than the longest duration accepted ({} days, 100 years)",
            MAX_DURATION.as_secs() / 86_400
        )
    };
    let n: u64 = digits.parse().map_err(|_| too_long())?;
    let secs = n.checked_mul(per_unit).ok_or_else(too_long)?;
    if secs > MAX_DURATION.as_secs() {
        return Err(too_long());
    }
    Ok(Duration::from_secs(secs))
}

/// Formats whole seconds the way a user would write them (`25h`, `90s`, `2d`).
pub fn display(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".to_owned(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_plain_seconds() {
        for (text, secs) in [
            ("90", 90),
            ("90s", 90),
            ("5m", 300),
            ("25h", 90_000),
            ("2d", 172_800),
            ("0", 0),
            (" 7s ", 7),
        ] {
            assert_eq!(parse(text), Ok(Duration::from_secs(secs)), "{text}");
        }
    }

    #[test]
    fn refused_with_the_value_in_the_message() {
        for bad in [
            "",
            "s",
            "5x",
            "-5",
            "1.5h",
            "5 m",
            "1e3",
            "5mm",
            "18446744073709551615",
            "18446744073709551616",
            "36501d",
            "99999999999999999999d",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
        assert!(parse("36500d").is_ok());
        assert!(parse("18446744073709551615")
            .unwrap_err()
            .contains("longer than"));
    }

    #[test]
    fn display_round_trips() {
        for s in ["25h", "90s", "2d", "5m", "0s"] {
            assert_eq!(display(parse(s).unwrap()), s);
        }
    }
}
