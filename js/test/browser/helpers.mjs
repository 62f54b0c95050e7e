// Shared by the browser tests: Debian's Chromium through playwright-core on
// fresh profile directories, the static server a test file needs (with files
// made at test time under /build/), blank pages and the page-side `open`
// (pages/blank.html's openApp), and killing a browser with SIGKILL.
import { before, after } from 'node:test';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { repoRoot, startServer } from './server.mjs';

export { startServer, repoRoot } from './server.mjs';

/**
 * The browser tests run under `make test-browser` (run.mjs sets
 * MINIBASE_BROWSER_TESTS=1); `node --test js/test/` (make test-js) also
 * loads every file below js/test, and there they skip.
 */
export const enabled = process.env.MINIBASE_BROWSER_TESTS === '1';
export const skip = enabled ? false : 'browser test: run with make test-browser';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run',
];
export const artifacts = path.join(repoRoot, 'js/test/browser/artifacts');

/** A new empty profile directory, removed by the returned cleanup. */
export function tempProfile() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-chromium-'));
}

/**
 * Launches Chromium on profile dir (a persistent context: IndexedDB, service
 * workers and caches live there and survive a relaunch on the same dir).
 * @param {string} dir
 */
export async function launch(dir) {
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
  });
  context.setDefaultTimeout(30_000);
  return context;
}

/** Opens url and fails the test on any uncaught page error. */
export async function openPage(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.on('console', (m) => {
    if (process.env.MINIBASE_BROWSER_LOG) console.log(`[page] ${m.text()}`);
  });
  page.errors = errors;
  await page.goto(url);
  return page;
}

/** Waits until window.minibase is loaded in the page (pages/blank.html). */
export async function ready(page) {
  await page.waitForFunction(() => window.minibaseReady === true || window.minibaseError);
  const err = await page.evaluate(() => window.minibaseError && String(window.minibaseError));
  if (err) throw new Error(`page failed to load minibase: ${err}`);
}

/**
 * Opens pages/blank.html (window.minibase, window.openApp, window.evictions)
 * of the server at `url` in context ctx, loaded.
 */
export async function blankPage(ctx, url) {
  const p = await openPage(ctx, `${url}/js/test/browser/pages/blank.html`);
  await ready(p);
  return p;
}

/**
 * Runs fn(open, arg) in page p (a blank page), where open(name, options)
 * connects to database `name` on `adapter` with connect options `options`
 * and makes database 'app' with table `table` exist and used (window.openApp
 * of pages/blank.html: 'notes' or the synced 'todos').
 * @param {import('playwright-core').Page} p
 * @param {(open: Function, arg: any) => Promise<any>} fn runs in the page: no closures
 * @param {any} [arg]
 * @param {{ adapter?: 'indexeddb'|'opfs', table?: 'notes'|'todos' }} [options]
 */
export function inPage(p, fn, arg, { adapter = 'indexeddb', table = 'notes' } = {}) {
  return p.evaluate(
    async ({ src, arg, adapter, table }) => {
      const open = (name, options) => window.openApp(name, { adapter, ...options }, table);
      return (0, eval)(`(${src})`)(open, arg); // eslint-disable-line no-eval
    },
    { src: fn.toString(), arg, adapter, table },
  );
}

/**
 * For a test file: one static server, started before its tests and stopped
 * after them, serving the repository at / and, at /build/, a temporary
 * directory holding `files` (name → text: worker scripts are written at test
 * time, as node --test would run a .js file kept below js/test) and what
 * `build(dir)` puts there; with `browser` (the default) also one Chromium on
 * a fresh profile. Read the fields inside tests: `env.server.url`, `env.ctx`,
 * `env.page()` (a blank page of env.ctx or of the context given).
 * `isolated`: the pages are cross-origin isolated (server.mjs's ISOLATION_HEADERS).
 * @param {{ files?: Record<string, string>, build?: (dir: string) => unknown, browser?: boolean, isolated?: boolean }} [options]
 */
export function useBrowser({ files, build, browser = true, isolated = false } = {}) {
  const env = {
    server: null,
    profile: null,
    ctx: null,
    build: null,
    page: (ctx = env.ctx) => blankPage(ctx, env.server.url),
  };
  before(async () => {
    if (skip) return;
    const mounts = { '/': repoRoot };
    if (files || build) {
      env.build = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-build-'));
      for (const [name, text] of Object.entries(files ?? {})) fs.writeFileSync(path.join(env.build, name), text);
      await build?.(env.build);
      mounts['/build/'] = env.build;
    }
    env.server = await startServer({ mounts, isolated });
    if (browser) {
      env.profile = tempProfile();
      env.ctx = await launch(env.profile);
    }
  });
  after(async () => {
    await env.ctx?.close();
    await env.server?.close();
    for (const dir of [env.profile, env.build]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  return env;
}

/**
 * Runs fn(profile) on a fresh profile directory `profile.dir`; `await
 * profile.launch()` starts Chromium on it (again after a restart or a
 * kill). Afterwards the browser last launched is closed and the directory removed.
 * @template T
 * @param {(profile: { dir: string, ctx: import('playwright-core').BrowserContext|null, launch: () => Promise<import('playwright-core').BrowserContext>, kill: () => Promise<void> }) => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function withProfile(fn) {
  const profile = {
    dir: tempProfile(),
    ctx: null,
    async launch() {
      this.ctx = await launch(this.dir);
      return this.ctx;
    },
    // No graceful shutdown: SIGKILL of the browser process.
    async kill() {
      process.kill(browserPid(this.dir), 'SIGKILL');
      await this.ctx?.close().catch(() => {});
      this.ctx = null;
    },
  };
  try {
    return await fn(profile);
  } finally {
    await profile.ctx?.close().catch(() => {});
    fs.rmSync(profile.dir, { recursive: true, force: true });
  }
}

/** The browser process of the Chromium started on profile dir (not its helpers). */
export function browserPid(dir) {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  const line = ps.split('\n').find((l) => l.includes(`--user-data-dir=${dir}`) && !l.includes('--type='));
  if (!line) throw new Error(`no browser process for ${dir}`);
  return Number(line.trim().split(/\s+/)[0]);
}

/**
 * Compiles the Go tests of package `pkg` (e.g. './wasm/') for js/wasm into dir/test.wasm
 * (pages/gotest.html and the workers of the tests that run them load /build/test.wasm).
 */
export function goTestWasm(pkg, dir) {
  execFileSync('go', ['test', '-c', '-o', path.join(dir, 'test.wasm'), pkg], {
    cwd: repoRoot,
    env: { ...process.env, GOOS: 'js', GOARCH: 'wasm' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}
