// Runs code the way a mini-program does, for tests: in a node:vm context
// whose globals are what the mini-program JS runtime offers — wx,
// WXWebAssembly, console, timers — and not TextEncoder, TextDecoder, crypto,
// performance, WebAssembly, window, document, process or require (so the
// loader's polyfills really run). Modules are CommonJS, loaded by a small
// require that resolves relative paths and the packages of miniprogram_npm.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');
const { createWx } = require('./index.cjs');

const repoRoot = path.resolve(__dirname, '..', '..', '..');
/** The built mini-program package folder (package.json "miniprogram"). */
const DIST = path.join(repoRoot, 'js', 'dist', 'miniprogram');

/** Globals a mini-program runtime lacks that a bare vm context still has. */
const ABSENT = ['WebAssembly', 'TextEncoder', 'TextDecoder', 'crypto', 'performance', 'window', 'document', 'process', 'require', 'Buffer'];

/**
 * A mini-program runtime on fresh directories.
 * @param {{ dataDir?: string, packageDir?: string, capBytes?: number, globals?: object }} [o]
 *   packageDir is the code package (it gets miniprogram_npm/minibase → js/dist/miniprogram);
 *   dataDir backs wx.env.USER_DATA_PATH
 */
function createRuntime({ dataDir, packageDir, capBytes, globals = {} } = {}) {
  const tmp = dataDir && packageDir ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-wx-'));
  dataDir ??= path.join(tmp, 'usr');
  packageDir ??= path.join(tmp, 'package');
  const npm = path.join(packageDir, 'miniprogram_npm');
  fs.mkdirSync(npm, { recursive: true });
  if (!fs.existsSync(path.join(npm, 'minibase'))) fs.symlinkSync(DIST, path.join(npm, 'minibase'), 'dir');

  const { wx, WXWebAssembly } = createWx({ dataDir, packageDir, capBytes });
  const context = vm.createContext({
    wx,
    WXWebAssembly,
    console,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    ...globals,
  });
  // Absent unless a test supplies its own (e.g. a performance in microseconds).
  const absent = ABSENT.filter((g) => !(g in globals));
  vm.runInContext(absent.map((g) => `delete globalThis.${g};`).join(''), context);
  const missing = vm.runInContext(`[${absent.map((g) => `typeof ${g}`).join(',')}]`, context);
  missing.forEach((t, i) => {
    if (t !== 'undefined') throw new Error(`stand-in: ${absent[i]} is still defined in the context`);
  });

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
    wx,
    WXWebAssembly,
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
