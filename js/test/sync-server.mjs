// The native sync server for the JS tests (sync.test.mjs, browser/sync.test.mjs):
// built with `go build ./server/cmd/minibase-server` and started on a free
// 127.0.0.1 port with a throw-away database and secret.
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A bearer token of the server's format (server/PROTOCOL.md). */
export function signToken(secret, tenant, sub = 'test') {
  const head = Buffer.from(JSON.stringify({ tenant, sub })).toString('base64url');
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once the server at url answers /v1/health. */
export async function waitHealthy(url, child) {
  for (let i = 0; i < 300; i++) {
    if (child?.exitCode !== null && child?.exitCode !== undefined) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${url}/v1/health`);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server at ${url} did not become healthy`);
}

/** Builds and starts the native server on a free 127.0.0.1 port; `args` are extra flags. */
export async function startNative({ args = [] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-sync-'));
  const bin = path.join(dir, 'minibase-server');
  const b = spawnSync(process.env.GO || 'go', ['build', '-o', bin, './server/cmd/minibase-server'], { cwd: repoRoot, stdio: 'pipe' });
  if (b.status !== 0) throw new Error(`building the server failed: ${b.stderr}`);
  const secret = randomBytes(16).toString('hex');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ['-addr', `127.0.0.1:${port}`, '-db', path.join(dir, 'sync.db'), ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MINIBASE_SYNC_SECRET: secret }, // not -secret: argv shows in ps
  });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  await waitHealthy(url, child);
  return {
    url,
    token: (tenant) => signToken(secret, tenant),
    log: () => log,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

