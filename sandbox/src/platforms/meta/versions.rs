//! Graph API versions and their end dates, from the "Available Graph API Versions" table of Meta's
//! changelog (<https://developers.facebook.com/docs/graph-api/changelog/versions/>, as updated in
//! October 2026, plus v27.0 of 4 November 2026). A call naming a version on or after its
//! "available until" date, or older than every listed one, is refused with code 2635 (meta.md:
//! "a call to a retired version fails (error code 2635)"). Versions newer than the table, and
//! those whose end is not announced, are served.

use super::errors::GraphError;
use crate::clock::days_from_civil;

/// A calendar day: year, month, day.
type Day = (i64, u32, u32);

/// `(version, available until)`, newest first; `None`: not announced.
const VERSIONS: &[(&str, Option<Day>)] = &[
    ("v27.0", None),
    ("v26.0", None),
    ("v25.0", Some((2028, 7, 29))),
    ("v24.0", Some((2028, 2, 18))),
    ("v23.0", Some((2027, 10, 8))),
    ("v22.0", Some((2027, 5, 20))),
    ("v21.0", Some((2027, 1, 21))),
    ("v20.0", Some((2026, 9, 24))),
    ("v19.0", Some((2026, 5, 21))),
    ("v18.0", Some((2026, 1, 26))),
    ("v17.0", Some((2025, 9, 12))),
    ("v16.0", Some((2025, 5, 14))),
];

fn parse(version: &str) -> Option<(u32, u32)> {
    let (a, b) = version.strip_prefix('v')?.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Unix seconds from which `version` is refused; `None` while it is served.
pub(crate) fn end_of(version: &str) -> Option<i64> {
    let parsed = parse(version)?;
    match VERSIONS.iter().find(|(v, _)| parse(v) == Some(parsed)) {
        Some((_, until)) => until.map(|(y, m, d)| days_from_civil(y, m, d) * 86_400),
        None => {
            let oldest = VERSIONS.last().and_then(|(v, _)| parse(v))?;
            (parsed < oldest).then_some(i64::MIN)
        }
    }
}

/// Refuses a call naming a retired `version` at `now`, as Graph does.
pub(crate) fn check(version: &str, now: i64, latest: &str) -> Result<(), GraphError> {
    match end_of(version) {
        Some(end) if now >= end => Err(GraphError::new(
            2635,
            format!(
                "(#2635) You are calling a deprecated version of the Graph API ({version}). Please update to the latest version: {latest}."
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_end_on_their_dates() {
        let end = days_from_civil(2026, 9, 24) * 86_400;
        assert_eq!(end_of("v20.0"), Some(end));
        assert!(check("v20.0", end - 1, "v27.0").is_ok());
        let refused = check("v20.0", end, "v27.0").unwrap_err();
        assert_eq!(refused.code, 2635);
        assert!(refused.message.contains("v20.0"));
        assert_eq!(end_of("v27.0"), None);
        assert_eq!(end_of("v99.0"), None);
        assert_eq!(end_of("v2.3"), Some(i64::MIN));
    }
}
