//! Replicas telling each other of queued work over PostgreSQL `LISTEN`/`NOTIFY`.

use std::collections::BTreeSet;
use std::sync::Weak;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{JOBS_CHANNEL, Wake};
use crate::store::{Millis, Store};

/// How long a listener waits before connecting again after a failure.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// The most due times one notification carries; its payload stays far below PostgreSQL's
/// 8,000 bytes. Later times beyond it are found by the other replicas' polls.
const MAX_TIMES_PER_NOTIFICATION: usize = 256;

/// Sends the announcements queued on `told` as notifications, one per round trip: the due
/// times that queued up while the last one was sent go out together, comma-separated — those
/// already due as one, each later one as itself, so a replica that hears "now" also learns
/// when the scheduled work that came with it is due.
pub(super) async fn announce(store: Store, mut told: mpsc::Receiver<Millis>) {
    while let Some(first) = told.recv().await {
        let mut times = BTreeSet::from([first]);
        while let Ok(at) = told.try_recv() {
            times.insert(at);
        }
        let payload = payload(&times, crate::time::UnixMs::now().get());
        if let Err(error) = sqlx::query("SELECT pg_notify($1, $2)::TEXT")
            .bind(JOBS_CHANNEL)
            .bind(payload)
            .execute(store.pool())
            .await
        {
            // The other replicas find the work at their next poll.
            tracing::warn!(%error, "telling the other replicas of queued jobs failed");
        }
    }
}

/// The payload announcing `times` at `now`: one time for all those already due, then the
/// later ones in order, at most [`MAX_TIMES_PER_NOTIFICATION`] in all.
fn payload(times: &BTreeSet<Millis>, now: Millis) -> String {
    let due = times.range(..=now).next_back().copied();
    due.into_iter()
        .chain(times.range(now.saturating_add(1)..).copied())
        .take(MAX_TIMES_PER_NOTIFICATION)
        .map(|at| at.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The due times a notification's payload names; none when it names none, which still means
/// "look now".
fn heard_times(payload: &str) -> Vec<Millis> {
    payload
        .split(',')
        .filter_map(|at| at.trim().parse().ok())
        .collect()
}

/// Hears the replicas' announcements (this process's own included) and wakes or schedules
/// this process's workers, reconnecting after a failure, until the dispatcher is gone.
pub(super) async fn hear(url: String, wake: Weak<Wake>) {
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => match listener.listen(JOBS_CHANNEL).await {
                Ok(()) => loop {
                    let Ok(notification) = listener.recv().await else {
                        break;
                    };
                    let Some(wake) = wake.upgrade() else {
                        return;
                    };
                    let now = crate::time::UnixMs::now().get();
                    let times = heard_times(notification.payload());
                    if times.is_empty() {
                        wake.due(now, now);
                    }
                    for at in times {
                        wake.due(at, now);
                    }
                },
                Err(error) => tracing::warn!(%error, "listening for queued jobs failed"),
            },
            Err(error) => tracing::warn!(%error, "listening for queued jobs failed"),
        }
        if wake.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_names_one_time_for_work_due_and_each_later_one() {
        let times = BTreeSet::from([100, 250, 300, 5_000, 9_000]);
        assert_eq!(payload(&times, 300), "300,5000,9000");
        assert_eq!(payload(&times, 50), "100,250,300,5000,9000");
        assert_eq!(heard_times("300,5000,9000"), vec![300, 5_000, 9_000]);
        assert_eq!(heard_times("soon"), Vec::<Millis>::new(), "still: look now");
    }

    #[test]
    fn a_notification_carries_a_bounded_number_of_times() {
        let times: BTreeSet<Millis> = (1..=1_000).map(|n| 1_000 + n).collect();
        let sent = payload(&times, 0);
        assert_eq!(heard_times(&sent).len(), MAX_TIMES_PER_NOTIFICATION);
        assert!(sent.len() < 8_000, "{} bytes", sent.len());
    }
}
