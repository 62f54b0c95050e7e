// A headless stand-in for the WeChat mini-program runtime, for tests only.
//
// createWx() gives a `wx` object (getFileSystemManager, getRandomValues,
// env.USER_DATA_PATH) and a `WXWebAssembly`, both following the documented
// signatures and errMsg formats, on top of a temporary directory:
//   - wx.env.USER_DATA_PATH ('wxfile://usr') maps to `dataDir`, the only
//     writable place; its total size is capped (200 MB, or `capBytes`) and a
//     write past the cap fails with "...:fail the maximum size of the file
//     storage limit is exceeded" and changes nothing;
//   - absolute paths ('/minibase.wasm.br') are files of the code package, in
//     `packageDir`, read-only;
//   - *Sync methods throw an Error whose errMsg (and message) is
//     "<method>:fail <reason> <path>"; write methods take a string or an
//     ArrayBuffer only (not a typed-array view), read methods return an
//     ArrayBuffer unless given an encoding;
//   - WXWebAssembly.instantiate(path, imports) takes an absolute package path
//     to a .wasm or .wasm.br file only (no bytes, no URLs).
// It is CommonJS so that Go's wasm tests can require() it too.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const crypto = require('node:crypto');
const { types } = require('node:util');

const USER_DATA_PATH = 'wxfile://usr';
const DEFAULT_CAP = 200 * 1024 * 1024;
const MAX_RANDOM = 1024 * 1024;

/** Reason texts the runtime uses, by node error code. */
const REASONS = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  ENOTDIR: 'not a directory',
  ENOTEMPTY: 'directory not empty',
  EISDIR: 'illegal operation on a directory',
  EPERM: 'operation not permitted',
  EACCES: 'permission denied',
};
const LIMIT = 'the maximum size of the file storage limit is exceeded';

function wxFail(method, reason) {
  const errMsg = `${method}:fail ${reason}`;
  const err = new Error(errMsg);
  err.errMsg = errMsg;
  return err;
}

/** Total size of the regular files under dir. */
function du(dir) {
  let total = 0;
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += du(p);
    else if (e.isFile()) total += fs.statSync(p).size;
  }
  return total;
}

function sizeOf(p) {
  try {
    const st = fs.statSync(p);
    return st.isFile() ? st.size : 0;
  } catch {
    return 0;
  }
}

/** Bytes of a write: string (with encoding) or ArrayBuffer, as documented. */
function dataBytes(method, data, encoding) {
  if (typeof data === 'string') return Buffer.from(data, encoding || 'utf8');
  if (types.isArrayBuffer(data)) return Buffer.from(new Uint8Array(data)); // a copy: the caller may reuse it
  throw wxFail(method, 'parameter error: parameter.data should be String or ArrayBuffer');
}

function toArrayBuffer(buf) {
  const ab = new ArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  return ab;
}

/** Stats as the runtime gives them: mode, size, times in seconds, isDirectory(), isFile(). */
function wxStats(st) {
  return {
    mode: st.mode,
    size: st.size,
    lastAccessedTime: Math.floor(st.atimeMs / 1000),
    lastModifiedTime: Math.floor(st.mtimeMs / 1000),
    isDirectory: () => st.isDirectory(),
    isFile: () => st.isFile(),
  };
}

/**
 * A FileSystemManager on dataDir (user data) and packageDir (code package).
 * @param {{ dataDir: string, packageDir?: string, capBytes?: number, userDataPath?: string }} o
 */
