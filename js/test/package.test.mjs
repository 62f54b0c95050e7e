// What `npm publish` would ship: the built engine and bundles, the type
// declarations and the license; nothing left over from development.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('the package tarball holds what a user needs and nothing else', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const files = new Map(JSON.parse(out)[0].files.map((f) => [f.path, f.size]));
  for (const need of ['package.json', 'README.md', 'LICENSE', 'js/index.d.ts', 'js/compat.d.ts', 'js/wx.d.ts',
    'js/dist/index.mjs', 'js/dist/index.cjs', 'js/dist/index.d.cts', 'js/dist/compat.d.cts', 'js/dist/browser.mjs', 'js/dist/compat.mjs', 'js/dist/compat.cjs',
    'js/dist/minibase.wasm', 'js/dist/miniprogram/index.js', 'js/dist/miniprogram/minibase.wasm.br']) {
    assert.ok(files.get(need) > 0, `${need} is missing or empty in the tarball`);
  }
  for (const [path] of files) {
    assert.ok(!/(^|\/)\.built$|minibase-wx\.wasm$|^js\/dist\/minibase\.wasm\.br$|^js\/(src|test|bench)\/|^(engine|wasm|server|fsadapter)\//.test(path), `${path} should not be published`);
  }
});
