//! Graph API versions and when Meta retires them.
//!
//! Meta keeps each Graph API version for at least two years and ends it two years after the next
//! version's release (<https://developers.facebook.com/docs/apps/versions>); a call to a retired
//! version fails. [`GRAPH_VERSIONS`] copies the "Available Graph API Versions" table of Meta's
//! changelog (<https://developers.facebook.com/docs/graph-api/changelog/versions/>, as of its
//! October 2026 update) and the v27.0 release of 4 November 2026
//! (<https://developers.facebook.com/blog/post/2026/11/04/introducing-graph-api-v27-and-marketing-api-v27/>).
//! Versions whose end Meta has not announced ("TBD") have no end date. Update the table, and
//! [`DEFAULT_GRAPH_VERSION`], when Meta publishes a new version.

use crate::time::{format_date, parse_date};

/// The version used when the plugin sets none: the newest in [`GRAPH_VERSIONS`].
pub const DEFAULT_GRAPH_VERSION: &str = "v27.0";

/// How long before a version's end `health` starts warning: 90 days, enough for one release cycle
/// of the host.
pub const WARN_BEFORE_END_SECS: i64 = 90 * 86_400;

/// One row of Meta's version table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphVersion {
    /// `vMAJOR.MINOR`.
    pub name: &'static str,
    /// Release date, `YYYY-MM-DD`.
    pub released: &'static str,
    /// "Available until" date, `YYYY-MM-DD`, from which calls fail; `None` while Meta has not
    /// announced it.
    pub available_until: Option<&'static str>,
}

const fn v(
    name: &'static str,
    released: &'static str,
    available_until: Option<&'static str>,
) -> GraphVersion {
    GraphVersion {
        name,
        released,
        available_until,
    }
}

/// Meta's Graph API versions, newest first, with their end dates (see the module docs).
pub const GRAPH_VERSIONS: &[GraphVersion] = &[
    v("v27.0", "2026-11-04", None),
    v("v26.0", "2026-07-29", None),
    v("v25.0", "2026-02-18", Some("2028-07-29")),
    v("v24.0", "2025-10-08", Some("2028-02-18")),
    v("v23.0", "2025-05-29", Some("2027-10-08")),
    v("v22.0", "2025-01-21", Some("2027-05-20")),
    v("v21.0", "2024-10-02", Some("2027-01-21")),
    v("v20.0", "2024-05-21", Some("2026-09-24")),
    v("v19.0", "2024-01-23", Some("2026-05-21")),
    v("v18.0", "2023-09-12", Some("2026-01-26")),
    v("v17.0", "2023-05-23", Some("2025-09-12")),
    v("v16.0", "2023-02-02", Some("2025-05-14")),
];

/// Where a version stands on a given day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lifecycle {
    /// Available, with no end within [`WARN_BEFORE_END_SECS`] (or none announced).
    Supported,
    /// Available until `ends_on` (`YYYY-MM-DD`), `days_left` whole days from now.
    EndingSoon {
        /// The end date.
        ends_on: String,
        /// Whole days until then.
        days_left: i64,
    },
    /// Retired: Meta refuses calls to it. `ended_on` is the end date when the table has it.
    Retired {
        /// The end date, when known.
        ended_on: Option<String>,
    },
    /// Newer than every version in the table: assumed available, end unknown.
    Unlisted,
    /// Not a `vMAJOR.MINOR` version at all.
    Malformed,
}

/// `(major, minor)` of `vMAJOR.MINOR`.
pub fn parse(version: &str) -> Option<(u32, u32)> {
    let (major, minor) = version.strip_prefix('v')?.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(major) || !digits(minor) {
        return None;
    }
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Where `version` stands at Unix time `now`.
pub fn lifecycle(version: &str, now: i64) -> Lifecycle {
    let Some(parsed) = parse(version) else {
        return Lifecycle::Malformed;
    };
    let listed = GRAPH_VERSIONS
        .iter()
        .find(|row| parse(row.name) == Some(parsed));
    let Some(row) = listed else {
        let oldest = GRAPH_VERSIONS.last().and_then(|row| parse(row.name));
        return if oldest.is_some_and(|oldest| parsed < oldest) {
            // Older than the oldest row, which has itself ended.
            Lifecycle::Retired { ended_on: None }
        } else {
            Lifecycle::Unlisted
        };
    };
    let Some(until) = row.available_until.and_then(parse_date) else {
        return Lifecycle::Supported;
    };
    // "Available until" the date: from that day on, count it gone.
    if now >= until {
        Lifecycle::Retired {
            ended_on: Some(format_date(until)),
        }
    } else if until - now <= WARN_BEFORE_END_SECS {
        Lifecycle::EndingSoon {
            ends_on: format_date(until),
            days_left: (until - now) / 86_400,
        }
    } else {
        Lifecycle::Supported
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(date: &str) -> i64 {
        parse_date(date).unwrap()
    }

    #[test]
    fn the_table_is_newest_first_with_well_formed_dates() {
        assert_eq!(GRAPH_VERSIONS[0].name, DEFAULT_GRAPH_VERSION);
        for pair in GRAPH_VERSIONS.windows(2) {
            assert!(parse(pair[0].name) > parse(pair[1].name), "{pair:?}");
            assert!(parse_date(pair[0].released) > parse_date(pair[1].released));
        }
        for row in GRAPH_VERSIONS {
            assert!(parse_date(row.released).is_some(), "{row:?}");
            assert!(row.available_until.is_none_or(|d| parse_date(d).is_some()));
        }
    }

    #[test]
    fn versions_are_supported_then_ending_soon_then_retired() {
        assert_eq!(lifecycle("v20.0", at("2026-06-01")), Lifecycle::Supported);
        assert_eq!(
            lifecycle("v20.0", at("2026-07-01")),
            Lifecycle::EndingSoon {
                ends_on: "2026-09-24".into(),
                days_left: 85
            }
        );
        assert_eq!(
            lifecycle("v20.0", at("2026-09-24") - 1),
            Lifecycle::EndingSoon {
                ends_on: "2026-09-24".into(),
                days_left: 0
            }
        );
        assert_eq!(
            lifecycle("v20.0", at("2026-09-24")),
            Lifecycle::Retired {
                ended_on: Some("2026-09-24".into())
            }
        );
        assert_eq!(
            lifecycle("v21.0", at("2026-12-03")),
            Lifecycle::EndingSoon {
                ends_on: "2027-01-21".into(),
                days_left: 49
            }
        );
        assert_eq!(
            lifecycle(DEFAULT_GRAPH_VERSION, at("2026-12-03")),
            Lifecycle::Supported
        );
    }

    #[test]
    fn unlisted_versions_are_retired_when_older_and_assumed_available_when_newer() {
        assert_eq!(
            lifecycle("v2.3", at("2026-12-03")),
            Lifecycle::Retired { ended_on: None }
        );
        assert_eq!(lifecycle("v28.0", at("2026-12-03")), Lifecycle::Unlisted);
        assert_eq!(lifecycle("20.0", 0), Lifecycle::Malformed);
        assert_eq!(lifecycle("v20", 0), Lifecycle::Malformed);
        assert_eq!(lifecycle("v2x.0", 0), Lifecycle::Malformed);
    }
}
