// Builds the minibase sync server for Cloudflare Workers (Go → wasm through
// github.com/syumai/workers) and runs it under `wrangler dev` on 127.0.0.1
// with a local D1 database and telemetry off.
//
//   node server/worker/dev.mjs                 build, start, print URL and a token; Ctrl-C stops
//                                              (MINIBASE_SYNC_COUNT_QUERIES=1: count D1 statements at /__minibase/queries)
//   import { startWorker } from './dev.mjs'    the same for tests: { url, secret, token(), stop() }
//
// Wrangler 4 asks for Node 22.12+; on older Node its CLI is started directly
// (the version gate lives only in its launcher), which works for local dev.
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

/** Signs a bearer token in the protocol's format (server/PROTOCOL.md). */
export function signToken(secret, tenant, sub = 'dev', exp) {
  const payload = { tenant, sub };
  if (exp) payload.exp = Math.floor(exp instanceof Date ? exp.getTime() / 1000 : exp);
  const head = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const sig = createHmac('sha256', secret).update(head).digest('base64url');
  return `${head}.${sig}`;
}

/** Builds server/worker/build (worker.mjs, wasm_exec.js, app.wasm). */
export function buildWorker({ quiet = false } = {}) {
  const go = process.env.GO || 'go';
  const stdio = quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit';
  const run = (args, env) => {
    const r = spawnSync(go, args, { cwd: root, stdio, env: { ...process.env, ...env } });
    if (r.error) throw new Error(`${go} ${args.join(' ')}: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`${go} ${args.join(' ')} failed (${r.status}): ${r.stderr || ''}`);
  };
  const out = join(here, 'build');
  run(['run', 'github.com/syumai/workers/cmd/workers-assets-gen', '-mode=go', '-o', out]);
  run(['build', '-trimpath', '-ldflags=-s -w', '-o', join(out, 'app.wasm'), './server/worker'],
    { GOOS: 'js', GOARCH: 'wasm' });
  return out;
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function wranglerCommand() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major > 22 || (major === 22 && minor >= 12)) {
    return [join(here, 'node_modules/.bin/wrangler'), []];
  }
  return [process.execPath, ['--no-warnings', join(here, 'node_modules/wrangler/wrangler-dist/cli.js')]];
}

/**
 * Builds (unless build: false) and starts the worker under wrangler dev.
 * Resolves once /v1/health answers; rejects if it does not within timeoutMs.
 * @param {{secret?: string, port?: number, persistTo?: string, schema?: object,
 *          retention?: string, minSchemaVersion?: number, failTenant?: string, countQueries?: boolean, build?: boolean, quiet?: boolean, timeoutMs?: number}} [opts]
 */
export async function startWorker(opts = {}) {
  if (opts.build !== false) buildWorker({ quiet: opts.quiet ?? true });
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      // Ports are found free, then bound by wrangler a moment later: another
      // process may take one in between (workerd: "Address already in use").
      // Fresh ones, a few times, unless the caller chose the port.
      if (opts.port || attempt >= 3 || !/Address already in use/.test(err.message)) throw err;
    }
  }
}

async function startOnce(opts) {
  const { quiet = true, timeoutMs = 60000 } = opts;
  const secret = opts.secret || randomBytes(16).toString('hex');
  const port = opts.port || await freePort();
  let inspector = await freePort();
  while (inspector === port) inspector = await freePort();
  const ownState = !opts.persistTo;
  const state = opts.persistTo || mkdtempSync(join(tmpdir(), 'minibase-worker-'));
  mkdirSync(join(state, 'logs'), { recursive: true });
  const [cmd, pre] = wranglerCommand();
  const args = [...pre, 'dev', '--config', join(here, 'wrangler.jsonc'),
    '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
    '--local', '--persist-to', state, '--show-interactive-dev-session=false',
    '--var', `MINIBASE_SYNC_SECRET:${secret}`];
  if (opts.schema) args.push('--var', `MINIBASE_SYNC_SCHEMA:${JSON.stringify(opts.schema)}`);
  if (opts.retention) args.push('--var', `MINIBASE_SYNC_RETENTION:${opts.retention}`);
  if (opts.minSchemaVersion) args.push('--var', `MINIBASE_SYNC_MIN_SCHEMA_VERSION:${opts.minSchemaVersion}`);
  // Tests only: every push of this tenant fails in the middle of its D1 batch.
  if (opts.failTenant) args.push('--var', `MINIBASE_SYNC_TEST_FAIL_TENANT:${opts.failTenant}`);
  // Tests only: count D1 statements, served at /__minibase/queries.
  if (opts.countQueries) args.push('--var', 'MINIBASE_SYNC_TEST_COUNT_QUERIES:1');
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_LOG_PATH: join(state, 'logs'),
    NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' };
  delete env.CLOUDFLARE_API_TOKEN;
  delete env.CLOUDFLARE_ACCOUNT_ID;
  const child = spawn(cmd, args, { cwd: here, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (d) => { log = (log + d).slice(-20000); if (!quiet) process.stderr.write(d); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  const exit = new Promise((res) => child.on('exit', (code, sig) => { exited = { code, sig }; res(); }));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
      const t = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
      await exit;
      clearTimeout(t);
    }
    if (ownState) rmSync(state, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (true) {
    if (exited) {
      await stop();
      throw new Error(`wrangler dev exited (${exited.code ?? exited.sig}) before it was ready:\n${log}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev not ready within ${timeoutMs} ms:\n${log}`);
    }
    try {
      const res = await fetch(`${url}/v1/health`, { signal: AbortSignal.timeout(5000) });
      if (res.status === 200) break;
      await res.arrayBuffer();
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, secret, token: (tenant = 'dev', sub = 'dev') => signToken(secret, tenant, sub), stop, log: () => log };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  const w = await startWorker({ quiet: false, secret: process.env.MINIBASE_SYNC_SECRET,
    countQueries: process.env.MINIBASE_SYNC_COUNT_QUERIES === '1' });
  console.log(`\nminibase sync worker ready on ${w.url} (${Date.now() - t0} ms)`);
  console.log(`secret: ${w.secret}\nsample token (tenant "dev"): ${w.token('dev')}`);
  const bye = async () => { await w.stop(); process.exit(0); };
  process.on('SIGINT', bye);
  process.on('SIGTERM', bye);
}
