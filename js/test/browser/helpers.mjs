// Shared by the browser tests: Debian's Chromium through playwright-core,
// with a fresh profile directory per test unless one is given.
import { before, after } from 'node:test';
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
 * One static server and one browser on a fresh profile for a test file,
 * started before its tests and removed after them. Read the fields inside
 * tests: `env.server.url`, `env.ctx`.
 */
export function useBrowser() {
  const env = { server: null, profile: null, ctx: null };
  before(async () => {
    if (skip) return;
    env.server = await startServer();
    env.profile = tempProfile();
    env.ctx = await launch(env.profile);
  });
  after(async () => {
    await env.ctx?.close();
    await env.server?.close();
    if (env.profile) fs.rmSync(env.profile, { recursive: true, force: true });
  });
  return env;
}