function createFileSystemManager({ dataDir, packageDir, capBytes = DEFAULT_CAP, userDataPath = USER_DATA_PATH }) {
  fs.mkdirSync(dataDir, { recursive: true });
  let used = du(dataDir);

  // Maps a runtime path to [host path, writable]; throws the runtime's error for others.
  function resolve(method, p, write) {
    if (typeof p !== 'string') throw wxFail(method, 'parameter error: path should be String');
    if (p === userDataPath || p.startsWith(userDataPath + '/')) {
      const rel = p.slice(userDataPath.length).replace(/^\/+/, '');
      const host = path.resolve(dataDir, rel);
      if (host !== dataDir && !host.startsWith(dataDir + path.sep)) throw wxFail(method, `permission denied, open ${p}`);
      return host;
    }
    if (p.startsWith('/') && packageDir && !write) return path.join(packageDir, p);
    throw wxFail(method, `permission denied, open ${p}`);
  }

  // Runs fn and turns node's errors into the runtime's.
  function guard(method, p, fn) {
    try {
      return fn();
    } catch (err) {
      if (err.errMsg) throw err;
      const reason = REASONS[err.code];
      if (!reason) throw wxFail(method, `${err.message}`);
      throw wxFail(method, `${reason}, open ${p}`);
    }
  }

  function charge(method, delta) {
    if (delta > 0 && used + delta > capBytes) throw wxFail(method, LIMIT);
  }

  const mgr = {
    /** Bytes used under the user-data path, as the stand-in counts them (for tests). */
    get usedBytes() {
      return used;
    },
    accessSync(p) {
      const host = resolve('accessSync', p, false);
      guard('accessSync', p, () => fs.accessSync(host));
    },
    mkdirSync(dirPath, recursive = false) {
      const host = resolve('mkdirSync', dirPath, true);
      guard('mkdirSync', dirPath, () => {
        if (fs.existsSync(host)) throw wxFail('mkdirSync', `file already exists ${dirPath}`);
        fs.mkdirSync(host, { recursive: Boolean(recursive) });
      });
    },
    readdirSync(dirPath) {
      const host = resolve('readdirSync', dirPath, false);
      return guard('readdirSync', dirPath, () => fs.readdirSync(host));
    },
    readFileSync(filePath, encoding, position, length) {
      const host = resolve('readFileSync', filePath, false);
      let buf;
      if (position !== undefined || length !== undefined) {
        // Reads only the range, as the runtime does (base library 2.10.0+).
        buf = guard('readFileSync', filePath, () => {
          const start = position ?? 0;
          const n = length ?? Math.max(0, fs.statSync(host).size - start);
          const out = Buffer.alloc(n);
          const fd = fs.openSync(host, 'r');
          try {
            return out.subarray(0, fs.readSync(fd, out, 0, n, start));
          } finally {
            fs.closeSync(fd);
          }
        });
      } else {
        buf = guard('readFileSync', filePath, () => fs.readFileSync(host));
      }
      return encoding && encoding !== 'binary' ? buf.toString(encoding) : toArrayBuffer(buf);
    },
    writeFileSync(filePath, data, encoding) {
      const host = resolve('writeFileSync', filePath, true);
      const bytes = dataBytes('writeFileSync', data, encoding);
      guard('writeFileSync', filePath, () => {
        const old = sizeOf(host);
        charge('writeFileSync', bytes.length - old);
        fs.writeFileSync(host, bytes);
        used += bytes.length - old;
      });
    },
    appendFileSync(filePath, data, encoding) {
      const host = resolve('appendFileSync', filePath, true);
      const bytes = dataBytes('appendFileSync', data, encoding);
      guard('appendFileSync', filePath, () => {
        const st = fs.statSync(host); // a missing file fails: append does not create
        if (st.isDirectory()) throw wxFail('appendFileSync', `illegal operation on a directory, open "${filePath}"`);
        charge('appendFileSync', bytes.length);
        fs.appendFileSync(host, bytes);
        used += bytes.length;
      });
    },
    truncateSync({ filePath, length = 0 } = {}) {
      const host = resolve('truncateSync', filePath, true);
      guard('truncateSync', filePath, () => {
        const st = fs.statSync(host);
        if (st.isDirectory()) throw wxFail('truncateSync', `illegal operation on a directory, open ${filePath}`);
        charge('truncateSync', length - st.size);
        fs.truncateSync(host, length);
        used += length - st.size;
      });
    },
    renameSync(oldPath, newPath) {
      const from = resolve('renameSync', oldPath, true);
      const to = resolve('renameSync', newPath, true);
      guard('renameSync', oldPath, () => {
        const replaced = sizeOf(to);
        fs.renameSync(from, to);
        used -= replaced;
      });
    },
    unlinkSync(filePath) {
      const host = resolve('unlinkSync', filePath, true);
      guard('unlinkSync', filePath, () => {
        const st = fs.statSync(host);
        if (st.isDirectory()) throw wxFail('unlinkSync', `operation not permitted, unlink ${filePath}`);
        fs.unlinkSync(host);
        used -= st.size;
      });
    },
    rmdirSync(dirPath, recursive = false) {
      const host = resolve('rmdirSync', dirPath, true);
      guard('rmdirSync', dirPath, () => {
        const st = fs.statSync(host);
        if (!st.isDirectory()) throw wxFail('rmdirSync', `not a directory ${dirPath}`);
        const freed = recursive ? du(host) : 0;
        if (recursive) fs.rmSync(host, { recursive: true });
        else fs.rmdirSync(host);
        used -= freed;
      });
    },
    statSync(p, recursive = false) {
      const host = resolve('statSync', p, false);
      const st = guard('statSync', p, () => fs.statSync(host));
      if (!recursive || !st.isDirectory()) return wxStats(st);
      const out = { '/': wxStats(st) };
      const walk = (dir, rel) => {
        for (const name of fs.readdirSync(dir)) {
          const s = fs.statSync(path.join(dir, name));
          out[`${rel}/${name}`] = wxStats(s);
          if (s.isDirectory()) walk(path.join(dir, name), `${rel}/${name}`);
        }
      };
      walk(host, '');
      return out;
    },
  };
  return mgr;
}

