// Runs code the way a mini-program does, for tests: in a node:vm context
// whose globals are what the mini-program JS runtime of a profile offers
// (index.cjs PROFILES; 'device' unless told) — wx and WXWebAssembly (tt and
// TTWebAssembly on Douyin), console, timers — and on a device not
// TextEncoder, TextDecoder, crypto, performance, WebAssembly,
// AbortController, fetch, structuredClone, Object.hasOwn,
// Array.prototype.at and the rest of absentGlobals (so the loader's
// polyfills really run, and code that needs what a phone lacks fails here).
// Modules are CommonJS, loaded by a small require that resolves relative
// paths and the packages of miniprogram_npm.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');
const { createWx, absentGlobals, removalScript } = require('./index.cjs');

const repoRoot = path.resolve(__dirname, '..', '..', '..');
/**
 * A fresh global object in a realm of its own. Where Node offers it
 * (DONT_CONTEXTIFY, Node 20.18+), the global is an ordinary one, as a phone's
 * JavaScript engine has: a contextified vm global answers every lookup of a
 * global name (Math, Uint8Array, String …) through a C++ interceptor, up to a
 * hundred times slower than the runtime being stood in for, which would make
 * the stand-in's figures measure vm, not minibase.
 */
function newGlobal() {
  const plain = vm.constants?.DONT_CONTEXTIFY;
  return plain ? vm.createContext(plain) : vm.createContext({});
}

/** The built mini-program package folder (package.json "miniprogram"). */
const DIST = path.join(repoRoot, 'js', 'dist', 'miniprogram');

/** Globals a device's runtime lacks that a bare vm context still has. */
const ABSENT = absentGlobals('device').globals;

/** What the simulator (Chromium) has that a bare vm context lacks. */
const DEVTOOLS_GLOBALS = { TextEncoder, TextDecoder, crypto: globalThis.crypto, performance, AbortController, AbortSignal, fetch, structuredClone, queueMicrotask };

/**
 * A mini-program runtime on fresh directories.
 * @param {{ dataDir?: string, packageDir?: string, capBytes?: number, globals?: object, profile?: string, SDKVersion?: string,
 *   subpackages?: Record<string, string> }} [o]
 *   packageDir is the code package (it gets miniprogram_npm/minibase-db → js/dist/miniprogram);
 *   dataDir backs env.USER_DATA_PATH; globals are added (and kept) in the context
 */
function createRuntime({ dataDir, packageDir, capBytes, globals = {}, profile = 'device', SDKVersion, subpackages } = {}) {
  const tmp = dataDir && packageDir ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-wx-'));
  dataDir ??= path.join(tmp, 'usr');
  packageDir ??= path.join(tmp, 'package');
  const npm = path.join(packageDir, 'miniprogram_npm');
  fs.mkdirSync(npm, { recursive: true });
  if (!fs.existsSync(path.join(npm, 'minibase-db'))) fs.symlinkSync(DIST, path.join(npm, 'minibase-db'), 'dir');

  const { wx, WXWebAssembly, profile: p, hide } = createWx({ dataDir, packageDir, capBytes, profile, SDKVersion, subpackages });
  const context = newGlobal();
  Object.assign(context, {
    [p.api]: wx,
    ...(p.loader ? { [p.loader]: WXWebAssembly } : {}),
    console,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    ...(p.name === 'devtools' ? DEVTOOLS_GLOBALS : {}),
    ...globals,
  });
  // Absent unless a test supplies its own (e.g. a performance in microseconds).
  vm.runInContext(removalScript(p.name, Object.keys(globals)), context);
  if (p.noGlobalThis) vm.runInContext('delete globalThis.globalThis; if (typeof globalThis !== "undefined") throw new Error("stand-in: globalThis is still defined");', context);

  const cache = new Map();
  /** Loads a CommonJS file into the context, once. */
  function load(file) {
    if (cache.has(file)) return cache.get(file).exports;
    const module = { exports: {} };
    cache.set(file, module);
    const fn = vm.runInContext(`(function (module, exports, require) {${fs.readFileSync(file, 'utf8')}\n})`, context, { filename: file });
    fn.call(module.exports, module, module.exports, (spec) => requireFrom(path.dirname(file), spec));
    return module.exports;
  }
  function requireFrom(dir, spec) {
    let file;
    if (spec.startsWith('.') || spec.startsWith('/')) {
      file = path.resolve(spec.startsWith('/') ? packageDir : dir, spec.startsWith('/') ? `.${spec}` : spec);
    } else {
      file = path.join(npm, spec, 'index.js'); // what the npm build produces
    }
    for (const candidate of [file, `${file}.js`, path.join(file, 'index.js')]) {
      if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return load(candidate);
    }
    throw new Error(`stand-in require: cannot find ${spec} from ${dir}`);
  }

  return {
    context,
    profile: p,
    /** The API object (wx, or tt on Douyin) and the loader (WXWebAssembly, TTWebAssembly). */
    wx,
    WXWebAssembly,
    /** Sends the app to the background (wx.onAppHide's listeners run). */
    hide,
    dataDir,
    packageDir,
    /** require() as code in the package root sees it. */
    require: (spec) => requireFrom(packageDir, spec),
    /** Loads a file of some other directory (an example project) into the context. */
    load: (file) => load(path.resolve(file)),
    /** Evaluates source in the context. */
    run: (code) => vm.runInContext(code, context),
    cleanup: () => tmp && fs.rmSync(tmp, { recursive: true, force: true }),
  };
}

module.exports = { createRuntime, DIST, ABSENT };
