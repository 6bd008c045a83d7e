//! The quarter-hour rule and ISO 8601 times.

use postd_sdk::time::civil_from_days;

/// Mailchimp schedules only on :00, :15, :30 and :45.
pub const QUARTER_HOUR_SECS: i64 = 15 * 60;

/// The first quarter hour at or after `unix` (a time already on one is kept).
pub fn round_up_to_quarter_hour(unix: i64) -> i64 {
    let rem = unix.rem_euclid(QUARTER_HOUR_SECS);
    if rem == 0 {
        unix
    } else {
        unix - rem + QUARTER_HOUR_SECS
    }
}

/// `2026-11-22T05:30:00+00:00`: what `schedule_time` expects (UTC).
pub fn iso8601_utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_up_to_the_next_quarter_hour() {
        // 2026-11-23T05:30:00Z
        let half_past = 1_795_411_800;
        assert_eq!(iso8601_utc(half_past), "2026-11-23T05:30:00+00:00");
        assert_eq!(round_up_to_quarter_hour(half_past), half_past);
        assert_eq!(round_up_to_quarter_hour(half_past + 1), half_past + 900);
        assert_eq!(round_up_to_quarter_hour(half_past + 899), half_past + 900);
        assert_eq!(round_up_to_quarter_hour(half_past - 1), half_past);
    }

    #[test]
    fn iso_dates_cross_years_and_leap_days() {
        assert_eq!(iso8601_utc(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso8601_utc(951_782_400), "2000-02-29T00:00:00+00:00");
        assert_eq!(iso8601_utc(1_735_689_599), "2024-12-31T23:59:59+00:00");
    }
}
