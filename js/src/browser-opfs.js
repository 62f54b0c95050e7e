// The OPFS side of the browser's 'opfs' adapter, run in the dedicated Worker
// that holds the engine (opfs-worker.js). The Go side is fsadapter/nodefs,
// unchanged: `opfsHost` answers the synchronous node `fs` calls it makes
// (openSync, writeSync, readSync, fsyncSync, …) with
// FileSystemSyncAccessHandle reads and writes, which are synchronous but
// exist only in dedicated workers.
//
// Only the access handle's read/write/truncate/flush are synchronous; making,
// listing and removing OPFS files is not. So a database is a pool of OPFS
// files opened once (each with its access handle) and named by a header, the
// way SQLite's "opfs-sahpool" VFS does it: creating a file takes a free
// slot and writes its path into the header, removing one marks the slot
// free. Free slots are topped up between calls, when awaiting is allowed.
//
// A slot file: HEADER bytes, then the file's content.
//   0..7   magic "MBOPFS01"
//   8      kind: 0 free, 1 file, 2 directory, 3 a forwarded call's answer, 4 the marker
//   12..15 length of the path (UTF-8), little endian
//   16..   the path (a file or directory path, an answer's call id, a marker id)
// A free slot is an empty file. Appends are appends to the slot file; a read
// reads the bytes asked for.

const HEADER = 4096;
const MAX_PATH = HEADER - 16;
const MAGIC = new TextEncoder().encode('MBOPFS01');
export const FREE = 0;
export const FILE = 1;
export const DIR = 2;
export const ANSWER = 3;
export const MARKER = 4;

// Free slots kept ready: a call creates files only from these (a bulk
// insert that flushes and compacts makes a few dozen at most). After calls
// that took more than half of them, twice what they took are kept ready
// for the rest of the session (see SlotPool's #target).
const SPARE = 32;
// The most spare files one top-up removes (see topUp).
const TRIM_STEP = 16;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An error shaped like node's fs errors, which fsadapter/nodefs maps by `code`. */
function fsError(code, msg) {
  const err = new Error(`${code}: ${msg}`);
  err.code = code;
  return err;
}

