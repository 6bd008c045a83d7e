//! Calendar arithmetic and the time formats platforms answer with, for connectors (which have
//! no `chrono` in the guest): days to and from civil dates (Howard Hinnant's algorithms), RFC
//! 3339 parsing.

/// Parses an RFC 3339 date-time (`2026-01-24T15:30:00Z`, `...:00.123456Z`,
/// `...:00+01:00`, `...:00+0100`) into Unix seconds; anything else is `None`.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() < 19 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[13] != b':' {
        return None;
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') || bytes[16] != b':' {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<i64> {
        let part = text.get(from..to)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            // `+01:00`, or `+0100` as Graph writes it.
            let zone = &rest[1..];
            let (h, m) = zone
                .split_once(':')
                .or_else(|| (zone.len() == 4).then(|| zone.split_at(2)))?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_in_the_shapes_platforms_answer() {
        // 2026-11-23T05:30:00Z
        let t = 1_795_411_800;
        assert_eq!(parse_rfc3339("2026-11-23T05:30:00Z"), Some(t));
        assert_eq!(parse_rfc3339("2026-11-23T05:30:00.123456789Z"), Some(t));
        assert_eq!(parse_rfc3339("2026-11-23T05:30:00+00:00"), Some(t));
        assert_eq!(parse_rfc3339("2026-11-23T06:30:00+01:00"), Some(t));
        assert_eq!(parse_rfc3339("2026-11-23T04:00:00-01:30"), Some(t));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        for bad in [
            "",
            "2026-11-23",
            "2026-11-23T05:30:00",
            "2026-13-23T05:30:00Z",
            "2026-11-23T24:30:00Z",
            "2026-11-23T05:30:00.Z",
            "2026-11-23T05:30:00+010",
            "2026-11-23T05:30:00 UTC",
            "20x6-11-23T05:30:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 2, 29) * 86_400, 951_782_400);
        for days in [-719_468, -1, 0, 59, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{days}");
        }
        assert_eq!(
            parse_rfc3339("2026-11-22T08:00:00+0000"),
            Some(1_795_334_400)
        );
        assert_eq!(
            parse_rfc3339("2026-11-22T09:00:00+0100"),
            Some(1_795_334_400)
        );
    }
}
