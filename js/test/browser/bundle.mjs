// Bundles js/test/api.test.mjs for the page (pages/api.html): node:test,
// node:assert/strict and the node-only imports become shims, 'minibase-db'
// becomes the browser build on IndexedDB, which stays external so that it
// finds minibase.wasm next to itself.
import path from 'node:path';
import * as esbuild from 'esbuild';
import { repoRoot } from './server.mjs';

const here = path.join(repoRoot, 'js/test/browser');
const shim = (name) => path.join(here, 'shims', name);

/** Writes the bundle into directory dir (served as /build/), as api.bundle.mjs. */
export async function bundleApiSuite(dir) {
  const outfile = path.join(dir, 'api.bundle.mjs');
  await esbuild.build({
    entryPoints: [path.join(repoRoot, 'js/test/api.test.mjs')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'warning',
    define: { 'process.pid': '1' },
    plugins: [
      {
        name: 'page-shims',
        setup(build) {
          const map = {
            'node:test': shim('node-test.js'),
            'node:assert/strict': shim('assert.js'),
            'node:child_process': shim('empty.js'),
            'node:url': shim('empty.js'),
            'minibase-db': shim('minibase.js'),
          };
          build.onResolve({ filter: /^(node:(test|assert\/strict|child_process|url)|minibase-db)$/ }, (args) => ({ path: map[args.path] }));
          build.onResolve({ filter: /dist\/browser\.mjs$/ }, () => ({ path: '/js/dist/browser.mjs', external: true }));
        },
      },
    ],
  });
}
