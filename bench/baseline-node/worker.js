// The baseline's worker process: BullMQ jobs, CONCURRENCY at once; each reads its job and its
// connection's sealed token, opens it (AES-256-GCM), makes the one POST to the platform and
// stores the job as published.
'use strict';
const { Worker } = require('bullmq');
const { settings, pool, redisConnection, open, QUEUE } = require('./common');

async function publish(bullJob) {
  const { rows } = await pool.query(
    `SELECT j.id, j.tenant_id, j.connection_id, j.state, p.content, c.plugin, c.token_ct, c.token_iv, c.token_tag
       FROM jobs j JOIN posts p ON p.tenant_id = j.tenant_id AND p.id = j.post_id
       JOIN connections c ON c.tenant_id = j.tenant_id AND c.id = j.connection_id
      WHERE j.id = $1`, [bullJob.data.job]);
  if (rows.length === 0) throw new Error(`no job ${bullJob.data.job}`);
  const job = rows[0];
  if (job.state === 'published') return;
  const token = open({ ct: job.token_ct, iv: job.token_iv, tag: job.token_tag },
    `${job.tenant_id}/${job.plugin}/${job.connection_id}/api-key`);
  const { text } = JSON.parse(job.content);
  const response = await fetch(`${settings.platformUrl}/posts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text, job: job.id }),
  });
  if (!response.ok) {
    await pool.query('UPDATE jobs SET attempts = attempts + 1, last_error = $2, updated_at = $3 WHERE id = $1',
      [job.id, `platform answered ${response.status}`, Date.now()]);
    throw new Error(`platform answered ${response.status}`);
  }
  const created = await response.json();
  await pool.query(
    `UPDATE jobs SET state = 'published', result = $2, attempts = attempts + 1, updated_at = $3 WHERE id = $1`,
    [job.id, created.id, Date.now()]);
}

const worker = new Worker(QUEUE, publish, {
  connection: redisConnection(),
  prefix: settings.prefix,
  concurrency: settings.concurrency,
});
worker.on('failed', (job, err) => console.error('failed', job && job.id, err && err.message));
worker.on('ready', () => console.log(`worker ready, concurrency ${settings.concurrency}`));
process.on('SIGTERM', async () => {
  await worker.close().catch(() => {});
  await pool.end().catch(() => {});
  process.exit(0);
});
