// Moving data out of and into a root: NDJSON export and import of tables,
// and backups of the whole root (every database, the storage manager, sync
// state) as one checksummed file (engine/backupfile). Every long job runs a
// bounded piece per bridge call, reports progress and can be cancelled, so
// memory stays flat whatever the size of the data.

import { MinibaseError } from './errors.js';

/** The name and version an export's header carries. */
export const EXPORT_FORMAT = 'minibase-export';
export const EXPORT_VERSION = 1;

const EXPORT_PAGE_ROWS = 1000;
const IMPORT_BATCH_ROWS = 1000;
const IMPORT_BATCH_BYTES = 1 << 20;
const BACKUP_PIECE_BYTES = 1 << 20;
const MAX_REJECTED = 1000;
/** The longest line an import reads: a row is at most the engine's request limit. */
const MAX_LINE = 64 * 2 ** 20;

/**
 * @typedef {object} Io what a job needs of a connection
 * @property {(op: string, ...args: unknown[]) => unknown} call an op with the connection handle first
 * @property {(op: string, ...args: unknown[]) => unknown} raw an op without it
 * @property {object} [files] the host's file access (node, wx): `{ write(path), read(path) }`
 */

/**
 * An AbortController stand-in for hosts without one (mini-programs): its
 * `signal` is what `export`, `import`, `backup` and `restore` accept, and so
 * is a real AbortSignal.
 * @returns {{ signal: { aborted: boolean, reason: unknown }, abort(reason?: unknown): void }}
 */
export function createAbortSignal() {
  const signal = { aborted: false, reason: undefined };
  return {
    signal,
    abort(reason) {
      if (signal.aborted) return;
      signal.aborted = true;
      signal.reason = reason ?? new MinibaseError('ABORTED', 'the operation was cancelled');
    },
  };
}

/** Runs a clean-up call whose failure must not hide the error being reported. */
async function quietly(fn) {
  try {
    await fn();
  } catch {
    // the job is gone already, or the engine with it
  }
}

function checkAborted(signal, what) {
  if (signal?.aborted) {
    const r = signal.reason;
    throw r instanceof MinibaseError ? r : new MinibaseError('ABORTED', `${what}: cancelled${r?.message ? ` (${r.message})` : ''}`);
  }
}

// --- values in JSON: bytes as { $bytes: base64 } ---

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

function toBase64(u8) {
  let out = '';
  for (let i = 0; i < u8.length; i += 3) {
    const n = (u8[i] << 16) | ((u8[i + 1] ?? 0) << 8) | (u8[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    out += i + 1 < u8.length ? B64[(n >> 6) & 63] : '=';
    out += i + 2 < u8.length ? B64[n & 63] : '=';
  }
  return out;
}

function fromBase64(s) {
  const clean = s.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let j = 0;
  for (const c of clean) {
    const v = B64_INDEX.get(c);
    if (v === undefined) throw new Error('bad base64');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 255;
    }
  }
  return out;
}

function replacer(_key, v) {
  return v instanceof Uint8Array ? { $bytes: toBase64(v) } : v;
}

function reviver(_key, v) {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.$bytes === 'string' && Object.keys(v).length === 1) {
    return fromBase64(v.$bytes);
  }
  return v;
}

// --- export ---

/**
 * The tables an export covers, as [db, table] pairs.
 * @param {Io} io
 * @param {{ databases?: string[], tables?: string[] }} options tables as 'db.table' or names in `databases`
 */
async function exportTargets(io, options) {
  const dbs = options.databases ?? (await io.call('showDatabases'));
  if (!Array.isArray(dbs)) throw new MinibaseError('BAD_QUERY', 'export: databases must be an array of names');
  const out = [];
  for (const db of dbs) {
    for (const table of await io.call('showTables', db)) out.push([db, table]);
  }
  if (options.tables === undefined) return out;
  if (!Array.isArray(options.tables)) throw new MinibaseError('BAD_QUERY', "export: tables must be an array of 'db.table' or table names");
  const want = new Set(options.tables);
  const picked = out.filter(([db, t]) => want.has(`${db}.${t}`) || want.has(t));
  for (const name of want) {
    if (!picked.some(([db, t]) => name === `${db}.${t}` || name === t)) {
      throw new MinibaseError('NO_SUCH_TABLE', `export: no table ${name}`);
    }
  }
  return picked;
}

