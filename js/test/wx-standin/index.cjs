// A headless stand-in for the WeChat mini-program runtime, for tests only.
//
// createWx() gives a `wx` object (getFileSystemManager, getRandomValues,
// getSystemInfoSync, request, env.USER_DATA_PATH) and a `WXWebAssembly`,
// both following the documented signatures and errMsg formats, on top of a
// temporary directory:
//   - env.USER_DATA_PATH maps to `dataDir`, the only writable place; its
//     total size is capped (200 MB, or `capBytes`) and a write past the cap
//     fails with the runtime's storage-limit text and changes nothing;
//   - absolute paths ('/minibase.wasm.br') are files of the code package, in
//     `packageDir`, read-only;
//   - write methods take a string or an ArrayBuffer only (not a typed-array
//     view), read methods return an ArrayBuffer unless given an encoding;
//   - WXWebAssembly.instantiate(path, imports) takes an absolute package path
//     to a .wasm or .wasm.br file only (no bytes, no URLs).
//
// Descriptors (openSync/readSync/writeSync/fstatSync/closeSync, WeChat base library
// 2.16.1+; Douyin only from 3.74.0, so not in its profile here) take and
// return what the documentation says: openSync({ filePath, flag }) gives a
// string fd, readSync({ fd, arrayBuffer, offset, length, position }) gives
// { bytesRead, arrayBuffer }, writeSync({ fd, data, offset, length, position })
// { bytesWritten } (charged to the cap like any write); an unknown fd fails
// with "bad file descriptor";
// at most `maxFds` (16 unless told) are open at once, past which openSync
// fails with "exceed max concurrent fd limit", as devices do.
//
// A profile says which runtime it stands in for (PROFILES): 'device' (the
// default) is WeChat on a phone as its documentation describes it, as strict
// as the documentation allows — only the documented methods and argument
// shapes, failures thrown as Errors whose message is the errMsg (no errMsg
// property; some reasons capitalised), zero-byte writes and reads past the
// end of a file refused, a 100 MB limit per file, a WXWebAssembly of
// instantiate/Memory/Table/Global only whose instances are not instanceof
// any global. 'devtools' is the simulator ('http://usr', lenient like
// Node). 'douyin' is Douyin's tt: 'ttfile://user' capped at 10 MB, its own
// storage-limit text, a positional truncateSync, TTWebAssembly.
// It is CommonJS so that Go's wasm tests can require() it too.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const crypto = require('node:crypto');
const { types } = require('node:util');

// Captured at load: a device profile deletes these globals from the process.
const hostFetch = globalThis.fetch;
const HostAbortController = globalThis.AbortController;

const USER_DATA_PATH = 'wxfile://usr';
const DEFAULT_CAP = 200 * 1024 * 1024;
const MAX_RANDOM = 1024 * 1024;
const FILE_LIMIT = 100 * 1024 * 1024;
const MAX_FDS = 16;
/** The flags openSync documents, as Node spells them (the same letters). */
const OPEN_FLAGS = new Set(['a', 'ax', 'a+', 'ax+', 'as', 'as+', 'r', 'r+', 'w', 'wx', 'w+', 'wx+']);

/** The runtimes the stand-in can be. */
const PROFILES = {
  device: {
    name: 'device',
    userDataPath: USER_DATA_PATH,
    capBytes: DEFAULT_CAP,
    strict: true,
    positionalTruncate: false,
    limitText: 'the maximum size of the file storage limit is exceeded',
    api: 'wx',
    loader: 'WXWebAssembly',
    SDKVersion: '3.4.1',
    fds: true,
  },
  devtools: {
    name: 'devtools',
    userDataPath: 'http://usr',
    capBytes: DEFAULT_CAP,
    strict: false,
    positionalTruncate: false,
    limitText: 'the maximum size of the file storage limit is exceeded',
    api: 'wx',
    loader: 'WXWebAssembly',
    SDKVersion: '3.4.1',
    fds: true,
  },
  douyin: {
    name: 'douyin',
    userDataPath: 'ttfile://user',
    capBytes: 10 * 1024 * 1024,
    strict: true,
    positionalTruncate: true,
    limitText: 'user dir saved file size limit exceeded',
    api: 'tt',
    loader: 'TTWebAssembly',
    SDKVersion: '3.20.0',
  },
  // Alipay's logic layer: my, no WebAssembly loader (it exists only in a
  // Worker) and no globalThis.
  alipay: {
    name: 'alipay',
    userDataPath: 'https://usr',
    capBytes: DEFAULT_CAP,
    strict: true,
    positionalTruncate: false,
    limitText: 'the maximum size of the file storage limit is exceeded',
    api: 'my',
    loader: null,
    noGlobalThis: true,
    SDKVersion: '2.9.0',
  },
};

