// Mints minibase sync tokens in Node, with no dependency: the same format as
// Go's syncserver.SignToken and `minibase-server token` (server/PROTOCOL.md,
// "Tokens and tenants"). Meant for the app server that signs users in and
// hands each client a token for its tenant; the secret never leaves it.
//
//   import { signToken } from './server/token.mjs'
//   const token = signToken(process.env.MINIBASE_SYNC_SECRET, 'acme', { sub: 'ann', expiresIn: 3600 })
//
// Or from a shell: node server/token.mjs <tenant> [sub] [expiresInSeconds]
// (secret from MINIBASE_SYNC_SECRET).

import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** The shortest secret the server accepts, in bytes. */
export const MIN_SECRET_BYTES = 32;

/** The default life of a token, in seconds (a day). */
export const DEFAULT_EXPIRES_IN = 24 * 60 * 60;

/**
 * Returns a bearer token for `tenant`, signed with `secret`.
 * @param {string | Uint8Array} secret the server's MINIBASE_SYNC_SECRET (at least 32 bytes)
 * @param {string} tenant the tenant the token grants (1-128 bytes)
 * @param {{ sub?: string, expiresIn?: number, exp?: number, now?: number }} [opts]
 *   sub: user or device (informational); expiresIn: seconds from now (default a day);
 *   exp: absolute expiry in Unix seconds instead; now: Unix seconds (tests).
 * @returns {string}
 */
export function signToken(secret, tenant, opts = {}) {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret ?? []);
  if (key.length < MIN_SECRET_BYTES) {
    throw new Error(`minibase token: the secret is ${key.length} bytes; use at least ${MIN_SECRET_BYTES} random bytes (openssl rand -hex 32)`);
  }
  const tenantBytes = Buffer.byteLength(String(tenant ?? ''), 'utf8');
  if (typeof tenant !== 'string' || tenantBytes < 1 || tenantBytes > 128) {
    throw new Error('minibase token: tenant must be a string of 1-128 bytes');
  }
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const exp = opts.exp ?? now + (opts.expiresIn ?? DEFAULT_EXPIRES_IN);
  if (!Number.isSafeInteger(exp) || exp <= now) {
    throw new Error('minibase token: the expiry must be a whole number of seconds in the future');
  }
  // Field order and omissions follow Go's encoding of the payload.
  const payload = { tenant };
  if (opts.sub) payload.sub = String(opts.sub);
  payload.exp = exp;
  const head = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [tenant, sub, expiresIn] = process.argv.slice(2);
  try {
    console.log(signToken(process.env.MINIBASE_SYNC_SECRET ?? '', tenant, { sub, expiresIn: expiresIn ? Number(expiresIn) : undefined }));
  } catch (err) {
    console.error(err.message);
    console.error('usage: MINIBASE_SYNC_SECRET=… node server/token.mjs <tenant> [sub] [expiresInSeconds]');
    process.exitCode = 1;
  }
}