/**
 * Exports tables as NDJSON lines (each string ends with '\n'): a header
 * `{ format, version, exportedAt, tables: [{ database, table, schema, rows }] }`,
 * then `{ t, r }` per row (t: the table's place in the header), then
 * `{ end: true, rows }`. Every row is read from one snapshot, taken when the
 * export starts; writers are not held up.
 * @param {Io} io
 * @param {{ databases?: string[], tables?: string[], onProgress?: Function, signal?: object }} [options]
 * @returns {AsyncGenerator<string>}
 */
export async function* exportLines(io, options = {}) {
  const { onProgress, signal } = options;
  checkAborted(signal, 'export');
  const targets = await exportTargets(io, options);
  const tx = await io.call('begin');
  try {
    const tables = [];
    let total = 0;
    for (const [db, table] of targets) {
      const schema = await io.call('describeTable', db, table);
      const rows = await io.call('count', tx, db, table, {});
      total += rows;
      tables.push({ database: db, table, schema, rows });
    }
    const header = { format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: new Date().toISOString(), tables };
    let bytes = 0;
    let line = JSON.stringify(header, replacer) + '\n';
    bytes += line.length;
    yield line;
    let done = 0;
    for (let t = 0; t < tables.length; t++) {
      let after = null;
      do {
        checkAborted(signal, 'export');
        const [rows, next] = await io.call('exportPage', tx, tables[t].database, tables[t].table, after, EXPORT_PAGE_ROWS);
        for (const r of rows) {
          line = JSON.stringify({ t, r }, replacer) + '\n';
          bytes += line.length;
          yield line;
        }
        done += rows.length;
        onProgress?.({ done, total, bytes });
        after = next;
      } while (after !== null);
    }
    line = JSON.stringify({ end: true, rows: done }) + '\n';
    yield line;
  } finally {
    await quietly(() => io.call('rollback', tx));
  }
}

// --- reading sources line by line ---

function isRereadable(source) {
  return typeof source === 'function' || typeof source === 'string' || source instanceof Uint8Array ||
    source instanceof ArrayBuffer || isBlob(source);
}

function isBlob(x) {
  return x !== null && typeof x === 'object' && typeof x.arrayBuffer === 'function' && typeof x.size === 'number';
}

/** The chunks (strings or bytes) of a source. */
async function* chunksOf(source, files) {
  if (typeof source === 'function') source = await source();
  if (typeof source === 'string' || source instanceof Uint8Array) {
    yield source;
  } else if (source instanceof ArrayBuffer) {
    yield new Uint8Array(source);
  } else if (isBlob(source)) {
    if (typeof source.stream === 'function') {
      yield* iterate(source.stream());
    } else {
      yield new Uint8Array(await source.arrayBuffer());
    }
  } else if (source && (typeof source[Symbol.asyncIterator] === 'function' || typeof source[Symbol.iterator] === 'function')) {
    for await (const c of source) yield c;
  } else if (source && typeof source.getReader === 'function') {
    yield* iterate(source);
  } else if (source && typeof source === 'object' && typeof source.path === 'string' && files) {
    yield* files.read(source.path);
  } else {
    throw new MinibaseError('BAD_QUERY', 'the source must be a string, bytes, a Blob, an (async) iterable of chunks, a { path } or a function returning one');
  }
}

async function* iterate(stream) {
  if (typeof stream[Symbol.asyncIterator] === 'function') {
    yield* stream;
    return;
  }
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock?.();
  }
}

/** Splits a source into lines: `{ text, line, bytes }` (bytes read so far). */
async function* linesOf(source, files) {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending = '';
  let line = 0;
  let bytes = 0;
  for await (const chunk of chunksOf(source, files)) {
    let text;
    if (typeof chunk === 'string') {
      text = chunk;
      bytes += chunk.length;
    } else {
      const u8 = chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk);
      bytes += u8.length;
      try {
        text = decoder.decode(u8, { stream: true });
      } catch {
        throw new MinibaseError('BAD_FORMAT', `line ${line + 1}: not UTF-8 text`);
      }
    }
    pending += text;
    if (pending.length > MAX_LINE && pending.indexOf('\n') < 0) {
      throw new MinibaseError('TOO_LARGE', `line ${line + 1} is longer than ${MAX_LINE / 2 ** 20} MB: not a minibase export, or a row too large to import`);
    }
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const t = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      line++;
      if (t.trim() !== '') yield { text: t, line, bytes };
    }
  }
  if (pending.trim() !== '') yield { text: pending, line: line + 1, bytes };
}

