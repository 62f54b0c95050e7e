// Export, import, backup and restore of a table of N rows on the node
// adapter: throughput and the engine's wasm memory (which never shrinks)
// before and after each job.
//
//   node js/bench/backup.mjs [rows=200000]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, restore } from '../dist/index.mjs';

const N = Number(process.argv[2] ?? 200_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-bench-backup-'));
const mb = (n) => `${(n / 2 ** 20).toFixed(1)} MB`;

async function timed(label, fn, conn) {
  const t0 = performance.now();
  const detail = await fn();
  const ms = performance.now() - t0;
  const mem = (await conn.stats()).wasmMemoryBytes;
  console.log(`${label.padEnd(28)} ${ms.toFixed(0).padStart(7)} ms  ${Math.round(N / (ms / 1000)).toLocaleString().padStart(9)} rows/s  wasm memory ${mb(mem)}  ${detail ?? ''}`);
}

try {
  const src = await connect({ adapter: 'node', root: path.join(dir, 'src') });
  await src.createDatabase('b');
  await src.useDatabase('b');
  await src.createTable('rows', {
    columns: [
      { name: 'id', type: 'number', primaryKey: true },
      { name: 'name', type: 'string', unique: true },
      { name: 'n', type: 'number' },
      { name: 'body', type: 'string' },
    ],
    indexes: [{ columns: ['n'] }],
  });
  const body = 'x'.repeat(100);
  for (let at = 0; at < N; at += 10_000) {
    await src.table('rows').insertMany(Array.from({ length: Math.min(10_000, N - at) }, (_, i) => ({ id: at + i, name: `name-${at + i}`, n: (at + i) % 1000, body })));
  }
  console.log(`${N.toLocaleString()} rows of ~150 bytes; wasm memory after loading: ${mb((await src.stats()).wasmMemoryBytes)}`);
  const file = path.join(dir, 'export.ndjson');
  await timed('export (NDJSON to a file)', async () => {
    const fd = fs.openSync(file, 'w');
    for await (const line of src.export()) fs.writeSync(fd, line);
    fs.closeSync(fd);
    return mb(fs.statSync(file).size);
  }, src);
  const bak = path.join(dir, 'app.mbbak');
  await timed('backup (to a file)', async () => mb((await src.backup(bak)).bytes), src);
  await src.close();

  const dst = await connect({ adapter: 'node', root: path.join(dir, 'dst') });
  await timed("import 'replace'", async () => `${(await dst.import(fs.createReadStream(file))).rows} rows`, dst);
  await timed("import 'merge' (over it)", async () => `${(await dst.import({ path: file }, { mode: 'merge' })).rows} rows`, dst);
  await dst.close();
  const t0 = performance.now();
  await restore(bak, { root: path.join(dir, 'restored') });
  const back = await connect({ adapter: 'node', root: path.join(dir, 'restored') });
  const ms = performance.now() - t0;
  console.log(`${'restore (check + apply)'.padEnd(28)} ${ms.toFixed(0).padStart(7)} ms  ${Math.round(N / (ms / 1000)).toLocaleString().padStart(9)} rows/s  wasm memory ${mb((await back.stats()).wasmMemoryBytes)}`);
  await back.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
