//! Time arithmetic that cannot overflow.
//!
//! Deadlines are computed from values the host does not control: a platform's `Retry-After`, a
//! connector's `rate-limited(u64)`, a token's expiry, an operator's setting. Plain `i64`
//! addition panics on overflow in debug builds and wraps in release ones (a deadline in 1970 or
//! at the other end of time), and `Instant + Duration` panics in both. So every deadline the
//! pipeline and the store compute goes through the two types here, whose arithmetic saturates:
//!
//! - [`UnixMs`], a point in time in Unix milliseconds: what the store keeps
//!   ([`crate::store::Millis`] is its raw `i64`);
//! - [`Span`], a length of time in milliseconds, never negative, converted from `u64`,
//!   `i64` or [`Duration`] without wrapping.
//!
//! Saturating keeps the order of things (a wait of `u64::MAX` ms is still the longest wait),
//! and the pipeline never schedules the end of time: waits above a ceiling are refused before
//! they become deadlines (see `jobs::policy`).

use std::fmt;
use std::time::{Duration, SystemTime};

/// A point in time: milliseconds since the Unix epoch (negative before it).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMs(i64);

/// A length of time in milliseconds; never negative.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(u64);

impl UnixMs {
    /// The epoch.
    pub const EPOCH: UnixMs = UnixMs(0);
    /// The earliest representable time.
    pub const MIN: UnixMs = UnixMs(i64::MIN);
    /// The latest representable time.
    pub const MAX: UnixMs = UnixMs(i64::MAX);

    /// `ms` milliseconds after the epoch.
    pub const fn new(ms: i64) -> Self {
        UnixMs(ms)
    }

    /// Unix seconds as milliseconds, saturating at the ends of the range.
    pub const fn from_unix_secs(secs: i64) -> Self {
        UnixMs(secs.saturating_mul(1000))
    }

    /// A system time, saturating at the ends of the range.
    pub fn from_system_time(time: SystemTime) -> Self {
        match time.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(after) => UnixMs(Span::from(after).as_millis_i64()),
            Err(before) => UnixMs(
                Span::from(before.duration())
                    .as_millis_i64()
                    .saturating_neg(),
            ),
        }
    }

    /// The system clock's now.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// The raw milliseconds, as the store keeps them.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// Whole Unix seconds (rounded towards negative infinity).
    pub const fn unix_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// `span` later, or `None` past [`UnixMs::MAX`].
    pub const fn checked_add(self, span: Span) -> Option<UnixMs> {
        match self.0.checked_add_unsigned(span.0) {
            Some(ms) => Some(UnixMs(ms)),
            None => None,
        }
    }

    /// `span` later, or [`UnixMs::MAX`].
    pub const fn saturating_add(self, span: Span) -> UnixMs {
        UnixMs(self.0.saturating_add_unsigned(span.0))
    }

    /// `span` earlier, or [`UnixMs::MIN`].
    pub const fn saturating_sub(self, span: Span) -> UnixMs {
        UnixMs(self.0.saturating_sub_unsigned(span.0))
    }

    /// How long from `self` until `later`; zero when `later` is not after `self`.
    pub const fn until(self, later: UnixMs) -> Span {
        if later.0 <= self.0 {
            return Span::ZERO;
        }
        // The difference of two i64 always fits a u64.
        Span(later.0.abs_diff(self.0))
    }

    /// `later - self` in signed milliseconds, saturating at the ends of `i64`.
    pub const fn signed_until(self, later: UnixMs) -> i64 {
        later.0.saturating_sub(self.0)
    }
}

impl From<i64> for UnixMs {
    fn from(ms: i64) -> Self {
        UnixMs(ms)
    }
}

impl From<UnixMs> for i64 {
    fn from(at: UnixMs) -> Self {
        at.0
    }
}

impl Span {
    /// No time.
    pub const ZERO: Span = Span(0);
    /// The longest span.
    pub const MAX: Span = Span(u64::MAX);

    /// `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Span(ms)
    }

    /// `ms` milliseconds; a negative count is no time.
    pub const fn from_millis_i64(ms: i64) -> Self {
        if ms < 0 { Span(0) } else { Span(ms as u64) }
    }

    /// `secs` seconds, saturating at [`Span::MAX`].
    pub const fn from_secs(secs: u64) -> Self {
        Span(secs.saturating_mul(1000))
    }

    /// A duration, truncated to whole milliseconds and saturating at [`Span::MAX`].
    pub const fn from_duration(duration: Duration) -> Self {
        let ms = duration.as_millis();
        if ms > u64::MAX as u128 {
            Span(u64::MAX)
        } else {
            Span(ms as u64)
        }
    }

    /// The milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The milliseconds as an `i64` (the store's unit), saturating at `i64::MAX`.
    pub const fn as_millis_i64(self) -> i64 {
        if self.0 > i64::MAX as u64 {
            i64::MAX
        } else {
            self.0 as i64
        }
    }

    /// The milliseconds as a `usize`, saturating.
    pub const fn as_millis_usize(self) -> usize {
        if self.0 > usize::MAX as u64 {
            usize::MAX
        } else {
            self.0 as usize
        }
    }

    /// The span as a [`Duration`] (every span fits one).
    pub const fn as_duration(self) -> Duration {
        Duration::from_millis(self.0)
    }

    /// The sum, saturating at [`Span::MAX`].
    pub const fn saturating_add(self, other: Span) -> Span {
        Span(self.0.saturating_add(other.0))
    }

    /// The difference, or zero.
    pub const fn saturating_sub(self, other: Span) -> Span {
        Span(self.0.saturating_sub(other.0))
    }
}

