//! UTC timestamps with nanosecond precision, printed as RFC 3339 (`2026-11-24T10:00:00.123456789Z`).
//! Owns formatting and parsing only; does not read time zones.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// A point in time, in nanoseconds since the Unix epoch, always shown in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    nanos: i128,
}

/// Text that is not an RFC 3339 timestamp or a relative duration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{text}` is not a time: use RFC 3339 like `2026-11-24T10:00:00Z`, a date like `2026-11-24`, or an age like `30m`, `2h`, `7d`"
)]
pub struct TimestampError {
    /// The text that failed to parse.
    pub text: String,
}

impl Timestamp {
    /// The current time from the system clock.
    pub fn now() -> Self {
        let nanos = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(elapsed) => elapsed.as_nanos() as i128,
            Err(before) => -(before.duration().as_nanos() as i128),
        };
        Self { nanos }
    }

    /// Builds a timestamp from nanoseconds since the epoch.
    pub fn from_unix_nanos(nanos: i128) -> Self {
        Self { nanos }
    }

    /// Nanoseconds since the epoch.
    pub fn unix_nanos(self) -> i128 {
        self.nanos
    }

    /// Parses RFC 3339 (`Z` or `±hh:mm` offset, optional fraction), a bare date (midnight UTC),
    /// or, relative to `now`, an age such as `90s`, `30m`, `2h`, `7d`.
    pub fn parse_relative(text: &str, now: Timestamp) -> Result<Self, TimestampError> {
        let error = || TimestampError {
            text: text.to_string(),
        };
        let trimmed = text.trim();
        if let Some(unit) = trimmed.chars().last().filter(|c| "smhdw".contains(*c)) {
            let digits = &trimmed[..trimmed.len() - 1];
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                let amount: i128 = digits.parse().map_err(|_| error())?;
                let seconds = match unit {
                    's' => 1,
                    'm' => 60,
                    'h' => 3600,
                    'd' => 86_400,
                    _ => 604_800,
                };
                return Ok(Self {
                    nanos: now.nanos - amount * seconds * NANOS_PER_SECOND,
                });
            }
        }
        Self::parse(trimmed).map_err(|_| error())
    }

    /// Parses an RFC 3339 timestamp or a bare `YYYY-MM-DD` date.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let error = || TimestampError {
            text: text.to_string(),
        };
        let bytes = text.as_bytes();
        let number = |range: std::ops::Range<usize>| -> Result<i64, TimestampError> {
            let part = text.get(range).ok_or_else(error)?;
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(error());
            }
            part.parse().map_err(|_| error())
        };
        if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(error());
        }
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(error());
        }
        let days = days_from_civil(year, month, day);
        if bytes.len() == 10 {
            return Ok(Self {
                nanos: i128::from(days) * 86_400 * NANOS_PER_SECOND,
            });
        }
        if bytes.len() < 20 || !matches!(bytes[10], b'T' | b't' | b' ') {
            return Err(error());
        }
        if bytes[13] != b':' || bytes[16] != b':' {
            return Err(error());
        }
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        if hour > 23 || minute > 59 || second > 60 {
            return Err(error());
        }
        let mut index = 19;
        let mut fraction: i128 = 0;
        if bytes[index] == b'.' {
            index += 1;
            let start = index;
            while index < bytes.len() && bytes[index].is_ascii_digit() {
                index += 1;
            }
            let digits = &text[start..index];
            if digits.is_empty() || digits.len() > 9 {
                return Err(error());
            }
            let value: i128 = digits.parse().map_err(|_| error())?;
            fraction = value * 10_i128.pow(9 - digits.len() as u32);
        }
        let offset_seconds: i64 = match &text[index..] {
            "Z" | "z" => 0,
            rest if rest.len() == 6 && matches!(rest.as_bytes()[0], b'+' | b'-') => {
                if rest.as_bytes()[3] != b':' {
                    return Err(error());
                }
                let hours = number(index + 1..index + 3)?;
                let minutes = number(index + 4..index + 6)?;
                let magnitude = hours * 3600 + minutes * 60;
                if rest.starts_with('-') {
                    -magnitude
                } else {
                    magnitude
                }
            }
            _ => return Err(error()),
        };
        let seconds = i128::from(days) * 86_400 + i128::from(hour * 3600 + minute * 60 + second)
            - i128::from(offset_seconds);
        Ok(Self {
            nanos: seconds * NANOS_PER_SECOND + fraction,
        })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.nanos.div_euclid(NANOS_PER_SECOND);
        let nanos = self.nanos.rem_euclid(NANOS_PER_SECOND);
        let days = seconds.div_euclid(86_400) as i64;
        let of_day = seconds.rem_euclid(86_400) as i64;
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
            of_day / 3600,
            (of_day / 60) % 60,
            of_day % 60
        )
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_nanoseconds() {
        let stamp = Timestamp::from_unix_nanos(1_795_514_400_123_456_789);
        assert_eq!(stamp.to_string(), "2026-11-24T10:00:00.123456789Z");
        assert_eq!(
            Timestamp::from_unix_nanos(0).to_string(),
            "1970-01-01T00:00:00.000000000Z"
        );
    }

    #[test]
    fn parses_what_it_prints_and_offsets() {
        let stamp = Timestamp::from_unix_nanos(1_795_514_400_123_456_789);
        assert_eq!(Timestamp::parse(&stamp.to_string()), Ok(stamp));
        assert_eq!(
            Timestamp::parse("2026-11-24T11:00:00.123456789+01:00"),
            Ok(stamp)
        );
        assert_eq!(
            Timestamp::parse("2026-11-24").map(|t| t.to_string()),
            Ok("2026-11-24T00:00:00.000000000Z".to_string())
        );
        assert!(Timestamp::parse("2026-02-30T00:00:00Z").is_err());
        assert!(Timestamp::parse("yesterday").is_err());
    }

    #[test]
    fn parses_ages_relative_to_now() {
        let now = Timestamp::parse("2026-11-24T10:00:00Z").unwrap();
        assert_eq!(
            Timestamp::parse_relative("2h", now).map(|t| t.to_string()),
            Ok("2026-11-24T08:00:00.000000000Z".to_string())
        );
        assert_eq!(
            Timestamp::parse_relative("7d", now).map(|t| t.to_string()),
            Ok("2026-11-17T10:00:00.000000000Z".to_string())
        );
        assert!(Timestamp::parse_relative("h", now).is_err());
    }
}
