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
//
// Opening a handle is a round trip to the browser's storage process, so an
// open that asked for every slot's handle grew with the database (309
// files at 1 GB). The pool keeps a map of its slots (MAP_FILE) so that an
// open lists nothing and asks only for what the engine reads first: logs,
// manifests, spares, and the segments the last session read first
// (HOT_MAX). The other segments (files the engine writes once, then only
// reads, and whose every read may fail with fsadapter.ErrNotResident) stay
// closed with the map's size until a call reads one: such a read throws
// ENOTRESIDENT, the engine fails the call having changed nothing (as on
// IndexedDB), and the worker opens the handles the call asked for and runs
// it again (opfs-worker.js); the rest open in the background (openRest).
//
// The map is a hint that must never hide a file, so it is checked wherever
// it could be stale:
//   - every slot the open asks for is checked against the map's kind and
//     path (free slots included: a slot the map calls free may hold a file
//     made after the map was written);
//   - a segment's size is recorded only once the slot was flushed and not
//     written since the map before; a write to a slot whose size the map
//     records makes the map stale, and it is written again before the next
//     fsync of any file returns (so before a manifest that names the
//     segment is durable) and at the end of the call;
//   - a closed slot's header and size are checked when it opens;
//   - any difference, a slot file gone, a map that is missing or fails its
//     checksum, or an engine open that failed on the map's view, lists the
//     directory and sorts every slot by its header (the open before the
//     map existed).

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

// The pool's map: its own OPFS file beside the slots (not a slot).
//   0..7   magic "MBOPFSM1"
//   8..11  number of entries, little endian
//   then per entry: slot number (u32), kind (u8; + 0x80: opened at the next
//   open, see HOT_MAX), size (f64, -1 when not recorded), path length
//   (u16), path (UTF-8)
//   last 4 bytes: FNV-1a of everything before
const MAP_FILE = 'map';
const MAP_MAGIC = new TextEncoder().encode('MBOPFSM1');

// The files an open may leave closed: segments (engine/lsm/names.go's
// segSuffix). Every read of one may fail and be run again; a log or a
// manifest is read at open, where a failure would be damage, so those
// always open.
const LAZY_PATH = /\.sst$/;

// A slot file's name: s<N>.
const SLOT_FILE = /^s\d+$/;

// The segments an open asks for with the other handles although the map
// knows them: the first ones the last session's calls read (a lookup reads
// one segment per run), so that the first query after an open finds them
// open instead of running twice. A session that read none keeps the last
// one's.
const HOT_MAX = 16;
const HOT = 0x80;

// Closed slots asked for at a time in the background (see openRest): a
// call that needs another waits behind at most these in the storage process.
const OPEN_STEP = 8;

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