function parseLine(l) {
  try {
    return JSON.parse(l.text, reviver);
  } catch {
    throw new MinibaseError('BAD_FORMAT', `line ${l.line}: not a JSON line of a minibase export`);
  }
}

/** Checks an export's header; returns its tables. */
function checkHeader(h) {
  if (h === null || typeof h !== 'object' || h.format !== EXPORT_FORMAT) {
    throw new MinibaseError('BAD_FORMAT', `line 1: not a minibase export (expected a header with format '${EXPORT_FORMAT}')`);
  }
  if (!Number.isInteger(h.version) || h.version < 1) throw new MinibaseError('BAD_FORMAT', 'line 1: the header has no valid version');
  if (h.version > EXPORT_VERSION) {
    throw new MinibaseError('VERSION_TOO_NEW', `the export is format version ${h.version}; this minibase reads up to ${EXPORT_VERSION}: update it`);
  }
  if (!Array.isArray(h.tables)) throw new MinibaseError('BAD_FORMAT', 'line 1: the header lists no tables');
  for (const t of h.tables) {
    if (!t || typeof t.database !== 'string' || typeof t.table !== 'string' || !t.schema || !Array.isArray(t.schema.columns) || !Number.isInteger(t.rows)) {
      throw new MinibaseError('BAD_FORMAT', 'line 1: a table of the header lacks database, table, schema or rows');
    }
  }
  return h.tables;
}

/**
 * Reads a whole export and checks its shape (header, JSON, row lines, end
 * line and counts) without writing anything.
 */
async function checkExport(source, files, signal) {
  let tables = null;
  const counts = [];
  let end = null;
  for await (const l of linesOf(source, files)) {
    const v = parseLine(l);
    if (tables === null) {
      tables = checkHeader(v);
      continue;
    }
    checkAborted(signal, 'import');
    if (end !== null) throw new MinibaseError('BAD_FORMAT', `line ${l.line}: data after the end line`);
    if (v?.end === true) {
      end = v;
      continue;
    }
    const t = rowTable(v, l, tables);
    counts[t] = (counts[t] ?? 0) + 1;
  }
  checkEnd(tables, counts, end);
  return tables;
}

function rowTable(v, l, tables) {
  if (!v || typeof v !== 'object' || !Number.isInteger(v.t) || v.t < 0 || v.t >= tables.length || !v.r || typeof v.r !== 'object' || Array.isArray(v.r)) {
    throw new MinibaseError('BAD_FORMAT', `line ${l.line}: not a row line ({ t, r })`);
  }
  return v.t;
}

function checkEnd(tables, counts, end) {
  if (tables === null) throw new MinibaseError('BAD_FORMAT', 'the source is empty: not a minibase export');
  if (end === null) throw new MinibaseError('CORRUPT', 'the export ends early (truncated): it has no end line');
  const total = tables.reduce((n, t, i) => {
    if ((counts[i] ?? 0) !== t.rows) {
      throw new MinibaseError('CORRUPT', `the export holds ${counts[i] ?? 0} rows of ${t.database}.${t.table}, its header says ${t.rows}`);
    }
    return n + t.rows;
  }, 0);
  if (end.rows !== total) throw new MinibaseError('CORRUPT', `the end line counts ${end.rows} rows, the export holds ${total}`);
}

