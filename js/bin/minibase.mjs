#!/usr/bin/env node
// The minibase command line: look inside a database root or a backup file,
// check it, compact it, and move data in and out of it.
//
//   npx minibase-db <command> ...   (run `npx minibase-db help`)

import fs from 'node:fs';
import path from 'node:path';
import { connect, describeRoot, restore, verify, MinibaseError } from '../dist/index.mjs';

const USAGE = `usage: minibase-db <command> [arguments]

  inspect <root|backup>                      databases, tables, columns, indexes, row counts, stats
  dump    <root|backup> <db.table> [--where <json>] [--limit <n>]
                                             rows as NDJSON
  query   <root|backup> <db.table> <query json>
                                             select({ where, orderBy, limit, columns }) as JSON
  check   <root|backup>                      integrity (a backup: its checksums too); exit 1 when damaged
  compact <root>                             merge the storage files now
  export  <root|backup> [file] [--db <name>]... [--table <db.table>]...
                                             NDJSON export to file (default: stdout)
  import  <root> <file> [--merge]            load an export (replace by default)
  backup  <root> <file>                      one-file backup of the whole root
  restore <file> <root>                      check a backup, then restore it into a root

A <root> is a database directory (the node adapter's root). A backup file
(from 'backup' or conn.backup()) is opened read-only: it is checked and
loaded into memory, and nothing is written to it.
Progress of long work goes to stderr: a bar on a terminal, lines with
MINIBASE_PROGRESS=1.`;

class UsageError extends Error {}

/** Splits argv into positionals and --flags (a flag may repeat). */
function parseArgs(argv) {
  const pos = [];
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      pos.push(a);
      continue;
    }
    const name = a.slice(2);
    const boolean = name === 'merge' || name === 'help';
    const v = boolean ? true : argv[++i];
    if (v === undefined) throw new UsageError(`--${name} needs a value`);
    (flags[name] ??= []).push(v);
  }
  return { pos, flags };
}

function need(pos, n, what) {
  if (pos.length < n) throw new UsageError(`missing ${what}`);
}

/** True when file is a minibase backup (it starts with the backup magic). */
function isBackupFile(file) {
  try {
    if (!fs.statSync(file).isFile()) return false;
    const fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(8);
    fs.readSync(fd, head, 0, 8, 0);
    fs.closeSync(fd);
    return head.toString('latin1') === 'MBBACKUP';
  } catch {
    return false;
  }
}

let memRoots = 0;

/**
 * Opens a root directory, or a backup file read-only (restored into a
 * memory root of this process). Refuses a path that does not exist rather
 * than creating an empty database there.
 */
async function open(target, { write = false } = {}) {
  if (!fs.existsSync(target)) throw new MinibaseError('IO', `${target}: no such file or directory`);
  if (isBackupFile(target)) {
    if (write) throw new MinibaseError('BAD_QUERY', `${target} is a backup file, which is opened read-only: restore it into a root first`);
    const root = `inspect-backup-${process.pid}-${memRoots++}`;
    await restore(target, { adapter: 'memory', root, onProgress: progress('loading backup') });
    endProgress();
    return connect({ adapter: 'memory', root });
  }
  if (!fs.statSync(target).isDirectory()) throw new MinibaseError('CORRUPT', `${target} is neither a database root (a directory) nor a minibase backup`);
  return connect({ adapter: 'node', root: target });
}

// --- progress on stderr ---

let progressShown = false;

function human(n) {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`;
}

/** An onProgress that draws a bar on a terminal and stays quiet otherwise. */
function progress(label) {
  if (!process.stderr.isTTY && !process.env.MINIBASE_PROGRESS) return undefined;
  return ({ done, total, bytes, phase }) => {
    const what = phase ? `${label} (${phase})` : label;
    let line;
    if (typeof total === 'number' && total > 0) {
      const f = Math.min(1, done / total);
      const w = 30;
      line = `${what} [${'#'.repeat(Math.round(f * w)).padEnd(w)}] ${Math.round(f * 100)}% ${done}/${total} ${human(bytes)}`;
    } else {
      line = `${what} ${human(bytes)}`;
    }
    process.stderr.write(process.stderr.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
    progressShown = true;
  };
}

function endProgress() {
  if (progressShown && process.stderr.isTTY) process.stderr.write('\n');
  progressShown = false;
}

function splitTable(name) {
  const at = name.indexOf('.');
  if (at <= 0 || at === name.length - 1) throw new UsageError(`name the table as <db.table>, got ${name}`);
  return [name.slice(0, at), name.slice(at + 1)];
}

function parseJSON(text, what) {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${what} is not JSON: ${text}`);
  }
}

