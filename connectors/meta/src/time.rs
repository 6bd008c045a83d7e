//! Graph's times: `2026-11-22T08:00:00+0000`.

use postd_sdk::time::{civil_from_days, days_from_civil};

/// Unix seconds of a Graph time (`YYYY-MM-DDTHH:MM:SS` then `+0000`, `+00:00` or `Z`, any
/// offset applied); `None` for anything else.
pub fn parse_graph_time(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| value.get(range)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let offset = match &value[19..] {
        "" | "Z" => 0,
        zone => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let hh: i64 = digits.get(..2)?.parse().ok()?;
            let mm: i64 = digits.get(2..)?.parse().ok()?;
            sign * (hh * 3600 + mm * 60)
        }
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset)
}

/// Unix seconds at midnight UTC of a `YYYY-MM-DD` date; `None` for anything else.
pub fn parse_date(value: &str) -> Option<i64> {
    parse_graph_time(&format!("{value}T00:00:00Z")).filter(|_| value.len() == 10)
}

/// The `YYYY-MM-DD` (UTC) of Unix seconds `secs`.
pub fn format_date(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::{format_date, parse_date, parse_graph_time};

    #[test]
    fn graph_times_parse_with_their_offsets() {
        assert_eq!(parse_graph_time("1970-01-01T00:00:00+0000"), Some(0));
        assert_eq!(parse_graph_time("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(parse_graph_time("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_graph_time("1970-01-01T00:00:00-0130"), Some(5400));
        assert_eq!(parse_graph_time("yesterday"), None);
        assert_eq!(parse_graph_time("2020-13-01T00:00:00+0000"), None);
        assert_eq!(parse_graph_time("2020-01-01T00:00:00+00"), None);
        assert_eq!(parse_graph_time("2020-01-01T00:00:00+1\u{e9}1"), None);
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2026-09-24"), Some(1_790_208_000));
        assert_eq!(format_date(1_790_208_000 + 86_399), "2026-09-24");
        assert_eq!(format_date(951_782_400), "2000-02-29");
        assert_eq!(parse_date("2026-9-24"), None);
        assert_eq!(parse_date("2026-09-24T00:00:00Z"), None);
    }
}