/** The createTable spec of an exported schema. */
function specOf(schema) {
  const { name: _name, primaryKey, ...spec } = schema;
  // A unique column brings its own index, which describeTable lists too.
  const uniqueCols = new Set(spec.columns.filter((c) => c.unique).map((c) => c.name));
  if (Array.isArray(spec.indexes)) {
    spec.indexes = spec.indexes.filter((ix) => !(ix.unique && ix.columns?.length === 1 && uniqueCols.has(ix.columns[0]) && ix.name === `${ix.columns[0]}_unique`));
  }
  // describeTable names the key both ways; createTable takes one. A
  // compound key keeps its order only in primaryKey.
  if (Array.isArray(primaryKey) && primaryKey.length > 1) {
    spec.columns = spec.columns.map(({ primaryKey: _pk, ...c }) => c);
    spec.primaryKey = primaryKey;
  }
  return spec;
}

/** Rewords an engine error about row i of a batch to name its line. */
function atLine(err, lines) {
  if (!(err instanceof MinibaseError)) return err;
  const m = /\(row (\d+)\)/.exec(err.message);
  const line = m ? lines[Number(m[1])] : undefined;
  if (line !== undefined) {
    err.message = `line ${line}: ${err.message.replace(/ \(row \d+\)/, '')}`;
    err.line = line;
  }
  return err;
}

/**
 * Imports an export (see exportLines).
 *
 * 'replace' (the default): the exported tables replace the tables of the
 * same names, all at once or not at all. Rows are loaded batch by batch into
 * staging tables, so memory stays flat; the swap is one commit at the end.
 * Any bad line (with its number), a truncated file or a cancel leaves the
 * root as it was.
 *
 * 'merge': missing databases and tables are created and each row is upserted
 * by primary key, a batch per commit; rows the schema refuses are skipped and
 * reported as `rejected: [{ line, code, message }]`. A re-readable source
 * (string, bytes, Blob, { path }, or a function returning a fresh stream) is
 * checked whole first, so a truncated or foreign file changes nothing; with a
 * one-shot stream, batches before the damage stay applied. A cancel keeps
 * the batches already committed.
 *
 * @param {Io} io
 * @param {unknown} source
 * @param {{ mode?: 'replace'|'merge', onProgress?: Function, signal?: object, batchRows?: number }} [options]
 * @returns {Promise<{ mode: string, tables: number, rows: number, rejected: object[], rejectedCount: number }>}
 */
export async function importLines(io, source, options = {}) {
  const { mode = 'replace', onProgress, signal } = options;
  const batchRows = options.batchRows ?? IMPORT_BATCH_ROWS;
  if (mode !== 'replace' && mode !== 'merge') throw new MinibaseError('BAD_QUERY', "import: mode must be 'replace' or 'merge'");
  if (!(Number.isInteger(batchRows) && batchRows > 0)) throw new MinibaseError('BAD_QUERY', 'import: batchRows must be a positive whole number');
  checkAborted(signal, 'import');
  if (mode === 'merge' && isRereadable(source)) await checkExport(source, io.files, signal);

  let tables = null;
  let total = 0;
  let done = 0;
  let bytes = 0;
  const counts = [];
  let end = null;
  const rejected = [];
  let rejectedCount = 0;
  let batch = [];
  let batchLines = [];
  let batchTable = -1;
  let batchBytes = 0;
  let staged = null; // the import's handle once its tables are staged

  const flush = async () => {
    if (batch.length === 0) return;
    checkAborted(signal, 'import');
    const t = tables[batchTable];
    if (mode === 'replace') {
      try {
        await io.raw('importRows', staged, batchTable, batch);
      } catch (err) {
        throw atLine(err, batchLines);
      }
    } else {
      const tx = await io.call('begin');
      try {
        for (let i = 0; i < batch.length; i++) {
          try {
            await io.call('upsert', tx, t.database, t.table, batch[i]);
          } catch (err) {
            if (!(err instanceof MinibaseError)) throw err;
            rejectedCount++;
            if (rejected.length < MAX_REJECTED) rejected.push({ line: batchLines[i], code: err.code, message: err.message });
          }
        }
        await io.call('commit', tx);
      } catch (err) {
        await quietly(() => io.call('rollback', tx));
        throw err;
      }
    }
    done += batch.length;
    batch = [];
    batchLines = [];
    batchBytes = 0;
    onProgress?.({ done, total, bytes });
  };

  try {
    for await (const l of linesOf(source, io.files)) {
      bytes = l.bytes;
      const v = parseLine(l);
      if (tables === null) {
        tables = checkHeader(v);
        total = tables.reduce((n, t) => n + t.rows, 0);
        checkAborted(signal, 'import');
        if (mode === 'replace') {
          staged = await io.call('importStage', tables.map((t) => specOf(t.schema)));
        } else {
          for (const t of tables) {
            await io.call('createDatabase', t.database, { ifNotExists: true });
            await io.call('createTable', t.database, t.table, { ...specOf(t.schema), ifNotExists: true });
          }
        }
        onProgress?.({ done, total, bytes });
        continue;
      }
      if (end !== null) throw new MinibaseError('BAD_FORMAT', `line ${l.line}: data after the end line`);
      if (v?.end === true) {
        end = v;
        continue;
      }
      const t = rowTable(v, l, tables);
      counts[t] = (counts[t] ?? 0) + 1;
      if (t !== batchTable || batch.length >= batchRows || batchBytes >= IMPORT_BATCH_BYTES) {
        await flush();
        batchTable = t;
      }
      batch.push(v.r);
      batchLines.push(l.line);
      batchBytes += l.text.length;
    }
    checkEnd(tables, counts, end);
    await flush();
    if (mode === 'replace') {
      checkAborted(signal, 'import');
      await io.raw('importFinish', staged, tables.map((t) => [t.database, t.table]));
      staged = null;
    }
  } catch (err) {
    if (staged !== null) await quietly(() => io.raw('importAbort', staged));
    throw err;
  }
  return { mode, tables: tables.length, rows: done - rejectedCount, rejected, rejectedCount };
}