/** JSON with bytes as { $bytes: base64 }, as in an export. */
function toJSON(v, indent) {
  return JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? { $bytes: Buffer.from(x).toString('base64') } : x), indent);
}

const out = (s) => new Promise((resolve, reject) => {
  if (process.stdout.write(s)) resolve();
  else process.stdout.once('drain', resolve).once('error', reject);
});

// --- commands ---

const commands = {
  async inspect({ pos }) {
    need(pos, 1, '<root>');
    const conn = await open(pos[0]);
    try {
      const { databases, stats: s } = await describeRoot(conn);
      const lines = [`${pos[0]}: ${databases.length} database${databases.length === 1 ? '' : 's'}`];
      for (const db of databases) {
        lines.push('', `database ${db.name} (${db.tables.length} table${db.tables.length === 1 ? '' : 's'})`);
        for (const t of db.tables) {
          lines.push(`  table ${t.name}: ${t.rows} row${t.rows === 1 ? '' : 's'}${t.sync ? ', synced' : ''}${t.comment ? ` — ${t.comment}` : ''}`);
          for (const c of t.columns) {
            const flags = ['primaryKey', 'autoIncrement', 'unique', 'notNull'].filter((f) => c[f]);
            if (c.default !== undefined) flags.push(`default ${JSON.stringify(c.default)}`);
            lines.push(`    ${c.name}  ${c.type}${flags.length ? `  ${flags.join(', ')}` : ''}`);
          }
          for (const ix of t.indexes) lines.push(`    index ${ix.name} (${ix.columns.join(', ')})${ix.unique ? ' unique' : ''}`);
        }
      }
      lines.push('', 'stats', `  keys ${s.keys}, live ${human(s.liveBytes)}, on disk ${human(s.diskBytes)} in ${s.files} files (${s.segments} segments in ${s.runs} runs, log ${human(s.logBytes)})`);
      lines.push(`  flushes ${s.flushes}, compactions ${s.compactions}, cache ${human(s.cacheBytes)} of ${human(s.cacheLimit)}`);
      await out(lines.join('\n') + '\n');
    } finally {
      await conn.close();
    }
  },

  async dump({ pos, flags }) {
    need(pos, 2, '<root> <db.table>');
    const [db, table] = splitTable(pos[1]);
    const query = {};
    if (flags.where) query.where = parseJSON(flags.where.at(-1), '--where');
    const limit = flags.limit ? Number(flags.limit.at(-1)) : undefined;
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) throw new UsageError('--limit must be a whole number');
    const conn = await open(pos[0]);
    try {
      await conn.useDatabase(db);
      const t = conn.table(table);
      const { primaryKey } = await conn.describeTable(table);
      // A page at a time, so a large table never sits in memory whole.
      const page = 1000;
      let done = 0;
      for (;;) {
        const count = limit === undefined ? page : Math.min(page, limit - done);
        if (count <= 0) break;
        const rows = await t.select({ ...query, orderBy: primaryKey, offset: done, limit: count });
        if (rows.length > 0) await out(rows.map((r) => toJSON(r) + '\n').join(''));
        done += rows.length;
        if (rows.length < count) break;
      }
    } finally {
      await conn.close();
    }
  },

  async query({ pos }) {
    need(pos, 3, '<root> <db.table> <query json>');
    const [db, table] = splitTable(pos[1]);
    const q = parseJSON(pos[2], 'the query');
    const conn = await open(pos[0]);
    try {
      await conn.useDatabase(db);
      await out(toJSON(await conn.table(table).select(q), 2) + '\n');
    } finally {
      await conn.close();
    }
  },

  async check({ pos }) {
    need(pos, 1, '<root|backup>');
    if (isBackupFile(pos[0])) {
      const { keys, bytes } = await verify(pos[0], { onProgress: progress('checking') });
      endProgress();
      await out(`backup ${pos[0]}: ${human(bytes)}, ${keys} keys, checksums ok\n`);
    }
    const conn = await open(pos[0]);
    try {
      await conn.checkIntegrity();
      await out(`${pos[0]}: integrity ok\n`);
    } finally {
      await conn.close();
    }
  },

  async compact({ pos }) {
    need(pos, 1, '<root>');
    const conn = await open(pos[0], { write: true });
    try {
      const before = await conn.stats();
      await conn.compact();
      const after = await conn.stats();
      await out(`compacted: ${human(before.diskBytes)} in ${before.files} files -> ${human(after.diskBytes)} in ${after.files} files\n`);
    } finally {
      await conn.close();
    }
  },

  async export({ pos, flags }) {
    need(pos, 1, '<root>');
    const conn = await open(pos[0]);
    const file = pos[1];
    const tmp = file ? `${file}.${process.pid}.tmp` : null;
    const fd = tmp ? fs.openSync(tmp, 'w') : null;
    try {
      let rows = 0;
      for await (const line of conn.export({ databases: flags.db, tables: flags.table, onProgress: progress('export') })) {
        if (fd !== null) fs.writeSync(fd, line);
        else await out(line);
        rows++;
      }
      endProgress();
      if (fd !== null) {
        fs.closeSync(fd);
        fs.renameSync(tmp, file);
        process.stderr.write(`exported ${rows - 2} rows to ${file}\n`);
      }
    } catch (err) {
      if (fd !== null) {
        fs.closeSync(fd);
        fs.rmSync(tmp, { force: true });
      }
      throw err;
    } finally {
      await conn.close();
    }
  },

  async import({ pos, flags }) {
    need(pos, 2, '<root> <file>');
    if (!fs.existsSync(pos[1])) throw new MinibaseError('IO', `${pos[1]}: no such file`);
    fs.mkdirSync(pos[0], { recursive: true });
    const conn = await open(pos[0], { write: true });
    try {
      const res = await conn.import({ path: pos[1] }, { mode: flags.merge ? 'merge' : 'replace', onProgress: progress('import') });
      endProgress();
      await out(`imported ${res.rows} rows into ${res.tables} tables (${res.mode})\n`);
      for (const r of res.rejected) await out(`rejected line ${r.line}: ${r.code} ${r.message}\n`);
      if (res.rejectedCount > res.rejected.length) await out(`... ${res.rejectedCount - res.rejected.length} more rejected\n`);
      if (res.rejectedCount > 0) process.exitCode = 1;
    } finally {
      await conn.close();
    }
  },

  async backup({ pos }) {
    need(pos, 2, '<root> <file>');
    const conn = await open(pos[0]);
    try {
      const { bytes } = await conn.backup(path.resolve(pos[1]), { onProgress: progress('backup') });
      endProgress();
      await out(`backup of ${pos[0]}: ${human(bytes)} written to ${pos[1]}\n`);
    } finally {
      await conn.close();
    }
  },

  async restore({ pos }) {
    need(pos, 2, '<file> <root>');
    if (!isBackupFile(pos[0])) throw new MinibaseError('CORRUPT', `${pos[0]} is not a minibase backup`);
    fs.mkdirSync(pos[1], { recursive: true });
    const { keys, bytes } = await restore(pos[0], { adapter: 'node', root: pos[1], onProgress: progress('restore') });
    endProgress();
    await out(`restored ${keys} keys (${human(bytes)}) into ${pos[1]}\n`);
  },
};

async function main(argv) {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE + '\n');
    return cmd ? 0 : 2;
  }
  const fn = Object.hasOwn(commands, cmd) ? commands[cmd] : null;
  try {
    if (!fn) throw new UsageError(`unknown command ${cmd}`);
    await fn(parseArgs(rest));
    return process.exitCode ?? 0;
  } catch (err) {
    endProgress();
    if (err instanceof UsageError) {
      process.stderr.write(`minibase-db: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`minibase-db ${cmd}: ${err.code ? `${err.code}: ` : ''}${err.message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
