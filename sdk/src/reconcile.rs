//! "Did my earlier attempt already act?": creating safely on platforms without idempotency keys.
//!
//! Some platforms take no idempotency key on create (Google Business Profile local posts,
//! Mailchimp campaigns). When the platform acts but its answer is lost on the way back (a 502
//! from a proxy, a connection reset or a timeout after the work was done), the connector sees a
//! passing failure and the host retries. A retry that simply creates again makes the thing twice:
//! a second public post, a second draft campaign. Connectors for such platforms follow one rule:
//!
//! 1. **Checkpoint before the irreversible create.** Record a [`CreateAttempt`] (when, and a
//!    marker the created thing will carry) with [`CreateAttempt::record`] just before the create
//!    call, and the platform's id with [`queue::checkpoint`](crate::queue::checkpoint) as soon as
//!    the answer arrives. A retry whose recovery point is still a create attempt
//!    ([`CreateAttempt::parse`]) knows the earlier create may have acted; a first attempt, with no
//!    recovery point, goes straight to create and pays nothing.
//! 2. **On that retry, look for what it made.** List what the platform holds near
//!    [`CreateAttempt::at`]: by the marker when the platform keeps a field the connector writes and
//!    no audience reads (a Mailchimp campaign's title, see [`job_marker`]); else by author, text
//!    and a time window ([`CreateAttempt::covers`], times read with [`parse_rfc3339`](crate::time::parse_rfc3339)), as for a
//!    local post's summary and `createTime`.
//! 3. **Adopt it, or clean up a stray.** Found: checkpoint its id and carry on from it (follow its
//!    state, fill it, send it) instead of creating. Found twice by an exact marker (two lost answers
//!    in a row): keep the oldest, delete the other unsent drafts, and never touch anything already
//!    public. A match by text alone is adopted but never deleted: it may be someone else's.
//! 4. **Else create**, after recording a fresh attempt: nothing was found, so the failure came
//!    before the platform acted and the create must still happen.
//!
//! ```text
//! let body = build(&post)?;
//! if let Some(attempt) = job.recovery_point.as_deref().and_then(CreateAttempt::parse) {
//!     if let Some(found) = find_made_by(&attempt, &body)? {
//!         queue::checkpoint(&found.id)?;
//!         return carry_on(found);
//!     }
//! }
//! CreateAttempt::record(reconcile::job_marker(&job))?;
//! let created = create(&body)?;
//! queue::checkpoint(&created.id)?;
//! ```

use crate::{JobContext, Result, http, queue};

/// How far a platform's clock and the host's may disagree, plus the time a create call may take
/// (the host's HTTP timeouts are well under it): the window [`CreateAttempt::covers`] allows
/// either side of the attempt. Wide enough that clock skew never hides what was made, narrow
/// enough that a text match from another day never counts.
pub const CLOCK_SLACK_SECS: i64 = 10 * 60;

/// What a recovery point recording a create attempt starts with.
const PREFIX: &str = "create-attempt:";

/// "A create was attempted at `at`; what it made carries `marker`": the recovery point recorded
/// just before an irreversible create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateAttempt {
    /// When the create was attempted, Unix seconds on the host's clock.
    pub at: i64,
    /// Text the created thing carries (see [`job_marker`]); empty when the platform keeps none.
    pub marker: String,
}

impl CreateAttempt {
    /// An attempt at `at` whose result carries `marker`.
    pub fn new(at: i64, marker: impl Into<String>) -> Self {
        CreateAttempt {
            at,
            marker: marker.into(),
        }
    }

    /// Records an attempt now, as the job's recovery point, and returns it. Call it right before
    /// the create call, never after.
    pub fn record(marker: impl Into<String>) -> Result<Self> {
        let attempt = CreateAttempt::new(http::now_unix(), marker);
        queue::checkpoint(&attempt.encode())?;
        Ok(attempt)
    }

    /// `create-attempt:<at>:<marker>`, the recovery point text.
    pub fn encode(&self) -> String {
        format!("{PREFIX}{}:{}", self.at, self.marker)
    }

    /// The attempt a recovery point records, or `None` when it records something else (a
    /// platform id, a continuation's state).
    pub fn parse(recovery_point: &str) -> Option<Self> {
        let rest = recovery_point.strip_prefix(PREFIX)?;
        let (at, marker) = rest.split_once(':')?;
        let at = at.parse().ok()?;
        Some(CreateAttempt::new(at, marker))
    }

    /// The earliest creation time worth looking at: [`CLOCK_SLACK_SECS`] before the attempt.
    pub fn since(&self) -> i64 {
        self.at.saturating_sub(CLOCK_SLACK_SECS)
    }

    /// Whether something created at `created_at` (the platform's clock, Unix seconds) may be
    /// what this attempt made: within [`CLOCK_SLACK_SECS`] either side of it.
    pub fn covers(&self, created_at: i64) -> bool {
        (self.since()..=self.at.saturating_add(CLOCK_SLACK_SECS)).contains(&created_at)
    }
}

/// `[postd <job id>]`: a marker naming the job, for a field the platform keeps and only the
/// account's owner sees. The brackets keep `[postd job-1]` from matching inside
/// `[postd job-10]`.
pub fn job_marker(job: &JobContext) -> String {
    format!("[postd {}]", job.job_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_survives_its_recovery_point() {
        let attempt = CreateAttempt::new(1_795_411_800, "[postd job:7]");
        let point = attempt.encode();
        assert_eq!(point, "create-attempt:1795411800:[postd job:7]");
        assert_eq!(CreateAttempt::parse(&point), Some(attempt));
        assert_eq!(
            CreateAttempt::parse("create-attempt:5:"),
            Some(CreateAttempt::new(5, ""))
        );
    }

    #[test]
    fn other_recovery_points_are_not_attempts() {
        for point in [
            "gbp-post:accounts/1/locations/2/localPosts/3",
            "a1b2c3d4e5",
            "create-attempt:",
            "create-attempt:soon:[postd j]",
            "create-attempt:12",
            "",
        ] {
            assert_eq!(CreateAttempt::parse(point), None, "{point}");
        }
    }

    #[test]
    fn the_window_allows_clock_slack_on_both_sides() {
        let attempt = CreateAttempt::new(10_000, "");
        assert!(attempt.covers(10_000));
        assert!(attempt.covers(10_000 - CLOCK_SLACK_SECS));
        assert!(attempt.covers(10_000 + CLOCK_SLACK_SECS));
        assert!(!attempt.covers(10_000 - CLOCK_SLACK_SECS - 1));
        assert!(!attempt.covers(10_000 + CLOCK_SLACK_SECS + 1));
        assert_eq!(attempt.since(), 10_000 - CLOCK_SLACK_SECS);
        assert!(CreateAttempt::new(i64::MAX, "").covers(i64::MAX));
    }

    #[test]
    fn job_markers_do_not_match_inside_each_other() {
        let job = |id: &str| JobContext {
            job_id: id.into(),
            attempt: 1,
            recovery_point: None,
        };
        let title = format!("News {}", job_marker(&job("job-10")));
        assert!(title.contains(&job_marker(&job("job-10"))));
        assert!(!title.contains(&job_marker(&job("job-1"))));
    }
}