// A write the browser refused for quota is ENOSPC to the engine (fsadapter.ErrNoSpace).
function mapWriteError(err, what) {
  if (typeof err?.code === 'string') return err; // ours (a DOMException's code is a legacy number)
  if (err?.name === 'QuotaExceededError' || /no space/i.test(err?.message ?? '')) return fsError('ENOSPC', `${what}: ${err.message}`);
  return fsError('EIO', `${what}: ${err?.name ?? ''} ${err?.message ?? err}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// createSyncAccessHandle fails while another context (the previous owner's
// worker, going away) still holds the file: retry for a while. Chromium
// lets go of a closed page's worker's handles late on a loaded machine
// (once past 5 s in a CI run); the Web Lock already says no live owner
// holds them, so waiting longer only delays a failure that should not come.
const ACCESS_RETRIES = 300; // × 50 ms
async function openAccess(fileHandle, retries = ACCESS_RETRIES) {
  for (let i = 0; ; i++) {
    try {
      return await fileHandle.createSyncAccessHandle();
    } catch (err) {
      if (err?.name !== 'NoModificationAllowedError' || i >= retries) {
        const e = fsError(err?.name === 'NoModificationAllowedError' ? 'EBUSY' : 'EIO', `opfs: open ${fileHandle.name}: ${err?.message ?? err}`);
        e.locked = err?.name === 'NoModificationAllowedError';
        throw e;
      }
      await sleep(50);
    }
  }
}

class Slot {
  constructor(file, access) {
    this.file = file; // the OPFS file name
    this.access = access; // FileSystemSyncAccessHandle
    this.kind = FREE;
    this.path = '';
    this.gen = 0; // bumped when freed: descriptors of the old file go stale
  }
}

/** One database's files: a pool of OPFS files with their access handles. */
export class SlotPool {
  #dir;
  #slots = [];
  #byPath = new Map(); // "kind:path" → Slot
  #free = [];
  #dirty = new Set(); // slots written since the last flush
  #next = 0; // number for the next slot file's name
  #closed = false;
  name;

  constructor(name, dir) {
    this.name = name;
    this.#dir = dir;
  }

  /**
   * Opens (creating when missing) the pool of database `name` under OPFS
   * directory minibase/<name>, opening every slot's access handle. A file
   * another context holds is asked for again every 50 ms, `retries` times,
   * before the open fails (EBUSY, `locked`).
   */
  static async open(name, { spare = SPARE, retries = ACCESS_RETRIES } = {}) {
    const root = await navigator.storage.getDirectory();
    const top = await root.getDirectoryHandle('minibase', { create: true });
    const dir = await top.getDirectoryHandle(encodeURIComponent(name), { create: true });
    const pool = new SlotPool(name, dir);
    pool.#spare = pool.#floor = spare;
    try {
      const found = [];
      for await (const [file, handle] of dir.entries()) {
        if (handle.kind !== 'file' || !/^s\d+$/.test(file)) continue;
        pool.#next = Math.max(pool.#next, Number(file.slice(1)) + 1);
        found.push([file, handle]);
      }
      // Every file's handle asked for at once: each is a round trip to the
      // browser's storage process, and one after another they were most of
      // an open (~100 ms for a 500,000-row database). Every handle that
      // opened is the pool's before a failure is thrown, so close() lets go
      // of it.
      const opened = await Promise.allSettled(found.map(([, handle]) => openAccess(handle, retries)));
      const slots = [];
      opened.forEach((r, i) => {
        if (r.status === 'fulfilled') slots.push(new Slot(found[i][0], r.value));
      });
      pool.#slots.push(...slots);
      const failed = opened.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      for (const slot of slots) pool.#adopt(slot);
      await pool.topUp({ trim: false }); // spares beyond need go later, between calls
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  // Sorts an opened slot (already one of #slots) by its header: a file's, or free.
  #adopt(slot) {
    const a = slot.access;
    if (a.getSize() >= 16) {
      const head = new Uint8Array(16);
      a.read(head, { at: 0 });
      if (MAGIC.every((b, i) => head[i] === b)) {
        const kind = head[8];
        const len = new DataView(head.buffer).getUint32(12, true);
        if (kind !== FREE && len <= MAX_PATH) {
          const p = new Uint8Array(len);
          a.read(p, { at: 16 });
          slot.kind = kind;
          slot.path = dec.decode(p);
          this.#byPath.set(`${kind}:${slot.path}`, slot);
          return;
        }
      }
    }
    this.#free.push(slot);
  }

  /**
   * Creates OPFS files until the spare ones suffice (asynchronous: between
   * calls), and removes a few of those a busy stretch left beyond that.
   */
  async topUp({ trim = true } = {}) {
    this.#spare = this.#target();
    this.#taken = 0;
    while (this.#free.length < this.#spare && !this.#closed) {
      const file = `s${this.#next++}`;
      const handle = await this.#dir.getFileHandle(file, { create: true });
      const slot = new Slot(file, await openAccess(handle));
      this.#slots.push(slot);
      this.#free.push(slot);
    }
    // Every file is an access handle each open asks for: a 1 GB database
    // built by bulk loads and merges had 670 spare files beside its 515
    // (most of its open). Those beyond what this session needs go a few per
    // gap between calls, so that no call waits long behind them.
    for (let n = 0; trim && n < TRIM_STEP && !this.#closed && !this.#trimFailed && this.#free.length > this.#spare + this.#floor; n++) {
      const slot = this.#free.pop();
      this.#slots.splice(this.#slots.indexOf(slot), 1);
      try {
        slot.access.close();
        await this.#dir.removeEntry(slot.file);
      } catch {
        this.#trimFailed = true; // left as an empty file: the next open adopts it as a spare
      }
    }
  }

  #floor = SPARE; // the fewest spare slots to keep (open's option)
  #spare = SPARE; // spare slots to keep now
  #taken = 0; // slots taken since the last topUp
  #trimFailed = false; // a spare file could not be removed: no more tries

  // The spare slots to keep: twice the most the calls between two top-ups
  // took since the pool opened (a call cannot wait for files: a merge that
  // finds too few fails, and runs again later). A session of bulk loads and
  // merges keeps what it grew; the spares it leaves go in the next one.
  #target() {
    return Math.max(this.#spare, 2 * this.#taken);
  }

  get needsTopUp() {
    const target = this.#target();
    return this.#free.length < target || (!this.#trimFailed && this.#free.length > target + this.#floor);
  }

  /** True when something was written since the last flush. */
  get dirty() {
    return this.#dirty.size > 0;
  }

  /** Flushes every slot written since the last flush (FileSystemSyncAccessHandle.flush). */
  flush() {
    for (const s of this.#dirty) s.access.flush();
    this.#dirty.clear();
  }

  #writeHeader(slot, kind, path) {
    const p = enc.encode(path);
    if (p.length > MAX_PATH) throw fsError('ENAMETOOLONG', `opfs: ${path}`);
    const head = new Uint8Array(16 + p.length);
    head.set(MAGIC, 0);
    head[8] = kind;
    new DataView(head.buffer).setUint32(12, p.length, true);
    head.set(p, 16);
    try {
      // A free slot is an empty file: Chromium reserves quota (1 MB and up)
      // for each file an open access handle has grown, so spare files stay empty.
      if (kind === FREE) slot.access.truncate(0);
      else {
        slot.access.truncate(HEADER);
        slot.access.write(head, { at: 0 });
      }
    } catch (err) {
      throw mapWriteError(err, `opfs: ${path || slot.file}`);
    }
    this.#dirty.add(slot);
  }

  /** The slot holding `path` of `kind`, or undefined. */
  get(kind, path) {
    return this.#byPath.get(`${kind}:${path}`);
  }

  /** Takes a free slot for `path` of `kind` (empty content). */
  create(kind, path) {
    const slot = this.#free.pop();
    if (!slot) throw fsError('EMFILE', `opfs: no free file for ${path}: too many files created in one call`);
    this.#taken++;
    try {
      this.#writeHeader(slot, kind, path);
    } catch (err) {
      this.#free.push(slot);
      throw err;
    }
    slot.kind = kind;
    slot.path = path;
    this.#byPath.set(`${kind}:${path}`, slot);
    return slot;
  }

  /** Frees a slot: its file is gone. */
  release(slot) {
    this.#byPath.delete(`${slot.kind}:${slot.path}`);
    this.#writeHeader(slot, FREE, '');
    slot.kind = FREE;
    slot.path = '';
    slot.gen++;
    this.#free.push(slot);
  }

  /** Every used slot of `kind`. */
  *entries(kind) {
    for (const s of this.#byPath.values()) if (s.kind === kind) yield s;
  }

  size(slot) {
    return slot.access.getSize() - HEADER;
  }

  read(slot, buf, at) {
    return slot.access.read(buf, { at: HEADER + at });
  }

  write(slot, buf, at) {
    let n;
    try {
      n = slot.access.write(buf, { at: HEADER + at });
    } catch (err) {
      throw mapWriteError(err, `opfs: write ${slot.path}`);
    }
    this.#dirty.add(slot);
    return n;
  }

  truncate(slot, size) {
    try {
      slot.access.truncate(HEADER + size);
    } catch (err) {
      throw mapWriteError(err, `opfs: truncate ${slot.path}`);
    }
    this.#dirty.add(slot);
  }

  /** The whole content of a slot. */
  readAll(slot) {
    const buf = new Uint8Array(this.size(slot));
    if (buf.length) this.read(slot, buf, 0);
    return buf;
  }

  /** Replaces a slot's content. */
  writeAll(slot, bytes) {
    this.truncate(slot, 0);
    if (bytes.length) this.write(slot, bytes, 0);
  }

  /** Frees every slot but the marker's: the database is empty. */
  clear() {
    for (const s of [...this.#byPath.values()]) if (s.kind !== MARKER) this.release(s);
  }

  /** True when the pool holds a file or a directory. */
  get hasFiles() {
    for (const s of this.#byPath.values()) if (s.kind === FILE || s.kind === DIR) return true;
    return false;
  }

  /** Closes every access handle (another context may open the files then). */
  close() {
    this.#closed = true;
    for (const s of this.#slots) {
      try {
        s.access.close();
      } catch {}
    }
    this.#slots = [];
    this.#byPath.clear();
    this.#free = [];
  }
}

// Whether the directory holding p exists (a directory above the pool's
// root, part of a database name with slashes, counts as existing).
function parentOk(pool, p) {
  const at = p.lastIndexOf('/');
  if (at < 0) return true;
  const parent = p.slice(0, at);
  if (pool.get(DIR, parent) || pool.name.startsWith(parent + '/')) return true;
  if (pool.get(FILE, parent)) throw fsError('ENOTDIR', `opfs: ${parent}`);
  return false;
}

/**
 * The node-`fs`-shaped host fsadapter/nodefs calls synchronously from Go
 * (host.opfs). Paths start with the database's name (nodefs's root), which
 * selects its pool.
 */
export const opfsHost = {
  /** @type {Map<string, SlotPool>} */
  pools: new Map(),
  fds: new Map(), // fd → { pool, slot, gen, append, pos, dir }
  nextFd: 3,

  poolOf(p) {
    // The longest name that is p or a directory above it: databases 'a' and 'a/b' are two.
    let best = null;
    for (const [name, pool] of this.pools) {
      if ((p === name || p.startsWith(name + '/')) && (!best || name.length > best.name.length)) best = pool;
    }
    if (!best) throw fsError('ENOENT', `opfs: ${p}: no database is open there`);
    return best;
  },

  fd(fd) {
    const f = this.fds.get(fd);
    if (!f || (f.slot && f.slot.gen !== f.gen)) throw fsError('EBADF', `opfs: descriptor ${fd}`);
    return f;
  },

  openSync(p, flag = 'r') {
    const pool = this.poolOf(p);
    const dir = pool.get(DIR, p);
    let slot = pool.get(FILE, p);
    const excl = flag.includes('x');
    if (dir) {
      if (flag !== 'r') throw fsError('EISDIR', `opfs: open ${p}`);
      const fd = this.nextFd++;
      this.fds.set(fd, { pool, slot: null, dir: true });
      return fd;
    }
    if (flag === 'r') {
      if (!slot) throw fsError('ENOENT', `opfs: open ${p}`);
    } else {
      if (slot && excl) throw fsError('EEXIST', `opfs: open ${p}`);
      if (!slot) {
        if (!parentOk(pool, p)) throw fsError('ENOENT', `opfs: open ${p}: no such directory`);
        slot = pool.create(FILE, p);
      } else if (flag.startsWith('w')) pool.truncate(slot, 0);
    }
    const fd = this.nextFd++;
    this.fds.set(fd, { pool, slot, gen: slot.gen, append: flag.startsWith('a'), pos: 0 });
    return fd;
  },

  writeSync(fd, buf, off = 0, len = buf.length - off) {
    const f = this.fd(fd);
    if (!f.slot) throw fsError('EISDIR', `opfs: write to a directory`);
    const at = f.append ? f.pool.size(f.slot) : f.pos;
    const n = f.pool.write(f.slot, buf.subarray(off, off + len), at);
    if (!f.append) f.pos += n;
    return n;
  },

  readSync(fd, buf, off, len, position) {
    const f = this.fd(fd);
    if (!f.slot) throw fsError('EISDIR', `opfs: read from a directory`);
    const at = typeof position === 'number' ? position : f.pos;
    const n = f.pool.read(f.slot, buf.subarray(off, off + len), at);
    if (typeof position !== 'number') f.pos += n;
    return n;
  },

  fsyncSync(fd) {
    const f = this.fd(fd);
    if (f.slot) f.slot.access.flush();
  },

  closeSync(fd) {
    if (!this.fds.delete(fd)) throw fsError('EBADF', `opfs: close ${fd}`);
  },

  readFileSync(p) {
    const pool = this.poolOf(p);
    const slot = pool.get(FILE, p);
    if (!slot) throw fsError(pool.get(DIR, p) ? 'EISDIR' : 'ENOENT', `opfs: read ${p}`);
    return pool.readAll(slot);
  },

  mkdirSync(p, opts) {
    const pool = this.poolOf(p);
    if (pool.get(DIR, p)) {
      if (opts?.recursive) return;
      throw fsError('EEXIST', `opfs: mkdir ${p}`);
    }
    if (pool.get(FILE, p)) throw fsError('EEXIST', `opfs: mkdir ${p}`);
    if (!parentOk(pool, p)) {
      if (!opts?.recursive) throw fsError('ENOENT', `opfs: mkdir ${p}`);
      this.mkdirSync(p.slice(0, p.lastIndexOf('/')), opts);
    }
    pool.create(DIR, p);
  },

  readdirSync(p) {
    const pool = this.poolOf(p);
    if (!pool.get(DIR, p)) throw fsError(pool.get(FILE, p) ? 'ENOTDIR' : 'ENOENT', `opfs: readdir ${p}`);
    const prefix = p + '/';
    const out = [];
    for (const kind of [FILE, DIR]) {
      for (const s of pool.entries(kind)) {
        if (s.path.startsWith(prefix) && !s.path.includes('/', prefix.length)) out.push(s.path.slice(prefix.length));
      }
    }
    return out.sort();
  },

  unlinkSync(p) {
    const pool = this.poolOf(p);
    const slot = pool.get(FILE, p);
    if (!slot) throw fsError(pool.get(DIR, p) ? 'EISDIR' : 'ENOENT', `opfs: unlink ${p}`);
    pool.release(slot);
  },

  rmdirSync(p) {
    const pool = this.poolOf(p);
    const slot = pool.get(DIR, p);
    if (!slot) throw fsError(pool.get(FILE, p) ? 'ENOTDIR' : 'ENOENT', `opfs: rmdir ${p}`);
    if (this.readdirSync(p).length) throw fsError('ENOTEMPTY', `opfs: rmdir ${p}`);
    pool.release(slot);
  },

  statSync(p) {
    const pool = this.poolOf(p);
    if (pool.get(DIR, p)) return { mode: 0o040755, size: 0, mtimeMs: 0 };
    const slot = pool.get(FILE, p);
    if (!slot) throw fsError('ENOENT', `opfs: stat ${p}`);
    return { mode: 0o100644, size: pool.size(slot), mtimeMs: 0 };
  },

  truncateSync(p, size) {
    const pool = this.poolOf(p);
    const slot = pool.get(FILE, p);
    if (!slot) throw fsError(pool.get(DIR, p) ? 'EISDIR' : 'ENOENT', `opfs: truncate ${p}`);
    pool.truncate(slot, size);
  },
};
