// Compile-only check of the hand-written .d.ts files (js/test/types/usage.ts),
// run with the pinned TypeScript dev dependency.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

test('index.d.ts and compat.d.ts type-check against their usage', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const out = spawnSync(process.execPath, [tsc, '--noEmit', '-p', 'js/test/types'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stdout + out.stderr);
});

test('a CommonJS consumer (node16 resolution, require) gets declarations it may load', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const out = spawnSync(process.execPath, [tsc, '--noEmit', '-p', 'js/test/types-cjs'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stdout + out.stderr);
});
