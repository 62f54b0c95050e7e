// Builds the JS package: copies Go's wasm_exec.js next to the sources and
// bundles the Node entry and the compat entry as ESM and CJS into js/dist.
// The wasm itself is built by the Makefile into js/dist/minibase.wasm.
//
//   node js/build.mjs

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const js = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(js, 'src');
const dist = path.join(js, 'dist');

const goroot = execFileSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).trim();
fs.copyFileSync(path.join(goroot, 'lib', 'wasm', 'wasm_exec.js'), path.join(src, 'wasm_exec.js'));
fs.mkdirSync(dist, { recursive: true });

// The compat bundles import the main bundle of the same format rather than
// carrying a second copy of the engine loader (one engine per process).
const mainAsExternal = (file) => ({
  name: 'main-entry-external',
  setup(build) {
    build.onResolve({ filter: /^\.\/node\.js$/ }, (args) =>
      args.importer.endsWith(`${path.sep}compat.js`) ? { path: file, external: true } : undefined,
    );
  },
});

const common = {
  bundle: true,
  platform: 'node',
  target: 'node18',
  logLevel: 'warning',
  // node.js reads import.meta.url only when __dirname is missing (ESM).
  logOverride: { 'empty-import-meta': 'silent' },
  legalComments: 'inline',
};

const builds = [];
for (const [format, ext] of [['esm', 'mjs'], ['cjs', 'cjs']]) {
  builds.push(
    esbuild.build({ ...common, format, entryPoints: [path.join(src, 'node.js')], outfile: path.join(dist, `index.${ext}`) }),
    esbuild.build({
      ...common,
      format,
      entryPoints: [path.join(src, 'compat.js')],
      outfile: path.join(dist, `compat.${ext}`),
      plugins: [mainAsExternal(`./index.${ext}`)],
    }),
  );
}
await Promise.all(builds);

const wasm = path.join(dist, 'minibase.wasm');
console.log(`built js/dist/{index,compat}.{mjs,cjs}${fs.existsSync(wasm) ? '' : ' (js/dist/minibase.wasm is missing: build it with make build)'}`);