impl From<Duration> for Span {
    fn from(duration: Duration) -> Self {
        Span::from_duration(duration)
    }
}

impl From<Span> for Duration {
    fn from(span: Span) -> Self {
        span.as_duration()
    }
}

/// Human-readable, to two units: `750 ms`, `5 s`, `1 min 30 s`, `24 h`, `1 d 2 h`,
/// `584942417 y 129 d`.
impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 6] = [
            (365 * 86_400_000, "y"),
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "min"),
            (1_000, "s"),
            (1, "ms"),
        ];
        if self.0 == 0 {
            return f.write_str("0 ms");
        }
        let mut rest = self.0;
        let mut written = 0;
        for (size, unit) in UNITS {
            let count = rest / size;
            if count == 0 {
                if written > 0 {
                    // Two units means adjacent ones: `1 h 5 s` would read as more precise
                    // than `1 h`.
                    break;
                }
                continue;
            }
            if written > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{count} {unit}")?;
            rest -= count * size;
            written += 1;
            if written == 2 || rest == 0 {
                break;
            }
        }
        Ok(())
    }
}

/// `start + wait` for a monotonic deadline, without the panic of `Instant + Duration` when the
/// sum leaves the clock's range: past it, the deadline is 30 years away (as far as tokio's own
/// "never" goes), or `start` itself on a clock that cannot even reach that.
pub fn instant_after(start: std::time::Instant, wait: Duration) -> std::time::Instant {
    const FAR: Duration = Duration::from_secs(30 * 365 * 86_400);
    start
        .checked_add(wait)
        .or_else(|| start.checked_add(FAR))
        .unwrap_or(start)
}

/// [`instant_after`] for tokio's clock (which tests may pause and advance).
pub fn tokio_instant_after(start: tokio::time::Instant, wait: Duration) -> tokio::time::Instant {
    tokio::time::Instant::from_std(instant_after(start.into_std(), wait))
}