// --- backup and restore ---

/**
 * The pieces (Uint8Array) of a backup of the whole root, read from one
 * snapshot: writers are held up only while each piece is read.
 * @param {Io} io
 * @param {{ onProgress?: Function, signal?: object }} [options]
 * @returns {AsyncGenerator<Uint8Array>}
 */
export async function* backupPieces(io, options = {}) {
  const { onProgress, signal } = options;
  const h = await io.call('backupOpen');
  let bytes = 0;
  let finished = false;
  try {
    for (;;) {
      checkAborted(signal, 'backup');
      const piece = await io.raw('backupRead', h, BACKUP_PIECE_BYTES);
      if (piece === null) {
        finished = true;
        return;
      }
      bytes += piece.length;
      onProgress?.({ done: bytes, total: null, bytes });
      yield piece;
    }
  } finally {
    if (!finished) await quietly(() => io.raw('backupEnd', h, true));
  }
}

/**
 * Writes a backup of the whole root to target: a path (node, wx: a file of
 * the user-data directory, written whole or not at all), an object with
 * `write(chunk)` (and optional `close()`), or nothing: then the backup is
 * returned as a Blob where the host has Blob (browser: the page can offer
 * it for download), else as a Uint8Array.
 * @param {Io} io
 * @param {string|{ write(c: Uint8Array): unknown, close?(): unknown }|undefined} target
 * @param {{ onProgress?: Function, signal?: object }} [options]
 * @returns {Promise<{ bytes: number, blob?: Blob, data?: Uint8Array }>}
 */
export async function backupTo(io, target, options = {}) {
  if (typeof target === 'string') {
    if (!io.files) throw new MinibaseError('BAD_QUERY', 'backup: this host cannot write files: pass a { write(chunk) } target or nothing for a Blob');
    const bytes = await io.files.write(target, backupPieces(io, options));
    return { bytes };
  }
  if (target && typeof target.write === 'function') {
    let bytes = 0;
    for await (const p of backupPieces(io, options)) {
      await target.write(p);
      bytes += p.length;
    }
    await target.close?.();
    return { bytes };
  }
  if (target !== undefined && target !== null) throw new MinibaseError('BAD_QUERY', 'backup: the target must be a path, a { write(chunk) } object or nothing');
  const parts = [];
  let bytes = 0;
  for await (const p of backupPieces(io, options)) {
    parts.push(p);
    bytes += p.length;
  }
  if (typeof Blob === 'function') return { bytes, blob: new Blob(parts, { type: 'application/octet-stream' }) };
  const data = new Uint8Array(bytes);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { bytes, data };
}

