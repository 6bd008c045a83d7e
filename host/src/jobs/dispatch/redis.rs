//! Redis Streams dispatch: `<ns>jobs` (stream, consumer group `workers`) and `<ns>delayed`
//! (sorted set of job ids scored by due time).

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadOptions, StreamReadReply};
use tokio::sync::Mutex;

use super::{Batch, DispatchSettings};
use crate::store::{Millis, Store};
use crate::time::Span;

const GROUP: &str = "workers";

/// Moves due members of the delayed set onto the stream, atomically.
const PROMOTE: &str = r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('XADD', KEYS[2], '*', 'job', id)
end
return #due
";

/// The Redis side of dispatch.
pub struct RedisDispatch {
    commands: ConnectionManager,
    /// Blocking reads get a connection of their own so they never stall other commands.
    reader: Mutex<MultiplexedConnection>,
    stream: String,
    delayed: String,
    promote: redis::Script,
}

fn err(e: redis::RedisError) -> String {
    format!("redis: {e}")
}

impl RedisDispatch {
    /// Connects, and creates the consumer group if it does not exist. `namespace` prefixes
    /// every key (`postd:`), so several deployments or tests can share one Redis.
    pub async fn connect(url: &str, namespace: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(err)?;
        let mut commands = ConnectionManager::new(client.clone()).await.map_err(err)?;
        let reader = client
            .get_multiplexed_async_connection()
            .await
            .map_err(err)?;
        let stream = format!("{namespace}jobs");
        let created: Result<(), _> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&stream)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut commands)
            .await;
        if let Err(e) = created
            && e.code() != Some("BUSYGROUP")
        {
            return Err(err(e));
        }
        Ok(RedisDispatch {
            commands,
            reader: Mutex::new(reader),
            delayed: format!("{namespace}delayed"),
            stream,
            promote: redis::Script::new(PROMOTE),
        })
    }

    pub(super) async fn announce(
        &self,
        jobs: &[(String, Millis)],
        now: Millis,
    ) -> Result<(), String> {
        let mut pipe = redis::pipe();
        for (id, at) in jobs {
            if *at <= now {
                pipe.xadd(&self.stream, "*", &[("job", id)]).ignore();
            } else {
                pipe.zadd(&self.delayed, id, *at).ignore();
            }
        }
        let mut conn = self.commands.clone();
        pipe.query_async::<()>(&mut conn).await.map_err(err)
    }

    pub(super) async fn promote(&self, now: Millis) -> Result<(), String> {
        let mut conn = self.commands.clone();
        let _moved: i64 = self
            .promote
            .key(&self.delayed)
            .key(&self.stream)
            .arg(now)
            .arg(1000)
            .invoke_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(())
    }

    pub(super) async fn next(
        &self,
        store: &Store,
        worker: &str,
        now: impl Fn() -> Millis,
        settings: &DispatchSettings,
        max: u32,
    ) -> Result<Batch, String> {
        let mut messages: Vec<StreamId> = Vec::new();
        // Messages a dead consumer was holding past the visibility timeout come first.
        let mut conn = self.commands.clone();
        let reclaimed: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(&self.stream)
            .arg(GROUP)
            .arg(worker)
            .arg(Span::from(settings.lease).as_millis())
            .arg("0-0")
            .arg("COUNT")
            .arg(max)
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        messages.extend(reclaimed.claimed);
        if messages.is_empty() {
            let options = StreamReadOptions::default()
                .group(GROUP, worker)
                .count(max as usize)
                .block(Span::from(settings.poll).as_millis_usize());
            let mut reader = self.reader.lock().await;
            let reply: Option<StreamReadReply> = reader
                .xread_options(&[&self.stream], &[">"], &options)
                .await
                .map_err(err)?;
            drop(reader);
            if let Some(reply) = reply {
                messages.extend(reply.keys.into_iter().flat_map(|k| k.ids));
            }
        }
        if messages.is_empty() {
            return Ok(Batch::default());
        }
        let mut ids: Vec<String> = Vec::with_capacity(messages.len());
        let mut deliveries: Vec<(String, String)> = Vec::with_capacity(messages.len());
        for message in &messages {
            match message.get::<String>("job") {
                Some(job) => {
                    if !ids.contains(&job) {
                        ids.push(job.clone());
                    }
                    deliveries.push((job, message.id.clone()));
                }
                None => deliveries.push((String::new(), message.id.clone())),
            }
        }
        let claimed = store
            .claim_ids(
                &ids,
                worker,
                now(),
                Span::from(settings.lease).as_millis_i64(),
            )
            .await
            .map_err(|e| e.to_string())?;
        let mut batch = Batch::default();
        let mut stale = Vec::new();
        for (job, message) in deliveries {
            if !claimed.iter().any(|c| c.job.id == job) {
                stale.push(message);
            }
        }
        for c in claimed {
            let handles = messages_for(&messages, &c.job.id);
            batch.jobs.push((c, handles));
        }
        if !stale.is_empty() {
            // Finished, cancelled, held by another worker or not yet due: the row says what
            // happens next, and the sweep re-announces it if nothing else will.
            self.ack(&stale).await?;
        }
        Ok(batch)
    }

    pub(super) async fn ack(&self, messages: &[String]) -> Result<(), String> {
        let mut conn = self.commands.clone();
        let mut pipe = redis::pipe();
        pipe.xack(&self.stream, GROUP, messages).ignore();
        pipe.xdel(&self.stream, messages).ignore();
        pipe.query_async::<()>(&mut conn).await.map_err(err)
    }
}

fn messages_for(messages: &[StreamId], job: &str) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m.get::<String>("job").as_deref() == Some(job))
        .map(|m| m.id.clone())
        .collect()
}
