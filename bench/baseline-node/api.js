// The baseline's API process: tenants and their keys (admin), API-key connections (the token
// sealed with AES-256-GCM), and POST /v1/posts: the tenant's key checked, the post and its jobs
// stored in one transaction under the idempotency key, one BullMQ job per target. The same
// routes and answers the harness uses with the host, so one load generator drives both.
'use strict';
const crypto = require('node:crypto');
const express = require('express');
const { Queue } = require('bullmq');
const { settings, pool, redisConnection, seal, sha256, newId, QUEUE } = require('./common');

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tenants (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
  key_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants (id), created_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS connections (
  tenant_id TEXT NOT NULL REFERENCES tenants (id), id TEXT NOT NULL, plugin TEXT NOT NULL,
  token_ct BYTEA NOT NULL, token_iv BYTEA NOT NULL, token_tag BYTEA NOT NULL,
  created_at BIGINT NOT NULL, PRIMARY KEY (tenant_id, id));
CREATE TABLE IF NOT EXISTS posts (
  tenant_id TEXT NOT NULL, id TEXT NOT NULL, idempotency_key TEXT NOT NULL, content TEXT NOT NULL,
  created_at BIGINT NOT NULL, PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, idempotency_key));
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, post_id TEXT NOT NULL, connection_id TEXT NOT NULL,
  account_id TEXT NOT NULL, state TEXT NOT NULL, result TEXT, last_error TEXT,
  attempts INT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
`;

const queue = new Queue(QUEUE, { connection: redisConnection(), prefix: settings.prefix });
const app = express();
app.use(express.json({ limit: '1mb' }));

const fail = (res, status, code, message) => res.status(status).json({ code, message });

function bearer(req) {
  const h = req.get('authorization') || '';
  return h.startsWith('Bearer ') ? h.slice(7) : '';
}

function admin(req, res, next) {
  const given = Buffer.from(sha256(bearer(req)));
  const wanted = Buffer.from(sha256(settings.adminKey));
  if (!settings.adminKey || !crypto.timingSafeEqual(given, wanted)) {
    return fail(res, 401, 'unauthorized', 'admin key required');
  }
  next();
}

async function tenant(req, res, next) {
  try {
    const { rows } = await pool.query('SELECT tenant_id FROM api_keys WHERE key_hash = $1', [sha256(bearer(req))]);
    if (rows.length === 0) return fail(res, 401, 'unauthorized', 'unknown key');
    req.tenant = rows[0].tenant_id;
    next();
  } catch (e) {
    next(e);
  }
}

app.get('/readyz', async (_req, res) => {
  try {
    await pool.query('SELECT 1');
    await (await queue.client).ping();
    res.json({ ready: true });
  } catch (e) {
    res.status(503).json({ ready: false, error: String(e) });
  }
});

app.post('/admin/tenants', admin, async (req, res, next) => {
  try {
    const { id, name } = req.body;
    const key = `pdk_${crypto.randomBytes(24).toString('hex')}`;
    const now = Date.now();
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)', [id, name, now]);
      await client.query('INSERT INTO api_keys (key_hash, tenant_id, created_at) VALUES ($1, $2, $3)', [sha256(key), id, now]);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK');
      throw e;
    } finally {
      client.release();
    }
    res.status(201).json({ id, api_key: key });
  } catch (e) {
    next(e);
  }
});

app.post('/v1/connections', tenant, async (req, res, next) => {
  try {
    const { plugin, api_key: token, id } = req.body;
    const sealed = seal(token, `${req.tenant}/${plugin}/${id}/api-key`);
    await pool.query(
      `INSERT INTO connections (tenant_id, id, plugin, token_ct, token_iv, token_tag, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (tenant_id, id) DO UPDATE SET token_ct = $4, token_iv = $5, token_tag = $6`,
      [req.tenant, id, plugin, sealed.ct, sealed.iv, sealed.tag, Date.now()],
    );
    res.status(201).json({ id, plugin });
  } catch (e) {
    next(e);
  }
});

app.post('/v1/posts', tenant, async (req, res, next) => {
  const key = req.get('idempotency-key');
  if (!key) return fail(res, 400, 'bad-request', 'Idempotency-Key is required');
  const { text, targets } = req.body || {};
  if (typeof text !== 'string' || !Array.isArray(targets) || targets.length === 0) {
    return fail(res, 422, 'invalid-content', 'text and targets are required');
  }
  const content = JSON.stringify({ text });
  const now = Date.now();
  const client = await pool.connect();
  let created;
  try {
    await client.query('BEGIN');
    const postId = newId('post');
    const inserted = await client.query(
      `INSERT INTO posts (tenant_id, id, idempotency_key, content, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id`,
      [req.tenant, postId, key, content, now],
    );
    if (inserted.rowCount === 0) {
      await client.query('ROLLBACK');
      const { rows } = await pool.query(
        `SELECT p.id, p.content, j.id AS job FROM posts p JOIN jobs j ON j.post_id = p.id
         WHERE p.tenant_id = $1 AND p.idempotency_key = $2`, [req.tenant, key]);
      if (rows.length > 0 && rows[0].content !== content) {
        return fail(res, 409, 'idempotency-conflict', 'the key was used with another payload');
      }
      return res.status(200).set('idempotent-replayed', 'true')
        .json({ id: rows[0] && rows[0].id, jobs: rows.map((r) => ({ id: r.job })) });
    }
    const jobs = [];
    for (const target of targets) {
      const found = await client.query('SELECT 1 FROM connections WHERE tenant_id = $1 AND id = $2',
        [req.tenant, target.connection_id]);
      if (found.rowCount === 0) {
        await client.query('ROLLBACK');
        return fail(res, 404, 'not-found', `no connection ${target.connection_id}`);
      }
      const jobId = newId('job');
      await client.query(
        `INSERT INTO jobs (id, tenant_id, post_id, connection_id, account_id, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6)`,
        [jobId, req.tenant, postId, target.connection_id, target.account_id, now],
      );
      jobs.push({ id: jobId, state: 'queued' });
    }
    await client.query('COMMIT');
    created = { id: postId, idempotency_key: key, jobs, created_at: now };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    return next(e);
  } finally {
    client.release();
  }
  try {
    await queue.addBulk(created.jobs.map((j) => ({
      name: 'publish',
      data: { job: j.id },
      opts: { jobId: j.id, attempts: 5, backoff: { type: 'exponential', delay: 1000 },
              removeOnComplete: true, removeOnFail: 1000 },
    })));
  } catch (e) {
    // The rows are stored; a real deployment would sweep unannounced jobs.
    console.error('queueing failed', e);
  }
  res.status(202).json(created);
});

app.use((err, _req, res, _next) => {
  console.error(err);
  fail(res, 503, 'unavailable', String(err && err.message));
});

pool.query(SCHEMA).then(() => {
  app.listen(settings.port, '127.0.0.1', () => console.log(`api on 127.0.0.1:${settings.port}`));
}, (e) => {
  console.error('schema', e);
  process.exit(1);
});
process.on('SIGTERM', async () => {
  await queue.close().catch(() => {});
  process.exit(0);
});
