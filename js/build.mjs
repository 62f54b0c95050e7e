// Builds the JS package: copies Go's wasm_exec.js next to the sources and
// bundles the Node entry and the compat entry as ESM and CJS into js/dist.
// The wasm itself is built by the Makefile: js/dist/minibase.wasm (Node and
// browsers) and js/dist/minibase-wx.wasm (mini-programs, -tags wx), which
// this script compresses into js/dist/miniprogram/minibase.wasm.br.
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

// Every bundle's wasm_exec.js: loadString, which turns every string Go
// hands to JS (each property and method name of a js.Value Get, Set or
// Call) into a JS string, takes a short ASCII one from wx-text.js's table of
// names instead of decoding a new DataView of it: a block read passes four
// or five names, and each decoded anew is also a new string to internalize
// before the property lookup that follows (0.3 µs a name against 0.84 µs
// through the mini-program's polyfilled decoder and 1.2 µs through Node's).
const WASM_EXEC_LOAD_STRING = 'return decoder.decode(new DataView(this._inst.exports.mem.buffer, saddr, len));';
function patchLoadString(file, src) {
  if (src.split(WASM_EXEC_LOAD_STRING).length !== 2) {
    throw new Error(`${file}: loadString changed; update js/build.mjs for this Go release`);
  }
  return src.replace(WASM_EXEC_LOAD_STRING, 'return goString(this._inst.exports.mem.buffer, saddr, len, decoder);');
}
const goStringImport = "import { goString } from './wx-text.js';\n";
const wasmExec = {
  name: 'wasm-exec',
  setup(build) {
    build.onLoad({ filter: /[\\/]wasm_exec\.js$/ }, (args) => ({
      contents: goStringImport + patchLoadString(args.path, fs.readFileSync(args.path, 'utf8')),
      loader: 'js',
      resolveDir: path.dirname(args.path),
    }));
  },
};

