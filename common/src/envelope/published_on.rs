//! `MessageAttributes.published_on`: written as RFC 3339 UTC, read in the forms that
//! publishers of the original system actually send.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

use super::quote;

/// The instant as the suite writes it: RFC 3339 in UTC with a `Z`, with only as many
/// fractional digits as needed (`2023-01-02T23:02:00.642883101Z`, `2023-01-02T23:02:00Z`).
pub fn format_published_on(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Reads a `published_on` value; the error is the reason it was not understood.
///
/// Accepted, in order:
/// - RFC 3339 with any offset (`T`, `t` or a space between date and time), converted to UTC;
/// - ISO 8601 without an offset (`2023-01-02T23:02:00.642883`, what Python's
///   `datetime.utcnow().isoformat()` writes), taken as UTC;
/// - the legacy form of shell publishers, `date +%Y.%m.%d.%H.%M.%N`, taken as UTC because
///   it carries no offset. That format has no seconds field, so the six-part form is
///   `year.month.day.hour.minute.nanoseconds` with seconds 0 (the seed's
///   `2023.01.2.23.02.642883101` is 2023-01-02T23:02:00.642883101Z). A seven-part form,
///   `year.month.day.hour.minute.second.nanoseconds`, is read too, for publishers that
///   added `%S`. Month to second may be unpadded; the last part is an integer count of
///   nanoseconds (1 to 9 digits, as `%N` prints it), not a decimal fraction.
pub fn parse_published_on(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    for layout in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, layout) {
            return Ok(at.and_utc());
        }
    }
    if text.as_bytes().first().is_some_and(u8::is_ascii_digit) && text.contains('.') && !text.contains('-') {
        return parse_legacy(text);
    }
    Err(format!(
        "{} is neither RFC 3339 (2023-01-02T23:02:00Z) nor the legacy %Y.%m.%d.%H.%M.%N form",
        quote(text)
    ))
}

/// The form of a `published_on` that [`parse_published_on`] accepted: only the six-part
/// legacy form lacks seconds.
pub fn published_on_form(text: &str) -> super::PublishedOnForm {
    let legacy = text.as_bytes().first().is_some_and(u8::is_ascii_digit) && !text.contains('-');
    if legacy && text.split('.').count() == 6 {
        super::PublishedOnForm::LegacyWithoutSeconds
    } else {
        super::PublishedOnForm::Full
    }
}

fn parse_legacy(text: &str) -> Result<DateTime<Utc>, String> {
    let parts: Vec<&str> = text.split('.').collect();
    let widths: &[usize] = match parts.len() {
        6 => &[4, 2, 2, 2, 2, 9],
        7 => &[4, 2, 2, 2, 2, 2, 9],
        n => {
            return Err(format!(
            "{} has {n} dot-separated parts; the legacy form has 6 (%Y.%m.%d.%H.%M.%N) or 7 (with seconds)",
            quote(text)
        ))
        }
    };
    let mut numbers = Vec::with_capacity(parts.len());
    for (part, width) in parts.iter().zip(widths) {
        let is_number = !part.is_empty() && part.len() <= *width && part.bytes().all(|b| b.is_ascii_digit());
        // The year is the one part that must be complete: "23" is not a year.
        if !is_number || (*width == 4 && part.len() != 4) {
            return Err(format!(
                "{} has {} where a {width}-digit number was expected",
                quote(text),
                quote(part)
            ));
        }
        numbers.push(part.parse::<u32>().map_err(|e| e.to_string())?);
    }
    let (second, nanos) = match numbers[..] {
        [_, _, _, _, _, nanos] => (0, nanos),
        [_, _, _, _, _, second, nanos] => (second, nanos),
        _ => unreachable!("the part count was checked above"),
    };
    NaiveDate::from_ymd_opt(numbers[0] as i32, numbers[1], numbers[2])
        .and_then(|date| date.and_hms_nano_opt(numbers[3], numbers[4], second, nanos))
        .map(|at| at.and_utc())
        .ok_or_else(|| format!("{} is not a real date and time", quote(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        parse_published_on(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn reads_the_seed_legacy_form_without_seconds() {
        assert_eq!(format_published_on(&utc("2023.01.2.23.02.642883101")), "2023-01-02T23:02:00.642883101Z");
    }

    #[test]
    fn reads_the_legacy_form_with_seconds_and_unpadded_fields() {
        assert_eq!(format_published_on(&utc("2023.1.2.3.4.5.6")), "2023-01-02T03:04:05.000000006Z");
        assert_eq!(format_published_on(&utc("2023.12.31.23.59.59.000000000")), "2023-12-31T23:59:59Z");
    }

    #[test]
    fn reads_rfc3339_with_any_offset_as_utc() {
        assert_eq!(format_published_on(&utc("2023-01-03T01:02:00.5+02:00")), "2023-01-02T23:02:00.500Z");
        assert_eq!(format_published_on(&utc("2023-01-02 23:02:00z")), "2023-01-02T23:02:00Z");
    }

    #[test]
    fn reads_iso_without_offset_as_utc() {
        assert_eq!(format_published_on(&utc("2023-01-02T23:02:00.642883")), "2023-01-02T23:02:00.642883Z");
    }

    #[test]
    fn rejects_what_it_cannot_read_with_a_reason() {
        for text in [
            "",
            "yesterday",
            "2023.01.02",
            "23.01.2.23.02.1",
            "2023.13.1.0.0.0",
            "2023.1.1.0.0.1234567890",
            "2023.1.1.0.0.x",
            "2023-02-30T00:00:00Z",
        ] {
            let reason = parse_published_on(text).unwrap_err();
            assert!(reason.contains(&format!("{text:?}")), "{reason}");
        }
    }

    #[test]
    fn writes_utc_with_z_and_only_needed_fraction_digits() {
        let at = utc("2023-01-02T23:02:00Z");
        assert_eq!(format_published_on(&at), "2023-01-02T23:02:00Z");
    }
}
