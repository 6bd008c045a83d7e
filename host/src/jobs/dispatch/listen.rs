//! Replicas telling each other of queued work over PostgreSQL `LISTEN`/`NOTIFY`.

use std::sync::Weak;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{JOBS_CHANNEL, Wake};
use crate::store::{Millis, Store};

/// How long a listener waits before connecting again after a failure.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Sends the announcements queued on `told` as notifications, one per round trip: the due
/// times that queued up while the last one was sent go out together, as their earliest.
pub(super) async fn announce(store: Store, mut told: mpsc::Receiver<Millis>) {
    while let Some(first) = told.recv().await {
        let mut earliest = first;
        while let Ok(at) = told.try_recv() {
            earliest = earliest.min(at);
        }
        if let Err(error) = sqlx::query("SELECT pg_notify($1, $2)::TEXT")
            .bind(JOBS_CHANNEL)
            .bind(earliest.to_string())
            .execute(store.pool())
            .await
        {
            // The other replicas find the work at their next poll.
            tracing::warn!(%error, "telling the other replicas of queued jobs failed");
        }
    }
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
                    // A payload that is not a time still means "look now".
                    let at = notification.payload().parse().unwrap_or(now);
                    wake.due(at, now);
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