// The mini-program bundle's wasm_exec.js, patched as above, and its code
// runs from installGo(), which wx.js calls when it starts the engine, not at
// require: it writes globals and checks the polyfills, and a runtime the
// loader turns away must be able to load the package. And Go.run's check
// that its argument is a WebAssembly.Instance goes: WXWebAssembly returns
// instances of no global class, and aliasing WebAssembly.Instance would be
// a global the app sees.
const WASM_EXEC_INSTANCE_CHECK = 'if (!(instance instanceof WebAssembly.Instance)) {';
const wxWasmExec = {
  name: 'wx-wasm-exec',
  setup(build) {
    build.onLoad({ filter: /[\\/]wasm_exec\.js$/ }, (args) => {
      const src = fs.readFileSync(args.path, 'utf8');
      if (!src.includes(WASM_EXEC_INSTANCE_CHECK)) {
        throw new Error(`${args.path}: Go.run's WebAssembly.Instance check changed; update js/build.mjs for this Go release`);
      }
      const patched = patchLoadString(args.path, src).replace(WASM_EXEC_INSTANCE_CHECK, "if (!(instance && typeof instance.exports === 'object')) {");
      return {
        contents: `${goStringImport}export function installGo() {\n${patched}\n}\n`,
        loader: 'js',
        resolveDir: path.dirname(args.path),
      };
    });
  },
};

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
    esbuild.build({ ...common, format, entryPoints: [path.join(src, 'node.js')], outfile: path.join(dist, `index.${ext}`), plugins: [wasmExec] }),
    esbuild.build({
      ...common,
      format,
      entryPoints: [path.join(src, 'compat.js')],
      outfile: path.join(dist, `compat.${ext}`),
      plugins: [mainAsExternal(`./index.${ext}`)],
    }),
  );
}
// Framework helpers (minibase-db/react, minibase-db/vue): the framework is a peer,
// left to the app's bundler.
for (const [name, peer] of [['react', 'react'], ['vue', 'vue']]) {
  for (const [format, ext] of [['esm', 'mjs'], ['cjs', 'cjs']]) {
    builds.push(esbuild.build({
      ...common, platform: 'neutral', target: 'es2020', format, external: [peer],
      entryPoints: [path.join(src, `${name}.js`)], outfile: path.join(dist, `${name}.${ext}`),
    }));
  }
}
// Browser ESM bundle (page, Worker, Service Worker): IndexedDB adapter and
// tabs; it loads minibase.wasm from next to itself (js/dist).
builds.push(
  esbuild.build({
    ...common,
    platform: 'browser',
    target: 'es2022',
    format: 'esm',
    entryPoints: [path.join(src, 'browser.js')],
    outfile: path.join(dist, 'browser.mjs'),
    plugins: [wasmExec],
  }),
  // The browser inspector (minibase-db/inspector): DOM only, no engine of its
  // own; it works on a connection the page opened.
  esbuild.build({
    ...common,
    platform: 'browser',
    target: 'es2022',
    format: 'esm',
    entryPoints: [path.join(src, 'inspector.js')],
    outfile: path.join(dist, 'inspector.mjs'),
  }),
);
// Mini-program bundle (WeChat and runtimes of its shape): one CommonJS file,
// ES2017 so that every base library can run it, next to the brotli wasm it
// loads through WXWebAssembly. js/dist/miniprogram is the package's
// "miniprogram" folder, which the mini-program npm build copies.
const miniprogram = path.join(dist, 'miniprogram');
fs.mkdirSync(miniprogram, { recursive: true });
// The root package.json says "type": "module"; this folder is CommonJS.
fs.writeFileSync(path.join(miniprogram, 'package.json'), '{ "type": "commonjs" }\n');
builds.push(
  esbuild.build({
    ...common,
    // 'node' only for the export annotation that lets Node's ESM import the
    // CJS by name (`import { connect } from 'minibase-db/wx'`); the entry uses
    // no Node module, and the bundle carries none.
    platform: 'node',
    target: 'es2017',
    format: 'cjs',
    entryPoints: [path.join(src, 'wx.js')],
    outfile: path.join(miniprogram, 'index.js'),
    // The main package's 2 MB holds the app too: comments and indentation
    // are left out (names are kept, so stack traces still read).
    minifyWhitespace: true,
    plugins: [wxWasmExec],
  }),
);
await Promise.all(builds);

const wasm = path.join(dist, 'minibase.wasm');
const wxWasm = path.join(dist, 'minibase-wx.wasm');
{
  // The brotli wasm of the mini-program build (WXWebAssembly accepts
  // .wasm.br from base library 2.14.0).
  const { brotliCompressSync, constants } = await import('node:zlib');
  const br = path.join(miniprogram, 'minibase.wasm.br');
  if (fs.existsSync(wxWasm) && (!fs.existsSync(br) || fs.statSync(br).mtimeMs < fs.statSync(wxWasm).mtimeMs)) {
    const raw = fs.readFileSync(wxWasm);
    fs.writeFileSync(br, brotliCompressSync(raw, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_LGWIN]: constants.BROTLI_MAX_WINDOW_BITS,
        [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
      },
    }));
  }
}
// CommonJS consumers' declarations: the hand-written ones, as .d.cts next to
// the CJS bundles (a package of "type": "module" makes every .d.ts an ES
// module, which TypeScript's node16 resolution will not let require load).
for (const name of ['index', 'compat']) {
  const dts = fs.readFileSync(path.join(js, `${name}.d.ts`), 'utf8').replaceAll("from './index.js'", "from './index.cjs'");
  fs.writeFileSync(path.join(dist, `${name}.d.cts`), `// Generated by js/build.mjs from js/${name}.d.ts: edit that file.\n${dts}`);
}

const missing = [wasm, wxWasm].filter((f) => !fs.existsSync(f)).map((f) => path.relative(path.dirname(js), f));
console.log(`built js/dist/{index,compat,react,vue}.{mjs,cjs}, js/dist/{index,compat}.d.cts, js/dist/{browser,inspector}.mjs, js/dist/miniprogram${missing.length ? ` (${missing.join(', ')} missing: build with make build)` : ''}`);
