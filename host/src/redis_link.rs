//! Connections to Redis that fail fast. Redis holds shared rate budgets;
//! the host carries on without it (each replica falls back to its own buckets), but only if a
//! call to a Redis that went away ends quickly: redis-rs's connection manager, left at its
//! defaults, waits without bound for an answer and for a reconnection, and every rate decision
//! then hangs until the plugin's deadline.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// The longest a Redis command or a connection attempt may take before it counts as failed.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

/// A connection manager to `url` whose commands and reconnections give up after
/// [`REDIS_TIMEOUT`], retrying a lost connection once per command.
pub async fn connect(url: &str) -> redis::RedisResult<ConnectionManager> {
    let client = redis::Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(REDIS_TIMEOUT)
        .set_response_timeout(REDIS_TIMEOUT)
        .set_number_of_retries(1);
    ConnectionManager::new_with_config(client, config).await
}