/** A profile by name (or the profile itself), 'device' by default. */
function profileOf(p = 'device') {
  const profile = typeof p === 'string' ? PROFILES[p] : p;
  if (!profile) throw new Error(`stand-in: no profile ${p}`);
  return profile;
}

/** The encodings FileSystemManager methods document. */
const ENCODINGS = new Set(['ascii', 'base64', 'binary', 'hex', 'ucs2', 'ucs-2', 'utf16le', 'utf-16le', 'utf-8', 'utf8', 'latin1']);

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

/** A failure as the devtools throw it: an Error with errMsg as its message and property. */
function wxFail(method, reason) {
  const errMsg = `${method}:fail ${reason}`;
  const err = new Error(errMsg);
  err.errMsg = errMsg;
  return err;
}

/**
 * A failure as devices throw it: an Error whose message is the errMsg and
 * nothing else, the reason's first letter capitalised (devices word some
 * reasons that way).
 */
function deviceFail(method, reason) {
  return new Error(`${method}:fail ${reason.charAt(0).toUpperCase()}${reason.slice(1)}`);
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
 * @param {{ dataDir: string, packageDir?: string, capBytes?: number, profile?: string, maxFds?: number }} o
 */
function createFileSystemManager({ dataDir, packageDir, capBytes, profile: profileName = 'device', maxFds = MAX_FDS }) {
  const profile = profileOf(profileName);
  const userDataPath = profile.userDataPath;
  capBytes ??= profile.capBytes;
  fs.mkdirSync(dataDir, { recursive: true });
  let used = du(dataDir);
  const LIMIT = profile.limitText;

  // What a strict profile refuses: arguments the documentation does not
  // list, and data or ranges devices do not accept.
  function check(method, args, max, test = () => true) {
    if (!profile.strict) return;
    if (args.length > max || !test(...args)) throw wxFail(method, 'parameter error');
  }
  const optBool = (v) => v === undefined || typeof v === 'boolean';
  const optEncoding = (v) => v === undefined || ENCODINGS.has(v);
  const optNumber = (v) => v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 0);
  function refuseEmpty(method, bytes) {
    // errCode 1301002 on devices.
    if (profile.strict && bytes.length === 0) throw wxFail(method, 'data to write is empty');
  }
  function checkFileSize(method, size) {
    if (profile.strict && size > FILE_LIMIT) throw wxFail(method, LIMIT);
  }

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


  // Open descriptors: the runtime's fd (a string) → { fd: Node's, filePath }.
  const fds = new Map();
  let nextFd = 1;
  const isObject = (o) => o !== null && typeof o === 'object';
  function fdOf(method, o) {
    const f = isObject(o) ? fds.get(o.fd) : undefined;
    if (!f) throw wxFail(method, 'bad file descriptor');
    return f;
  }
  const fdMethods = {
    openSync(o, ...rest) {
      check('openSync', [o, ...rest], 1, (a) => isObject(a) && typeof a.filePath === 'string' && (a.flag === undefined || OPEN_FLAGS.has(a.flag)));
      const { filePath, flag = 'r' } = o ?? {};
      const write = flag !== 'r';
      const host = resolve('openSync', filePath, write);
      return guard('openSync', filePath, () => {
        if (fds.size >= maxFds) throw wxFail('openSync', 'exceed max concurrent fd limit');
        if (fs.existsSync(host) && fs.statSync(host).isDirectory()) throw wxFail('openSync', `illegal operation on a directory, open ${filePath}`);
        const old = sizeOf(host);
        const fd = fs.openSync(host, flag);
        used += sizeOf(host) - old; // 'w' flags cut the file
        const id = String(nextFd++);
        fds.set(id, { fd, filePath, flag });
        return id;
      });
    },
    readSync(o, ...rest) {
      check('readSync', [o, ...rest], 1, (a) => isObject(a) && optNumber(a.offset) && optNumber(a.length) && (a.position == null || optNumber(a.position)));
      const f = fdOf('readSync', o);
      const { arrayBuffer, offset = 0, length = 0, position } = o;
      if (!types.isArrayBuffer(arrayBuffer)) throw wxFail('readSync', 'parameter error: parameter.arrayBuffer should be ArrayBuffer');
      if (offset > arrayBuffer.byteLength) throw wxFail('readSync', 'the value of "offset" is out of range');
      if (offset + length > arrayBuffer.byteLength) throw wxFail('readSync', 'the value of "length" is out of range');
      const bytesRead = guard('readSync', f.filePath, () => fs.readSync(f.fd, new Uint8Array(arrayBuffer, offset, length), 0, length, position ?? null));
      return { bytesRead, arrayBuffer };
    },
    writeSync(o, ...rest) {
      check('writeSync', [o, ...rest], 1, (a) => isObject(a) && optNumber(a.offset) && optNumber(a.length) && (a.position == null || optNumber(a.position)) && optEncoding(a.encoding));
      const f = fdOf('writeSync', o);
      const { data, offset = 0, position, encoding } = o;
      let bytes;
      if (typeof data === 'string') bytes = Buffer.from(data, encoding || 'utf8');
      else if (types.isArrayBuffer(data)) {
        if (offset > data.byteLength) throw wxFail('writeSync', 'the value of "offset" is out of range');
        const length = o.length ?? data.byteLength - offset;
        if (offset + length > data.byteLength) throw wxFail('writeSync', 'the value of "length" is out of range');
        bytes = new Uint8Array(data, offset, length);
      } else throw wxFail('writeSync', 'parameter error: parameter.data should be String or ArrayBuffer');
      return guard('writeSync', f.filePath, () => {
        refuseEmpty('writeSync', bytes);
        const before = fs.fstatSync(f.fd).size;
        // What the write may add: exact at a position or in append mode, at
        // most its length otherwise.
        const grow = position != null && !f.flag.startsWith('a') ? Math.max(0, position + bytes.length - before) : bytes.length;
        checkFileSize('writeSync', before + grow);
        charge('writeSync', grow);
        const bytesWritten = fs.writeSync(f.fd, bytes, 0, bytes.length, position ?? null);
        used += fs.fstatSync(f.fd).size - before;
        return { bytesWritten };
      });
    },
    fstatSync(o, ...rest) {
      check('fstatSync', [o, ...rest], 1, isObject);
      const f = fdOf('fstatSync', o);
      return wxStats(guard('fstatSync', f.filePath, () => fs.fstatSync(f.fd)));
    },
    closeSync(o, ...rest) {
      check('closeSync', [o, ...rest], 1, isObject);
      const f = fdOf('closeSync', o);
      fds.delete(o.fd);
      fs.closeSync(f.fd);
    },
  };

  const mgr = {
    /** Bytes used under the user-data path, as the stand-in counts them (for tests). */
    get usedBytes() {
      return used;
    },
    /** The runtime paths of the open descriptors, one per descriptor (for tests). */
    get openFds() {
      return [...fds.values()].map((f) => f.filePath);
    },
    accessSync(p, ...rest) {
      check('accessSync', [p, ...rest], 1);
      const host = resolve('accessSync', p, false);
      guard('accessSync', p, () => fs.accessSync(host));
    },
    mkdirSync(dirPath, recursive = false, ...rest) {
      check('mkdirSync', [dirPath, recursive, ...rest], 2, (_, r) => optBool(r));
      const host = resolve('mkdirSync', dirPath, true);
      guard('mkdirSync', dirPath, () => {
        if (fs.existsSync(host)) throw wxFail('mkdirSync', `file already exists ${dirPath}`);
        fs.mkdirSync(host, { recursive: Boolean(recursive) });
      });
    },
    readdirSync(dirPath, ...rest) {
      check('readdirSync', [dirPath, ...rest], 1);
      const host = resolve('readdirSync', dirPath, false);
      return guard('readdirSync', dirPath, () => fs.readdirSync(host));
    },
    readFileSync(filePath, encoding, position, length, ...rest) {
      check('readFileSync', [filePath, encoding, position, length, ...rest], 4, (_, e, p, l) => optEncoding(e) && optNumber(p) && optNumber(l));
      const host = resolve('readFileSync', filePath, false);
      let buf;
      if (position !== undefined || length !== undefined) {
        // Reads only the range, as the runtime does (base library 2.10.0+).
        buf = guard('readFileSync', filePath, () => {
          const start = position ?? 0;
          const size = fs.statSync(host).size;
          // Devices throw rather than return a short buffer.
          if (profile.strict && (start > size || (length !== undefined && start + length > size))) {
            throw wxFail('readFileSync', `the value of "length" is out of range, open ${filePath}`);
          }
          const n = length ?? Math.max(0, size - start);
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
    writeFileSync(filePath, data, encoding, ...rest) {
      check('writeFileSync', [filePath, data, encoding, ...rest], 3, (_, d, e) => optEncoding(e));
      const host = resolve('writeFileSync', filePath, true);
      const bytes = dataBytes('writeFileSync', data, encoding);
      guard('writeFileSync', filePath, () => {
        refuseEmpty('writeFileSync', bytes);
        checkFileSize('writeFileSync', bytes.length);
        const old = sizeOf(host);
        charge('writeFileSync', bytes.length - old);
        fs.writeFileSync(host, bytes);
        used += bytes.length - old;
      });
    },
    appendFileSync(filePath, data, encoding, ...rest) {
      check('appendFileSync', [filePath, data, encoding, ...rest], 3, (_, d, e) => optEncoding(e));
      const host = resolve('appendFileSync', filePath, true);
      const bytes = dataBytes('appendFileSync', data, encoding);
      guard('appendFileSync', filePath, () => {
        refuseEmpty('appendFileSync', bytes);
        const st = fs.statSync(host); // a missing file fails: append does not create
        if (st.isDirectory()) throw wxFail('appendFileSync', `illegal operation on a directory, open "${filePath}"`);
        checkFileSize('appendFileSync', st.size + bytes.length);
        charge('appendFileSync', bytes.length);
        fs.appendFileSync(host, bytes);
        used += bytes.length;
      });
    },
    truncateSync(...args) {
      // WeChat documents truncateSync({ filePath, length }); Douyin's is positional.
      let filePath;
      let length;
      if (profile.positionalTruncate) {
        check('truncateSync', args, 2, (p, l) => typeof p === 'string' && optNumber(l));
        [filePath, length = 0] = args;
      } else {
        check('truncateSync', args, 1, (o) => o !== null && typeof o === 'object' && typeof o.filePath === 'string' && optNumber(o.length));
        ({ filePath, length = 0 } = args[0] ?? {});
      }
      const host = resolve('truncateSync', filePath, true);
      guard('truncateSync', filePath, () => {
        const st = fs.statSync(host);
        if (st.isDirectory()) throw wxFail('truncateSync', `illegal operation on a directory, open ${filePath}`);
        charge('truncateSync', length - st.size);
        fs.truncateSync(host, length);
        used += length - st.size;
      });
    },
    renameSync(oldPath, newPath, ...rest) {
      check('renameSync', [oldPath, newPath, ...rest], 2);
      const from = resolve('renameSync', oldPath, true);
      const to = resolve('renameSync', newPath, true);
      guard('renameSync', oldPath, () => {
        const replaced = sizeOf(to);
        fs.renameSync(from, to);
        used -= replaced;
      });
    },
    unlinkSync(filePath, ...rest) {
      check('unlinkSync', [filePath, ...rest], 1);
      const host = resolve('unlinkSync', filePath, true);
      guard('unlinkSync', filePath, () => {
        const st = fs.statSync(host);
        if (st.isDirectory()) throw wxFail('unlinkSync', `operation not permitted, unlink ${filePath}`);
        fs.unlinkSync(host);
        used -= st.size;
      });
    },
    rmdirSync(dirPath, recursive = false, ...rest) {
      check('rmdirSync', [dirPath, recursive, ...rest], 2, (_, r) => optBool(r));
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
    statSync(p, recursive = false, ...rest) {
      check('statSync', [p, recursive, ...rest], 2, (_, r) => optBool(r));
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
  if (profile.fds) Object.assign(mgr, fdMethods);
  if (profile.strict) {
    // Devices throw their failures in their own form.
    for (const [name, fn] of Object.entries(Object.getOwnPropertyDescriptors(mgr))) {
      if (typeof fn.value !== 'function') continue;
      mgr[name] = function (...args) {
        try {
          return fn.value.apply(this, args);
        } catch (err) {
          if (typeof err?.errMsg === 'string') throw deviceFail(name, err.errMsg.slice(err.errMsg.indexOf(':fail ') + ':fail '.length));
          throw err;
        }
      };
    }
  }
  return mgr;
}

/**
 * The subpackages of the code package ({ name: root }, as app.json declares
 * them) and which have been downloaded (wx.loadSubpackage).
 */
class SubpackageSet {
  constructor(declared = {}) {
    this.declared = declared;
    this.loaded = new Set();
  }
  /** The name of the unloaded subpackage p lies in, or ''. */
  notLoaded(p) {
    for (const [name, root] of Object.entries(this.declared)) {
      if (p.startsWith(`/${root.replace(/^\/+|\/+$/g, '')}/`) && !this.loaded.has(name)) return name;
    }
    return '';
  }
  /** The name of a subpackage given by name or root, or ''. */
  find(nameOrRoot) {
    for (const [name, root] of Object.entries(this.declared)) if (nameOrRoot === name || nameOrRoot === root) return name;
    return '';
  }
}

/**
 * A WXWebAssembly reading wasm files from the code package. Compiled modules
 * are cached by path and mtime (the real runtime compiles each time; tests
 * only want to be quick). A strict profile's has only the documented members
 * and gives instances that are no WebAssembly.Instance (nor any other
 * global's): an object with exports.
 */
function createWXWebAssembly(packageDir, profileName = 'device', subpackages = new SubpackageSet()) {
  const profile = profileOf(profileName);
  const WA = WebAssembly; // captured: tests delete the global afterwards
  const cache = new Map();
  const compile = (p) => {
    if (typeof p !== 'string' || !p.startsWith('/')) {
      return Promise.reject(new Error('WXWebAssembly.instantiate: path must be an absolute path in the code package'));
    }
    if (!/\.wasm(\.br)?$/.test(p)) return Promise.reject(new Error(`WXWebAssembly.instantiate: ${p} is not a .wasm or .wasm.br file`));
    const notLoaded = subpackages.notLoaded(p);
    if (notLoaded) return Promise.reject(new Error(`WXWebAssembly.instantiate: ${p} is in the subpackage ${notLoaded}, which is not loaded`));
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
  if (profile.strict) {
    return {
      async instantiate(p, imports) {
        const instance = await WA.instantiate(await compile(p), imports);
        const bare = Object.create(null);
        bare.exports = instance.exports;
        return { instance: bare };
      },
      Memory: WA.Memory,
      Table: WA.Table,
      Global: WA.Global,
    };
  }
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
 * The stand-in: { wx, WXWebAssembly } — the API object and the loader,
 * whatever the profile calls them (tt and TTWebAssembly for 'douyin'; see
 * profile.api and profile.loader for the global names).
 * @param {{ dataDir: string, packageDir: string, capBytes?: number, profile?: string, SDKVersion?: string,
 *   subpackages?: Record<string, string>, maxFds?: number }} o subpackages: { name: root } of app.json, whose wasm
 *   files WXWebAssembly refuses until wx.loadSubpackage({ name }) has succeeded
 */
function createWx({ dataDir, packageDir, capBytes, profile: profileName = 'device', SDKVersion, subpackages: declared, maxFds }) {
  const profile = profileOf(profileName);
  const manager = createFileSystemManager({ dataDir, packageDir, capBytes, profile, maxFds });
  const subpackages = new SubpackageSet(declared);
  const hideListeners = new Set(); // wx.onAppHide's: the app went to the background
  const wx = {
    onAppHide(listener) {
      if (typeof listener !== 'function') throw new TypeError('onAppHide: listener must be a function');
      hideListeners.add(listener);
    },
    offAppHide(listener) {
      if (listener === undefined) hideListeners.clear();
      else hideListeners.delete(listener);
    },
    loadSubpackage({ name, success, fail, complete } = {}) {
      const found = subpackages.find(name);
      setTimeout(() => {
        const res = found ? { errMsg: 'loadSubpackage:ok' } : { errMsg: `loadSubpackage:fail subpackage ${name} not found` };
        if (found) {
          subpackages.loaded.add(found);
          success?.(res);
        } else fail?.(res);
        complete?.(res);
      }, 0);
      return { onProgressUpdate() {} };
    },
    env: { USER_DATA_PATH: profile.userDataPath },
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
    getSystemInfoSync: () => ({ platform: profile.name === 'devtools' ? 'devtools' : 'ios', SDKVersion: SDKVersion ?? profile.SDKVersion }),
    // wx.request over Node's fetch: documented options (url, method, header,
    // data, dataType — 'json' parses the body, anything else leaves text),
    // a result { statusCode, data, header, errMsg }, a task with abort().
    request({ url, method = 'GET', header = {}, data, dataType = 'json', success, fail, complete } = {}) {
      const ctrl = new HostAbortController();
      hostFetch(url, { method, headers: header, body: method === 'GET' ? undefined : data, signal: ctrl.signal }).then(
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
  /** Sends the app to the background: wx.onAppHide's listeners run. */
  const hide = () => {
    for (const listener of [...hideListeners]) listener({});
  };
  return { wx, WXWebAssembly: createWXWebAssembly(packageDir, profile, subpackages), profile, hide };
}

/**
 * Globals the mini-program logic layer of a profile lacks (that Node and a
 * bare vm context have), and prototype methods newer than the runtime's
 * JavaScript engine.
 */
function absentGlobals(profileName = 'device') {
  const profile = profileOf(profileName);
  const always = ['window', 'document', 'process', 'require', 'Buffer'];
  if (profile.name === 'devtools') return { globals: always, methods: [] };
  return {
    globals: [...always, 'WebAssembly', 'TextEncoder', 'TextDecoder', 'crypto', 'performance', 'AbortController', 'AbortSignal',
      'structuredClone', 'fetch', 'queueMicrotask', 'WeakRef', 'FinalizationRegistry'],
    // [owner expression, property]: missing before iOS 15.4's JavaScriptCore
    methods: [['Object', 'hasOwn'], ['Array.prototype', 'at'], ['String.prototype', 'at'], ['Object.getPrototypeOf(Uint8Array.prototype)', 'at'],
      ['Array.prototype', 'findLast'], ['Array.prototype', 'findLastIndex']],
  };
}

/**
 * Source that removes a profile's absent globals and methods from the realm
 * it runs in, and checks that they are gone.
 */
function removalScript(profileName = 'device', keep = []) {
  const { globals, methods } = absentGlobals(profileName);
  const names = globals.filter((g) => !keep.includes(g));
  return [
    ...names.map((g) => `delete globalThis.${g};`),
    ...methods.map(([o, m]) => `delete ${o}.${m};`),
    `for (const [t, n] of [${names.map((g) => `[typeof ${g}, ${JSON.stringify(g)}]`).join(',')}]) if (t !== 'undefined') throw new Error('stand-in: ' + n + ' is still defined');`,
    ...methods.map(([o, m]) => `if (${o}.${m} !== undefined) throw new Error('stand-in: ${o}.${m} is still defined');`),
  ].join('\n');
}

module.exports = { createWx, createFileSystemManager, createWXWebAssembly, absentGlobals, removalScript, PROFILES, USER_DATA_PATH, LIMIT };