async function* bytePieces(source, files) {
  for await (const c of chunksOf(typeof source === 'string' && files ? { path: source } : source, files)) {
    if (typeof c === 'string') throw new MinibaseError('BAD_QUERY', 'a backup is bytes, not text');
    const u8 = c instanceof Uint8Array ? c : new Uint8Array(c);
    for (let at = 0; at < u8.length; at += BACKUP_PIECE_BYTES) yield u8.subarray(at, at + BACKUP_PIECE_BYTES);
  }
}

/**
 * Checks a backup file end to end (checksums, order, completeness) without
 * writing anything.
 * @param {import('./bridge.js').Bridge} bridge
 * @returns {Promise<{ keys: number, bytes: number }>} CORRUPT or VERSION_TOO_NEW when it is not sound
 */
export async function verifyBackup(bridge, source, { files, onProgress, signal } = {}) {
  const h = await bridge.call('backupCheck');
  let bytes = 0;
  try {
    for await (const p of bytePieces(source, files)) {
      checkAborted(signal, 'verify backup');
      await bridge.call('backupWrite', h, p);
      bytes += p.length;
      onProgress?.({ done: bytes, total: null, bytes, phase: 'verify' });
    }
  } catch (err) {
    await quietly(() => bridge.call('backupEnd', h, true));
    throw err;
  }
  const { keys } = await bridge.call('backupEnd', h);
  return { keys, bytes };
}

/** Feeds a checked backup to restore job h and finishes it. */
async function applyRestore(call, h, source, { files, onProgress, signal, total }) {
  let bytes = 0;
  try {
    for await (const p of bytePieces(source, files)) {
      checkAborted(signal, 'restore');
      await call('backupWrite', h, p);
      bytes += p.length;
      onProgress?.({ done: bytes, total, bytes, phase: 'restore' });
    }
    await call('backupEnd', h);
  } catch (err) {
    await quietly(() => call('backupEnd', h, true));
    throw err;
  }
}

/** Key of the Connection method restoreThrough serves (the browser's restore()). */
export const RESTORE = Symbol('minibase.restore');

/**
 * Restores a backup through an open connection, the only one on its root
 * (the browser: only the owning tab's connection writes the files). The
 * file is checked whole first, on `verifier` (a bridge of this page).
 * @param {Io} io
 */
export async function restoreThrough(io, source, options = {}) {
  const { verifier, onProgress, signal } = options;
  if (!isRereadable(source)) {
    throw new MinibaseError('BAD_QUERY', 'restore: the source is read twice (checked, then restored): pass bytes, a Blob or a function returning a fresh stream');
  }
  const { keys, bytes: total } = await verifyBackup(verifier, source, { files: io.files, onProgress, signal });
  const h = await io.call('restoreConn');
  await applyRestore(io.raw, h, source, { files: io.files, onProgress, signal, total });
  return { keys, bytes: total };
}

/**
 * Restores a backup into a root: checks the whole file first (a corrupt or
 * truncated file is CORRUPT and changes nothing), then replaces the root's
 * content. The root must not be open. A restore killed midway leaves the
 * root refusing to open (CORRUPT) until it is restored again.
 * @param {import('./bridge.js').Bridge} bridge
 * @param {unknown} source a path (with `files`), bytes, a Blob, or a function returning a fresh stream of bytes
 * @param {{ adapter: string, root: string, durability?: string, files?: object, onProgress?: Function, signal?: object }} options
 */
export async function restoreBackup(bridge, source, options) {
  const { adapter, root, durability, files, onProgress, signal } = options ?? {};
  if (!isRereadable(source) && !(typeof source === 'string')) {
    throw new MinibaseError('BAD_QUERY', 'restore: the source is read twice (checked, then restored): pass a path, bytes, a Blob or a function returning a fresh stream');
  }
  const { keys, bytes: total } = await verifyBackup(bridge, source, { files, onProgress, signal });
  const opts = { adapter, root };
  if (durability !== undefined) opts.durability = durability;
  const h = await bridge.call('restoreOpen', opts);
  await applyRestore((op, ...args) => bridge.call(op, ...args), h, source, { files, onProgress, signal, total });
  return { keys, bytes: total };
}