/// `at` (Unix milliseconds) in RFC 3339, UTC, with milliseconds: `2026-12-02T22:04:22.123Z`.
/// Times before 1970 or after 9999 are clamped to those years' bounds.
pub fn rfc3339(at: i64) -> String {
    // The last millisecond of 9999-12-31.
    const MAX: i64 = 253_402_300_799_999;
    let at = at.clamp(0, MAX);
    let (days, ms) = (at / 86_400_000, at % 86_400_000);
    // Howard Hinnant's days-to-civil, for days since 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_saturate_at_both_ends() {
        assert_eq!(
            UnixMs::MAX.saturating_add(Span::from_millis(1)),
            UnixMs::MAX
        );
        assert_eq!(UnixMs::new(1).saturating_add(Span::MAX), UnixMs::MAX);
        assert_eq!(UnixMs::MIN.saturating_add(Span::MAX), UnixMs::new(i64::MAX));
        assert_eq!(
            UnixMs::MIN.saturating_sub(Span::from_millis(1)),
            UnixMs::MIN
        );
        assert_eq!(UnixMs::new(-5).saturating_sub(Span::MAX), UnixMs::MIN);
        assert_eq!(UnixMs::MAX.saturating_sub(Span::MAX), UnixMs::MIN);
        assert_eq!(
            UnixMs::new(1_000).saturating_add(Span::from_millis(500)),
            UnixMs::new(1_500)
        );
    }

    #[test]
    fn checked_addition_says_when_it_would_overflow() {
        let now = UnixMs::new(1_790_000_000_000);
        assert_eq!(now.checked_add(Span::MAX), None);
        assert_eq!(now.checked_add(Span::from_millis(u64::MAX / 2)), None);
        assert_eq!(UnixMs::MAX.checked_add(Span::from_millis(1)), None);
        assert_eq!(UnixMs::MAX.checked_add(Span::ZERO), Some(UnixMs::MAX));
        assert_eq!(
            UnixMs::MIN.checked_add(Span::MAX),
            Some(UnixMs::new(i64::MAX)),
            "the whole range is u64::MAX wide"
        );
        assert_eq!(
            now.checked_add(Span::from_secs(86_400)),
            Some(UnixMs::new(1_790_086_400_000))
        );
    }

    #[test]
    fn differences_never_overflow() {
        assert_eq!(UnixMs::MIN.until(UnixMs::MAX), Span::MAX);
        assert_eq!(UnixMs::MAX.until(UnixMs::MIN), Span::ZERO);
        assert_eq!(UnixMs::new(5).until(UnixMs::new(5)), Span::ZERO);
        assert_eq!(UnixMs::new(-5).until(UnixMs::new(5)), Span::from_millis(10));
        assert_eq!(UnixMs::MIN.signed_until(UnixMs::MAX), i64::MAX);
        assert_eq!(UnixMs::MAX.signed_until(UnixMs::MIN), i64::MIN);
        assert_eq!(UnixMs::new(10).signed_until(UnixMs::new(4)), -6);
    }

    #[test]
    fn conversions_saturate_instead_of_wrapping() {
        assert_eq!(Span::from_secs(u64::MAX), Span::MAX);
        assert_eq!(Span::from_secs(99_999_999_999_999_999), Span::MAX);
        assert_eq!(Span::from_secs(7).as_millis(), 7_000);
        assert_eq!(Span::from_duration(Duration::MAX), Span::MAX);
        assert_eq!(Span::from(Duration::from_secs(u64::MAX)), Span::MAX);
        assert_eq!(Span::from(Duration::from_micros(1_999)).as_millis(), 1);
        assert_eq!(Span::MAX.as_millis_i64(), i64::MAX);
        assert_eq!(
            Span::from_millis(i64::MAX as u64 + 1).as_millis_i64(),
            i64::MAX
        );
        assert_eq!(Span::from_millis_i64(i64::MIN), Span::ZERO);
        assert_eq!(Span::from_millis_i64(-1), Span::ZERO);
        assert_eq!(Span::from_millis_i64(i64::MAX).as_millis(), i64::MAX as u64);
        assert_eq!(Span::MAX.as_duration().as_millis(), u64::MAX as u128);
        assert_eq!(Span::MAX.saturating_add(Span::from_millis(1)), Span::MAX);
        assert_eq!(Span::ZERO.saturating_sub(Span::MAX), Span::ZERO);
        assert_eq!(UnixMs::from_unix_secs(i64::MAX), UnixMs::MAX);
        assert_eq!(UnixMs::from_unix_secs(i64::MIN), UnixMs::MIN);
        assert_eq!(UnixMs::from_unix_secs(-2).get(), -2_000);
        assert_eq!(UnixMs::new(-1).unix_secs(), -1);
        assert_eq!(UnixMs::MIN.unix_secs(), i64::MIN / 1000 - 1);
    }

    #[test]
    fn system_times_outside_the_range_saturate() {
        let epoch = SystemTime::UNIX_EPOCH;
        assert_eq!(UnixMs::from_system_time(epoch), UnixMs::EPOCH);
        assert_eq!(
            UnixMs::from_system_time(epoch + Duration::from_millis(1_500)),
            UnixMs::new(1_500)
        );
        assert_eq!(
            UnixMs::from_system_time(epoch - Duration::from_millis(1_500)),
            UnixMs::new(-1_500)
        );
        if let Some(far) = epoch.checked_add(Duration::from_secs(u64::MAX / 2)) {
            assert_eq!(UnixMs::from_system_time(far), UnixMs::MAX);
        }
        assert!(UnixMs::now() > UnixMs::new(1_600_000_000_000));
    }

    #[test]
    fn spans_read_in_two_units() {
        let cases = [
            (0, "0 ms"),
            (750, "750 ms"),
            (5_000, "5 s"),
            (5_250, "5 s 250 ms"),
            (90_000, "1 min 30 s"),
            (3_600_000, "1 h"),
            (3_605_000, "1 h"),
            (86_400_000, "1 d"),
            (93_600_000, "1 d 2 h"),
            (u64::MAX, "584942417 y 129 d"),
        ];
        for (ms, text) in cases {
            assert_eq!(Span::from_millis(ms).to_string(), text, "{ms} ms");
        }
    }

    #[test]
    fn instants_never_panic() {
        let start = std::time::Instant::now();
        assert_eq!(
            instant_after(start, Duration::from_secs(1)),
            start + Duration::from_secs(1)
        );
        let far = instant_after(start, Duration::MAX);
        assert!(far > start + Duration::from_secs(365 * 86_400));
        let tokio_start = tokio::time::Instant::now();
        assert!(tokio_instant_after(tokio_start, Duration::MAX) > tokio_start);
    }
    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_796_335_462_123), "2026-12-03T22:04:22.123Z");
        assert_eq!(rfc3339(-5), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59.999Z");
    }
}
