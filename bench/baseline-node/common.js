// What the API and the worker share: settings from the environment, the PostgreSQL pool, the
// BullMQ connection, and AES-256-GCM sealing of connection tokens (as the host's vault seals
// them, with the tenant and connection bound in as associated data).
'use strict';
const crypto = require('node:crypto');
const { Pool } = require('pg');

const env = (name, fallback) => {
  const v = process.env[name];
  if (v === undefined || v === '') {
    if (fallback === undefined) throw new Error(`${name} is not set`);
    return fallback;
  }
  return v;
};

const settings = {
  databaseUrl: env('DATABASE_URL'),
  redisUrl: env('REDIS_URL', 'redis://127.0.0.1:6379'),
  prefix: env('QUEUE_PREFIX', 'bull'),
  port: Number(env('PORT', '8090')),
  platformUrl: env('PLATFORM_URL', 'http://127.0.0.1:7701'),
  concurrency: Number(env('CONCURRENCY', '128')),
  adminKey: env('ADMIN_KEY', ''),
  // 32 bytes, hex: the key-encryption key of the tokens.
  masterKey: Buffer.from(env('MASTER_KEY'), 'hex'),
};

const pool = new Pool({ connectionString: settings.databaseUrl, max: Number(env('PG_POOL', '16')) });

function redisConnection() {
  const url = new URL(settings.redisUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    maxRetriesPerRequest: null,
  };
}

function seal(plaintext, aad) {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', settings.masterKey, iv);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { ct, iv, tag: cipher.getAuthTag() };
}

function open({ ct, iv, tag }, aad) {
  const decipher = crypto.createDecipheriv('aes-256-gcm', settings.masterKey, iv);
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
}

const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');
const newId = (kind) => `${kind}_${crypto.randomUUID().replace(/-/g, '')}`;

module.exports = { settings, pool, redisConnection, seal, open, sha256, newId, QUEUE: 'publish' };