/**
 * A WXWebAssembly reading wasm files from the code package. Compiled modules
 * are cached by path and mtime (the real runtime compiles each time; tests
 * only want to be quick).
 */
function createWXWebAssembly(packageDir) {
  const WA = WebAssembly; // captured: tests delete the global afterwards
  const cache = new Map();
  const compile = (p) => {
    if (typeof p !== 'string' || !p.startsWith('/')) {
      return Promise.reject(new Error('WXWebAssembly.instantiate: path must be an absolute path in the code package'));
    }
    if (!/\.wasm(\.br)?$/.test(p)) return Promise.reject(new Error(`WXWebAssembly.instantiate: ${p} is not a .wasm or .wasm.br file`));
    const host = path.join(packageDir, p);
    let st;
    try {
      st = fs.statSync(host);
    } catch {
      return Promise.reject(new Error(`WXWebAssembly.instantiate: no such file ${p}`));
    }
    const key = `${host}:${st.mtimeMs}:${st.size}`;
    if (!cache.has(key)) {
      let bytes = fs.readFileSync(host);
      if (p.endsWith('.br')) bytes = zlib.brotliDecompressSync(bytes);
      cache.set(key, WA.compile(bytes));
    }
    return cache.get(key);
  };
  return {
    async instantiate(p, imports) {
      const module = await compile(p);
      const instance = await WA.instantiate(module, imports);
      return { instance, module };
    },
    Instance: WA.Instance,
    Memory: WA.Memory,
    Module: WA.Module,
    Table: WA.Table,
    Global: WA.Global,
    RuntimeError: WA.RuntimeError,
  };
}

/**
 * The stand-in: { wx, WXWebAssembly }.
 * @param {{ dataDir: string, packageDir: string, capBytes?: number }} o
 */
function createWx({ dataDir, packageDir, capBytes = DEFAULT_CAP }) {
  const manager = createFileSystemManager({ dataDir, packageDir, capBytes });
  const wx = {
    env: { USER_DATA_PATH },
    getFileSystemManager: () => manager,
    getRandomValues({ length, success, fail, complete } = {}) {
      setTimeout(() => {
        let res;
        if (!Number.isInteger(length) || length <= 0 || length > MAX_RANDOM) {
          res = { errMsg: 'getRandomValues:fail invalid length' };
          fail?.(res);
        } else {
          res = { errMsg: 'getRandomValues:ok', randomValues: toArrayBuffer(crypto.randomBytes(length)) };
          success?.(res);
        }
        complete?.(res);
      }, 0);
    },
    getSystemInfoSync: () => ({ platform: 'devtools', SDKVersion: '3.0.0' }),
    // wx.request over Node's fetch: documented options (url, method, header,
    // data, dataType — 'json' parses the body, anything else leaves text),
    // a result { statusCode, data, header, errMsg }, a task with abort().
    request({ url, method = 'GET', header = {}, data, dataType = 'json', success, fail, complete } = {}) {
      const ctrl = new AbortController();
      fetch(url, { method, headers: header, body: method === 'GET' ? undefined : data, signal: ctrl.signal }).then(
        async (r) => {
          const text = await r.text();
          let body = text;
          if (dataType === 'json') {
            try {
              body = JSON.parse(text);
            } catch {}
          }
          const res = { statusCode: r.status, data: body, header: Object.fromEntries(r.headers), errMsg: 'request:ok' };
          success?.(res);
          complete?.(res);
        },
        (err) => {
          const res = { errMsg: `request:fail ${err.message}` };
          fail?.(res);
          complete?.(res);
        },
      );
      return { abort: () => ctrl.abort() };
    },
  };
  return { wx, WXWebAssembly: createWXWebAssembly(packageDir) };
}

module.exports = { createWx, createFileSystemManager, createWXWebAssembly, USER_DATA_PATH, LIMIT };