function fnv1a(bytes, end) {
  let h = 0x811c9dc5;
  for (let i = 0; i < end; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
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
  constructor(file, access, handle = null) {
    this.file = file; // the OPFS file name
    this.access = access; // FileSystemSyncAccessHandle, null while closed (a segment the map knows)
    this.handle = handle; // the FileSystemFileHandle, kept while closed
    this.kind = FREE;
    this.path = '';
    this.size = -1; // a closed slot's content size, from the map
    this.mapped = -1; // the size the map on disk records for it (-1: none)
    this.hot = false; // the map says to open it at the next open (HOT_MAX)
    this.suspect = false; // opened, and not what the map said: unreadable until sorted
    this.gen = 0; // bumped when freed: descriptors of the old file go stale
  }
}

/** The kind and path a slot file's header names, or null for a free slot (empty, or no valid header). */
function readHeader(access) {
  if (access.getSize() < 16) return null;
  const head = new Uint8Array(16);
  access.read(head, { at: 0 });
  if (!MAGIC.every((b, i) => head[i] === b)) return null;
  const kind = head[8];
  const len = new DataView(head.buffer).getUint32(12, true);
  if (kind === FREE || len > MAX_PATH) return null;
  const path = new Uint8Array(len);
  access.read(path, { at: 16 });
  return { kind, path: dec.decode(path) };
}

/** The map's entries, or null when it is missing, torn or of another version. */
function parseMap(b) {
  const n = b.length;
  if (n < MAP_MAGIC.length + 8) return null;
  if (!MAP_MAGIC.every((x, i) => b[i] === x)) return null;
  const v = new DataView(b.buffer, b.byteOffset, n);
  if (v.getUint32(n - 4, true) !== fnv1a(b, n - 4)) return null;
  const count = v.getUint32(8, true);
  const out = new Map();
  let at = 12;
  for (let i = 0; i < count; i++) {
    if (at + 15 > n - 4) return null;
    const num = v.getUint32(at, true);
    const kind = b[at + 4] & ~HOT;
    const hot = (b[at + 4] & HOT) !== 0;
    const size = v.getFloat64(at + 5, true);
    const len = v.getUint16(at + 13, true);
    at += 15;
    if (at + len > n - 4) return null;
    out.set(`s${num}`, { kind, hot, size, path: dec.decode(b.subarray(at, at + len)) });
    at += len;
  }
  return at === n - 4 ? out : null;
}

// Whether two readings of the map say the same.
function sameMap(a, b) {
  if (a.size !== b.size) return false;
  for (const [file, c] of a) {
    const d = b.get(file);
    if (!d || d.kind !== c.kind || d.hot !== c.hot || d.size !== c.size || d.path !== c.path) return false;
  }
  return true;
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
  #ready = false; // opened and sorted: close() may write the map
  #retries = ACCESS_RETRIES;
  #map = null; // the map file's access handle
  #mapDirty = false; // the map on disk no longer describes the slots
  #written = new Set(); // slots written since the map was last written, or not flushed then
  #shut = new Set(); // slots whose handle is not open yet (segments the map knows)
  #wanted = new Set(); // of those, the ones a call tried to read
  #hot = new Set(); // the first segments calls of this session read (HOT_MAX)
  #hotChanged = false; // #hot grew since the map was written
  #opening = new Map(); // closed slot → the promise of its handle (#openOne)
  #fromMap = false; // the open went by the map
  name;
  /** Slots the open left closed, opened since, calls run again after opening them (the worker counts), and times every slot had to be sorted by its header (a stale map). */
  counters = { leftClosed: 0, openedLater: 0, reruns: 0, fullOpens: 0 };

  constructor(name, dir) {
    this.name = name;
    this.#dir = dir;
  }

  /**
   * Opens (creating when missing) the pool of database `name` under OPFS
   * directory minibase/<name>: every slot's access handle but those of the
   * segments its map knows (see the top of this file). A file another
   * context holds is asked for again every 50 ms, `retries` times, before
   * the open fails (EBUSY, `locked`).
   */
  static async open(name, { spare = SPARE, retries = ACCESS_RETRIES } = {}) {
    const root = await navigator.storage.getDirectory();
    const top = await root.getDirectoryHandle('minibase', { create: true });
    const dir = await top.getDirectoryHandle(encodeURIComponent(name), { create: true });
    const pool = new SlotPool(name, dir);
    pool.#spare = pool.#floor = spare;
    pool.#retries = retries;
    try {
      const mapHandle = await dir.getFileHandle(MAP_FILE, { create: true });
      // Read without its access handle, so that the map's handle is asked
      // for with the others rather than before them (a round trip of its
      // own, the slowest of an open in a worker that just started).
      let claims = null;
      try {
        claims = parseMap(new Uint8Array(await (await mapHandle.getFile()).arrayBuffer()));
      } catch {
        // Held by a context going away: read through the handle below.
      }
      if (claims) {
        const [map, files] = await Promise.allSettled([openAccess(mapHandle, retries), pool.#openFromMap(claims)]);
        if (map.status === 'fulfilled') pool.#map = map.value;
        if (map.status === 'rejected') throw map.reason;
        if (files.status === 'rejected') throw files.reason;
        // Written between the read and the handle (another context's last write): the headers decide.
        const now = pool.#readMapFile();
        if (!now || !sameMap(now, claims)) await pool.#sortAll();
      } else {
        pool.#map = await openAccess(mapHandle, retries);
        claims = pool.#readMapFile();
        if (claims) await pool.#openFromMap(claims);
        else {
          await pool.#openFiles([...(await pool.#list())]);
          for (const slot of pool.#slots) pool.#adopt(slot);
        }
      }
      // A new pool, one written before the map, or with a torn or stale one: the map now.
      if (!claims || pool.#mapDirty) pool.#writeMap();
      await pool.topUp({ trim: false }); // spares beyond need go later, between calls
      pool.#ready = true;
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  // The map's entries read through its access handle (see parseMap).
  #readMapFile() {
    const b = new Uint8Array(this.#map.getSize());
    if (b.length) this.#map.read(b, { at: 0 });
    return parseMap(b);
  }

  // The slot files in the directory.
  async #list() {
    const found = new Map();
    for await (const [file, handle] of this.#dir.entries()) {
      if (handle.kind !== 'file' || !SLOT_FILE.test(file)) continue;
      this.#next = Math.max(this.#next, Number(file.slice(1)) + 1);
      found.set(file, handle);
    }
    return found;
  }

  // Opens the slots the map names, without listing the directory (a round
  // trip per entry): the segments whose size it records stay closed, every
  // other slot opens and must be what the map says. A writer that does not
  // keep the map (an earlier version of this library) changes one of those
  // whenever it changes what files there are (a new file takes a free slot,
  // a new manifest frees the last one's slot), so a difference, or a slot
  // file gone, has every slot opened and sorted by its header. Slot files
  // the map does not name are spares a top-up made before it could write
  // the map (empty, never handed out): the next full sort finds them.
  async #openFromMap(claims) {
    this.#fromMap = true;
    const now = [];
    for (const [file, c] of claims) {
      this.#next = Math.max(this.#next, Number(file.slice(1)) + 1);
      if (c.kind === FILE && c.size >= 0 && LAZY_PATH.test(c.path) && !c.hot) {
        const slot = new Slot(file, null);
        slot.kind = FILE;
        slot.path = c.path;
        slot.size = slot.mapped = c.size;
        this.#slots.push(slot);
        this.#shut.add(slot);
      } else now.push([file, c]);
    }
    let stale = false;
    const handles = await Promise.allSettled(now.map(([file]) => this.#dir.getFileHandle(file)));
    const files = [];
    handles.forEach((r, i) => {
      if (r.status === 'fulfilled') files.push([now[i][0], r.value]);
      else if (r.reason?.name === 'NotFoundError') stale ||= now[i][1].kind !== FREE; // a free one: removed as a spare
      else throw r.reason;
    });
    await this.#openFiles(files);
    for (const slot of this.#slots) {
      if (!slot.access) continue;
      this.#adopt(slot);
      const c = claims.get(slot.file);
      if (slot.kind !== c.kind || slot.path !== c.path) stale = true;
      slot.hot = c.hot;
    }
    for (const slot of this.#shut) {
      const key = `${FILE}:${slot.path}`;
      if (this.#byPath.has(key)) stale = true;
      else this.#byPath.set(key, slot);
    }
    this.counters.leftClosed = this.#shut.size;
    if (stale) await this.#sortAll();
  }

  // Opens the access handles of `files` ([name, FileSystemFileHandle]) as
  // slots of the pool, every one asked for at once: each is a round trip to
  // the browser's storage process. Every handle that opened is the pool's
  // before a failure is thrown, so close() lets go of it.
  async #openFiles(files) {
    const opened = await Promise.allSettled(files.map(([, handle]) => openAccess(handle, this.#retries)));
    opened.forEach((r, i) => {
      if (r.status === 'fulfilled') this.#slots.push(new Slot(files[i][0], r.value, files[i][1]));
    });
    const failed = opened.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  // The access handle of a closed slot, asked for once however many wait
  // for it (a second createSyncAccessHandle of one file fails), and
  // attached to the slot; null when the slot's file is gone. A slot that is
  // not what the map said (a stale map) stays unreadable (suspect) until
  // every slot is sorted by its header.
  #openOne(slot, retries) {
    let opening = this.#opening.get(slot);
    if (opening) return opening;
    opening = (async () => {
      try {
        slot.handle ??= await this.#dir.getFileHandle(slot.file);
      } catch (err) {
        if (err?.name === 'NotFoundError') return null;
        throw err;
      }
      const access = await openAccess(slot.handle, retries);
      if (this.#closed) {
        try {
          access.close();
        } catch {}
        throw fsError('EBADF', `opfs: ${this.name} was closed`);
      }
      if (!slot.access) {
        slot.access = access;
        this.#shut.delete(slot);
        this.counters.openedLater++;
        if (!this.#matches(slot)) slot.suspect = true;
      }
      return access;
    })();
    this.#opening.set(slot, opening);
    const done = () => this.#opening.delete(slot);
    opening.then(done, done);
    return opening;
  }

  // Opens the handles of closed slots (all asked for at once); returns
  // whether a slot's file was gone.
  async #openHandles(slots, retries = this.#retries) {
    const opened = await Promise.allSettled(slots.map((s) => this.#openOne(s, retries)));
    const failed = opened.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return opened.some((r) => r.value === null);
  }

  // Opens closed slots: one that is not what the map said, or whose file is
  // gone, has every slot sorted by its header.
  async #openShut(slots, retries) {
    const gone = await this.#openHandles(slots, retries);
    if (gone || slots.some((s) => s.suspect)) await this.#sortAll();
  }

  // Whether a slot just opened holds the file the map said, at its size.
  #matches(slot) {
    if (slot.access.getSize() !== HEADER + slot.size) return false;
    const h = readHeader(slot.access);
    return h?.kind === FILE && h.path === slot.path;
  }

  // Lists the directory, opens every slot file and sorts every slot by its
  // header, as an open without a map does; a slot that turns out to hold
  // another file than was thought (or none, or whose file is gone) makes
  // its descriptors stale.
  async #sortAll() {
    this.counters.fullOpens++;
    const listed = await this.#list();
    for (const slot of [...this.#slots]) {
      if (listed.has(slot.file)) {
        slot.handle ??= listed.get(slot.file);
        continue;
      }
      this.#slots.splice(this.#slots.indexOf(slot), 1);
      this.#shut.delete(slot);
      slot.gen++;
      try {
        slot.access?.close();
      } catch {}
    }
    const known = new Set(this.#slots.map((s) => s.file));
    await this.#openFiles([...listed].filter(([file]) => !known.has(file)));
    await this.#openHandles([...this.#shut]);
    for (const slot of [...this.#shut]) {
      // Gone since the listing: not a slot any more.
      this.#slots.splice(this.#slots.indexOf(slot), 1);
      this.#shut.delete(slot);
      slot.gen++;
    }
    this.#byPath.clear();
    this.#free = [];
    for (const slot of this.#slots) {
      const was = `${slot.kind}:${slot.path}`;
      slot.kind = FREE;
      slot.path = '';
      slot.size = -1;
      slot.suspect = false;
      this.#adopt(slot);
      if (`${slot.kind}:${slot.path}` !== was) slot.gen++;
    }
    this.#mapDirty = true;
  }

  // Sorts an opened slot (already one of #slots) by its header: a file's, or free.
  #adopt(slot) {
    const h = readHeader(slot.access);
    if (!h) {
      this.#free.push(slot);
      return;
    }
    slot.kind = h.kind;
    slot.path = h.path;
    this.#byPath.set(`${h.kind}:${h.path}`, slot);
  }

  /** The pool's counts, as stats() reports them (numbers). */
  stats() {
    return {
      opfsFiles: this.#slots.length,
      opfsFilesClosed: this.#shut.size,
      opfsFilesLeftClosed: this.counters.leftClosed,
      opfsFilesOpenedLater: this.counters.openedLater,
      opfsReruns: this.counters.reruns,
      opfsFullOpens: this.counters.fullOpens,
    };
  }

  /** True when a call tried to read files whose handles are not open yet (openWanted opens them). */
  get wantsFiles() {
    return this.#wanted.size > 0;
  }

  /** The slots whose handles are not open yet. */
  get closedFiles() {
    return this.#shut.size;
  }

  /** Opens the handles of the files calls tried to read since the last time (or sorts every slot, when one was not what the map said). */
  async openWanted() {
    const slots = [...this.#wanted];
    this.#wanted.clear();
    if (slots.some((s) => s.suspect)) return this.#sortAll();
    const shut = slots.filter((s) => this.#shut.has(s));
    if (shut.length) await this.#openShut(shut);
  }

  /**
   * Lists the directory and sorts every slot by its header once in this
   * session, when the open went by the map: an engine open that failed on
   * a map-led view (a file it misses, a size that differs) runs again on
   * the headers' before its failure is believed. False when there is
   * nothing more to look at.
   */
  async resort() {
    if (!this.#fromMap || this.counters.fullOpens > 0) return false;
    await this.#sortAll();
    return true;
  }

  /** Opens every handle still closed. */
  async openAll() {
    this.#wanted.clear();
    if (this.#shut.size) await this.#openShut([...this.#shut]);
  }

  /**
   * Creates OPFS files until the spare ones suffice (asynchronous: between
   * calls), and removes a few of those a busy stretch left beyond that.
   */
  async topUp({ trim = true } = {}) {
    this.#spare = this.#target();
    this.#taken = 0;
    let changed = false;
    while (this.#free.length < this.#spare && !this.#closed) {
      const file = `s${this.#next++}`;
      const handle = await this.#dir.getFileHandle(file, { create: true });
      const slot = new Slot(file, await openAccess(handle), handle);
      this.#slots.push(slot);
      changed = true;
      if (slot.access.getSize() > 0) {
        // Not new: a file the map does not name (made by a writer that keeps
        // no map). Every slot is sorted by its header, this one too.
        await this.#sortAll();
        continue;
      }
      this.#free.push(slot);
    }
    // Every file is an access handle each open asks for: a 1 GB database
    // built by bulk loads and merges had 670 spare files beside its 515
    // (most of its open). Those beyond what this session needs go a few per
    // gap between calls, so that no call waits long behind them.
    for (let n = 0; trim && n < TRIM_STEP && !this.#closed && !this.#trimFailed && this.#free.length > this.#spare + this.#floor; n++) {
      await this.#trimOne();
      changed = true;
    }
    // The map names every slot file, so that an open need not list them.
    if (changed && !this.#closed) this.#writeMap();
  }

  /**
   * Removes every spare file beyond the fewest the pool keeps (before it
   * closes: the next open then asks for fewer handles).
   */
  async trim() {
    let changed = false;
    for (; !this.#closed && !this.#trimFailed && this.#free.length > this.#floor; changed = true) await this.#trimOne();
    if (changed && !this.#closed) this.#writeMap();
  }

  // Takes one spare out of the pool and removes its file (when that fails,
  // the file stays, empty, and no more are tried).
  async #trimOne() {
    const slot = this.#free.pop();
    this.#slots.splice(this.#slots.indexOf(slot), 1);
    try {
      slot.access.close();
      await this.#dir.removeEntry(slot.file);
    } catch {
      this.#trimFailed = true; // left as an empty file: the next full sort adopts it as a spare
    }
  }

  /** True while handles are closed and opening them in the background has not failed. */
  get opensLater() {
    return this.#shut.size > 0 && !this.#laterFailed;
  }

  /**
   * Opens every handle still closed, `width` asked for at a time, beside
   * the calls: the browser's storage process does that work, not this
   * thread, and each handle is attached between calls. A handle that does
   * not open at once (another context holds it, which the Web Lock says
   * none should) stops this: calls then open what they read, waiting as an
   * open does. Writes the map first when the session's first reads changed
   * which segments the next open asks for.
   */
  async openRest(width = OPEN_STEP) {
    if (this.#hotChanged && !this.#closed) this.#writeMap();
    const next = () => {
      for (const s of this.#shut) if (!this.#opening.has(s)) return s;
      return null;
    };
    const lane = async () => {
      for (let s = next(); s && !this.#closed && !this.#laterFailed; s = next()) await this.#openOne(s, 0);
    };
    try {
      await Promise.all(Array.from({ length: width }, lane));
    } catch (err) {
      this.#laterFailed = true;
      throw err;
    }
  }

  #laterFailed = false;

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

  /** Flushes every slot written since the last flush (FileSystemSyncAccessHandle.flush), then the map when it changed. */
  flush() {
    for (const s of this.#dirty) s.access.flush();
    this.#dirty.clear();
    if (this.#mapDirty) this.#writeMap();
  }

  /**
   * Flushes one slot (an fsync), and the map first written again when it
   * changed: a file this call wrote may be named by what the caller
   * writes next (a segment by a manifest), and the map on disk must not
   * say otherwise by then.
   */
  sync(slot) {
    if (slot.access) {
      slot.access.flush();
      this.#dirty.delete(slot);
    }
    if (this.#mapDirty) this.#writeMap();
  }

  // Writes the map of every slot (and flushes it). A segment's size is
  // recorded only when it was flushed and not written since the map
  // before. A map that cannot be written is emptied, so that the next open
  // asks for every handle; if even that fails, the caller's flush fails.
  #writeMap() {
    if (!this.#map) return;
    const rows = [];
    let n = 12 + 4;
    for (const s of this.#slots) {
      let size = -1;
      if (s.kind === FILE && LAZY_PATH.test(s.path)) {
        if (!s.access) size = s.size;
        else if (!this.#dirty.has(s) && !this.#written.has(s)) size = s.access.getSize() - HEADER;
      }
      const p = enc.encode(s.path);
      rows.push([s, size, p]);
      n += 15 + p.length;
    }
    const b = new Uint8Array(n);
    const v = new DataView(b.buffer);
    b.set(MAP_MAGIC, 0);
    v.setUint32(8, rows.length, true);
    let at = 12;
    for (const [s, size, p] of rows) {
      v.setUint32(at, Number(s.file.slice(1)), true);
      // The first segments this session's calls read, or those the last one's did.
      const hot = s.kind === FILE && (this.#hot.size ? this.#hot.has(s) : s.hot);
      b[at + 4] = s.kind | (hot ? HOT : 0);
      v.setFloat64(at + 5, size, true);
      v.setUint16(at + 13, p.length, true);
      b.set(p, at + 15);
      at += 15 + p.length;
    }
    v.setUint32(at, fnv1a(b, at), true);
    try {
      this.#map.write(b, { at: 0 });
      this.#map.truncate(n);
      this.#map.flush();
    } catch (err) {
      try {
        this.#map.truncate(0);
        this.#map.flush();
      } catch {
        throw mapWriteError(err, `opfs: ${this.name}: the map of its files`);
      }
      for (const s of this.#slots) s.mapped = -1;
      return; // still dirty: written again at the next flush
    }
    for (const [s, size] of rows) s.mapped = size;
    this.#written = new Set(this.#dirty);
    this.#mapDirty = false;
    this.#hotChanged = false;
  }

  // Notes a write to a slot: to flush, and a size the map no longer knows.
  #touch(slot) {
    this.#dirty.add(slot);
    this.#written.add(slot);
    if (slot.mapped >= 0) this.#mapDirty = true;
  }

  // A slot's open access handle; a closed one is noted for openWanted and
  // fails the read (ENOTRESIDENT: fsadapter.ErrNotResident to the engine,
  // which fails its call having changed nothing).
  #access(slot) {
    if (slot.access && !slot.suspect) return slot.access;
    this.#wanted.add(slot);
    throw fsError('ENOTRESIDENT', `opfs: ${slot.path}: its file is not open yet`);
  }

  #writeHeader(slot, kind, path) {
    const p = enc.encode(path);
    if (p.length > MAX_PATH) throw fsError('ENAMETOOLONG', `opfs: ${path}`);
    const access = this.#access(slot);
    const head = new Uint8Array(16 + p.length);
    head.set(MAGIC, 0);
    head[8] = kind;
    new DataView(head.buffer).setUint32(12, p.length, true);
    head.set(p, 16);
    try {
      // A free slot is an empty file: Chromium reserves quota (1 MB and up)
      // for each file an open access handle has grown, so spare files stay empty.
      if (kind === FREE) access.truncate(0);
      else {
        access.truncate(HEADER);
        access.write(head, { at: 0 });
      }
    } catch (err) {
      throw mapWriteError(err, `opfs: ${path || slot.file}`);
    }
    this.#touch(slot);
    this.#mapDirty = true;
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
    this.#writeHeader(slot, FREE, '');
    this.#byPath.delete(`${slot.kind}:${slot.path}`);
    slot.kind = FREE;
    slot.path = '';
    slot.gen++;
    this.#free.push(slot);
  }

  /** Every used slot of `kind`. */
  *entries(kind) {
    for (const s of this.#byPath.values()) if (s.kind === kind) yield s;
  }

  /** A file's size (a closed one's from the map). */
  size(slot) {
    if (slot.suspect) this.#access(slot);
    return slot.access ? slot.access.getSize() - HEADER : slot.size;
  }

  read(slot, buf, at) {
    if (this.#hot.size < HOT_MAX && !this.#hot.has(slot) && slot.kind === FILE && LAZY_PATH.test(slot.path)) {
      this.#hot.add(slot);
      this.#hotChanged = true;
    }
    return this.#access(slot).read(buf, { at: HEADER + at });
  }

  write(slot, buf, at) {
    const access = this.#access(slot);
    let n;
    try {
      n = access.write(buf, { at: HEADER + at });
    } catch (err) {
      throw mapWriteError(err, `opfs: write ${slot.path}`);
    }
    this.#touch(slot);
    return n;
  }

  truncate(slot, size) {
    const access = this.#access(slot);
    try {
      access.truncate(HEADER + size);
    } catch (err) {
      throw mapWriteError(err, `opfs: truncate ${slot.path}`);
    }
    this.#touch(slot);
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
  async clear() {
    await this.openAll();
    for (const s of [...this.#byPath.values()]) if (s.kind !== MARKER) this.release(s);
  }

  /** True when the pool holds a file or a directory. */
  get hasFiles() {
    for (const s of this.#byPath.values()) if (s.kind === FILE || s.kind === DIR) return true;
    return false;
  }

  /**
   * Closes every access handle (another context may open the files then),
   * after flushing what was written and the map, which then knows the size
   * of every segment.
   */
  close() {
    if (this.#ready && !this.#closed) {
      try {
        // Everything is flushed before the map is written: it may record every size.
        this.#written.clear();
        this.#mapDirty = true;
        this.flush();
      } catch {
        // Not flushed here: closing the handles persists what they wrote, and a stale map is checked.
      }
    }
    this.#closed = true;
    for (const s of this.#slots) {
      try {
        s.access?.close();
      } catch {}
    }
    try {
      this.#map?.close();
    } catch {}
    this.#map = null;
    this.#slots = [];
    this.#byPath.clear();
    this.#free = [];
    this.#shut.clear();
    this.#wanted.clear();
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
    if (f.slot) f.pool.sync(f.slot);
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

  /**
   * readdirSync's files with their sizes, for fsadapter/nodefs's
   * ReadDirSizes: "size\tname" lines in one string, so that the engine
   * reads a directory's sizes in one crossing instead of a statSync per
   * file (a closed segment's size is the pool map's).
   */
  readdirSizesSync(p) {
    const pool = this.poolOf(p);
    if (!pool.get(DIR, p)) throw fsError(pool.get(FILE, p) ? 'ENOTDIR' : 'ENOENT', `opfs: readdir ${p}`);
    const prefix = p + '/';
    let out = '';
    for (const s of pool.entries(FILE)) {
      const name = s.path.slice(prefix.length);
      if (s.path.startsWith(prefix) && !name.includes('/') && !name.includes('\n')) out += `${pool.size(s)}\t${name}\n`;
    }
    return out;
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
